// The notifications outbox's SQL: recorded once per (type, subject), read oldest first.
import type { TenantScope } from '../../platform/db.ts';
import type { NotificationType } from '@tariff/openapi/schemas/notifications';

export interface Notification {
  id: string;
  type: NotificationType;
  customerId: string | null;
  customerExternalId: string | null;
  subjectId: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Records a notification unless one of its type and subject exists; true when it was recorded. */
export async function recordOnce(
  { db, tenantId }: TenantScope,
  n: Omit<Notification, 'customerExternalId'>,
): Promise<boolean> {
  const result = await db`
    insert into notifications (tenant_id, id, type, customer_id, subject_id, payload, created_at)
    values (${tenantId}, ${n.id}, ${n.type}, ${n.customerId}, ${n.subjectId}, ${db.json(n.payload as never)}, ${n.createdAt})
    on conflict (tenant_id, type, subject_id) do nothing`;
  return result.count > 0;
}

/** Records many notifications in one statement, each unless one of its type and subject exists. */
export async function recordManyOnce(
  { db, tenantId }: TenantScope,
  list: Omit<Notification, 'customerExternalId'>[],
): Promise<void> {
  await db`
    insert into notifications (tenant_id, id, type, customer_id, subject_id, payload, created_at)
    select ${tenantId}, n.id, n.type, n.customer_id, n.subject_id, n.payload, n.created_at
    from jsonb_to_recordset(${db.json(list.map((n) => ({ id: n.id, type: n.type, customer_id: n.customerId, subject_id: n.subjectId, payload: n.payload, created_at: n.createdAt.toISOString() })) as never)})
      as n(id uuid, type text, customer_id uuid, subject_id text, payload jsonb, created_at timestamptz)
    on conflict (tenant_id, type, subject_id) do nothing`;
}

/** Whether a notification of this type and subject was recorded. */
export async function isRecorded(
  { db, tenantId }: TenantScope,
  type: NotificationType,
  subjectId: string,
): Promise<boolean> {
  const [row] =
    await db`select 1 from notifications where tenant_id = ${tenantId} and type = ${type} and subject_id = ${subjectId}`;
  return row !== undefined;
}

export async function listNotifications(
  { db, tenantId }: TenantScope,
  filter: { type?: NotificationType; customerId?: string; limit: number; startingAfter?: string },
): Promise<Notification[]> {
  const rows = await db`
    select n.*, c.external_id from notifications n
    left join customers c on c.tenant_id = n.tenant_id and c.id = n.customer_id
    where n.tenant_id = ${tenantId}
    ${filter.type ? db`and n.type = ${filter.type}` : db``}
    ${filter.customerId ? db`and n.customer_id = ${filter.customerId}` : db``}
    ${filter.startingAfter ? db`and n.seq > (select seq from notifications where tenant_id = ${tenantId} and id = ${filter.startingAfter})` : db``}
    order by n.seq limit ${filter.limit}`;
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    subjectId: r.subject_id,
    payload: r.payload,
    createdAt: r.created_at,
  }));
}
