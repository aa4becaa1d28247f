// Notifications: what happened that the tenant's systems should hear about (credit about to expire, ...),
// recorded once per type and subject in the transaction that decides it. Listed here; webhook delivery will
// read the same rows as its outbox.
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { customerIdFilter } from '../customers/service.ts';
import * as repo from './repo.ts';
import type { ListNotificationsInput } from '@tariff/openapi/schemas/notifications';

// Recording a notification is this domain's public act: other domains call these in their own transaction.
export { isRecorded, recordManyOnce, recordOnce, type Notification } from './repo.ts';

export async function listNotifications(
  deps: Deps,
  actor: Actor,
  input: ListNotificationsInput,
): Promise<ApiSchemas['NotificationList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customerId = await customerIdFilter(scope, input.customer_id);
    const rows = await repo.listNotifications(scope, {
      type: input.type,
      customerId,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    return {
      data: rows.map((n) => ({
        id: n.id,
        type: n.type,
        customer_id: n.customerExternalId,
        subject_id: n.subjectId,
        payload: n.payload,
        created_at: n.createdAt.toISOString(),
      })),
      has_more: rows.length === input.limit,
    };
  });
}
