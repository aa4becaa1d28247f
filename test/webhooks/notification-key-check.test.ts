// The foreign key check of every webhook message (the notifications trigger writes one per notification, so one per
// invoice a close drafts or finalizes) reads that one notification, however many the tenant has (migration 136).
// PostgreSQL's referential trigger sends the statement below (ri_triggers.c) and keeps its plan for the connection's
// life; planned generically while tenant_id looked unique (the table analyzed nearly empty, as a fresh deployment
// finds it), it had taken notifications_list_idx (tenant_id, seq) and filtered all the tenant's notifications for the
// id. Counts rows read, not times.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { keyCheckRowsRead } from '../service/plan-reads.ts';

describe('a notification key check', () => {
  let database: TestDatabase;
  const tenantId = '00000000-0000-4000-8000-000000000001';

  beforeAll(async () => {
    database = await createTestDatabase();
    // Statistics of a table with one row: tenant_id then looks unique.
    await database.owner.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await insertNotifications(tx, 1);
    });
    await database.owner`analyze notifications`;
  });
  afterAll(async () => database.drop());

  /** Inserts `count` notifications of the tenant (no tenant row: the check reads this table alone), the last id. */
  const insertNotifications = async (tx: postgres.TransactionSql, count: number) => {
    const rows = await tx`
      insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
      select ${tenantId}, gen_random_uuid(), 'invoice.created', gen_random_uuid()::text, '{}', '2026-04-01'
      from generate_series(1, ${count})
      returning id`;
    return rows[rows.length - 1].id as string;
  };

  it('reads one notification among 2,500 of its tenant, planned when the tenant had 500 (the first batch of a close)', async () => {
    expect(await keyCheckRowsRead(database.owner, 'notifications', tenantId, insertNotifications)).toBe(1);
  });
});
