import { z } from 'zod';
import { text } from '../../platform/text.ts';
import { currencyCode } from '../currency/iso4217.ts';

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

export { currencyCode };

const countryCode = text(2)
  .regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE', abort: true })
  .refine((code) => regionNames.of(code) !== code, 'is not an ISO 3166-1 country');

/** The tenant's id for a customer: printable, no control characters, used in URLs (percent-encoded). */
export const externalId = text(255);

// Stripe-like metadata: a flat map of short strings, so it can be indexed and exported as-is.
const metadataKey = text(40);
const metadataValue = text(500, { min: 0, controls: 'any' });
const metadata = z
  .record(metadataKey, metadataValue)
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys');

export const createCustomerInput = z.strictObject({
  external_id: externalId,
  name: text(300, { trim: true }).optional(),
  email: z.email().max(320).optional(),
  currency: currencyCode,
  country: countryCode.optional(),
  tax_id: text(64, { trim: true }).optional(),
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
  parent_id: externalId.nullable().optional(),
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
