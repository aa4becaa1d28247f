import { z } from 'zod';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const invoicePath = z.strictObject({ id: z.uuid() });

export const listInvoicesInput = z.strictObject({
  customer_id: externalId.optional(),
  status: z.enum(['draft', 'finalized', 'past_due', 'uncollectible', 'paid', 'void']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Id of the last invoice of the previous page (newest period first). */
  starting_after: z.uuid().optional(),
});
export type ListInvoicesInput = z.infer<typeof listInvoicesInput>;

export const payInvoiceInput = z.strictObject({
  /** When the payment was received; now when omitted. */
  paid_at: z.iso.datetime({ offset: true }).optional(),
});
export type PayInvoiceInput = z.infer<typeof payInvoiceInput>;

export const voidInvoiceInput = z.strictObject({ reason: text(1000, { trim: true, controls: 'whitespace' }) });
export type VoidInvoiceInput = z.infer<typeof voidInvoiceInput>;

export const closePeriodsInput = z.strictObject({
  /** The start of the one period to close; every ended period without its invoice when omitted. */
  period_start: z.iso.datetime({ offset: true }).optional(),
});
export type ClosePeriodsInput = z.infer<typeof closePeriodsInput>;
