// Inputs of price-book simulations: a draft version replayed over past periods, nothing stored.
import { z } from 'zod';
import { jsonObject, text } from '@tariff/openapi/schemas/text';
import { externalId } from '@tariff/openapi/schemas/customers';
import { priceBookCode } from '@tariff/openapi/schemas/pricing';
import { checkRange } from '@tariff/openapi/schemas/usage';

/** Longest span of period starts one simulation replays. */
export const maxSimulationDays = 366;

const draftFields = {
  /** The book whose events are re-rated (its code). */
  price_book: priceBookCode,
  /**
   * The draft: one price version of that book (a BookVersion, as priceBooks.addVersion takes it). It prices every
   * replayed period from its start, whatever its effective_from says; the book's cost schedule stays as stored.
   */
  draft: jsonObject,
};

export const simulateInput = checkRange(
  z.strictObject({
    ...draftFields,
    /** The billing periods that start in [from, until) are replayed, e.g. one month. */
    from: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }),
    /** Only these customers (external ids); absent: every customer whose events the book rated in those periods. */
    customers: z.array(externalId).min(1).max(1000).optional(),
  }),
  maxSimulationDays,
);
export type SimulateInput = z.infer<typeof simulateInput>;

export const simulatedReceiptInput = z.strictObject({
  ...draftFields,
  /** The event whose receipt under the draft is wanted. */
  transaction_id: text(255),
});
export type SimulatedReceiptInput = z.infer<typeof simulatedReceiptInput>;
