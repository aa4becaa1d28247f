// What one ingestion batch reads does not grow with the data written before it (issue 16: the CPU per event grew as
// the bench wrote). The statements a batch sends (its reads, the periods' lock and the write statement) are caught
// as the service sends them and run again under EXPLAIN ANALYZE as the tenant's role, on tables no ANALYZE has seen
// (autovacuum may be off), in a transaction rolled back: the write after the batch's events are deleted there (it
// stores them again). Counts, not times: the rows each scan reads (returned and filtered out, every loop), per
// statement.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { lockBillingContexts } from '../../service/src/domains/events/repo.ts';
import {
  baseOptions,
  connect,
  deriveServiceUrl,
  SERVICE_ROLE,
  withTenant,
  type Db,
} from '../../service/src/platform/db.ts';
import {
  rest,
  serviceDeps,
  setUpLlmCustomers,
  signUpTenant,
  startService,
  type Harness,
  type TenantFixture,
} from './harness.ts';
import { rowsReadByStatement, type Sent } from './plan-reads.ts';

const frame = /^\s*(begin|commit|rollback)\s*$|set_config\(/i;

class Rollback extends Error {}

/** The billing-context read, which the service runs under its generic plan (events/repo.ts withPlanMode). */
const genericPlanned = /^\s*select c\.id as customer_id/i;

/** `query` run again under EXPLAIN ANALYZE as the service runs it: prepared, under its generic plan. */
async function explainGeneric(tx: postgres.TransactionSql, query: string, parameters: unknown[]) {
  await tx`select set_config('plan_cache_mode', 'force_generic_plan', true)`;
  await tx.unsafe(`prepare generic_planned as ${query}`).simple();
  const [{ types }] =
    await tx`select parameter_types::text[] as types from pg_prepared_statements where name = 'generic_planned'`;
  // As literals: EXPLAIN's own parameters would have no type (a utility statement is not analyzed when parsed).
  const literals = (types as string[]).map((type, i) => `'${String(parameters[i]).replace(/'/g, "''")}'::${type}`);
  const [row] = await tx
    .unsafe(`explain (analyze, format json) execute generic_planned(${literals.join(', ')})`)
    .simple();
  await tx.unsafe('deallocate generic_planned').simple();
  if (process.env.SHOW_PLAN) console.log(JSON.stringify(row['QUERY PLAN'][0], null, 1));
  return row['QUERY PLAN'][0].Plan as Record<string, any>;
}

describe('one ingestion batch', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let counted: Db;
  let sent: Sent[] | undefined;
  let ingest: (events: unknown[]) => Promise<{ accepted: number }>;
  const customers = 40;
  let sequence = 0;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-20T00:00:00Z' });
    tenant = await signUpTenant(harness);
    await setUpLlmCustomers(
      harness,
      tenant.secretKey,
      Array.from({ length: customers }, (_, c) => `c-${String(c).padStart(2, '0')}`),
      '2024-01-01T00:00:00Z',
    );
    counted = connect({
      ...baseOptions,
      url: deriveServiceUrl(harness.database.url),
      max: 4,
      debug: (_connection, query, parameters) => void sent?.push({ query, parameters }),
    });
    const deps = serviceDeps(harness, counted);
    const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
    ingest = (events) => ingestEvents(deps, actor, events);
  });
  afterAll(async () => {
    await counted?.end({ timeout: 5 });
    await harness?.close();
  });

  /** `n` events over the customers, in the month of `month` (an ISO date). */
  const batch = (n: number, month: string) =>
    Array.from({ length: n }, (_, i) => ({
      transaction_id: `e-${sequence++}`,
      customer_id: `c-${String(i % customers).padStart(2, '0')}`,
      event_type: 'llm.completion',
      timestamp: `${month}T${String(i % 24).padStart(2, '0')}:00:00Z`,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 },
    }));

  /** The rows each statement of one batch reads, by the statement's first words, run again as the service ran it. */
  async function readsOfOneBatch(): Promise<Map<string, number>> {
    sent = [];
    const events = batch(100, '2026-03-10');
    expect((await ingest(events)).accepted).toBe(100);
    const work = sent.filter((s) => !frame.test(s.query));
    sent = undefined;
    return rowsReadByStatement(work, async ({ query, parameters }) => {
      let plan: Record<string, any> | undefined;
      await harness.database.owner
        .begin(async (tx) => {
          if (/^\s*with w0 as/i.test(query))
            await tx`delete from events where tenant_id = ${tenant.tenantId} and transaction_id = any(${events.map((e) => e.transaction_id)})`;
          await tx`select set_config('role', ${SERVICE_ROLE}, true), set_config('app.tenant_id', ${tenant.tenantId}, true)`;
          plan = genericPlanned.test(query)
            ? await explainGeneric(tx, query, parameters)
            : (await tx.unsafe(`explain (analyze, format json) ${query}`, parameters as never[]))[0]['QUERY PLAN'][0]
                .Plan;
          throw new Rollback();
        })
        .catch((error) => {
          if (!(error instanceof Rollback)) throw error;
        });
      return plan!;
    });
  }

  it('reads and locks as many rows after 60 more customers, 24 months of periods and 9,600 events as after one batch', async () => {
    expect((await ingest(batch(100, '2026-03-09'))).accepted).toBe(100);
    const few = await readsOfOneBatch();
    // More customers, before the batch's in external-id order: a lookup that walks the tenant's customers reads them.
    for (let c = 0; c < 60; c++) {
      const id = `a-${String(c).padStart(2, '0')}`;
      await rest(harness, 'POST', '/v1/customers', {
        key: tenant.secretKey,
        body: { external_id: id, currency: 'USD' },
      });
    }
    for (let m = 0; m < 24; m++) {
      const month = new Date(Date.UTC(2024, 3 + m, 5)).toISOString().slice(0, 10);
      expect((await ingest(batch(400, month))).accepted).toBe(400);
    }
    const many = await readsOfOneBatch();
    // The reads: customers and books, stored ids, meters, billing terms with grants and amendments; then the periods'
    // lock and the write (the events, the periods' usage, the usage and invoice aggregates).
    expect(few.size).toBe(6);
    expect([...many.keys()]).toEqual([...few.keys()]);
    for (const [statement, rows] of few) expect(many.get(statement), statement).toBe(rows);
  });
  it('reads the billing terms under the plan made once per connection, the transaction keeping its own plan mode', async () => {
    const { mode, generic, custom, contexts } = await withTenant(counted, tenant.tenantId, async (tx) => {
      const scope = { db: tx, tenantId: tenant.tenantId };
      await lockBillingContexts(scope, ['c-01']);
      const contexts = await lockBillingContexts(scope, ['c-02', 'c-00']);
      const [row] = await tx`
        select current_setting('plan_cache_mode') as mode, sum(generic_plans)::int as generic, sum(custom_plans)::int as custom
        from pg_prepared_statements where statement like '%select c.id as customer_id%'`;
      return { mode: row.mode as string, generic: row.generic as number, custom: row.custom as number, contexts };
    });
    expect([...contexts.keys()]).toEqual(['c-00', 'c-02']);
    expect(mode).toBe('auto');
    expect(custom).toBe(0);
    expect(generic).toBeGreaterThanOrEqual(2);
  });
});

describe('a batch on a connection whose first batches met an empty events table', () => {
  let harness: Harness;
  afterAll(async () => harness?.close());

  it('reads its rows by key however many events follow, its stored ids included', async () => {
    harness = await startService({ now: '2026-03-20T00:00:00Z' });
    const tenant = await signUpTenant(harness);
    await setUpLlmCustomers(harness, tenant.secretKey, ['c-0', 'c-1'], '2024-01-01T00:00:00Z');
    // One connection, so that every batch runs on the one whose prepared statements the first batches made.
    const one = connect({ ...baseOptions, url: deriveServiceUrl(harness.database.url), max: 1 });
    try {
      const deps = serviceDeps(harness, one);
      const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
      const event = (id: number, i: number) => ({
        transaction_id: `s-${id}`,
        customer_id: `c-${i % 2}`,
        event_type: 'llm.completion',
        timestamp: `2026-03-10T${String(i % 24).padStart(2, '0')}:00:00Z`,
        properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 },
      });
      let sequence = 0;
      const batch = (n: number) => Array.from({ length: n }, (_, i) => event(sequence++, i));
      // Past the five executions after which the server's own choice may keep a generic plan, on a nearly empty table.
      for (let i = 0; i < 8; i++) expect((await ingestEvents(deps, actor, batch(2))).accepted).toBe(2);
      for (let i = 0; i < 4; i++) expect((await ingestEvents(deps, actor, batch(500))).accepted).toBe(500);
      // The rows the connection's statements read from each table (by any index or scan), once it has reported them.
      const reads = async () => {
        await one`select pg_stat_force_next_flush()`;
        await one`select 1`;
        const rows = await harness.database.owner`
          select relname, idx_tup_fetch + seq_tup_read as n from pg_stat_user_tables`;
        return new Map(rows.map((r) => [r.relname as string, Number(r.n)]));
      };
      const before = await reads();
      // 16 events stored before (duplicates: their stored charge is read) and 16 new ones.
      const answer = await ingestEvents(deps, actor, [
        ...Array.from({ length: 16 }, (_, i) => event(i * 60, i)),
        ...batch(16),
      ]);
      expect(answer).toMatchObject({ accepted: 16, duplicate: 16 });
      const after = await reads();
      const read = [...after].map(([table, n]) => [table, n - (before.get(table) ?? 0)] as const).filter(([, n]) => n);
      // One row per duplicate: a generic plan of the stored ids' read kept from the first batches probed the events
      // by tenant alone and read the tenant's 2,016 events for each id (55,021 rows in all).
      expect(Object.fromEntries(read).events ?? 0).toBeLessThanOrEqual(16);
      // And every table's lookups by key: a few rows per customer, period and aggregate.
      expect(
        read.reduce((sum, [, n]) => sum + n, 0),
        JSON.stringify(read),
      ).toBeLessThanOrEqual(64);
    } finally {
      await one.end({ timeout: 5 });
    }
  });
});
