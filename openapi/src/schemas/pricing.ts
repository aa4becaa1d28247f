import { z } from 'zod';
import { jsonObject, storableJson, text } from './text.ts';

/** A book's code (its JSON `id`). */
export const priceBookCode = text(200);

// The book's own structure is checked by the kernel host's validateBook (every problem with its JSON path);
// zod checks the envelope and that every key and string in it can be stored.

export const createPriceBookInput = z.strictObject({
  name: text(200, { trim: true }).optional(),
  /** A price book as `core-wasm/src/book.ts` describes it; its `id` becomes the book's code. */
  book: jsonObject,
  /**
   * A reseller's external id (tenant keys only): the reseller owns the book and may assign it to its children. A
   * reseller-scoped key's books are always its reseller's.
   */
  owner_customer_id: text(255).optional(),
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

/** The catalogue fields shared by a new book's import and an existing book's update. */
const catalogueFields = {
  /** `genai-prices`: its data.v2.json, a list of providers; `litellm`: LiteLLM's model price map, an object by model name. */
  source: z.enum(['genai-prices', 'litellm']),
  /** The catalogue itself, as its project publishes it. */
  catalogue: z.union([storableJson(z.array(z.unknown()).min(1)), jsonObject]),
  /** genai-prices regexes without an exact match rule: keep them as regex rules (default), widen them (noted), or reject (skip the model). */
  regex: z.enum(['keep', 'widen', 'reject']).default('keep'),
  /** Refuse the whole catalogue when any model would be skipped (default: import the rest and report the skipped). */
  strict: z.boolean().default(false),
};

/** A price book built from a public catalogue (genai-prices or LiteLLM); what cannot be stated is skipped and reported. */
export const importPriceBookInput = z.strictObject({
  ...catalogueFields,
  /** The new book's id; the source's name when omitted. */
  book_id: priceBookCode.optional(),
  name: text(200, { trim: true }).optional(),
  /** effective_from of the first version (a model's start_date at or before it is in force from the start). */
  first_effective_from: z.iso.datetime({ offset: true }).optional(),
});
export type ImportPriceBookInput = z.infer<typeof importPriceBookInput>;

/** A newer catalogue for an existing book: its prices become a new version of that book. */
export const updatePriceBookFromCatalogueInput = z.strictObject({
  ...catalogueFields,
  /** When the new version takes effect: now when omitted; never in the past, and after the book's latest version. */
  effective_from: z.iso.datetime({ offset: true }).optional(),
  /**
   * The `digest` of a preview: the update is refused (409) unless it adds exactly what that preview showed, so that
   * what is published is what was reviewed even if the book or the catalogue changed in between.
   */
  preview_digest: text(64)
    .regex(/^[0-9a-f]{64}$/, 'must be the 64-hex-digit digest of a preview')
    .optional(),
});
export type UpdatePriceBookFromCatalogueInput = z.infer<typeof updatePriceBookFromCatalogueInput>;
