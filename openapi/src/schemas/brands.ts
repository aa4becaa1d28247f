// A reseller's brand as the seller of its children's invoices: PUT /v1/customers/:id/brand's body. The visual part
// (display name, logo, accent) is the portal's brand; the rest makes the reseller the issuer of its children's
// invoices. Absent fields stay as they are; null clears.
import { z } from 'zod';
import { currencyCode } from './iso4217.ts';
import { text } from './text.ts';

const httpsUrl = text(2048).refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', {
  message: 'must be an https URL',
});

const countryCode = text(2).regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE' });

export const brandTaxId = z.strictObject({
  /** Where the id is registered: a country code, or a country-region code (CA-QC). */
  jurisdiction: text(6).regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, {
    message: 'must be a country code or a country-region code (CA-QC)',
  }),
  /** Checked against the jurisdiction's format and check digits where Tariff knows them (EU VAT, GB, CH, AU, ...). */
  tax_id: text(64, { trim: true }),
});

/** Where the reseller is registered to collect tax, as the tenant's registrations (PUT /v1/tax/settings). */
export const brandTaxRegistration = z.strictObject({
  /** A country, a Canadian province (CA-QC), or EU for the One-Stop Shop. */
  jurisdiction: text(6).regex(/^([A-Z]{2}(-[A-Z0-9]{1,3})?)$/, {
    message: 'must be a country code, a country-region code (CA-QC) or EU',
  }),
  tax_id: text(64, { trim: true }).nullable(),
});

export const invoicePrefix = text(12).regex(/^[A-Z0-9][A-Z0-9_]{0,11}$/, {
  message: 'must be 1 to 12 capital letters, digits or _ (not first), e.g. ACME',
});

export const stripeAccountId = text(255).regex(/^acct_[A-Za-z0-9]{1,250}$/, {
  message: 'must be a Stripe account id (acct_ followed by letters and digits)',
});

export const resellerBrandBody = z.strictObject({
  display_name: text(200, { trim: true }).nullable().optional(),
  logo_url: httpsUrl.nullable().optional(),
  accent_color: text(7)
    .regex(/^#[0-9a-f]{6}$/, 'must be #rrggbb in lower case')
    .nullable()
    .optional(),
  /** The seller's name as printed on its children's invoices. */
  legal_name: text(300, { trim: true }).nullable().optional(),
  address: text(1000, { trim: true, controls: 'whitespace' }).nullable().optional(),
  country: countryCode.nullable().optional(),
  /** Its origin's region (a Canadian province, an Indian state), beside `country`. */
  region: text(3)
    .regex(/^[A-Z0-9]{1,3}$/, { message: 'must be 1 to 3 capital letters or digits, e.g. QC' })
    .nullable()
    .optional(),
  tax_ids: z.array(brandTaxId).max(20).optional(),
  /** Where it collects tax on its children's invoices; none: it charges none, and its invoices say so. */
  tax_registrations: z.array(brandTaxRegistration).max(40).optional(),
  /** Whether the prices of its books include tax (its invoices extract it) or not (they add it). */
  prices_include_tax: z.boolean().optional(),
  /**
   * The logo printed on its children's invoices (PDF and HTML): a PNG or JPEG of at most 256 KiB, base64 (or a
   * data: URL of it). Stored as bytes; null removes it.
   */
  logo: text(400_000).nullable().optional(),
  /** Its children's invoices are numbered PREFIX-000001, PREFIX-000002, ... from the reseller's own sequence. */
  invoice_prefix: invoicePrefix.optional(),
  /** The currency of the children it creates when they name none. */
  currency: currencyCode.nullable().optional(),
  /** The Reply-To of mail about its children's invoices, printed on them. */
  reply_to: z.email().max(320).nullable().optional(),
  /** The reseller's own Stripe account (Connect): its children pay into it. */
  stripe_account: stripeAccountId.nullable().optional(),
});
export type ResellerBrandBody = z.infer<typeof resellerBrandBody>;
