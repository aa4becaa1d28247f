// Meters: which events count toward usage, how they aggregate and how usage is broken down.
import type { ApiSchemas } from '../../platform/api.ts';
import crypto from 'node:crypto';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { notFound } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as repo from './repo.ts';
import type { CreateMeterInput, ListMetersInput, UpdateMeterInput } from '@tariff/openapi/schemas/meters';

export async function createMeter(deps: Deps, actor: Actor, input: CreateMeterInput) {
  requirePermission(actor, 'meters.write');
  const now = deps.clock.now();
  const meter: repo.Meter = {
    id: crypto.randomUUID(),
    code: input.code,
    name: input.name,
    eventType: input.event_type,
    aggregation: input.aggregation,
    property: input.property ?? null,
    groupBy: input.group_by,
    filters: input.filters,
    createdAt: now,
    updatedAt: now,
    archivedAt: null,
  };
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    await repo.insertMeter({ db: tx, tenantId: actor.tenantId }, meter);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'meter.created',
      entityType: 'meter',
      entityId: meter.id,
      after: toApiMeter(meter),
    });
    return toApiMeter(meter);
  });
}

export async function updateMeter(deps: Deps, actor: Actor, code: string, input: UpdateMeterInput) {
  requirePermission(actor, 'meters.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findMeterByCode(scope, code);
    if (!before) throw notFound('meter_not_found', `No meter "${code}"`);
    const archivedAt =
      input.archived === undefined ? before.archivedAt : input.archived ? (before.archivedAt ?? now) : null;
    const after = await repo.updateMeter(scope, before.id, {
      name: input.name ?? before.name,
      archivedAt,
      updatedAt: now,
    });
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'meter.updated',
      entityType: 'meter',
      entityId: before.id,
      before: toApiMeter(before),
      after: toApiMeter(after),
    });
    return toApiMeter(after);
  });
}

export async function getMeter(deps: Deps, actor: Actor, code: string) {
  requirePermission(actor, 'meters.read');
  const meter = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.findMeterByCode({ db: tx, tenantId: actor.tenantId }, code),
  );
  if (!meter) throw notFound('meter_not_found', `No meter "${code}"`);
  return toApiMeter(meter);
}

export async function listMeters(deps: Deps, actor: Actor, input: ListMetersInput): Promise<ApiSchemas['MeterList']> {
  requirePermission(actor, 'meters.read');
  const meters = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listMeters(
      { db: tx, tenantId: actor.tenantId },
      { limit: input.limit, startingAfter: input.starting_after, includeArchived: input.include_archived },
    ),
  );
  return { data: meters.map(toApiMeter), has_more: meters.length === input.limit };
}

export function toApiMeter(meter: repo.Meter): ApiSchemas['Meter'] {
  return {
    id: meter.id,
    code: meter.code,
    name: meter.name,
    event_type: meter.eventType,
    aggregation: meter.aggregation,
    property: meter.property,
    group_by: meter.groupBy,
    filters: meter.filters,
    created_at: meter.createdAt.toISOString(),
    updated_at: meter.updatedAt.toISOString(),
    archived_at: meter.archivedAt?.toISOString() ?? null,
  };
}
