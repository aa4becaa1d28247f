import { z } from 'zod';
import { positiveMoneyAmount } from './money.ts';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const createCreditNoteInput = z
  .strictObject({
    reason: text(1000, { trim: true, controls: 'whitespace' }),
    /** Credit these invoice lines (by `line`), each by `amount` or, without one, by what is left of it. */
    lines: z
      .array(z.strictObject({ line: z.number().int().min(0), amount: positiveMoneyAmount.optional() }))
      .min(1)
      .max(1000)
      .optional(),
    /** Credit this amount, spread over the invoice's lines in proportion to what is left of each. */
    amount: positiveMoneyAmount.optional(),
  })
  .refine((input) => input.lines === undefined || input.amount === undefined, {
    message: 'give lines or amount, not both',
    path: ['amount'],
  });
export type CreateCreditNoteInput = z.infer<typeof createCreditNoteInput>;

export const listCreditNotesInput = z.strictObject({
  customer_id: externalId.optional(),
  invoice_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Id of the last credit note of the previous page (newest first). */
  starting_after: z.uuid().optional(),
});
export type ListCreditNotesInput = z.infer<typeof listCreditNotesInput>;

export const creditNotePath = z.strictObject({ id: z.uuid() });
