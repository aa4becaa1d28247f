// `npm run bench:ingest -- --json`: the service on PostgreSQL (its own process) and a load generator here.
// Prints acknowledged events/s for batches of 1,000 and 100 and for one-event requests, request latency
// percentiles, the delay from ack to the event showing in /usage, the raw COPY rate into a copy of the
// events table as the physical baseline for batches, and GET /healthz at the same concurrency as the floor
// for one-event requests (HTTP alone, no key, no database).
import { createTestDatabase } from '../../service/src/platform/test-database.ts';
import { LoadClient } from './load-client.ts';
import { startServiceProcess } from './process.ts';

const json = process.argv.includes('--json');
const log = (message: string) => {
  if (!json) process.stderr.write(message + '\n');
};

const database = await createTestDatabase();
const service = await startServiceProcess(database.url, { LOG_LEVEL: 'warn' });
const key = service.demoKey!;
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
const post = (pathname: string, body: unknown) => fetch(service.url + pathname, { method: 'POST', headers, body: JSON.stringify(body) });

// The load generator shares the machine's two cores with the service and PostgreSQL: plain sockets
// (load-client.ts) cost it about 90 µs of CPU per one-event request, node:http's client 200-230 µs and fetch
// 1.4 ms, CPU the service under test would not have had.
const client = new LoadClient(service.url, 64, headers);

/** GET /healthz (no key, no database) at the one-event run's concurrency: what HTTP alone costs here. */
async function httpFloor(requests: number, concurrency: number) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const response = await client.get('/healthz');
        if (response.status !== 200) throw new Error(`healthz: HTTP ${response.status}`);
      }
    }),
  );
  return { requests, concurrency, requests_per_second: Math.round(requests / ((performance.now() - started) / 1000)) };
}

const customers = 200;
for (let c = 0; c < customers; c++) {
  await post('/v1/customers', { external_id: `bench-${c}`, currency: 'USD' });
  await fetch(`${service.url}/v1/customers/bench-${c}/price_book`, { method: 'PUT', headers, body: JSON.stringify({ price_book: 'demo-llm', effective_from: '2020-01-01T00:00:00Z' }) });
}

let sequence = 0;
const now = Date.now();
function events(count: number) {
  return Array.from({ length: count }, () => {
    const n = sequence++;
    return {
      transaction_id: `bench-${n}`,
      customer_id: `bench-${n % customers}`,
      event_type: 'llm.completion',
      timestamp: new Date(now - (n % 3_600_000)).toISOString(),
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + (n % 5000), output_tokens: 200 + (n % 700) },
    };
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(name: string, batchSize: number, requests: number, concurrency: number) {
  const latencies: number[] = [];
  let acknowledged = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const body = batchSize === 1 ? events(1)[0] : { events: events(batchSize) };
        const t0 = performance.now();
        const response = await client.post('/v1/events', body);
        latencies.push(performance.now() - t0);
        if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status} ${response.body}`);
        acknowledged += (JSON.parse(response.body) as { accepted: number }).accepted;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    batch_size: batchSize,
    requests,
    concurrency,
    acknowledged_events: acknowledged,
    events_per_second: Math.round(acknowledged / seconds),
    latency_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
  };
  log(`${name}: ${JSON.stringify(result)}`);
  return result;
}

const round = (x: number) => Math.round(x * 10) / 10;

// Ack -> visible in /usage: read right after each ack; the event is in the same transaction, so the delay is
// 0 unless a read misses it (then it is the time until a read sees it).
async function ackToUsage(samples: number) {
  const delays: number[] = [];
  for (let i = 0; i < samples; i++) {
    const [event] = events(1);
    const before = (await (await fetch(`${service.url}/v1/customers/${event.customer_id}/usage`, { headers })).json()) as { event_count: string };
    const response = await post('/v1/events', event);
    if (response.status !== 200) throw new Error(`ack-to-usage: HTTP ${response.status}`);
    const acked = performance.now();
    let delay = 0;
    for (;;) {
      const usage = (await (await fetch(`${service.url}/v1/customers/${event.customer_id}/usage`, { headers })).json()) as { event_count: string };
      if (BigInt(usage.event_count) > BigInt(before.event_count)) break;
      delay = performance.now() - acked;
    }
    delays.push(delay);
  }
  delays.sort((a, b) => a - b);
  return { samples, p99_ms: round(percentile(delays, 99)), max_ms: round(delays.at(-1)!) };
}

async function copyBaseline(rows: number) {
  await database.owner`create table bench_copy (like events including defaults)`;
  const [{ tenant_id, customer_id }] = await database.owner`select tenant_id, id as customer_id from customers limit 1`;
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const properties = JSON.stringify({ provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 200 }).replaceAll('\\', '\\\\');
    lines.push([tenant_id, `copy-${i}`, customer_id, 'llm.completion', new Date(now - i).toISOString(), properties, new Date().toISOString()].join('\t'));
  }
  await database.owner`alter table bench_copy add primary key (tenant_id, transaction_id)`;
  const started = performance.now();
  const stream = await database.owner`copy bench_copy (tenant_id, transaction_id, customer_id, event_type, occurred_at, properties, received_at) from stdin`.writable();
  for (let i = 0; i < lines.length; i += 1000) stream.write(lines.slice(i, i + 1000).join('\n') + '\n');
  await new Promise<void>((resolve, reject) => stream.end(() => resolve()).on('error', reject));
  const seconds = (performance.now() - started) / 1000;
  const [{ n }] = await database.owner`select count(*)::int as n from bench_copy`;
  if (n !== rows) throw new Error(`COPY stored ${n} of ${rows} rows`);
  return { rows, rows_per_second: Math.round(rows / seconds) };
}

try {
  await run('warm-up', 100, 20, 2);
  const batch1000 = await run('batches of 1,000', 1000, 40, 3);
  const batch100 = await run('batches of 100', 100, 300, 4);
  const single = await run('one-event requests', 1, 4000, 32);
  const floor = await httpFloor(4000, 32);
  log(`HTTP floor (GET /healthz): ${JSON.stringify(floor)}`);
  const visibility = await ackToUsage(50);
  log(`ack -> usage: ${JSON.stringify(visibility)}`);
  const copy = await copyBaseline(100_000);
  log(`COPY baseline: ${JSON.stringify(copy)}`);
  const report = {
    benchmark: 'ingest',
    database: 'postgresql',
    batch_1000: batch1000,
    batch_100: batch100,
    single_event: single,
    http_floor: floor,
    ratio_single_event_to_http_floor: Math.round((single.events_per_second / floor.requests_per_second) * 1000) / 1000,
    ack_to_usage_delay: visibility,
    copy_baseline: copy,
    ratio_batch_1000_to_copy: Math.round((batch1000.events_per_second / copy.rows_per_second) * 1000) / 1000,
  };
  process.stdout.write(JSON.stringify(report, null, json ? 0 : 2) + '\n');
} finally {
  client.close();
  service.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database.drop();
}
