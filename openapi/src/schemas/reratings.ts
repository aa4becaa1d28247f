import { z } from 'zod';
import { text } from './text.ts';

export const listReratingsInput = z.strictObject({
  /** Only re-ratings of this price book (its code). */
  price_book: text(200).optional(),
  status: z.enum(['pending', 'previewed', 'approved', 'applied', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Id of the last re-rating of the previous page (newest first). */
  starting_after: z.uuid().optional(),
});
export type ListReratingsInput = z.infer<typeof listReratingsInput>;

export const reratingPath = z.strictObject({ id: z.uuid() });

export { transactionIdPath as eventRevisionsPath } from './events.ts';
