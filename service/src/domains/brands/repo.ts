// Reseller brands' SQL (migration 081): the issuer profile of a reseller and its invoice and credit note sequences.
import type { TenantScope } from '../../platform/db.ts';

export interface TaxIdEntry {
  jurisdiction: string;
  tax_id: string;
}

export interface IssuerProfile {
  customerId: string;
  legalName: string | null;
  address: string | null;
  country: string | null;
  taxIds: TaxIdEntry[];
  invoicePrefix: string;
  currency: string | null;
  replyTo: string | null;
  stripeAccount: string | null;
  updatedAt: Date;
}

export async function upsertProfile({ db, tenantId }: TenantScope, p: IssuerProfile): Promise<void> {
  await db`
    insert into reseller_brands (tenant_id, customer_id, legal_name, address, country, tax_ids, invoice_prefix, currency, reply_to, stripe_account, updated_at)
    values (${tenantId}, ${p.customerId}, ${p.legalName}, ${p.address}, ${p.country}, ${db.json(p.taxIds as never)}, ${p.invoicePrefix},
            ${p.currency}, ${p.replyTo}, ${p.stripeAccount}, ${p.updatedAt})
    on conflict (tenant_id, customer_id) do update set
      legal_name = excluded.legal_name, address = excluded.address, country = excluded.country, tax_ids = excluded.tax_ids,
      invoice_prefix = excluded.invoice_prefix, currency = excluded.currency, reply_to = excluded.reply_to,
      stripe_account = excluded.stripe_account, updated_at = excluded.updated_at`;
}

export async function findProfile(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<IssuerProfile | undefined> {
  const [row] = await db`select * from reseller_brands where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return row ? fromDbProfile(row) : undefined;
}

function fromDbProfile(row: Record<string, any>): IssuerProfile {
  return {
    customerId: row.customer_id,
    legalName: row.legal_name,
    address: row.address,
    country: row.country,
    taxIds: row.tax_ids ?? [],
    invoicePrefix: row.invoice_prefix,
    currency: row.currency,
    replyTo: row.reply_to,
    stripeAccount: row.stripe_account,
    updatedAt: row.updated_at,
  };
}

/** A customer whose parent is a reseller, that reseller, its brand profile (if any) and its portal brand's look. */
export interface IssuerRow {
  customerId: string;
  reseller: { id: string; externalId: string; name: string | null };
  profile: IssuerProfile | undefined;
  displayName: string | null;
  logoUrl: string | null;
}

/**
 * The reseller parents of these customers (customers whose parent is not a reseller are absent). Reads
 * portal_brands (domains/portal owns it) for the logo and display name printed on the invoice.
 */
export async function findIssuers(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Map<string, IssuerRow>> {
  if (customerIds.length === 0) return new Map();
  const rows = await db`
    select c.id as child_id, p.id as reseller_id, p.external_id as reseller_external_id, p.name as reseller_name,
           b.customer_id, b.legal_name, b.address, b.country, b.tax_ids, b.invoice_prefix, b.currency, b.reply_to, b.stripe_account, b.updated_at,
           pb.display_name, pb.logo_url
    from customers c
    join customers p on p.tenant_id = c.tenant_id and p.id = c.parent_id and p.is_reseller
    left join reseller_brands b on b.tenant_id = p.tenant_id and b.customer_id = p.id
    left join portal_brands pb on pb.tenant_id = p.tenant_id and pb.customer_id = p.id
    where c.tenant_id = ${tenantId} and c.id = any(${customerIds}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.child_id as string,
      {
        customerId: r.child_id,
        reseller: { id: r.reseller_id, externalId: r.reseller_external_id, name: r.reseller_name },
        profile: r.customer_id ? fromDbProfile(r) : undefined,
        displayName: r.display_name,
        logoUrl: r.logo_url,
      },
    ]),
  );
}

/**
 * Takes `count` consecutive numbers of the reseller's own invoice (or credit note) sequence and returns the first,
 * in the caller's transaction (the row lock serialises its finalizations; a rollback returns them), as
 * invoice_sequences does for the tenant.
 */
export async function takeResellerNumbers(
  { db, tenantId }: TenantScope,
  resellerId: string,
  document: 'invoice' | 'credit_note',
  count: number,
): Promise<bigint> {
  const [row] = await db`
    insert into reseller_sequences (tenant_id, customer_id, document, last_number) values (${tenantId}, ${resellerId}, ${document}, ${count})
    on conflict (tenant_id, customer_id, document) do update set last_number = reseller_sequences.last_number + ${count}
    returning last_number`;
  return (row.last_number as bigint) - BigInt(count) + 1n;
}

/** The reseller whose brand collects through this Stripe account (Connect), if one does. */
export async function findResellerByStripeAccount(
  { db, tenantId }: TenantScope,
  stripeAccount: string,
): Promise<string | undefined> {
  const [row] = await db`
    select customer_id from reseller_brands where tenant_id = ${tenantId} and stripe_account = ${stripeAccount}
    order by customer_id limit 1`;
  return row?.customer_id;
}
