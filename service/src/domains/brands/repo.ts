// Reseller brands' SQL (migrations 081, 086): the issuer profile of a reseller, its logo and its invoice and credit
// note sequences.
import type { TenantScope } from '../../platform/db.ts';
import type { Registration } from '../tax/rules.ts';

export interface TaxIdEntry {
  jurisdiction: string;
  tax_id: string;
}

export interface IssuerProfile {
  customerId: string;
  legalName: string | null;
  address: string | null;
  country: string | null;
  region: string | null;
  taxIds: TaxIdEntry[];
  taxRegistrations: Registration[];
  pricesIncludeTax: boolean;
  /** brand_logos' digest of its logo. */
  logoDigest: string | null;
  invoicePrefix: string;
  currency: string | null;
  replyTo: string | null;
  stripeAccount: string | null;
  updatedAt: Date;
}

export async function upsertProfile({ db, tenantId }: TenantScope, p: IssuerProfile): Promise<void> {
  await db`
    insert into reseller_brands (tenant_id, customer_id, legal_name, address, country, region, tax_ids, tax_registrations, prices_include_tax,
                                 logo_digest, invoice_prefix, currency, reply_to, stripe_account, updated_at)
    values (${tenantId}, ${p.customerId}, ${p.legalName}, ${p.address}, ${p.country}, ${p.region}, ${db.json(p.taxIds as never)},
            ${db.json(p.taxRegistrations.map((r) => ({ jurisdiction: r.jurisdiction, tax_id: r.taxId })) as never)}, ${p.pricesIncludeTax},
            ${p.logoDigest}, ${p.invoicePrefix}, ${p.currency}, ${p.replyTo}, ${p.stripeAccount}, ${p.updatedAt})
    on conflict (tenant_id, customer_id) do update set
      legal_name = excluded.legal_name, address = excluded.address, country = excluded.country, region = excluded.region,
      tax_ids = excluded.tax_ids, tax_registrations = excluded.tax_registrations, prices_include_tax = excluded.prices_include_tax,
      logo_digest = excluded.logo_digest,
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
    region: row.region,
    taxIds: row.tax_ids ?? [],
    taxRegistrations: (row.tax_registrations ?? []).map((r: { jurisdiction: string; tax_id: string | null }) => ({
      jurisdiction: r.jurisdiction,
      taxId: r.tax_id,
    })),
    pricesIncludeTax: row.prices_include_tax ?? false,
    logoDigest: row.logo_digest,
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
  reseller: { id: string; externalId: string; name: string | null; country: string | null };
  profile: IssuerProfile | undefined;
  displayName: string | null;
  logoUrl: string | null;
  logo: LogoRef | null;
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
           p.country as reseller_country, b.customer_id, b.legal_name, b.address, b.country, b.region, b.tax_ids,
           b.tax_registrations, b.prices_include_tax, b.logo_digest, b.invoice_prefix, b.currency, b.reply_to,
           b.stripe_account, b.updated_at, pb.display_name, pb.logo_url, l.media_type, l.width, l.height, length(l.bytes) as logo_bytes
    from customers c
    join customers p on p.tenant_id = c.tenant_id and p.id = c.parent_id and p.is_reseller
    left join reseller_brands b on b.tenant_id = p.tenant_id and b.customer_id = p.id
    left join brand_logos l on l.tenant_id = b.tenant_id and l.digest = b.logo_digest
    left join portal_brands pb on pb.tenant_id = p.tenant_id and pb.customer_id = p.id
    where c.tenant_id = ${tenantId} and c.id = any(${customerIds}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.child_id as string,
      {
        customerId: r.child_id,
        reseller: {
          id: r.reseller_id,
          externalId: r.reseller_external_id,
          name: r.reseller_name,
          country: r.reseller_country,
        },
        profile: r.customer_id ? fromDbProfile(r) : undefined,
        displayName: r.display_name,
        logoUrl: r.logo_url,
        logo: r.logo_digest ? logoRefOf(r) : null,
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

/** A stored logo without its bytes: what the brand shows and an issued invoice freezes. */
export interface LogoRef {
  digest: string;
  media_type: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
  bytes: number;
}

const logoRefOf = (r: Record<string, any>): LogoRef => ({
  digest: r.logo_digest,
  media_type: r.media_type,
  width: r.width,
  height: r.height,
  bytes: r.logo_bytes,
});

/** Stores a logo's bytes once per content (its digest); the same image uploaded again is the same row. */
export async function saveLogo(
  { db, tenantId }: TenantScope,
  customerId: string,
  logo: LogoRef & { data: Buffer },
  now: Date,
): Promise<void> {
  await db`
    insert into brand_logos (tenant_id, digest, customer_id, media_type, bytes, width, height, created_at)
    values (${tenantId}, ${logo.digest}, ${customerId}, ${logo.media_type}, ${logo.data}, ${logo.width}, ${logo.height}, ${now})
    on conflict (tenant_id, digest) do nothing`;
}

export async function findLogo(
  { db, tenantId }: TenantScope,
  digest: string,
): Promise<(LogoRef & { data: Buffer }) | undefined> {
  const [row] = await db`
    select digest as logo_digest, media_type, width, height, length(bytes) as logo_bytes, bytes
    from brand_logos where tenant_id = ${tenantId} and digest = ${digest}`;
  return row ? { ...logoRefOf(row), data: Buffer.from(row.bytes) } : undefined;
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
