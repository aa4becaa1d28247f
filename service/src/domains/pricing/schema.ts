import { z } from 'zod';
import { jsonObject, storableJson, text } from '../../platform/text.ts';

/** A book's code (its JSON `id`). */
export const priceBookCode = text(200);

// The book's own structure is checked by the kernel host's validateBook (every problem with its JSON path);
// zod checks the envelope and that every key and string in it can be stored.

export const createPriceBookInput = z.strictObject({
  name: text(200, { trim: true }).optional(),
  /** A price book as `core-wasm/src/book.ts` describes it; its `id` becomes the book's code. */
  book: jsonObject,
});
export type CreatePriceBookInput = z.infer<typeof createPriceBookInput>;

export const addPriceBookVersionInput = z.strictObject({
  /** `price` (default) adds to the book's versions, `cost` to its cost schedule. */
  schedule: z.enum(['price', 'cost']).default('price'),
  /** One BookVersion; its `effective_from` must be later than every version of the schedule, and not in the past unless `retroactive`. */
  version: jsonObject,
  /**
   * Allows an `effective_from` in the past (price schedule only): events already rated at or after it are re-rated by a
   * re-rating (GET /v1/reratings), previewed first and applied on approval.
   */
  retroactive: z.boolean().default(false),
});
export type AddPriceBookVersionInput = z.infer<typeof addPriceBookVersionInput>;


export const listPriceBooksInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  starting_after: priceBookCode.optional(),
});
export type ListPriceBooksInput = z.infer<typeof listPriceBooksInput>;

/** A price book built from a public catalogue; today the genai-prices v2 catalogue (its data.v2.json). */
export const importPriceBookInput = z.strictObject({
  source: z.literal('genai-prices'),
  /** The catalogue itself: a list of providers with their models and prices. */
  catalogue: storableJson(z.array(z.unknown()).min(1)),
  /** The new book's id; "genai-prices" when omitted. */
  book_id: priceBookCode.optional(),
  name: text(200, { trim: true }).optional(),
  /** effective_from of the first version (a model's start_date at or before it is in force from the start). */
  first_effective_from: z.iso.datetime({ offset: true }).optional(),
  /** A catalogue regex no match rule can state exactly: refuse it (default) or widen it and say so in the notes. */
  regex: z.enum(['reject', 'widen']).default('reject'),
});
export type ImportPriceBookInput = z.infer<typeof importPriceBookInput>;
