import { z } from 'zod';
import { text } from './text.ts';
import { currencyCode } from './iso4217.ts';

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

export { currencyCode };

const countryCode = text(2)
  .regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE', abort: true })
  .refine((code) => regionNames.of(code) !== code, 'is not an ISO 3166-1 country');

const taxStatus = z.enum(['business', 'consumer', 'exempt']);
/** Province, state or territory: ISO 3166-2 subdivision code without the country (ON, QC, NY) or India's GST state code (27). */
const regionCode = text(3).regex(/^[A-Z0-9]{1,3}$/, {
  message: 'must be a subdivision code in capitals without the country, e.g. ON or NY',
});
const postalAddress = text(1000, { trim: true, controls: 'whitespace' });

/** The tenant's id for a customer: printable, no control characters, used in URLs (percent-encoded). */
export const externalId = text(255);

// Stripe-like metadata: a flat map of short strings, so it can be indexed and exported as-is.
const metadataKey = text(40);
const metadataValue = text(500, { min: 0, controls: 'any' });
const metadata = z.record(metadataKey, metadataValue).refine((m) => Object.keys(m).length <= 50, 'at most 50 keys');

export const createCustomerInput = z.strictObject({
  external_id: externalId,
  name: text(300, { trim: true }).optional(),
  email: z.email().max(320).optional(),
  /** Required, unless the parent is a reseller whose brand sets the currency of the children it creates. */
  currency: currencyCode.optional(),
  country: countryCode.optional(),
  tax_id: text(64, { trim: true }).optional(),
  /** business (with a tax id: reverse charge where it applies), consumer, or exempt (with tax_exempt_reason); default: business when tax_id is set, else consumer. */
  tax_status: taxStatus.optional(),
  tax_exempt_reason: text(500, { trim: true }).optional(),
  region: regionCode.optional(),
  address: postalAddress.optional(),
  postal_code: text(20, { trim: true }).optional(),
  /** External id of the parent customer (hierarchies, reseller end users). */
  parent_id: externalId.optional(),
  is_reseller: z.boolean().default(false),
  metadata: metadata.default({}),
});
export type CreateCustomerInput = z.infer<typeof createCustomerInput>;

/** Absent fields stay as they are; null clears. Metadata merges, a null value removes its key. */
export const updateCustomerInput = z.strictObject({
  /** Changes only while the customer has no invoices and no price book or credit in another currency. */
  currency: currencyCode.optional(),
  name: text(300, { trim: true }).nullable().optional(),
  email: z.email().max(320).nullable().optional(),
  country: countryCode.nullable().optional(),
  tax_id: text(64, { trim: true }).nullable().optional(),
  tax_status: taxStatus.nullable().optional(),
  tax_exempt_reason: text(500, { trim: true }).nullable().optional(),
  region: regionCode.nullable().optional(),
  address: postalAddress.nullable().optional(),
  postal_code: text(20, { trim: true }).nullable().optional(),
  /**
   * A move: the customer's price books from now on must be its new seller's (its parent's if that parent resells,
   * else the tenant's), or the move is refused (409 parent_price_book_conflict); `price_book` assigns one with it.
   */
  parent_id: externalId.nullable().optional(),
  /** A price book (its code) assigned from now, as PUT /price_book does: with parent_id, the new seller's. */
  price_book: text(200).optional(),
  /** false only once the customer has no children (else 409 reseller_has_children): their books are its own. */
  is_reseller: z.boolean().optional(),
  metadata: z.record(metadataKey, metadataValue.nullable()).optional(),
});
export type UpdateCustomerInput = z.infer<typeof updateCustomerInput>;

export const listCustomersInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** External id of the last customer of the previous page. */
  starting_after: externalId.optional(),
});
export type ListCustomersInput = z.infer<typeof listCustomersInput>;

export const assignPriceBookInput = z.strictObject({
  /** The book's code (its JSON `id`). */
  price_book: text(200),
  /** When the book starts rating the customer's events; now when omitted. */
  effective_from: z.iso.datetime({ offset: true }).optional(),
});
export type AssignPriceBookInput = z.infer<typeof assignPriceBookInput>;
