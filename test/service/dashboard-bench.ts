// `npm run bench:dashboard -- --json [--customers 10000] [--events 1000] [--database NAME]`: the dashboard's reads
// on a tenant with `customers` customers and `events` rated events each over 90 days (January to March 2026; the
// defaults make the issue's 10 million). One template customer's events go through ingestion (POST /v1/events); its
// rows (events, periods, usage aggregates, budget) are cloned for the others by SQL. With `--database`, that
// database is kept and a tenant already seeded there is measured again without seeding. Server time (the service
// functions in-process, a transaction each, no HTTP) of: the customer list's first page and two searches, a
// 90-day usage chart daily and hourly, each beside a plain indexed `select` of the same rows; and a one-month
// simulation over every customer beside the kernel's own rate on the same events.
import {
  compileBook,
  encodeEvent,
  encodeStates,
  EventTypes,
  layout,
  writeEvent,
  type CustomerState,
  type UsageEvent,
} from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { searchCustomers, getUsageSeries } from '../../service/src/domains/insights/service.ts';
import { simulate } from '../../service/src/domains/simulations/service.ts';
import type { Actor } from '../../service/src/platform/auth.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import postgres from 'postgres';
import { baseOptions, connect, deriveServiceUrl, type Db } from '../../service/src/platform/db.ts';
import { migrate } from '../../service/src/platform/migrate.ts';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { restAs, signUpTenant, startService, tokenCard } from './harness.ts';

const json = process.argv.includes('--json');
const argument = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const customers = argument('customers', 10_000);
const keptDatabase = process.argv.includes('--database')
  ? process.argv[process.argv.indexOf('--database') + 1]
  : undefined;
const eventsPerCustomer = argument('events', 1_000);
const log = (message: string) => {
  if (!json) process.stderr.write(message + '\n');
};
const ms = (value: number) => Math.round(value * 100) / 100;

const card = (id: string, model: string, input: string, output: string) =>
  tokenCard(id, input, output, { event_type: 'llm.completion', model });
const models = ['llama-3-8b', 'llama-3-70b', 'gpt-4o'];
const book = {
  id: 'bench-book',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        card('small', models[0], '0.2', '0.4'),
        card('large', models[1], '0.9', '1.8'),
        card('frontier', models[2], '2.5', '10'),
      ],
    },
  ],
  cost: {
    currency: 'USD',
    versions: [
      {
        effective_from: '2026-01-01T00:00:00Z',
        rate_cards: [
          card('small', models[0], '0.1', '0.2'),
          card('large', models[1], '0.5', '1'),
          card('frontier', models[2], '1.5', '6'),
        ],
      },
    ],
  },
};
// The draft: the frontier model's input up, the small model's output down.
const draft = {
  effective_from: '2026-06-01T00:00:00Z',
  rate_cards: [
    card('small', models[0], '0.2', '0.3'),
    card('large', models[1], '0.9', '1.8'),
    card('frontier', models[2], '3', '10'),
  ],
};

/** Median and p95 of `runs` calls after `warmup` unmeasured ones, in milliseconds. */
async function time(run: () => Promise<unknown>, runs = 30, warmup = 3) {
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    median_ms: ms(samples[Math.floor(runs / 2)]),
    p95_ms: ms(samples[Math.min(runs - 1, Math.floor(runs * 0.95))]),
  };
}

const database = await openDatabase(keptDatabase);

// Spread over the 90 days before now, at every hour of the day.
const start = Date.parse('2026-01-01T00:00:00Z');
const span = Date.parse('2026-03-31T00:00:00Z') - start;
const templateEvents = Array.from({ length: eventsPerCustomer }, (_, n) => ({
  transaction_id: `t-${n}`,
  customer_id: 'bench-0',
  event_type: 'llm.completion',
  timestamp: new Date(start + Math.floor((span * n) / eventsPerCustomer) + ((n * 7919) % 3_600_000)).toISOString(),
  properties: { model: models[n % 3], input_tokens: 1000 + ((n * 37) % 5000), output_tokens: 100 + ((n * 13) % 900) },
}));

/**
 * `--database NAME`: that database, made and migrated if missing and kept after the run, so a seeded tenant is
 * measured again without seeding; without it, a fresh database dropped at the end.
 */
async function openDatabase(name: string | undefined): Promise<TestDatabase> {
  if (name === undefined) return createTestDatabase();
  const admin = postgres(testServerUrl, { max: 1, onnotice: () => {} });
  const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
  if (!exists) await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  const owner = connect({ ...baseOptions, url: url.toString(), max: 2 });
  await migrate(owner, silentLogger);
  const app = connect({ ...baseOptions, url: deriveServiceUrl(url.toString()), max: 8 });
  const drop = async () => {
    await app.end({ timeout: 5 });
    await owner.end({ timeout: 5 });
  };
  return { name, url: url.toString(), app, owner, drop };
}

/** Where bench_map's customer n gets its id: ids in n's order, so each clone appends to its table's keys. */
const mappedId = `('00000000-0000-4000-8000-' || lpad(to_hex(m.n), 12, '0'))::uuid`;

/**
 * Clones the template customer's rows for customers 1..count-1 by SQL, on one connection with triggers and foreign
 * keys off (the rows are copies of rows that passed them; the harness's integrity checks run over them at the end).
 * Events go in the template's time order (as ingestion writes them), customers' other rows customer by customer;
 * each table's secondary indexes are dropped first and built once after.
 */
async function seed(owner: Db, tenantId: string, count: number): Promise<void> {
  const connection = await owner.reserve();
  try {
    await connection`set session_replication_role = replica`;
    await connection`set maintenance_work_mem = '512MB'`;
    const [template] =
      await connection`select id from customers where tenant_id = ${tenantId} and external_id = 'bench-0'`;
    await connection`create temporary table bench_map as select n from generate_series(1, ${count - 1}) n`;
    const clone = async (table: string, overrides: Record<string, string>, chunks: string[]) => {
      const columns = (
        await connection`
        select column_name from information_schema.columns
        where table_schema = 'public' and table_name = ${table} and is_generated = 'NEVER' and identity_generation is null
        order by ordinal_position`
      ).map((c) => c.column_name as string);
      const indexes = await connection`
        select i.indexname, i.indexdef from pg_indexes i
        where i.schemaname = 'public' and i.tablename = ${table}
          and not exists (select 1 from pg_constraint k where k.conname = i.indexname)`;
      // The template's rows apart: without its indexes, each chunk would scan the table it grows.
      const key = table === 'customers' ? 'id' : 'customer_id';
      await connection.unsafe(
        `create temporary table bench_template as select * from ${table} where tenant_id = $1 and ${key} = $2`,
        [tenantId, template.id],
      );
      for (const index of indexes) await connection.unsafe(`drop index ${index.indexname}`);
      for (const chunk of chunks)
        await connection.unsafe(
          `insert into ${table} (${columns.join(', ')})
           select ${columns.map((c) => overrides[c] ?? `x.${c}`).join(', ')}
           from bench_template x cross join bench_map m where ${chunk}`,
        );
      for (const index of indexes) await connection.unsafe(index.indexdef);
      await connection`drop table bench_template`;
    };
    const byCustomer = Array.from(
      { length: Math.ceil((count - 1) / 500) },
      (_, k) => `m.n > ${k * 500} and m.n <= ${(k + 1) * 500}`,
    );
    const all = ['true'];
    const customer = { id: mappedId };
    await clone(
      'customers',
      {
        ...customer,
        path: `array[${mappedId}]`,
        external_id: `'bench-' || m.n`,
        name: `'Customer ' || m.n`,
        email: `'billing-' || m.n || '@example.com'`,
      },
      all,
    );
    const owned = { customer_id: mappedId };
    await clone('customer_price_books', owned, all);
    await clone('budgets', owned, all);
    await clone('customer_periods', owned, all);
    await clone('usage_aggregates', owned, byCustomer);
    await clone('invoice_aggregates', owned, byCustomer);
    // Template events 20 at a time in their order (t-0, t-1, ...: time order), each for every customer, with ids in
    // the order they are written.
    const byTime = Array.from(
      { length: Math.ceil(eventsPerCustomer / 20) },
      (_, k) => `substr(x.transaction_id, 3)::int >= ${k * 20} and substr(x.transaction_id, 3)::int < ${(k + 1) * 20}`,
    );
    await clone(
      'events',
      {
        ...owned,
        transaction_id: `'t' || lpad(substr(x.transaction_id, 3), 7, '0') || '-' || lpad(m.n::text, 6, '0')`,
      },
      byTime,
    );
    await connection`drop table bench_map`;
    await connection`vacuum analyze`;
  } finally {
    connection.release();
  }
}

const harness = await startService({ now: '2026-03-31T12:00:00Z', database });
const owner = harness.database.owner;
// The integrity checks run over the rows this run seeded; a kept tenant's were checked by the run that seeded them
// (over 10 million events they take minutes).
let seededNow = false;
try {
  const [kept] = await owner`select tenant_id from tenants where name = 'Dashboard bench'`;
  const tenantId: string = kept?.tenant_id ?? (await setUpTenant());
  let seedSeconds = 0;
  const [{ seeded }] = await owner`select count(*)::int as seeded from customers where tenant_id = ${tenantId}`;
  if (seeded < customers) {
    log(`seeding ${customers} customers x ${eventsPerCustomer} events...`);
    const seedStarted = performance.now();
    await seed(owner, tenantId, customers);
    seedSeconds = Math.round(performance.now() - seedStarted) / 1000;
    seededNow = true;
  }
  const [{ events }] = await owner`select count(*)::int as events from events where tenant_id = ${tenantId}`;
  log(`${events} events (seeded in ${seedSeconds} s)`);

  const deps: Deps = {
    db: harness.database.app,
    clock: harness.clock,
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 3600,
  };
  const [user] = await owner`select id from users where tenant_id = ${tenantId} limit 1`;
  const actor: Actor = { tenantId, type: 'user', id: user.id, principal: 'owner' };
  const middle = `bench-${Math.floor(customers / 2)}`;
  const [middleRow] = await owner`select id from customers where tenant_id = ${tenantId} and external_id = ${middle}`;

  // The customer list.
  const firstPage = await time(() => searchCustomers(deps, actor, { limit: 50 }));
  const firstPageFloor = await time(
    () => owner`select * from customers where tenant_id = ${tenantId} order by external_id collate "C" limit 51`,
  );
  const idSearch = await time(() => searchCustomers(deps, actor, { query: 'bench-77', limit: 50 }));
  const nameSearch = await time(() => searchCustomers(deps, actor, { query: 'customer 12', limit: 50 }));
  const searchFloor = await time(
    () =>
      owner`select * from customers where tenant_id = ${tenantId} and external_id collate "C" like 'bench-77%' order by external_id collate "C" limit 51`,
  );

  // A 90-day usage chart of one customer.
  const range = { customer_id: middle, from: '2026-01-01T00:00:00Z', until: '2026-03-31T00:00:00Z' };
  const daily = await time(() => getUsageSeries(deps, actor, { ...range, granularity: 'day' }));
  const dailyFloor = await time(
    () => owner`
    select meter_id, day, group_key, event_count, value_sum, amount, gross_amount from usage_aggregates
    where tenant_id = ${tenantId} and customer_id = ${middleRow.id} and day >= '2026-01-01' and day < '2026-03-31'`,
  );
  const hourly = await time(() => getUsageSeries(deps, actor, { ...range, granularity: 'hour' }), 10, 2);
  const hourlyFloor = await time(
    () => owner`
    select e.occurred_at, e.properties, e.amount, e.receipt from events e
    where e.tenant_id = ${tenantId} and e.customer_id = ${middleRow.id} and e.occurred_at >= '2026-01-01' and e.occurred_at < '2026-03-31'`,
    10,
    2,
  );

  // One month (February) of every customer under the draft.
  log('simulating February...');
  let started = performance.now();
  // The bench process's own CPU time over the simulation (the service's part; the database's is not in it): on a
  // machine shared with other work, wall time says more about the load than about the simulation.
  const cpuBefore = process.cpuUsage();
  const simulation = await simulate(deps, actor, {
    price_book: 'bench-book',
    draft,
    from: '2026-02-01T00:00:00Z',
    until: '2026-03-01T00:00:00Z',
  });
  const simulationSeconds = (performance.now() - started) / 1000;
  const simulationCpu = process.cpuUsage(cpuBefore);
  // The kernel on the same events (the template's February events for every customer, in calls of 500 customers
  // as the simulation makes them): alone on events encoded beforehand (its own rate), and with JSON events in
  // and figures out (rateFigures, what the simulation calls).
  const february = templateEvents.filter((e) => e.timestamp.startsWith('2026-02'));
  const compiled = compileBook({ ...book, versions: [{ ...draft, effective_from: '1970-01-01T00:00:00Z' }] });
  if (!compiled.ok) throw new Error('draft does not compile');
  const state = { period: { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' } } as CustomerState;
  const perCall = 500;
  const names = Array.from({ length: perCall }, (_, k) => `bench-${k}`);
  const callEvents = names.flatMap((customer) =>
    february.map((event) => ({ ...event, customer_id: customer }) as unknown as UsageEvent),
  );
  const calls = Math.ceil(customers / perCall);
  const kernel = await loadKernel();
  const types = new EventTypes();
  const encodedState = encodeStates(compiled.book, names, Object.fromEntries(names.map((n) => [n, state])), types);
  const stride = layout.EVENT_HEADER_SIZE + 8 * compiled.book.properties.length;
  const bytes = new Uint8Array(callEvents.length * stride);
  callEvents.forEach((event, i) => {
    const encoded = encodeEvent(compiled.book, event, types);
    if (!encoded.ok) throw new Error(encoded.error.message);
    writeEvent(new DataView(bytes.buffer), i * stride, encoded.event, Math.floor(i / february.length));
  });
  // Each call: the next perCall customers (the last call fewer), their events first in callEvents.
  const sizes = Array.from({ length: calls }, (_, c) => Math.min(perCall, customers - c * perCall));
  started = performance.now();
  for (const size of sizes)
    kernel.rateEncoded(compiled.book, encodedState.bytes, bytes, size * february.length, compiled.book.stepsPerEvent);
  const kernelSeconds = (performance.now() - started) / 1000;
  const states = Object.fromEntries(names.map((n) => [n, state]));
  started = performance.now();
  for (const size of sizes) kernel.rateFigures(compiled.book, states, callEvents.slice(0, size * february.length));
  const figuresSeconds = (performance.now() - started) / 1000;
  const floorEvents = customers * february.length;
  const simulatedEvents = simulation.total.events;

  const result = {
    customers,
    events,
    seed_seconds: seedSeconds,
    customer_list_first_page: { ...firstPage, floor_plain_select: firstPageFloor },
    customer_search_external_id_prefix: { ...idSearch, floor_plain_select: searchFloor },
    customer_search_name_prefix: nameSearch,
    usage_chart_90_days_daily: { ...daily, floor_plain_select: dailyFloor },
    usage_chart_90_days_hourly: { ...hourly, floor_plain_select: hourlyFloor },
    simulation_one_month: {
      seconds: Math.round(simulationSeconds * 100) / 100,
      service_cpu_seconds: Math.round((simulationCpu.user + simulationCpu.system) / 10_000) / 100,
      periods: simulation.periods,
      events: simulatedEvents,
      events_per_second: Math.round(simulatedEvents / simulationSeconds),
      revenue: { old: simulation.total.old_revenue, new: simulation.total.new_revenue },
      floor_kernel_same_events: {
        seconds: Math.round(kernelSeconds * 100) / 100,
        events: floorEvents,
        events_per_second: Math.round(floorEvents / kernelSeconds),
      },
      kernel_json_in_figures_out: {
        seconds: Math.round(figuresSeconds * 100) / 100,
        events_per_second: Math.round(floorEvents / figuresSeconds),
      },
    },
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else console.log(result);
} finally {
  await harness
    .close({ checkIntegrity: seededNow || keptDatabase === undefined })
    .catch((error) => process.stderr.write(`close: ${error}\n`));
}
process.exit(0);

/** The bench's tenant: its book, meters and template customer, whose events go through ingestion. */
async function setUpTenant(): Promise<string> {
  const tenant = await signUpTenant(harness, 'Dashboard bench');
  const call = restAs(harness, tenant.secretKey);
  await call('POST', '/v1/price_books', { book });
  await call('POST', '/v1/meters', {
    code: 'input_tokens',
    name: 'Input tokens',
    event_type: 'llm.completion',
    aggregation: 'sum',
    property: 'input_tokens',
    group_by: ['model'],
  });
  await call('POST', '/v1/meters', {
    code: 'requests',
    name: 'Requests',
    event_type: 'llm.completion',
    aggregation: 'count',
  });
  await call('POST', '/v1/customers', {
    external_id: 'bench-0',
    name: 'Customer 0',
    email: 'billing-0@example.com',
    currency: 'USD',
  });
  await call('PUT', '/v1/customers/bench-0/price_book', {
    price_book: 'bench-book',
    effective_from: '2026-01-01T00:00:00Z',
  });
  await call('PUT', '/v1/customers/bench-0/budget', { amount: '1000' });
  for (let i = 0; i < templateEvents.length; i += 1000) {
    const ack = await call('POST', '/v1/events', { events: templateEvents.slice(i, i + 1000) });
    if (ack.accepted !== Math.min(1000, templateEvents.length - i))
      throw new Error(`template events: ${JSON.stringify(ack).slice(0, 500)}`);
  }

  return tenant.tenantId;
}
