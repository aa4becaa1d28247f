import { z } from 'zod';
import { moneyAmount, positiveMoneyAmount } from './money.ts';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const enforcements = ['alert', 'block'] as const;
export type Enforcement = (typeof enforcements)[number];

export const setBudgetInput = z.strictObject({
  /** Per billing period, in the customer's rating currency (its price books'): usage net of discounts, whether credits or the invoice pay for it. */
  amount: positiveMoneyAmount,
  /** alert (default): alerts only; block: the entitlement check refuses a request that would go over. */
  enforcement: z.enum(enforcements).default('alert'),
  /** Percentages of the amount at which an alert fires, once per period each. */
  thresholds: z
    .array(z.number().int().min(1).max(1000))
    .min(1)
    .max(10)
    .refine((t) => t.every((v, i) => i === 0 || v > t[i - 1]), 'must be strictly ascending')
    .default([50, 80, 100]),
});
export type SetBudgetInput = z.infer<typeof setBudgetInput>;

export const checkInput = z.strictObject({
  /** What the request is expected to cost, in the customer's rating currency (its price books'). */
  estimated_cost: moneyAmount,
  /** The event type the request will be metered as: only credit that pays for it counts. */
  event_type: text(200).optional(),
  /** The rate card that will price it, for card-scoped credit. */
  card: text(200).optional(),
  /** The API key the request will be sent with (its id): that key's budget applies. The calling key when omitted. */
  api_key_id: z.uuid().optional(),
  /** The request's project tag (the event's `project` property): that project's budget applies. */
  project: text(200).optional(),
});
export type CheckInput = z.infer<typeof checkInput>;

export const listAlertsInput = z.strictObject({
  /** Only the alerts of the period containing this instant. */
  at: z.iso.datetime({ offset: true }).optional(),
});
export type ListAlertsInput = z.infer<typeof listAlertsInput>;

export const customerPath = z.strictObject({ id: externalId });

export const scopeKinds = ['api_key', 'project'] as const;
export type ScopeKind = (typeof scopeKinds)[number];
/** An API key's id or a project tag: what a scoped budget is for. */
export const scopeValue = text(200);
/** A budget of one API key (its id) or one project tag of the customer. */
export const scopedBudgetPath = z
  .strictObject({ id: externalId, kind: z.enum(scopeKinds), value: scopeValue })
  .superRefine((path, ctx) => {
    if (path.kind === 'api_key' && !z.uuid().safeParse(path.value).success)
      ctx.addIssue({ code: 'custom', path: ['value'], message: "must be an API key's id (a UUID)" });
  });
export type ScopedBudgetPath = z.infer<typeof scopedBudgetPath>;
