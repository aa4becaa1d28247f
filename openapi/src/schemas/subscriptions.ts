import { parseScaled } from '@tariff/core-wasm';
import { z } from 'zod';
import { externalId } from './customers.ts';
import { planCode } from './plans.ts';
import { text } from './text.ts';

const discountPercent = text(12)
  .regex(/^\d{1,3}(\.\d{1,7})?$/, { message: 'must be a percentage with at most 7 decimals, e.g. "12.5"', abort: true })
  .refine((value) => Number(value) <= 100, 'must be at most 100');

export const createSubscriptionInput = z.strictObject({
  plan: planCode,
  /** When billing on the plan starts (whole seconds kept); now when omitted. The first period runs from here to the first anchor boundary. */
  started_at: z.iso.datetime({ offset: true }).optional(),
  /** Day of the month periods start on (00:00 UTC; clamped to short months); the start's day when omitted. Yearly plans anchor on the start's month. */
  anchor_day: z.number().int().min(1).max(31).optional(),
  /** Negotiated percentage off every event's subtotal, e.g. "12.5". */
  discount_percent: discountPercent.optional(),
});
export type CreateSubscriptionInput = z.infer<typeof createSubscriptionInput>;

export const customerPath = z.strictObject({ id: externalId });

/** A non-negative quantity with at most 6 decimals, as the kernel counts units. */
const quantity = z
  .union([text(40), z.number()])
  .refine((value) => parseScaled(value, 6).ok, 'must be a non-negative number with at most 6 decimals');

export const amendSubscriptionInput = z
  .strictObject({
    /** When the new terms take effect (whole seconds kept): inside the customer's current period, not before now. */
    effective_at: z.iso.datetime({ offset: true }),
    /** The plan from then on (same currency and interval); the plan in force when omitted. */
    plan: planCode.optional(),
    /** Units included per period by allowance pool, replacing the plan's from then on. */
    allowances: z.record(text(100), quantity).optional(),
    /** Negotiated percentage off every event's subtotal from then on; the one in force when omitted. */
    discount_percent: discountPercent.optional(),
  })
  .refine(
    (input) => input.plan !== undefined || input.allowances !== undefined || input.discount_percent !== undefined,
    {
      message: 'an amendment changes the plan, the allowances or the discount',
      path: ['plan'],
    },
  );
export type AmendSubscriptionInput = z.infer<typeof amendSubscriptionInput>;
