import type { TenantScope } from '../../platform/db.ts';

export interface AuditEntry {
  id: string;
  at: Date;
  actorType: 'user' | 'api_key' | 'system';
  actorId: string;
  action: string;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export async function insertAuditEntry({ db, tenantId }: TenantScope, entry: NewAuditEntry): Promise<void> {
  await db`
    insert into audit_log (tenant_id, at, actor_type, actor_id, action, entity_type, entity_id, before, after, request_id)
    values (${tenantId}, ${entry.at}, ${entry.actorType}, ${entry.actorId}, ${entry.action}, ${entry.entityType},
            ${entry.entityId}, ${jsonOrNull(db, entry.before)}, ${jsonOrNull(db, entry.after)}, ${entry.requestId})`;
}

/** Many entries in one statement (a batch job's changes). */
export async function insertAuditEntries({ db, tenantId }: TenantScope, entries: NewAuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    at: e.at.toISOString(),
    actor_type: e.actorType,
    actor_id: e.actorId,
    action: e.action,
    entity_type: e.entityType,
    entity_id: e.entityId,
    before: e.before ?? null,
    after: e.after ?? null,
    request_id: e.requestId,
  }));
  await db`
    insert into audit_log (tenant_id, at, actor_type, actor_id, action, entity_type, entity_id, before, after, request_id)
    select ${tenantId}, a.at, a.actor_type, a.actor_id, a.action, a.entity_type, a.entity_id, a.before, a.after, a.request_id
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as a(at timestamptz, actor_type text, actor_id text, action text, entity_type text, entity_id text, before jsonb, after jsonb, request_id text)`;
}

export async function listAuditEntries(
  { db, tenantId }: TenantScope,
  filter: { entityType?: string; entityId?: string; beforeId?: string; limit: number },
): Promise<AuditEntry[]> {
  const rows = await db`
    select * from audit_log
    where tenant_id = ${tenantId}
      ${filter.entityType ? db`and entity_type = ${filter.entityType}` : db``}
      ${filter.entityId ? db`and entity_id = ${filter.entityId}` : db``}
      ${filter.beforeId !== undefined ? db`and id < (select b.id from audit_log b where b.tenant_id = ${tenantId} and b.entry_id = ${filter.beforeId})` : db``}
    order by id desc
    limit ${filter.limit}`;
  return rows.map((row) => ({
    id: row.entry_id,
    at: row.at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
  }));
}

function jsonOrNull(db: TenantScope['db'], value: unknown) {
  return value === undefined || value === null ? null : db.json(JSON.parse(JSON.stringify(value)));
}
