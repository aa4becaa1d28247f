import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import {
  isConnectionFailure,
  isUniqueViolation,
  jsonArray,
  jsonRows,
  plainArray,
  quotedArray,
  withTenant,
  withTenantPipelined,
} from './db.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

describe('withTenantPipelined', () => {
  let database: TestDatabase;
  const tenantId = crypto.randomUUID();
  const customerId = crypto.randomUUID();
  const insertCustomer = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], externalId: string) =>
    tx`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at)
       values (${tenantId}, ${externalId === 'first' ? customerId : crypto.randomUUID()}, ${externalId}, 'USD', now(), now())`.execute();
  const externalIds = async () =>
    (await database.owner`select external_id from customers where tenant_id = ${tenantId} order by external_id`).map(
      (r) => r.external_id,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    await database.owner`insert into tenants (tenant_id, name, created_at) values (${tenantId}, 'pipelined', now())`;
  });
  afterAll(async () => {
    await database.drop();
  });

  it('commits the writes handed back and returns the result, reading as the tenant', async () => {
    const result = await withTenantPipelined(database.app, tenantId, async (tx) => {
      const [{ tenant }] = await tx`select current_setting('app.tenant_id') as tenant`;
      return { result: tenant, writes: [insertCustomer(tx, 'first'), insertCustomer(tx, 'second')] };
    });
    expect(result).toBe(tenantId);
    expect(await externalIds()).toEqual(['first', 'second']);
  });

  it('given releaseBeforeFlush and generic plans, commits without waiting for the disk, then waits for it before returning', async () => {
    let holder = 0;
    const result = await withTenantPipelined(
      database.app,
      tenantId,
      async (tx) => {
        const [row] = await tx`select current_setting('plan_cache_mode') as plans, pg_backend_pid() as pid`;
        holder = row.pid;
        return { result: row.plans, writes: [insertCustomer(tx, 'early')], releaseBeforeFlush: true };
      },
      { genericPlans: true },
    );
    expect(result).toBe('force_generic_plan');
    expect(await externalIds()).toEqual(['early', 'first', 'second']);
    // The COMMIT went without the flush (the setting is the transaction's), and a transaction of its own followed it
    // on the same connection: its COMMIT is the flush the answer waited for.
    const [after] = await database.owner`
      select xact_start is null as idle, backend_xid is null as no_xid, state from pg_stat_activity where pid = ${holder}`;
    expect(after).toMatchObject({ idle: true, no_xid: true, state: 'idle' });
    const [{ settings }] = await withTenant(
      database.app,
      tenantId,
      (tx) => tx`select current_setting('synchronous_commit') || ' ' || current_setting('plan_cache_mode') as settings`,
    );
    expect(settings).toBe('on auto');
    await database.owner`delete from customers where tenant_id = ${tenantId} and external_id = 'early'`;
  });

  it('given asyncCommit, turns synchronous commit off with the settings, and on again for a body that waits for the disk', async () => {
    const sent: string[] = [];
    const observed = await createTestDatabase({
      debug: (_connection, query, parameters) => void sent.push(`${query} ${parameters.join(',')}`),
    });
    try {
      await observed.owner`insert into tenants (tenant_id, name, created_at) values (${tenantId}, 'pipelined', now())`;
      const run = (releaseBeforeFlush: boolean) =>
        withTenantPipelined(
          observed.app,
          tenantId,
          async (tx) => {
            const [row] = await tx`select current_setting('synchronous_commit') as commit`;
            return { result: row.commit, writes: [], releaseBeforeFlush };
          },
          { asyncCommit: true },
        );
      const settingStatements = () => sent.splice(0).filter((q) => q.includes("set_config('synchronous_commit'"));
      expect(await run(true)).toBe('off');
      expect(settingStatements()).toEqual([expect.stringMatching(/^select set_config\('role'/)]);
      expect(await run(false)).toBe('off');
      expect(settingStatements()).toEqual([
        expect.stringMatching(/^select set_config\('role'/),
        expect.stringMatching(/^select set_config\('synchronous_commit', \$1, true\) on$/),
      ]);
    } finally {
      await observed.drop();
    }
  });

  it('given a failing write, throws its error and keeps none of the writes', async () => {
    const attempt = withTenantPipelined(database.app, tenantId, async (tx) => ({
      result: 'unreachable',
      writes: [insertCustomer(tx, 'third'), insertCustomer(tx, 'first'), insertCustomer(tx, 'fourth')],
    }));
    const error = await attempt.catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    expect(await externalIds()).toEqual(['first', 'second']);
    // Released before the flush, a failing write still takes the rest with it.
    const early = withTenantPipelined(database.app, tenantId, async (tx) => ({
      result: 'unreachable',
      writes: [insertCustomer(tx, 'third'), insertCustomer(tx, 'first')],
      releaseBeforeFlush: true,
    }));
    expect(isUniqueViolation(await early.catch((e: unknown) => e))).toBe(true);
    expect(await externalIds()).toEqual(['first', 'second']);
  });

  it('given a body that throws, rolls back what it wrote and frees the connection', async () => {
    await expect(
      withTenantPipelined(database.app, tenantId, async (tx) => {
        await insertCustomer(tx, 'fifth');
        throw new Error('rating failed');
      }),
    ).rejects.toThrow('rating failed');
    expect(await externalIds()).toEqual(['first', 'second']);
    // Every pooled connection still works, outside any transaction.
    const answers = await Promise.all(
      Array.from({ length: 16 }, () =>
        withTenant(database.app, tenantId, (tx) => tx`select count(*)::int as n from customers`),
      ),
    );
    expect(answers.map(([r]) => r.n)).toEqual(Array(16).fill(2));
  });
});

describe('jsonRows', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('gives back every row, in order and unchanged, from one row to a document of many chunks', async () => {
    // Rows of about 1 KB with text beyond Latin-1 (two bytes a character to V8) and every JSON escape.
    const rows = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ i, t: `€ "quoted" \\ back\nslash ${'x'.repeat(i % 997)}`, n: null }));
    for (const count of [1, 2, 17, 2_000]) {
      const given = rows(count);
      const read = await database.owner.begin(
        (tx) => tx`select i, t, n from json_to_recordset(${jsonRows(tx, given)}) as r(i int, t text, n text)`,
      );
      expect(read.map((r) => ({ i: r.i, t: r.t, n: r.n }))).toEqual(given);
    }
  });

  it('gives back an empty document for no rows', async () => {
    const [{ n }] = await database.owner.begin((tx) => tx`select json_array_length(${jsonRows(tx, [])}) as n`);
    expect(n).toBe(0);
  });
});

describe('plainArray and quotedArray', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('give back every value, in order and unchanged, nulls as nulls, through unnest', async () => {
    const ids = [crypto.randomUUID(), null, crypto.randomUUID()];
    const amounts = ['-12.500000000', '0', null];
    const texts = ['{"model":"gpt-4o"}', '{}', 'a "quoted", {braced} \\ back\nslash € NULL', '', 'NULL', null];
    const columns = await database.owner`
      select i::text, a::text from unnest(${plainArray(ids)}::uuid[], ${plainArray(amounts)}::numeric[]) with ordinality as r(i, a, o)
      order by o`;
    expect(columns.map((r) => [r.i, r.a])).toEqual(ids.map((id, n) => [id, amounts[n]]));
    const rows =
      await database.owner`select t from unnest(${quotedArray(texts)}::text[]) with ordinality as r(t, o) order by o`;
    expect(rows.map((r) => r.t)).toEqual(texts);
    expect(await database.owner`select cardinality(${plainArray([])}::int[]) as n`).toEqual([{ n: 0 }]);
  });

  it('jsonArray gives back every json value unchanged through json[] and jsonb[], null and undefined as NULL', async () => {
    const values = [
      { note: 'say "hi", {braced} \\ back\nslash\ttab \u0001 € NULL', list: [1, '"', { a: '\\' }], none: null },
      ['q', 0, -1.5, true, ''],
      'a "string", NULL',
      null,
      undefined,
      {},
    ];
    const rows = await database.owner`
      select j::text as j, b from unnest(${jsonArray(values)}::json[], ${jsonArray(values)}::jsonb[]) with ordinality as r(j, b, o)
      order by o`;
    expect(rows.map((r) => (r.j === null ? null : JSON.parse(r.j)))).toEqual(values.map((v) => v ?? null));
    expect(rows.map((r) => r.b)).toEqual(values.map((v) => v ?? null));
    // json keeps the text as sent (key order, spacing): the receipts' stored form.
    expect(rows[0].j).toBe(JSON.stringify(values[0]));
  });

  it('refuse a plain value that would need quoting instead of reading it as something else', () => {
    for (const value of ['1,2', 'a b', '{1}', 'say "x"', 'back\\slash', ''])
      expect(() => plainArray(['1', value]), value).toThrow(/needs quoting/);
  });
});

describe('isConnectionFailure', () => {
  it('tells errors no statement caused (connection lost, server shutting down) from those a statement did', () => {
    const pg = (code: string) => new postgres.PostgresError({ message: code, code } as never);
    for (const error of [
      pg('08006'),
      pg('57P01'),
      pg('53300'),
      Object.assign(new Error('x'), { code: 'CONNECTION_CLOSED' }),
      Object.assign(new Error('x'), { code: 'CONNECT_TIMEOUT' }),
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    ]) {
      expect(isConnectionFailure(error), (error as Error).message).toBe(true);
    }
    for (const error of [
      pg('23514'),
      pg('23505'),
      pg('22021'),
      pg('40P01'),
      Object.assign(new Error('x'), { code: 'MAX_PARAMETERS_EXCEEDED' }),
      Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }),
      new TypeError('bug'),
      null,
    ]) {
      expect(isConnectionFailure(error), String((error as Error | null)?.message)).toBe(false);
    }
  });
});
