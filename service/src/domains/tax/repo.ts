// Tax's SQL: the tenant's tax profile and registrations, customers' tax profiles, and the tax report's sums.
import type { TenantScope } from '../../platform/db.ts';
import type { Registration } from './rules.ts';

export interface TaxSettings {
  legalName: string;
  address: string;
  country: string;
  region: string | null;
  pricesIncludeTax: boolean;
  stripeTax: boolean;
  paymentTermsDays: number;
  registrations: Registration[];
  updatedAt: Date;
}

export async function findSettings({ db, tenantId }: TenantScope): Promise<TaxSettings | undefined> {
  const [[row], registrations] = await Promise.all([
    db`select * from tax_settings where tenant_id = ${tenantId}`,
    db`select jurisdiction, tax_id from tax_registrations where tenant_id = ${tenantId} order by jurisdiction`,
  ]);
  if (!row) return undefined;
  return {
    legalName: row.legal_name,
    address: row.address,
    country: row.country,
    region: row.region,
    pricesIncludeTax: row.prices_include_tax,
    stripeTax: row.stripe_tax,
    paymentTermsDays: row.payment_terms_days,
    registrations: registrations.map((r) => ({ jurisdiction: r.jurisdiction, taxId: r.tax_id })),
    updatedAt: row.updated_at,
  };
}

export async function saveSettings(
  { db, tenantId }: TenantScope,
  settings: Omit<TaxSettings, 'updatedAt'>,
  now: Date,
): Promise<void> {
  await db`
    insert into tax_settings (tenant_id, legal_name, address, country, region, prices_include_tax, stripe_tax, payment_terms_days, created_at, updated_at)
    values (${tenantId}, ${settings.legalName}, ${settings.address}, ${settings.country}, ${settings.region}, ${settings.pricesIncludeTax},
            ${settings.stripeTax}, ${settings.paymentTermsDays}, ${now}, ${now})
    on conflict (tenant_id) do update set legal_name = excluded.legal_name, address = excluded.address, country = excluded.country,
      region = excluded.region, prices_include_tax = excluded.prices_include_tax, stripe_tax = excluded.stripe_tax,
      payment_terms_days = excluded.payment_terms_days, updated_at = excluded.updated_at`;
  await db`delete from tax_registrations where tenant_id = ${tenantId}`;
  if (settings.registrations.length === 0) return;
  await db`
    insert into tax_registrations (tenant_id, jurisdiction, tax_id, created_at)
    select ${tenantId}, r.jurisdiction, r.tax_id, ${now}
    from json_to_recordset(${JSON.stringify(settings.registrations.map((r) => ({ jurisdiction: r.jurisdiction, tax_id: r.taxId })))}::text::json)
      as r(jurisdiction text, tax_id text)`;
}

export interface CustomerTaxProfile {
  id: string;
  externalId: string;
  name: string | null;
  email: string | null;
  address: string | null;
  postalCode: string | null;
  country: string | null;
  region: string | null;
  taxId: string | null;
  taxStatus: 'business' | 'consumer' | 'exempt' | null;
  taxExemptReason: string | null;
  taxIdCheck: { status: 'valid' | 'invalid'; checked_at: string; source: string } | null;
}

export async function findCustomerProfiles(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Map<string, CustomerTaxProfile>> {
  if (customerIds.length === 0) return new Map();
  const rows = await db`
    select id, external_id, name, email, address, postal_code, country, region, tax_id, tax_status, tax_exempt_reason, tax_id_check
    from customers where tenant_id = ${tenantId} and id = any(${customerIds}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.id as string,
      {
        id: r.id,
        externalId: r.external_id,
        name: r.name,
        email: r.email,
        address: r.address,
        postalCode: r.postal_code,
        country: r.country,
        region: r.region,
        taxId: r.tax_id,
        taxStatus: r.tax_status,
        taxExemptReason: r.tax_exempt_reason,
        taxIdCheck: r.tax_id_check,
      },
    ]),
  );
}

export interface ReportRow {
  jurisdiction: string;
  tax: string;
  rate: string;
  rule: string;
  currency: string;
  documents: number;
  taxable: string;
  amount: string;
}

/**
 * The tax of the finalized (or paid) invoices issued in [from, to) and of the credit notes issued then, summed
 * by jurisdiction, tax, rate, rule and currency; credit notes count negative. Invoices without tax components
 * (reverse charge, exports) are summed under their rule with a zero rate, as an OSS or VAT return lists them.
 */
export async function sumTaxes({ db, tenantId }: TenantScope, from: Date, to: Date): Promise<ReportRow[]> {
  const rows = await db`
    with documents as (
      select i.tax, 1 as sign, i.total - i.tax_amount as net from invoices i
      where i.tenant_id = ${tenantId} and i.status in ('finalized', 'paid') and i.kind = 'invoice' and i.tax is not null
        and i.finalized_at >= ${from} and i.finalized_at < ${to}
      union all
      select n.tax, -1, n.total - n.tax_amount from credit_notes n
      where n.tenant_id = ${tenantId} and n.tax is not null and n.created_at >= ${from} and n.created_at < ${to}
    ),
    components as (
      select coalesce(c->>'jurisdiction', d.tax->>'jurisdiction', d.tax->'buyer'->>'country', '') as jurisdiction,
             coalesce(c->>'tax', '') as tax, coalesce(c->>'rate', '0') as rate, d.tax->>'rule' as rule, d.tax->>'currency' as currency,
             d.sign * coalesce((c->>'taxable')::numeric, d.net) as taxable, d.sign * coalesce((c->>'amount')::numeric, 0) as amount
      from documents d
      left join lateral jsonb_array_elements(case when jsonb_array_length(d.tax->'components') > 0 then d.tax->'components' end) c on true
    )
    select jurisdiction, tax, rate, rule, currency, count(*)::int as documents, sum(taxable)::text as taxable, sum(amount)::text as amount
    from components group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`;
  return rows.map((r) => ({
    jurisdiction: r.jurisdiction,
    tax: r.tax,
    rate: r.rate,
    rule: r.rule,
    currency: r.currency,
    documents: r.documents,
    taxable: r.taxable,
    amount: r.amount,
  }));
}

/** A Stripe Tax calculation stored before finalization (migration 090): what was asked, and Stripe's answer. */
export interface StoredStripeCalculation {
  fingerprint: string;
  calculationId: string;
  /** The components and line taxes, amounts as nano-unit integer text. */
  result: {
    components: { tax: string; jurisdiction: string; rate: string; taxable: string; amount: string }[];
    lineTax: string[];
  };
}

export async function findStripeCalculations(
  { db, tenantId }: TenantScope,
  subjects: string[],
): Promise<Map<string, StoredStripeCalculation>> {
  if (subjects.length === 0) return new Map();
  const rows = await db`
    select subject, fingerprint, calculation_id, result from stripe_tax_calculations
    where tenant_id = ${tenantId} and subject = any(${subjects}::text[])`;
  return new Map(
    rows.map((r) => [r.subject, { fingerprint: r.fingerprint, calculationId: r.calculation_id, result: r.result }]),
  );
}

export async function saveStripeCalculation(
  { db, tenantId }: TenantScope,
  subject: string,
  calculation: StoredStripeCalculation,
  now: Date,
): Promise<void> {
  await db`
    insert into stripe_tax_calculations (tenant_id, subject, fingerprint, calculation_id, result, created_at)
    values (${tenantId}, ${subject}, ${calculation.fingerprint}, ${calculation.calculationId}, ${db.json(calculation.result)}, ${now})
    on conflict (tenant_id, subject) do update set fingerprint = excluded.fingerprint, calculation_id = excluded.calculation_id,
      result = excluded.result, created_at = excluded.created_at`;
}
