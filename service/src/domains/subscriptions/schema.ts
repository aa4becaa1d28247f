import { z } from 'zod';
import { externalId } from '../customers/schema.ts';
import { planCode } from '../plans/schema.ts';

export const createSubscriptionInput = z.strictObject({
  plan: planCode,
  /** When billing on the plan starts (whole seconds kept); now when omitted. The first period runs from here to the first anchor boundary. */
  started_at: z.iso.datetime({ offset: true }).optional(),
  /** Day of the month periods start on (00:00 UTC; clamped to short months); the start's day when omitted. Yearly plans anchor on the start's month. */
  anchor_day: z.number().int().min(1).max(31).optional(),
  /** Negotiated percentage off every event's subtotal, e.g. "12.5". */
  discount_percent: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,7})?$/, { message: 'must be a percentage with at most 7 decimals, e.g. "12.5"', abort: true })
    .refine((value) => Number(value) <= 100, 'must be at most 100')
    .optional(),
});
export type CreateSubscriptionInput = z.infer<typeof createSubscriptionInput>;

export const customerPath = z.strictObject({ id: externalId });
