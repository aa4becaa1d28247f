import { z } from 'zod';
import { externalId } from './customers.ts';

export const notificationTypes = [
  'credit_grant.expiring',
  'credit_grant.expired',
  'credits.low',
  'credits.depleted',
  'credits.exhausted',
  'budget.threshold_crossed',
  'budget.blocked',
  'budget.unblocked',
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.voided',
  'invoice.finalization_blocked',
  'credit_note.issued',
  'subscription.created',
  'subscription.amended',
  'rerating.previewed',
  'rerating.applied',
  'webhook_endpoint.disabled',
  'invoice.payment_failed',
  'invoice.payment_action_required',
  'invoice.past_due',
  'invoice.uncollectible',
  'invoice.written_off',
  'invoice.refunded',
  'invoice.disputed',
  'customer.blocked',
  'customer.unblocked',
  'hold.expired',
  'balance.low',
] as const;
export type NotificationType = (typeof notificationTypes)[number];

export const listNotificationsInput = z.strictObject({
  type: z.enum(notificationTypes).optional(),
  customer_id: externalId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Id of the last notification of the previous page (oldest first). */
  starting_after: z.uuid().optional(),
});
export type ListNotificationsInput = z.infer<typeof listNotificationsInput>;
