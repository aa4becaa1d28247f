import { z } from 'zod';
import { moneyAmount, positiveMoneyAmount } from './money.ts';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const grantKinds = ['prepaid', 'promotional', 'goodwill'] as const;
export type GrantKind = (typeof grantKinds)[number];
export const depletionPolicies = ['overage', 'block'] as const;
export type DepletionPolicy = (typeof depletionPolicies)[number];

const instant = z.iso.datetime({ offset: true });
const names = (what: string) => z.array(text(200)).min(1, `list at least one ${what}, or leave the field out`).max(100);

export const createGrantInput = z
  .strictObject({
    /** prepaid: bought by the customer; promotional: a free incentive; goodwill: a free compensation (give a reason). */
    kind: z.enum(grantKinds),
    /** In the customer's currency; or, with `credits`, leave it out. */
    amount: positiveMoneyAmount.optional(),
    /**
     * A grant denominated in credits: `amount` credits at `rate` (currency per credit, e.g. "0.001"). The kernel
     * draws its value in the currency (amount x rate, half-even to the nano-unit); the API shows both.
     */
    credits: z.strictObject({ amount: positiveMoneyAmount, rate: positiveMoneyAmount }).optional(),
    name: text(200, { trim: true }).optional(),
    /** Why it was granted; required for goodwill, shown on the invoice's credit line. */
    reason: text(1000, { trim: true, controls: 'whitespace' }).optional(),
    /** Lower numbers are drawn first among grants of the same class (free credit before prepaid). */
    priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
    /** Drawable from this instant on; at once when omitted. */
    effective_at: instant.optional(),
    /** Not drawable from this instant on; never expires when omitted. */
    expires_at: instant.optional(),
    /** Days before expires_at that the credit_grant.expiring notification fires; the tenant's setting (7 by default) when omitted. */
    expiry_notice_days: z.number().int().min(0).max(365).optional(),
    /** What the credit pays for; everything when omitted. A listed dimension must match too (all that are given). */
    scope: z
      .strictObject({
        /** Rate card ids of the customer's price book. */
        cards: names('card').optional(),
        event_types: names('event type').optional(),
        /** Meter codes: the credit pays for events of these meters' event types. */
        meters: names('meter').optional(),
      })
      .optional(),
  })
  .superRefine((input, ctx) => {
    if ((input.amount === undefined) === (input.credits === undefined))
      ctx.addIssue({ code: 'custom', path: ['amount'], message: 'give amount (currency) or credits, one of them' });
    if (input.kind === 'goodwill' && input.reason === undefined)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'is required for goodwill credit' });
    if (input.effective_at && input.expires_at && Date.parse(input.expires_at) <= Date.parse(input.effective_at)) {
      ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be after effective_at' });
    }
    if (input.scope && !input.scope.cards && !input.scope.event_types && !input.scope.meters) {
      ctx.addIssue({
        code: 'custom',
        path: ['scope'],
        message: 'name cards, event_types or meters, or leave scope out',
      });
    }
  });
export type CreateGrantInput = z.infer<typeof createGrantInput>;

export const voidGrantInput = z.strictObject({ reason: text(1000, { trim: true, controls: 'whitespace' }).optional() });
export type VoidGrantInput = z.infer<typeof voidGrantInput>;

export const listGrantsInput = z.strictObject({
  status: z.enum(['active', 'voided', 'expired']).optional(),
});
export type ListGrantsInput = z.infer<typeof listGrantsInput>;

export const updateWalletInput = z.strictObject({
  /** overage: usage the credits do not cover is billed; block: such events are rejected with credits_exhausted. */
  on_depletion: z.enum(depletionPolicies).optional(),
  /**
   * In the customer's currency: credits.low fires when an event's draw takes the credit in force from above it to
   * at or below it; null turns it off.
   */
  low_balance_threshold: moneyAmount.nullable().optional(),
});
export type UpdateWalletInput = z.infer<typeof updateWalletInput>;

export const updateBillingSettingsInput = z.strictObject({
  /** Days before a grant expires that its credit_grant.expiring notification fires (a grant may set its own). */
  credit_expiry_notice_days: z.number().int().min(0).max(365).optional(),
  /** Whether an invoice finalized with an amount due is emailed to its customer (who has an email). */
  invoice_emails: z.boolean().optional(),
});
export type UpdateBillingSettingsInput = z.infer<typeof updateBillingSettingsInput>;

export const customerPath = z.strictObject({ id: externalId });
export const grantPath = z.strictObject({ id: externalId, grant_id: z.uuid() });
