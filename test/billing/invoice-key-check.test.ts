// The foreign key check of every row that references an invoice (its lines, ledger transactions, collections, credit
// notes) reads that one invoice, however many the tenant has (migration 135). PostgreSQL's referential trigger sends
// the statement below (ri_triggers.c) and keeps its plan for the connection's life; planned generically while the
// tenant's invoices were few and tenant_id had no statistics (a fresh database, as the first close after a deployment
// finds it), it had taken an index led by tenant_id alone and filtered all the tenant's invoices for the id: a close
// of n invoices checked each of its lines against all n. Counts rows read, not times.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { keyCheckRowsRead } from '../service/plan-reads.ts';

describe('an invoice key check', () => {
  let database: TestDatabase;
  const tenantId = '00000000-0000-4000-8000-000000000001';

  beforeAll(async () => {
    database = await createTestDatabase();
    // Statistics of an empty table, as a fresh deployment's (the bench's tenants close right after an ANALYZE too).
    await database.owner`analyze invoices`;
  });
  afterAll(async () => database.drop());

  /** Inserts `count` invoices of the tenant (no customers or periods: the check reads this table alone), the last id. */
  const insertInvoices = async (tx: postgres.TransactionSql, count: number) => {
    const rows = await tx`
      insert into invoices (tenant_id, id, customer_id, period_start, period_end, status, currency, minor_unit, total, total_exact,
                            finalize_at, created_at, updated_at)
      select ${tenantId}, gen_random_uuid(), gen_random_uuid(), '2026-03-01', '2026-04-01', 'draft', 'USD', 2, 0, 0,
             '2026-04-01', '2026-04-01', '2026-04-01'
      from generate_series(1, ${count})
      returning id`;
    return rows[rows.length - 1].id as string;
  };

  it('reads one invoice among 2,500 of its tenant, planned when the tenant had 500 (the first batch of a close)', async () => {
    expect(await keyCheckRowsRead(database.owner, 'invoices', tenantId, insertInvoices)).toBe(1);
  });
});
