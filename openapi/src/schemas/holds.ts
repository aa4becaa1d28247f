import { z } from 'zod';
import { positiveMoneyAmount } from './money.ts';
import { text } from './text.ts';
import { externalId } from './customers.ts';
import { usageEvent } from './events.ts';

/** Default and maximum lifetime of a hold: a crashed client's hold frees the balance within minutes, never hours. */
export const defaultHoldSeconds = 600;
export const maxHoldSeconds = 86_400;

export const holdId = text(255);
export const overrunPolicies = ['charge', 'refuse'] as const;
export type OverrunPolicy = (typeof overrunPolicies)[number];
export const holdStatuses = ['open', 'captured', 'released', 'expired'] as const;
export type HoldStatus = (typeof holdStatuses)[number];

/**
 * The worst case of the request, shaped as the event that will capture the hold: its event type and properties
 * with every open quantity at its maximum in the event's own fields (`output_tokens` set to the request's
 * max_tokens, the GPU duration to the job's limit). The kernel prices it as ingestion would now, before credits and
 * included allowances.
 */
export const holdEstimate = z.strictObject({
  event_type: usageEvent.shape.event_type,
  properties: usageEvent.shape.properties,
});
export type HoldEstimate = z.infer<typeof holdEstimate>;

export const placeHoldInput = z
  .strictObject({
    /** Chosen by the caller; placing the same id again answers the same hold. */
    id: holdId,
    amount: positiveMoneyAmount.optional(),
    estimate: holdEstimate.optional(),
    /** Seconds until the hold lapses if nothing captures or releases it. */
    expires_in: z.number().int().min(1).max(maxHoldSeconds).default(defaultHoldSeconds),
    /** A capture beyond what is held: charged as any event (charge, the default) or the event refused (refuse). */
    overrun: z.enum(overrunPolicies).default('charge'),
  })
  .superRefine((input, ctx) => {
    if ((input.amount === undefined) === (input.estimate === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: input.amount === undefined ? ['amount'] : ['estimate'],
        message: 'give exactly one of amount and estimate',
      });
    }
  });
export type PlaceHoldInput = z.infer<typeof placeHoldInput>;

export const extendHoldInput = z
  .strictObject({
    /** Seconds from now until the hold lapses. */
    expires_in: z.number().int().min(1).max(maxHoldSeconds).optional(),
    /**
     * The new total held (not an increment), at every level as a placement with an amount: at least what is held
     * now; refused like a new hold if not available.
     */
    amount: positiveMoneyAmount.optional(),
    /** The new worst case, priced at every level by that level's own book as a placement with an estimate. */
    estimate: holdEstimate.optional(),
  })
  .superRefine((input, ctx) => {
    if (input.amount !== undefined && input.estimate !== undefined)
      ctx.addIssue({ code: 'custom', path: ['estimate'], message: 'give at most one of amount and estimate' });
    else if (input.expires_in === undefined && input.amount === undefined && input.estimate === undefined)
      ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'give expires_in, amount, estimate or some' });
  });
export type ExtendHoldInput = z.infer<typeof extendHoldInput>;

export const holdPath = z.strictObject({ id: externalId, hold_id: holdId });
export type HoldPath = z.infer<typeof holdPath>;
export const customerPath = z.strictObject({ id: externalId });

export const listHoldsQuery = z.strictObject({
  status: z.enum(holdStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ListHoldsQuery = z.infer<typeof listHoldsQuery>;
