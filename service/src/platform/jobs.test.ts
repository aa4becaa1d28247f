// pg-boss's plumbing as the service role sees it: its maintenance scripts (BEGIN ... COMMIT) run as one
// transaction on a pool, and the owner creates the scheduler's queue, which the service role could not.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from './clock.ts';
import { installJobs, JOB_SCHEMA, lockedTransactionBody, pgBossAdapter, SCHEDULE_QUEUE, startJobs } from './jobs.ts';
import { silentLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

// The shape of pg-boss's `locked()` plan (node_modules/pg-boss/src/plans.js), around statements of ours.
const locked = (statements: string[]) => `
    BEGIN;
    SET LOCAL lock_timeout = '30s';
    SET LOCAL idle_in_transaction_session_timeout = '30s';
    SELECT pg_advisory_xact_lock(('x' || encode(sha224((current_database() || '.pgboss.pgboss')::bytea), 'hex'))::bit(64)::bigint);
    ${statements.join(';\n')};
    COMMIT;
  `;

describe('pg-boss on the service pool', () => {
  let database: TestDatabase;
  const job = (id: string) =>
    `insert into ${JOB_SCHEMA}.job (id, name, state) values ('${id}', 'test.queue', 'created')`;
  const jobCount = async (ids: string[]) =>
    (await database.owner`select count(*)::int as n from pgboss.job where id = any(${ids}::uuid[])`)[0].n;

  beforeAll(async () => {
    database = await createTestDatabase();
    await installJobs(database.owner, [
      { name: 'test.queue', policy: 'standard', handle: async () => {} },
      { name: 'test.wake', policy: 'standard', handle: async () => {} },
    ]);
  });
  afterAll(async () => {
    await database.drop();
  });

  it('finds the statements inside a BEGIN ... COMMIT script, and nothing in a plain statement', () => {
    expect(lockedTransactionBody(locked(['select 1']))?.trim()).toMatch(
      /^SET LOCAL lock_timeout = '30s';[\s\S]*select 1$/,
    );
    expect(lockedTransactionBody('SELECT 1')).toBeUndefined();
    expect(
      lockedTransactionBody("UPDATE pgboss.version SET cron_on = now() WHERE 'BEGIN;' <> 'COMMIT;'"),
    ).toBeUndefined();
  });

  it('runs a maintenance script as one transaction on one connection of the pool', async () => {
    const adapter = pgBossAdapter(database.app);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    // On the bare pool postgres.js refuses the BEGIN (UNSAFE_TRANSACTION): the failure pg-boss's maintenance hit.
    await expect(database.app.unsafe(locked([job(crypto.randomUUID())]), [])).rejects.toThrow(/Only use sql.begin/);
    await adapter.executeSql(locked([job(a), job(b)]));
    expect(await jobCount([a, b])).toBe(2);
    // SET LOCAL stayed inside it: no connection of the pool keeps the script's lock timeout.
    const timeouts = await Promise.all(Array.from({ length: 8 }, () => database.app`show lock_timeout`));
    expect(timeouts.map(([row]) => row.lock_timeout)).toEqual(Array(8).fill('0'));
  });

  it('rolls the whole script back when a statement fails', async () => {
    const adapter = pgBossAdapter(database.app);
    const c = crypto.randomUUID();
    await expect(adapter.executeSql(locked([job(c), 'select 1/0']))).rejects.toThrow(/division by zero/);
    expect(await jobCount([c])).toBe(0);
  });

  it("has the scheduler's queue created by the owner; the service role could not create a queue", async () => {
    const [queue] = await database.owner`select name, partition_name from pgboss.queue where name = ${SCHEDULE_QUEUE}`;
    expect(queue?.name).toBe(SCHEDULE_QUEUE);
    // What pg-boss's scheduler does at start: a no-op now the queue exists...
    await database.app`select pgboss.create_queue(${SCHEDULE_QUEUE}, '{}'::json)`;
    // ...and what it met before: a new queue needs a table in a schema the service role may not create in.
    await expect(database.app`select pgboss.create_queue('not.installed', '{}'::json)`).rejects.toThrow(
      /permission denied for schema pgboss/,
    );
    // The service role can send to it (the cron's insert).
    const [sent] = await database.app.unsafe(`insert into pgboss.job (name, data) values ($1, '{}') returning id`, [
      SCHEDULE_QUEUE,
    ]);
    await database.app.unsafe('delete from pgboss.job where id = $1', [sent.id]);
  });

  it('reports queue depth, and a scheduler whose jobs stopped completing as stalled', async () => {
    const clock = manualClock(new Date());
    const deps = { db: database.app, clock, logger: silentLogger, metrics: createMetrics(), sessionTtlSeconds: 3600 };
    // A schedule that is not due (1 January only) and a queue without a worker: nothing completes.
    const runner = await startJobs(deps, [], {
      schedules: [{ name: 'test.queue', cron: '0 0 1 1 *' }],
      stallSeconds: 60,
    });
    try {
      await runner.send('test.queue', { n: 1 });
      const fresh = await runner.status();
      expect(fresh).toMatchObject({
        status: 'ok',
        scheduler: true,
        maintenance: false,
        last_tick_at: null,
        failed: 0,
        errors: 0,
        last_error: null,
      });
      // The jobs inserted by the earlier tests are queued too.
      expect(fresh.queued).toBeGreaterThanOrEqual(1);
      expect(fresh.queued).toBe(
        (await database.owner`select count(*)::int as n from pgboss.job where state = 'created'`)[0].n,
      );
      clock.advance(61_000);
      expect((await runner.status()).status).toBe('stalled');
    } finally {
      await runner.stop();
    }
    expect((await runner.status()).status).toBe('stopped');
  });

  it("runs a job sent from the worker's own process at once, not at the worker's next poll", async () => {
    const deps = {
      db: database.app,
      clock: manualClock(new Date()),
      logger: silentLogger,
      metrics: createMetrics(),
      sessionTtlSeconds: 3600,
    };
    let handled: (data: unknown) => void = () => {};
    const ran = new Promise((resolve) => (handled = resolve));
    // Its first fetch, at start, finds nothing; the next poll would be an hour later.
    const runner = await startJobs(
      deps,
      [{ name: 'test.wake', policy: 'standard', handle: async (_deps, data) => handled(data) }],
      { pollingIntervalSeconds: 3600 },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await runner.sendMany('test.wake', [{ data: { n: 2 } }]);
      // A minute, far under the hour the worker would sleep: a bound on a hang, not a timing.
      const hung = new Promise((resolve) => setTimeout(() => resolve('not run within a minute'), 60_000).unref());
      expect(await Promise.race([ran, hung])).toEqual({ n: 2 });
    } finally {
      await runner.stop();
    }
  });
});
