import { isUniqueViolation, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';
import type { Aggregation, MeterFilter } from '@tariff/openapi/schemas/meters';

export interface Meter {
  id: string;
  code: string;
  name: string;
  eventType: string;
  aggregation: Aggregation;
  property: string | null;
  groupBy: string[];
  filters: MeterFilter[];
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
}

export async function insertMeter({ db, tenantId }: TenantScope, meter: Meter): Promise<void> {
  try {
    await db`
      insert into meters (tenant_id, id, code, name, event_type, aggregation, property, group_by, filters, created_at, updated_at)
      values (${tenantId}, ${meter.id}, ${meter.code}, ${meter.name}, ${meter.eventType}, ${meter.aggregation}, ${meter.property},
              ${meter.groupBy}::text[], ${db.json(meter.filters as never)}, ${meter.createdAt}, ${meter.updatedAt})`;
  } catch (error) {
    if (isUniqueViolation(error, 'meters_code_unique')) {
      throw conflict('meter_exists', `A meter with code "${meter.code}" already exists`, [
        { field: 'code', reason: 'already in use' },
      ]);
    }
    throw error;
  }
}

export async function updateMeter(
  { db, tenantId }: TenantScope,
  id: string,
  fields: { name: string; archivedAt: Date | null; updatedAt: Date },
): Promise<Meter> {
  const [row] = await db`
    update meters set name = ${fields.name}, archived_at = ${fields.archivedAt}, updated_at = ${fields.updatedAt}
    where tenant_id = ${tenantId} and id = ${id} returning *`;
  return fromDbMeter(row);
}

export async function findMeterByCode({ db, tenantId }: TenantScope, code: string): Promise<Meter | undefined> {
  const [row] = await db`select * from meters where tenant_id = ${tenantId} and code = ${code}`;
  return row ? fromDbMeter(row) : undefined;
}

export async function listMeters(
  { db, tenantId }: TenantScope,
  page: { limit: number; startingAfter?: string; includeArchived: boolean },
): Promise<Meter[]> {
  const rows = await db`
    select * from meters where tenant_id = ${tenantId}
    ${page.includeArchived ? db`` : db`and archived_at is null`}
    ${page.startingAfter !== undefined ? db`and code > ${page.startingAfter}` : db``}
    order by code collate "C" limit ${page.limit}`;
  return rows.map(fromDbMeter);
}

function fromDbMeter(row: Record<string, any>): Meter {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    eventType: row.event_type,
    aggregation: row.aggregation,
    property: row.property,
    groupBy: row.group_by,
    filters: row.filters,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    archivedAt: row.archived_at,
  };
}

/** Active meters counting any of these event types. */
export async function listMetersForEventTypes({ db, tenantId }: TenantScope, eventTypes: string[]): Promise<Meter[]> {
  const rows = await db`
    select * from meters where tenant_id = ${tenantId} and archived_at is null and event_type = any(${eventTypes}::text[])`;
  return rows.map(fromDbMeter);
}

export async function findMetersByIds({ db, tenantId }: TenantScope, ids: string[]): Promise<Meter[]> {
  const rows =
    await db`select * from meters where tenant_id = ${tenantId} and id = any(${ids}::uuid[]) order by code collate "C"`;
  return rows.map(fromDbMeter);
}
