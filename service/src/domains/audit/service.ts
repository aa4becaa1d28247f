// The audit trail: one row per state change, written in the transaction that makes the change.
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import type { Clock } from '../../platform/clock.ts';
import { withTenant, type Db, type Tx } from '../../platform/db.ts';
import * as repo from './repo.ts';

export interface Change {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

export async function recordChange(
  tx: Tx,
  clock: Clock,
  actor: Actor | 'system',
  tenantId: string,
  change: Change,
): Promise<void> {
  // The portal's calls are reads (auth.ts gives it no write permission): reaching here would be a bug.
  if (actor !== 'system' && actor.type === 'portal') throw new Error('A portal caller changes nothing');
  await repo.insertAuditEntry(
    { db: tx, tenantId },
    {
      at: clock.now(),
      actorType: actor === 'system' ? 'system' : (actor.type as Exclude<Actor['type'], 'portal'>),
      actorId: actor === 'system' ? 'system' : actor.id,
      action: change.action,
      entityType: change.entityType,
      entityId: change.entityId,
      before: change.before ?? null,
      after: change.after ?? null,
      requestId: actor === 'system' ? null : (actor.requestId ?? null),
    },
  );
}

export async function listAuditLog(
  deps: { db: Db },
  actor: Actor,
  input: { entity_type?: string; entity_id?: string; before_id?: string; limit: number },
) {
  requirePermission(actor, 'audit.read');
  const entries = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listAuditEntries(
      { db: tx, tenantId: actor.tenantId },
      {
        entityType: input.entity_type,
        entityId: input.entity_id,
        beforeId: input.before_id,
        limit: input.limit,
      },
    ),
  );
  return entries.map(toApiAuditEntry);
}

export function toApiAuditEntry(entry: repo.AuditEntry): ApiSchemas['AuditEntry'] {
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    actor: { type: entry.actorType, id: entry.actorId },
    action: entry.action,
    entity: { type: entry.entityType, id: entry.entityId },
    before: entry.before,
    after: entry.after,
    request_id: entry.requestId,
  };
}
