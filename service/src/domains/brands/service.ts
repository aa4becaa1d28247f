// A reseller as the issuer of its children's invoices: its seller profile (legal name, address, tax ids, invoice
// prefix and sequence, default currency, reply-to, Stripe account, tax registrations, logo), who issues a
// customer's invoice, the seller as frozen on an issued invoice, and the seller its children's invoices are taxed
// as. The portal's look (display name, logo URL, accent) is the portal's; the REST and dashboard API that sets
// both is portal/service.ts's setResellerBrand.
import type { TenantScope } from '../../platform/db.ts';
import { invalid, type FieldProblem } from '../../platform/errors.ts';
import { checkRegistrations, loadTaxContext, type SellerTaxProfile, type TaxContext } from '../tax/service.ts';
import { checkTaxId } from '../tax/tax-ids.ts';
import type { ResellerBrandBody } from '@tariff/openapi/schemas/brands';
import { decodeLogo, type DecodedLogo } from './logo.ts';
import * as repo from './repo.ts';

export type IssuerProfile = repo.IssuerProfile;
export type LogoRef = repo.LogoRef;

/** The seller of a reseller-issued invoice, frozen on it at finalization (invoices.issuer). */
export interface Issuer {
  customer_id: string;
  external_id: string;
  /** The brand's display name, else the reseller's name, else its external id. */
  name: string;
  legal_name: string | null;
  address: string | null;
  country: string | null;
  tax_ids: repo.TaxIdEntry[];
  logo_url: string | null;
  /** The uploaded logo printed on the document (brand_logos, by digest); absent on invoices issued before it. */
  logo?: LogoRef | null;
  reply_to: string | null;
  stripe_account: string | null;
  invoice_prefix: string;
}

export const defaultInvoicePrefix = 'INV';

/** Who issues each customer's invoices: its parent when that is a reseller (absent: the tenant). */
export async function issuersOf(scope: TenantScope, customerIds: string[]): Promise<Map<string, Issuer>> {
  const rows = await repo.findIssuers(scope, [...new Set(customerIds)]);
  return new Map(
    [...rows].map(([customerId, row]) => [
      customerId,
      {
        customer_id: row.reseller.id,
        external_id: row.reseller.externalId,
        name: row.displayName ?? row.reseller.name ?? row.reseller.externalId,
        legal_name: row.profile?.legalName ?? null,
        address: row.profile?.address ?? null,
        country: row.profile?.country ?? null,
        tax_ids: row.profile?.taxIds ?? [],
        logo_url: row.logoUrl,
        logo: row.logo,
        reply_to: row.profile?.replyTo ?? null,
        stripe_account: row.profile?.stripeAccount ?? null,
        invoice_prefix: row.profile?.invoicePrefix ?? defaultInvoicePrefix,
      },
    ]),
  );
}

/**
 * The tax context of invoices of these customers (tax/service.ts loadTaxContext; the invoices' Stripe Tax
 * calculations with it) with, for each customer whose
 * parent is a reseller, that reseller as the seller: its registrations, its origin (the brand's country, else the
 * reseller's own), whether its prices include tax. Its payment terms are the tenant's (30 days without them).
 */
export async function taxContextOf(
  scope: TenantScope,
  customerIds: string[],
  calculationSubjects: string[] = [],
): Promise<TaxContext> {
  const rows = await repo.findIssuers(scope, [...new Set(customerIds)]);
  const resellers = new Map<string, SellerTaxProfile>();
  for (const [customerId, row] of rows) resellers.set(customerId, sellerOf(row));
  const context = await loadTaxContext(scope, customerIds, { resellers, calculationSubjects });
  const terms = context.settings?.paymentTermsDays ?? 30;
  for (const seller of resellers.values()) seller.paymentTermsDays = terms;
  return context;
}

function sellerOf(row: repo.IssuerRow): SellerTaxProfile {
  const profile = row.profile;
  return {
    legalName: profile?.legalName ?? row.displayName ?? row.reseller.name ?? row.reseller.externalId,
    address: profile?.address ?? '',
    country: profile?.country ?? row.reseller.country ?? '',
    region: profile?.region ?? null,
    pricesIncludeTax: profile?.pricesIncludeTax ?? false,
    stripeTax: false,
    paymentTermsDays: 30,
    registrations: profile?.taxRegistrations ?? [],
  };
}

/** The bytes of a stored logo (a document prints them). */
export const findLogo = (scope: TenantScope, digest: string) => repo.findLogo(scope, digest);

/** A stored logo as the brand shows it: its type, size and digest, without the bytes. */
export async function findLogoRef(scope: TenantScope, digest: string | null): Promise<LogoRef | null> {
  const found = digest === null ? undefined : await repo.findLogo(scope, digest);
  if (!found) return null;
  const { data: _bytes, ...ref } = found;
  return ref;
}

/** The Stripe account (Connect) a customer pays into now: its reseller parent's, if that has one. */
export async function stripeAccountOf(scope: TenantScope, customerId: string): Promise<string | null> {
  return (await issuersOf(scope, [customerId])).get(customerId)?.stripe_account ?? null;
}

/** The reseller collecting through a connected Stripe account, if a brand of this tenant names it. */
export const resellerOfStripeAccount = (scope: TenantScope, stripeAccount: string) =>
  repo.findResellerByStripeAccount(scope, stripeAccount);

/** First of `count` consecutive numbers of the reseller's own gapless invoice sequence, in the caller's transaction. */
export const takeResellerInvoiceNumbers = (scope: TenantScope, resellerId: string, count: number) =>
  repo.takeResellerNumbers(scope, resellerId, 'invoice', count);

/** The next number of the reseller's own gapless credit note sequence, in the caller's transaction. */
export const takeResellerCreditNoteNumber = (scope: TenantScope, resellerId: string) =>
  repo.takeResellerNumbers(scope, resellerId, 'credit_note', 1);

/** A reseller's credit note number: its invoice prefix and CN, e.g. ACME-CN-000001. */
export const creditNotePrefix = (invoicePrefix: string) => `${invoicePrefix}-CN`;

export const findResellerProfile = (scope: TenantScope, resellerId: string) => repo.findProfile(scope, resellerId);

/** The currency a new child of this parent gets when it names none: the parent's brand currency, if it sets one. */
export async function defaultChildCurrency(scope: TenantScope, parentId: string): Promise<string | null> {
  return (await repo.findProfile(scope, parentId))?.currency ?? null;
}

/**
 * Merges the body's seller fields into the reseller's profile and stores it (with its logo's bytes); every
 * problem (a malformed tax id, a registration, the logo) is reported at once, by its field. The caller checked
 * that the customer is a reseller and may be changed.
 */
export async function saveResellerProfile(
  scope: TenantScope,
  resellerId: string,
  input: ResellerBrandBody,
  now: Date,
): Promise<{ before: IssuerProfile | undefined; after: IssuerProfile; logo: LogoRef | null }> {
  const before = await repo.findProfile(scope, resellerId);
  const checked = checkProfileInput(input, before);
  if (checked.problems.length > 0) {
    const onlyTaxIds = checked.problems.every((p) => p.field.startsWith('tax_ids.'));
    throw invalid(
      onlyTaxIds ? 'invalid_tax_id' : 'invalid_brand',
      `Invalid brand: ${checked.problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`,
      checked.problems,
    );
  }
  const pick = <T>(value: T | undefined, current: T): T => (value === undefined ? current : value);
  if (checked.logo) await repo.saveLogo(scope, resellerId, checked.logo, now);
  const after: IssuerProfile = {
    customerId: resellerId,
    legalName: pick(input.legal_name, before?.legalName ?? null),
    address: pick(input.address, before?.address ?? null),
    country: pick(input.country, before?.country ?? null),
    region: pick(input.region, before?.region ?? null),
    taxIds: checked.taxIds ?? before?.taxIds ?? [],
    taxRegistrations: checked.registrations ?? before?.taxRegistrations ?? [],
    pricesIncludeTax: pick(input.prices_include_tax, before?.pricesIncludeTax ?? false),
    logoDigest: input.logo === undefined ? (before?.logoDigest ?? null) : (checked.logo?.digest ?? null),
    invoicePrefix: pick(input.invoice_prefix, before?.invoicePrefix ?? defaultInvoicePrefix),
    currency: pick(input.currency, before?.currency ?? null),
    replyTo: pick(input.reply_to, before?.replyTo ?? null),
    stripeAccount: pick(input.stripe_account, before?.stripeAccount ?? null),
    updatedAt: now,
  };
  await repo.upsertProfile(scope, after);
  return { before, after, logo: await findLogoRef(scope, after.logoDigest) };
}

/** The body's tax ids, registrations and logo checked (normalized), with every problem; undefined: not given. */
function checkProfileInput(input: ResellerBrandBody, before: IssuerProfile | undefined) {
  const problems: FieldProblem[] = [];
  const taxIds = input.tax_ids?.map((entry, i) => {
    const check = checkTaxId(entry.jurisdiction.slice(0, 2), entry.tax_id);
    if (!check.ok) problems.push({ field: `tax_ids.${i}.tax_id`, reason: check.reason });
    // Stored as checked: compact, with the country's prefix (DE 136 695 976 -> DE136695976).
    return { jurisdiction: entry.jurisdiction, tax_id: check.ok ? check.normalized : entry.tax_id };
  });
  const registrations =
    input.tax_registrations && checkRegistrations(input.tax_registrations, 'tax_registrations', { allowUs: false });
  if (registrations) problems.push(...registrations.problems);
  const country = input.country === undefined ? (before?.country ?? null) : input.country;
  const registered = registrations?.registrations ?? before?.taxRegistrations ?? [];
  if (registered.length > 0 && country === null)
    problems.push({ field: 'country', reason: 'is required to collect tax: the country the reseller sells from' });
  let logo: DecodedLogo | undefined;
  if (input.logo) {
    const decoded = decodeLogo(input.logo);
    if (decoded.ok) logo = decoded.logo;
    else problems.push({ field: 'logo', reason: decoded.reason });
  }
  return { problems, taxIds, registrations: registrations?.registrations, logo };
}
