// `npm run bench:check -- --json`: the entitlement check's latency in-process (the service function, no HTTP),
// on a fresh PostgreSQL database with the service as `npm start` runs it (HTTP server, pg-boss workers and the
// billing tick on the same pool), (a) quiet and (b) while a load generator in another process sends
// POST /v1/events batches to the same service, for the checked customer among others. Beside the check,
// interleaved with it in the same run: a bare `select 1` round trip on the service's pool, the check's statement
// alone (prepared, on a connection of its own, no transaction: the floor of any check that reads the database)
// and the check as it was (its transaction on the pool, then the same answer). Event-loop delay and GC pauses of
// each phase explain the tails. Options: --calls N (per series and phase), --customers, --batch, --concurrency.
import { fork } from 'node:child_process';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { answerCheck, checkEntitlement } from '../../service/src/domains/budgets/service.ts';
import { checkCacheStats } from '../../service/src/domains/budgets/check-cache.ts';
import * as budgetsRepo from '../../service/src/domains/budgets/repo.ts';
import { jobDefinitions, jobSchedules } from '../../service/src/jobs.ts';
import type { Actor } from '../../service/src/platform/auth.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { withTenant, type Tx } from '../../service/src/platform/db.ts';
import { installJobs, startJobs } from '../../service/src/platform/jobs.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import { restAs, signUpTenant, startService } from '../service/harness.ts';
import { LoadClient } from '../service/load-client.ts';
import { billingBook } from './fixtures.ts';

const argument = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

if (process.argv.includes('--load-generator')) await generateLoad();
else await main();

/** The child: POST /v1/events batches on kept-alive sockets until told to stop; reports what it sent. */
async function generateLoad() {
  const key = process.env.BENCH_KEY!;
  const customers = Number(process.env.BENCH_CUSTOMERS);
  const batch = Number(process.env.BENCH_BATCH);
  const concurrency = Number(process.env.BENCH_CONCURRENCY);
  const client = new LoadClient(process.env.BENCH_URL!, concurrency, {
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
  });
  let sequence = 0;
  let acknowledged = 0;
  let requests = 0;
  let stopping = false;
  process.on('message', (message) => {
    if (message === 'stop') stopping = true;
  });
  const send = async (body: unknown) => {
    const response = await client.post('/v1/events', body);
    if (response.status !== 200)
      throw new Error(`POST /v1/events: HTTP ${response.status} ${response.body.slice(0, 300)}`);
    acknowledged += (JSON.parse(response.body) as { accepted: number }).accepted;
    requests++;
  };
  const started = performance.now();
  process.send!('started');
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopping) {
        const events = Array.from({ length: batch }, () => {
          const n = sequence++;
          return {
            transaction_id: `load-${process.pid}-${n}`,
            customer_id: `bench-${n % customers}`,
            event_type: 'llm.completion',
            timestamp: new Date(Date.UTC(2026, 2, 1 + (n % 19), n % 24, n % 60)).toISOString(),
            properties: { model: 'llama-3-70b', tokens: 1000 + (n % 5000), project: n % 2 ? 'alpha' : 'beta' },
          };
        });
        await send({ events });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  process.send!({ requests, acknowledged, events_per_second: Math.round(acknowledged / seconds) });
  client.close();
  process.exit(0);
}

async function main() {
  const json = process.argv.includes('--json');
  const calls = argument('calls', 3000);
  const customers = argument('customers', 200);
  const batch = argument('batch', 100);
  const concurrency = argument('concurrency', 2);
  const log = (message: string) => {
    if (!json) process.stderr.write(message + '\n');
  };

  const harness = await startService({ now: '2026-03-20T00:00:00Z' });
  const owner = harness.database.owner;
  let runner: Awaited<ReturnType<typeof startJobs>> | undefined;
  try {
    const tenant = await signUpTenant(harness);
    const tenantId = tenant.tenantId;
    const call = restAs(harness, tenant.secretKey);
    await call('POST', '/v1/price_books', { book: billingBook });
    for (let c = 0; c < customers; c++) {
      await call('POST', '/v1/customers', { external_id: `bench-${c}`, currency: 'USD' });
      await call('PUT', `/v1/customers/bench-${c}/price_book`, {
        price_book: 'ai-platform',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
    // The checked customer is one the load spends for: blocks on depletion, has credit, a blocking budget and a
    // blocking budget on the project the check names, so every part of the check's state is read and kept moving.
    const checked = 'bench-1';
    await call('PATCH', `/v1/customers/${checked}/wallet`, { on_depletion: 'block' });
    await call('POST', `/v1/customers/${checked}/credit_grants`, { kind: 'prepaid', amount: '100000' });
    await call('PUT', `/v1/customers/${checked}/budget`, { amount: '1000000', enforcement: 'block' });
    await call('PUT', `/v1/customers/${checked}/scoped_budgets/project/alpha`, {
      amount: '1000000',
      enforcement: 'block',
    });
    await call('POST', '/v1/events', {
      events: Array.from({ length: 10 }, (_, n) => ({
        transaction_id: `seed-${n}`,
        customer_id: checked,
        event_type: 'llm.completion',
        timestamp: '2026-03-02T00:00:00Z',
        properties: { model: 'llama-3-70b', tokens: 1000, project: 'alpha' },
      })),
    });

    // The service as `npm start` runs it: pg-boss workers and the billing tick on the service's pool.
    await installJobs(owner, jobDefinitions);
    const deps: Deps = {
      db: harness.database.app,
      clock: harness.clock,
      logger: silentLogger,
      metrics: createMetrics(),
      sessionTtlSeconds: 3600,
    };
    runner = await startJobs(deps, jobDefinitions, { supervise: true, schedules: jobSchedules });

    const [key] = await owner`select id from api_keys where tenant_id = ${tenantId} and kind = 'secret' limit 1`;
    const actor: Actor = { tenantId, type: 'api_key', id: key.id, principal: 'admin' };
    const request = { estimated_cost: '0.5', project: 'alpha' };
    const expected = await checkEntitlement(deps, actor, checked, request);
    if (!expected.allowed || expected.scoped_budgets.length !== 1)
      throw new Error(`unexpected check: ${JSON.stringify(expected)}`);

    // The statement alone: one connection of the service's pool, the tenant set for the session, no transaction.
    const statementConnection = await deps.db.reserve();
    await statementConnection`select set_config('app.tenant_id', ${tenantId}, false)`;
    const statementScope = { db: statementConnection as unknown as Tx, tenantId };

    const series = {
      select_1: async () => {
        await deps.db`select 1`;
      },
      statement: async () => {
        if (!(await budgetsRepo.readCheckState(statementScope, checked, harness.clock.now())))
          throw new Error('statement found no customer');
      },
      // The check as it was before its state was kept in memory: its transaction (BEGIN; the tenant settings
      // pipelined with the statement; COMMIT) on the shared pool, then the same answer.
      check_from_database: async () => {
        const now = harness.clock.now();
        const state = await withTenant(deps.db, tenantId, (tx) =>
          budgetsRepo.readCheckState({ db: tx, tenantId }, checked, now),
        );
        if (!answerCheck(state!, checked, request, actor.id, now).allowed)
          throw new Error('check from the database refused');
      },
      check: async () => {
        const result = await checkEntitlement(deps, actor, checked, request);
        if (!result.allowed) throw new Error(`check refused: ${JSON.stringify(result.reasons)}`);
      },
    };
    type Name = keyof typeof series;

    /** Runs the series interleaved (same conditions for each), `calls` times each after a warm-up. */
    async function measure(phase: string) {
      const latencies = Object.fromEntries(Object.keys(series).map((name) => [name, [] as number[]])) as Record<
        Name,
        number[]
      >;
      for (let i = 0; i < 200; i++) for (const name of Object.keys(series) as Name[]) await series[name]();
      const loop = monitorEventLoopDelay({ resolution: 1 });
      const gc: number[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) gc.push(entry.duration);
      });
      observer.observe({ entryTypes: ['gc'] });
      loop.enable();
      const cacheBefore = checkCacheStats();
      const started = performance.now();
      for (let i = 0; i < calls; i++) {
        for (const name of Object.keys(series) as Name[]) {
          const t0 = performance.now();
          await series[name]();
          latencies[name].push(performance.now() - t0);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const cacheAfter = checkCacheStats();
      loop.disable();
      observer.disconnect();
      const summary = Object.fromEntries(
        (Object.keys(series) as Name[]).map((name) => [name, percentiles(latencies[name])]),
      );
      const result = {
        ...summary,
        calls_per_series: calls,
        check_state: {
          from_memory: cacheAfter.hits - cacheBefore.hits,
          read_from_database: cacheAfter.loads - cacheBefore.loads,
          entries_dropped: cacheAfter.drops - cacheBefore.drops,
        },
        seconds: Math.round(seconds * 100) / 100,
        event_loop_delay_ms: {
          p50: round(loop.percentile(50) / 1e6),
          p99: round(loop.percentile(99) / 1e6),
          max: round(loop.max / 1e6),
        },
        gc_pauses: {
          count: gc.length,
          total_ms: round(gc.reduce((a, b) => a + b, 0)),
          max_ms: round(Math.max(0, ...gc)),
        },
      };
      log(`${phase}: ${JSON.stringify(result)}`);
      return result;
    }

    const quiet = await measure('quiet');

    const child = fork(fileURLToPath(import.meta.url), ['--load-generator'], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_URL: harness.url,
        BENCH_KEY: tenant.secretKey,
        BENCH_CUSTOMERS: String(customers),
        BENCH_BATCH: String(batch),
        BENCH_CONCURRENCY: String(concurrency),
      },
    });
    const generated = new Promise<any>((resolve, reject) => {
      child.on('message', (message) => {
        if (message !== 'started') resolve(message);
      });
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
    });
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    // Let the load reach its steady state before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const loaded = await measure('under load');
    child.send('stop');
    const load = await generated;

    statementConnection.release();
    // What memory answers once the load is over is what a fresh read of the database answers.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await checkEntitlement(deps, actor, checked, request);
    const now = harness.clock.now();
    const fresh = answerCheck(
      (await withTenant(deps.db, tenantId, (tx) => budgetsRepo.readCheckState({ db: tx, tenantId }, checked, now)))!,
      checked,
      request,
      actor.id,
      now,
    );
    if (JSON.stringify(after) !== JSON.stringify(fresh))
      throw new Error(`memory and database differ after the load:\n${JSON.stringify(after)}\n${JSON.stringify(fresh)}`);
    const report = {
      benchmark: 'check',
      database: 'postgresql',
      customers,
      note: 'ms per call, in-process, sequential; each phase interleaves the series so they share its conditions; check_from_database is the check as it was before memory',
      quiet,
      under_load: { ...loaded, load: { batch_size: batch, concurrency, ...load } },
      check_after_load: {
        equals_fresh_database_read: true,
        credit_balance: after.credit_balance,
        budget_spend: after.budget?.spend,
        project_spend: after.scoped_budgets[0]?.spend,
      },
    };
    process.stdout.write(JSON.stringify(report, null, json ? 0 : 2) + '\n');
  } finally {
    await runner?.stop();
    await harness.close();
  }
  process.exit(0);
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
  return { p50: at(50), p99: at(99), max: round(sorted.at(-1)!) };
}

function round(x: number) {
  return Math.round(x * 1000) / 1000;
}
