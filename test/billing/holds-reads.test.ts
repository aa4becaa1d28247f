// What placing a hold reads does not grow with the holds placed before it (issue 18's bench: the cost of a hold grew
// with every hold open, and with the tenant's customers). The statements one placement sends are caught as the
// service sends them and run again under EXPLAIN ANALYZE, as the service plans them (generic plans, as the tenant's
// role, on tables no ANALYZE has seen: autovacuum may be off), counting the rows each scan reads. Counts, not times.
// The running total of open holds (migration 114) is checked against the holds themselves after every kind of change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../service/src/platform/db.ts';
import { startService, type Harness, type TenantFixture, signUpTenant } from '../service/harness.ts';
import { rowsReadByStatement, type Sent } from '../service/plan-reads.ts';
import { billingBook, client } from './fixtures.ts';

const literal = (value: unknown) =>
  value === null || value === undefined ? 'null' : `'${String(value).replace(/'/g, "''")}'`;

describe('placing a hold', () => {
  let sent: Sent[] | undefined;
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let sequence = 0;
  const customers = 40;
  // Last in external-id order: a lookup that reads the tenant's customers in key order reads them all before it.
  const target = `c-${customers - 1}`;

  beforeAll(async () => {
    harness = await startService({
      now: '2026-03-20T00:00:00Z',
      databaseOptions: { debug: (_connection, query, parameters) => void sent?.push({ query, parameters }) },
    });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    for (let c = 0; c < customers; c++) {
      const id = `c-${String(c).padStart(2, '0')}`;
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('PUT', `/v1/customers/${id}/price_book`, {
        price_book: 'ai-platform',
        effective_from: '2026-01-01T00:00:00Z',
      });
      await api.ok('PATCH', `/v1/customers/${id}/wallet`, { on_depletion: 'block' });
      await api.ok('POST', `/v1/customers/${id}/credit_grants`, { kind: 'prepaid', amount: '1000' });
      await api.ok('PUT', `/v1/customers/${id}/budget`, { amount: '100000', enforcement: 'block' });
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  const place = (customer: string) =>
    api.ok('POST', `/v1/customers/${customer}/holds`, { id: `h-${sequence++}`, amount: '0.01', expires_in: 3600 });

  /** The rows each read of one placement reads (by the statement's first words), run again as the service ran it. */
  async function readsOfOnePlacement(): Promise<Map<string, number>> {
    sent = [];
    await place(target);
    const reads = sent.filter((s) => /^\s*select\b/i.test(s.query) && !/set_config|txid_current/.test(s.query));
    sent = undefined;
    expect(reads.length).toBeGreaterThanOrEqual(4);
    return rowsReadByStatement(reads, ({ query, parameters }) =>
      withTenant(harness.database.app, tenant.tenantId, async (tx) => {
        await tx`select set_config('plan_cache_mode', 'force_generic_plan', true)`;
        await tx.unsafe(`prepare hold_read as ${query}`);
        const [row] = await tx.unsafe(
          `explain (analyze, format json) execute hold_read(${parameters.map(literal).join(', ')})`,
        );
        await tx.unsafe('deallocate hold_read');
        return row['QUERY PLAN'][0].Plan as Record<string, any>;
      }),
    );
  }

  it('reads as many rows after 300 open holds as after 3', async () => {
    for (let i = 0; i < 3; i++) await place(target);
    const few = await readsOfOnePlacement();
    // Holds of the customer and of the tenant's others, some closed (released or extended) on the way.
    for (let i = 0; i < 30; i++)
      await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          place(k < 6 ? target : `c-${String((i * 10 + k) % customers).padStart(2, '0')}`),
        ),
      );
    await api.ok('POST', `/v1/customers/${target}/holds/h-0/release`);
    await api.ok('POST', `/v1/customers/${target}/holds/h-1/extend`, { amount: '0.02' });
    const many = await readsOfOnePlacement();
    expect([...many.keys()]).toEqual([...few.keys()]);
    for (const [statement, rows] of few) expect(many.get(statement), statement).toBe(rows);
  });

  it('keeps the total of open holds equal to the open holds, through placement, extension, release and expiry', async () => {
    const check = async () => {
      const rows = await harness.database.owner`
        select c.external_id, coalesce(t.held, 0)::text as total,
          coalesce((select sum(greatest(h.amount - h.captured, 0)) from holds h
                    where h.tenant_id = c.tenant_id and h.customer_id = c.id and h.status = 'open'), 0)::text as open
        from customers c left join open_hold_totals t on t.tenant_id = c.tenant_id and t.customer_id = c.id
        where c.tenant_id = ${tenant.tenantId}`;
      for (const r of rows) expect(Number(r.total), r.external_id).toBe(Number(r.open));
      return rows;
    };
    expect((await check()).some((r) => Number(r.open) > 0)).toBe(true);
    // c-01 has no hold yet: 1000 of credit.
    await api.ok('POST', '/v1/customers/c-01/holds', { id: 'short', amount: '2.5', expires_in: 60 });
    await api.ok('POST', '/v1/customers/c-01/holds/short/extend', { amount: '3' });
    await api.ok('POST', '/v1/customers/c-01/holds', { id: 'released', amount: '1' });
    await check();
    await api.ok('POST', '/v1/customers/c-01/holds/released/release');
    await check();
    expect((await api.call('POST', '/v1/customers/c-01/holds', { id: 'big', amount: '998' })).status).toBe(422);
    // Past its expiry, before the scheduler closes it, a hold no longer counts, though it is still open.
    harness.clock.advance(61_000);
    const big = await api.call('POST', '/v1/customers/c-01/holds', { id: 'big-later', amount: '998' });
    expect(big.status, JSON.stringify(big.body)).toBe(201);
    await harness.database.owner`update holds set status = 'expired', closed_at = now() where id = 'short'`;
    await check();
  });

  it('inserts a period only until it is known to exist, and turns synchronous commit off and generic plans on with the first statements only', async () => {
    const statementsOf = async (customer: string) => {
      sent = [];
      await place(customer);
      const statements = sent.map((s) => s.query.replace(/\s+/g, ' ').trim());
      sent = undefined;
      return statements;
    };
    const periodInserts = (statements: string[]) =>
      statements.filter((q) => /^insert into customer_periods/i.test(q)).length;
    // A period no placement has locked yet (the next month's): inserted, then known.
    harness.clock.advance(31 * 24 * 3600 * 1000);
    expect(periodInserts(await statementsOf(target))).toBe(1);
    const again = await statementsOf(target);
    expect(periodInserts(again)).toBe(0);
    // The setting rides in the tenant's settings; no statement of its own before the COMMIT.
    expect(again.filter((q) => q.includes('synchronous_commit'))).toEqual([
      expect.stringMatching(/^select set_config\('role'.*set_config\('synchronous_commit', 'off', true\)/),
    ]);
    // The group plans generically from its settings on: the billing read, which switches ingestion's transaction to
    // generic plans and back around it, sends no switch here.
    expect(again.filter((q) => q.includes('plan_cache_mode'))).toEqual([
      expect.stringMatching(/^select set_config\('role'.*set_config\('plan_cache_mode', 'force_generic_plan', true\)/),
    ]);
    const [period] = await harness.database.owner`
      select count(*)::int as n from customer_periods p join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
      where c.tenant_id = ${tenant.tenantId} and c.external_id = ${target} and p.period_start = '2026-04-01T00:00:00Z'`;
    expect(period.n).toBe(1);
  });
});
