// The SQL of closing many periods of a tenant at once (close.ts): each read is one statement for all of them,
// each write one statement for all the invoices. Same rules as repo.ts's one-period reads.
import type { Issuer } from '../brands/service.ts';
import type { TaxRecord } from '../tax/service.ts';
import { jsonArray, plainArray, quotedArray, type TenantScope } from '../../platform/db.ts';
import { fromDbTerms, type SubscriptionTermsRow } from '../subscriptions/repo.ts';
import type { Conversion } from '../currency/convert.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import { periodKey, type PeriodKey } from '../periods/index.ts';
import { insertLines, type StoredLine } from './repo.ts';

const unnestKeys = (db: TenantScope['db'], keys: PeriodKey[]) =>
  db`unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.start.toISOString())}::timestamptz[]) as k(customer_id, period_start)`;

/** Which of the periods have a period-end invoice, by periodKey. */
export async function findInvoicedPeriods({ db, tenantId }: TenantScope, keys: PeriodKey[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db`
    select distinct i.customer_id, i.period_start from invoices i
    join ${unnestKeys(db, keys)} on i.customer_id = k.customer_id and i.period_start = k.period_start
    where i.tenant_id = ${tenantId} and i.billing_reason = 'period_end'`;
  return new Set(rows.map((r) => periodKey({ customerId: r.customer_id, start: r.period_start })));
}

/** Customers' currencies (billed in, rated in) and subscription terms (as findTermsByCustomerId reads them). */
export async function findCustomersWithTerms({ db, tenantId }: TenantScope, customerIds: string[]) {
  const rows = await db`
    select c.id as customer_id, c.external_id, c.currency, ${db.unsafe(ratingCurrencySql)} as rating_currency, s.started_at, s.anchor_day, s.anchor_month, s.discount_percent::text,
           p.billing_interval, p.allowances, p.minimum_spend::text, p.base_fee::text, p.code as plan_code, p.name as plan_name, p.invoice_grace_seconds
    from customers c
    left join subscriptions s on s.tenant_id = c.tenant_id and s.customer_id = c.id and s.status = 'active'
    left join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
    where c.tenant_id = ${tenantId} and c.id = any(${customerIds}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.customer_id as string,
      {
        externalId: r.external_id as string,
        currency: r.currency as string,
        ratingCurrency: r.rating_currency as string,
        terms: r.started_at ? fromDbTerms(r) : undefined,
      } as {
        externalId: string;
        currency: string;
        ratingCurrency: string;
        terms?: SubscriptionTermsRow;
      },
    ]),
  );
}

/** The periods' standing threshold invoices (finalized or paid), lowest threshold first. */
export async function listThresholdInvoices({ db, tenantId }: TenantScope, keys: PeriodKey[]) {
  const rows = await db`
    select i.id, i.customer_id, i.period_start, i.number, i.threshold::text, coalesce(i.lines_total, i.total)::text as total from invoices i
    join ${unnestKeys(db, keys)} on i.customer_id = k.customer_id and i.period_start = k.period_start
    where i.tenant_id = ${tenantId} and i.billing_reason = 'threshold' and i.status in ('finalized', 'paid')
    order by i.threshold`;
  const byPeriod = new Map<string, { id: string; number: string; threshold: string; total: string }[]>();
  for (const r of rows) {
    const key = periodKey({ customerId: r.customer_id, start: r.period_start });
    byPeriod.set(key, [
      ...(byPeriod.get(key) ?? []),
      { id: r.id, number: r.number, threshold: r.threshold, total: r.total },
    ]);
  }
  return byPeriod;
}

export interface NewInvoice {
  id: string;
  customerId: string;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  fx: Conversion | null;
  minorUnit: number;
  planCode: string | null;
  total: string;
  totalExact: string;
  finalizeAt: Date;
  /** Set when the invoice is finalized in the same close (no grace): its tax and lines total. */
  linesTotal?: string;
  taxAmount?: string;
  tax?: TaxRecord | null;
}

export async function insertDrafts(
  { db, tenantId }: TenantScope,
  invoices: NewInvoice[],
  lines: Map<string, Omit<StoredLine, 'line'>[]>,
  now: Date,
): Promise<void> {
  if (invoices.length === 0) return;
  const column = <T>(value: (i: NewInvoice) => T) => invoices.map(value);
  // One array a column, as insertLines.
  await db`
    insert into invoices (tenant_id, id, customer_id, period_start, period_end, status, currency, minor_unit, plan_code, total, total_exact,
                          finalize_at, created_at, updated_at, fx, lines_total, tax_amount, tax)
    select ${tenantId}, i.id, i.customer_id, i.period_start, i.period_end, 'draft', i.currency, i.minor_unit, i.plan_code, i.total, i.total_exact,
           i.finalize_at, ${now}, ${now}, i.fx, i.lines_total, i.tax_amount, i.tax
    from unnest(${plainArray(column((i) => i.id))}::uuid[], ${plainArray(column((i) => i.customerId))}::uuid[],
                ${plainArray(column((i) => i.periodStart.toISOString()))}::timestamptz[],
                ${plainArray(column((i) => i.periodEnd.toISOString()))}::timestamptz[], ${quotedArray(column((i) => i.currency))}::text[],
                ${plainArray(column((i) => i.minorUnit))}::smallint[], ${quotedArray(column((i) => i.planCode))}::text[],
                ${plainArray(column((i) => i.total))}::numeric[], ${plainArray(column((i) => i.totalExact))}::numeric[],
                ${plainArray(column((i) => i.finalizeAt.toISOString()))}::timestamptz[], ${jsonArray(column((i) => i.fx))}::jsonb[],
                ${plainArray(column((i) => i.linesTotal ?? null))}::numeric[], ${plainArray(column((i) => i.taxAmount ?? '0'))}::numeric[],
                ${jsonArray(column((i) => i.tax ?? null))}::jsonb[])
      as i(id, customer_id, period_start, period_end, currency, minor_unit, plan_code, total, total_exact, finalize_at, fx, lines_total,
           tax_amount, tax)`;
  await insertLines(
    { db, tenantId },
    invoices.map((i) => ({ invoiceId: i.id, lines: lines.get(i.id) ?? [] })),
  );
}

export async function markFinalized(
  { db, tenantId }: TenantScope,
  invoices: {
    id: string;
    kind: 'invoice' | 'statement';
    sequence: bigint;
    number: string;
    issuerId: string | null;
    issuer: Issuer | null;
  }[],
  now: Date,
): Promise<void> {
  if (invoices.length === 0) return;
  const rows = invoices.map((i) => ({
    id: i.id,
    kind: i.kind,
    status: i.kind === 'statement' ? 'paid' : 'finalized',
    sequence: String(i.sequence),
    number: i.number,
    issuer_id: i.issuerId,
    issuer: i.issuer,
  }));
  await db`
    update invoices i set kind = f.kind, status = f.status, sequence = f.sequence, number = f.number, issuer_id = f.issuer_id,
      issuer = f.issuer, finalized_at = ${now}, paid_at = case when f.status = 'paid' then ${now}::timestamptz end, updated_at = ${now}
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as f(id uuid, kind text, status text, sequence bigint, number text, issuer_id uuid, issuer jsonb)
    where i.tenant_id = ${tenantId} and i.id = f.id`;
}

/** The customers whose subscription's plan commits per contract term. */
export async function findCustomersCommittedPerTerm(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Set<string>> {
  const rows = await db`
    select s.customer_id from subscriptions s join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
    where s.tenant_id = ${tenantId} and s.customer_id = any(${customerIds}::uuid[]) and s.status = 'active' and p.term_periods is not null`;
  return new Set(rows.map((r) => r.customer_id as string));
}
