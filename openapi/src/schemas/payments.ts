import { z } from 'zod';
import { text } from './text.ts';

export const connectStripeInput = z.strictObject({
  /** A restricted key (rk_) with write access to customers, Checkout sessions, SetupIntents and PaymentIntents, or a secret key (sk_). */
  secret_key: text(255).regex(
    /^(rk|sk)_(live|test)_[A-Za-z0-9_]{8,}$/,
    'a Stripe secret or restricted key (sk_live_..., rk_test_...)',
  ),
  /** The signing secret of the Stripe webhook endpoint that sends to /v1/stripe/events/{tenant}. */
  webhook_secret: text(255).regex(/^whsec_[A-Za-z0-9+/=_-]{8,}$/, 'a Stripe webhook signing secret (whsec_...)'),
  /**
   * The signing secret of the Stripe Connect endpoint (events of the resellers' connected accounts) that sends to
   * the same URL; without it, events naming an `account` are refused.
   */
  connect_webhook_secret: text(255)
    .regex(/^whsec_[A-Za-z0-9+/=_-]{8,}$/, 'a Stripe webhook signing secret (whsec_...)')
    .optional(),
});
export type ConnectStripeInput = z.infer<typeof connectStripeInput>;

const days = z.number().positive().max(365);

export const dunningPolicyInput = z.strictObject({
  /** Retries after the first failed attempt, in days from it (fractions allowed), ascending; [] for none. */
  retry_after_days: z
    .array(days)
    .max(10)
    .refine((list) => list.every((d, i) => i === 0 || d > list[i - 1]), { message: 'must be ascending' })
    .default([1, 3, 5, 7]),
  /** Block the customer's new usage this many days after the first failure while the invoice is unpaid; null: never. */
  block_after_days: z.number().min(0).max(365).nullable().default(null),
});
export type DunningPolicyInput = z.infer<typeof dunningPolicyInput>;

const url = text(2048).refine((value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol), {
  message: 'an http or https URL',
});

export const setupLinkInput = z.strictObject({
  /** Where Stripe's page sends the customer when done (default: the dashboard). */
  success_url: url.optional(),
  cancel_url: url.optional(),
});
export type SetupLinkInput = z.infer<typeof setupLinkInput>;

export const invoiceActionInput = z.strictObject({
  reason: text(1000, { trim: true, controls: 'whitespace' }).optional(),
});
export type InvoiceActionInput = z.infer<typeof invoiceActionInput>;

export const stripeEventsPath = z.strictObject({ tenant: text(100) });

export const listStripeEventsInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
