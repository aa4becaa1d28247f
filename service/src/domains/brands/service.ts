// A reseller as the issuer of its children's invoices: its seller profile (legal name, address, tax ids, invoice
// prefix and sequence, default currency, reply-to, Stripe account), who issues a customer's invoice, and the
// seller as frozen on an issued invoice. The visual brand (name, logo, accent) is the portal's; the REST and
// dashboard API that sets both is portal/service.ts's setResellerBrand.
import type { TenantScope } from '../../platform/db.ts';
import { invalid } from '../../platform/errors.ts';
import { checkTaxId } from '../tax/tax-ids.ts';
import type { ResellerBrandBody } from '@tariff/openapi/schemas/brands';
import * as repo from './repo.ts';

export type IssuerProfile = repo.IssuerProfile;

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
        reply_to: row.profile?.replyTo ?? null,
        stripe_account: row.profile?.stripeAccount ?? null,
        invoice_prefix: row.profile?.invoicePrefix ?? defaultInvoicePrefix,
      },
    ]),
  );
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
 * Merges the body's seller fields into the reseller's profile and stores it; every malformed tax id is reported
 * at once, by its field. The caller checked that the customer is a reseller and may be changed.
 */
export async function saveResellerProfile(
  scope: TenantScope,
  resellerId: string,
  input: ResellerBrandBody,
  now: Date,
): Promise<{ before: IssuerProfile | undefined; after: IssuerProfile }> {
  const checked = (input.tax_ids ?? []).map((entry) => ({
    entry,
    check: checkTaxId(entry.jurisdiction.slice(0, 2), entry.tax_id),
  }));
  const problems = checked.flatMap(({ check }, i) =>
    check.ok ? [] : [{ field: `tax_ids.${i}.tax_id`, reason: check.reason }],
  );
  if (problems.length > 0)
    throw invalid(
      'invalid_tax_id',
      `Invalid tax id: ${problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`,
      problems,
    );
  // Stored as checked: compact, with the country's prefix (DE 136 695 976 -> DE136695976).
  const taxIds = checked.map(({ entry, check }) => ({
    jurisdiction: entry.jurisdiction,
    tax_id: check.ok ? check.normalized : entry.tax_id,
  }));
  const before = await repo.findProfile(scope, resellerId);
  const pick = <T>(value: T | undefined, current: T): T => (value === undefined ? current : value);
  const after: IssuerProfile = {
    customerId: resellerId,
    legalName: pick(input.legal_name, before?.legalName ?? null),
    address: pick(input.address, before?.address ?? null),
    country: pick(input.country, before?.country ?? null),
    taxIds: input.tax_ids === undefined ? (before?.taxIds ?? []) : taxIds,
    invoicePrefix: pick(input.invoice_prefix, before?.invoicePrefix ?? defaultInvoicePrefix),
    currency: pick(input.currency, before?.currency ?? null),
    replyTo: pick(input.reply_to, before?.replyTo ?? null),
    stripeAccount: pick(input.stripe_account, before?.stripeAccount ?? null),
    updatedAt: now,
  };
  await repo.upsertProfile(scope, after);
  return { before, after };
}
