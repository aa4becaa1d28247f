import { parseScaled } from '@tariff/core-wasm';
import { z } from 'zod';
import { amountNano, moneyAmount, positiveMoneyAmount } from './money.ts';
import { text } from './text.ts';

/** How long a plan's billing period is (subscriptions/periods.ts computes the periods). */
export const billingInterval = z.enum(['month', 'year']);
export type BillingInterval = z.infer<typeof billingInterval>;

export const planCode = text(100).regex(
  /^[a-z0-9][a-z0-9_.:-]{0,99}$/,
  'must be lowercase letters, digits, "_", ".", ":" or "-" (at most 100)',
);

/** A non-negative quantity with at most 6 decimals, as the kernel counts units. */
const quantity = z.union([text(40), z.number()]).refine((value) => {
  const parsed = parseScaled(value, 6);
  return parsed.ok;
}, 'must be a non-negative number with at most 6 decimals');

export const createPlanInput = z.strictObject({
  code: planCode,
  name: text(200, { trim: true }),
  /** The price book (its code) that rates subscribers' usage; the plan's currency is the book's. */
  price_book: text(200),
  /** Per full period, billed in arrears at period close; partial periods are prorated by the second. */
  base_fee: moneyAmount.default('0'),
  interval: billingInterval,
  /** Units included per period by allowance pool, e.g. {"tokens": "1000000"}; the book's charges name the pools they draw. */
  allowances: z.record(text(100), quantity).default({}),
  /** Usage net of discounts (paid by credit or not) below this per period is billed as a true-up line. */
  minimum_spend: positiveMoneyAmount.optional(),
  /** How long after a period ends its invoice stays a draft that late events still land in. */
  invoice_grace_hours: z.number().int().min(0).max(720).default(1),
  /**
   * Progressive billing: when the usage a running period leaves to bill (after discounts and credits) reaches one
   * of these amounts, a threshold invoice for the charges so far is issued; the period-end invoice deducts it.
   */
  progressive_thresholds: z
    .array(positiveMoneyAmount)
    .max(20)
    // Only amounts are compared: one that is not an amount is reported by its own element's schema.
    .refine(
      (t) =>
        t
          .map(amountNano)
          .every((v, i, nanos) => i === 0 || v === undefined || nanos[i - 1] === undefined || v > nanos[i - 1]!),
      'must be strictly ascending',
    )
    .default([]),
  /**
   * A minimum commitment per contract term: over `periods` consecutive billing periods from the subscription's
   * start, usage net of discounts below `minimum_spend` is billed as a true-up at the close of the term's last one.
   */
  term_commitment: z
    .strictObject({ minimum_spend: positiveMoneyAmount, periods: z.number().int().min(2).max(120) })
    .optional(),
});
export type CreatePlanInput = z.infer<typeof createPlanInput>;

export const listPlansInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  starting_after: planCode.optional(),
});
export type ListPlansInput = z.infer<typeof listPlansInput>;

export const planPath = z.strictObject({ code: planCode });
