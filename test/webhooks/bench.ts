// `npm run bench:webhooks -- --json`: outgoing webhook delivery on a fresh PostgreSQL database, the service in
// this process with its pg-boss workers and webhook dispatcher (as `npm start` runs them), a local receiver (127.0.0.1) answering 200 at once.
// (1) Deliveries per second of a backlog of --deliveries messages to one endpoint (claim, sign, POST, record),
//     from the first request the receiver got to the last (the time before the first, the dispatcher's tick and
//     pg-boss's poll, is reported apart), beside a plain HTTP POST loop of bodies of the same size to the same
//     receiver at the same concurrency (keep-alive, no database, no signing) on node:http and on undici (the
//     sender's client): the floor. Goal: at least half the faster loop's rate.
// (2) A backlog of --messages (100,000) drains while POST /v1/events batches of --batch events are sent at
//     --concurrency for --ingest-seconds: the ingestion rate during the drain beside the rate without it (goal: at
//     least 0.9 of it), the drain's rate while ingestion runs and the whole drain's time.
import http from 'node:http';
import { Pool } from 'undici';
import { startWebhookDispatcher } from '../../service/src/domains/webhooks/jobs.ts';
import { startJobRunner } from '../billing/jobs-harness.ts';
import { exampleBook, restAs, signUpTenant, startService } from '../service/harness.ts';
import { startReceiver } from './receiver.ts';

process.env.WEBHOOK_ALLOW_PRIVATE = '1';

const argument = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const json = process.argv.includes('--json');
const log = (message: string) => {
  if (!json) process.stderr.write(message + '\n');
};
const deliveries = argument('deliveries', 5000);
const backlog = argument('messages', 100_000);
const ingestSeconds = argument('ingest-seconds', 10);
const batch = argument('batch', 100);
const concurrency = argument('concurrency', 4);
const inFlight = Number(process.env.WEBHOOK_CONCURRENCY ?? 16);

const harness = await startService({ now: new Date().toISOString() });
const receiver = await startReceiver();
const tenant = await signUpTenant(harness);
const api = restAs(harness, tenant.secretKey);
const owner = harness.database.owner;
const endpoint = await api('POST', '/v1/webhook_endpoints', { url: `${receiver.url}/bench` });
const jobs = await startJobRunner(harness);

/** Records `count` notifications in one statement (the trigger makes their messages and deliveries). */
async function recordNotifications(count: number, prefix: string) {
  await owner`
    insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
    select ${tenant.tenantId}, gen_random_uuid(), 'credit_grant.expiring', ${prefix} || i,
           jsonb_build_object('grant_id', gen_random_uuid(), 'customer_id', 'bench-customer', 'balance', '12.500000000', 'currency', 'USD', 'n', i),
           ${harness.clock.now()}
    from generate_series(1, ${count}) i`;
}

/**
 * Whether any of the endpoint's deliveries is not yet sent (nothing fails here): one probe of the sender's due
 * index. Not a count: counting a 100,000-row backlog (a heap fetch per row, as nothing has vacuumed it) took
 * 100-300 ms of PostgreSQL per poll, four polls a second, beside the ingestion the drain is measured against.
 */
async function anyPending(): Promise<boolean> {
  const [{ pending }] = await owner`
    select exists (select from webhook_deliveries where tenant_id = ${tenant.tenantId} and endpoint_id = ${endpoint.id} and status = 'pending') as pending`;
  return pending;
}

/** Runs the service's dispatcher (as main.ts does) until every delivery succeeded; seconds taken. */
async function drain(): Promise<number> {
  const started = performance.now();
  const dispatcher = startWebhookDispatcher(jobs.deps, jobs.runner);
  while (await anyPending()) await new Promise((resolve) => setTimeout(resolve, 250));
  await dispatcher.stop();
  return (performance.now() - started) / 1000;
}

// (1) Delivery rate beside the plain POST loop.
await recordNotifications(deliveries, 'rate-');
const [{ body: sampleBody }] =
  await owner`select body from webhook_messages where tenant_id = ${tenant.tenantId} limit 1`;
const receivedBefore = receiver.received.length;
const drainStarted = performance.now();
await drain();
const got = receiver.received.slice(receivedBefore);
if (got.length < deliveries) throw new Error('the receiver got fewer requests than messages');
const firstAfterSeconds = (got[0].at - drainStarted) / 1000;
const deliverySeconds = (got.at(-1)!.at - got[0].at) / 1000;
const deliveryRate = (got.length - 1) / deliverySeconds;
log(
  `delivered ${deliveries} in ${deliverySeconds.toFixed(2)} s after the first (${firstAfterSeconds.toFixed(2)} s after the dispatcher started): ${deliveryRate.toFixed(0)}/s`,
);

const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
const target = new URL(`${receiver.url}/plain`);
function post(body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
let next = 0;
const plainStarted = performance.now();
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next++ < deliveries) await post(sampleBody);
  }),
);
const plainRate = deliveries / ((performance.now() - plainStarted) / 1000);
log(`plain POST loop: ${plainRate.toFixed(0)}/s`);
// The same loop on undici, the sender's own HTTP client: the goal is judged against the faster of the two loops, so
// a faster client alone cannot meet it.
const pool = new Pool(receiver.url, { connections: inFlight });
next = 0;
const undiciStarted = performance.now();
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next++ < deliveries) {
      const response = await pool.request({
        path: '/plain',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: sampleBody,
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
    }
  }),
);
const undiciRate = deliveries / ((performance.now() - undiciStarted) / 1000);
await pool.close();
log(`plain POST loop on undici: ${undiciRate.toFixed(0)}/s`);
const fastestLoop = Math.max(plainRate, undiciRate);
receiver.received.length = 0;

// (2) Ingestion with and without a backlog draining.
await api('POST', '/v1/price_books', { book: exampleBook('bench-book') });
for (let c = 0; c < 10; c++) {
  await api('POST', '/v1/customers', { external_id: `bench-${c}`, currency: 'USD' });
  await api('PUT', `/v1/customers/bench-${c}/price_book`, {
    price_book: 'bench-book',
    effective_from: '2026-01-01T00:00:00Z',
  });
}
let sequence = 0;
async function ingestFor(seconds: number, until?: () => boolean): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let events = 0;
  const eventTime = new Date(harness.clock.now().getTime() - 60_000).toISOString();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && !(until?.() ?? false)) {
        const n = sequence++;
        const body = {
          events: Array.from({ length: batch }, (_, i) => ({
            transaction_id: `bench-${n}-${i}`,
            customer_id: `bench-${(n + i) % 10}`,
            event_type: 'llm.completion',
            timestamp: eventTime,
            properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 50 },
          })),
        };
        const response = await fetch(`${harness.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (response.status !== 200) throw new Error(`POST /v1/events: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        events += batch;
      }
    }),
  );
  return { events, seconds: (performance.now() - started) / 1000 };
}

const quiet = await ingestFor(ingestSeconds);
const quietRate = quiet.events / quiet.seconds;
log(`ingestion alone: ${quietRate.toFixed(0)} events/s`);

const recordStarted = performance.now();
await recordNotifications(backlog, 'backlog-');
const recordSeconds = (performance.now() - recordStarted) / 1000;
log(`recorded ${backlog} notifications (messages and deliveries by the trigger) in ${recordSeconds.toFixed(1)} s`);
let drained = false;
const drainPromise = drain().then((seconds) => {
  drained = true;
  return seconds;
});
// Ingestion during the drain: for as long as the drain lasts, at most ingest-seconds.
const receivedBeforeIngestion = receiver.received.length;
const busy = await ingestFor(ingestSeconds, () => drained);
const busyRate = busy.events / busy.seconds;
const drainRateDuringIngestion = (receiver.received.length - receivedBeforeIngestion) / busy.seconds;
const drainSeconds = await drainPromise;
const drainRate = backlog / drainSeconds;
log(
  `ingestion during the drain: ${busyRate.toFixed(0)} events/s; the backlog drained in ${drainSeconds.toFixed(1)} s (${drainRate.toFixed(0)}/s)`,
);

const report = {
  bench: 'webhooks',
  machine: { cpus: (await import('node:os')).cpus().length, load_average: (await import('node:os')).loadavg() },
  delivery: {
    messages: deliveries,
    attempts_in_flight: inFlight,
    body_bytes: Buffer.byteLength(sampleBody),
    first_delivery_after_seconds: Number(firstAfterSeconds.toFixed(2)),
    deliveries_per_second: Math.round(deliveryRate),
    plain_post_loop_per_second: Math.round(plainRate),
    plain_undici_loop_per_second: Math.round(undiciRate),
    ratio: Number((deliveryRate / plainRate).toFixed(3)),
    ratio_to_fastest_loop: Number((deliveryRate / fastestLoop).toFixed(3)),
    goal_ratio: 0.5,
    goal_met: deliveryRate / fastestLoop >= 0.5,
  },
  backlog: {
    messages: backlog,
    recorded_in_seconds: Number(recordSeconds.toFixed(2)),
    drained_in_seconds: Number(drainSeconds.toFixed(2)),
    drain_deliveries_per_second: Math.round(drainRate),
    drain_deliveries_per_second_during_ingestion: Math.round(drainRateDuringIngestion),
    busy_rate_setting: Number(process.env.WEBHOOK_BUSY_RATE ?? 200),
    ingestion_events_per_second_alone: Math.round(quietRate),
    ingestion_events_per_second_during_drain: Math.round(busyRate),
    ingestion_ratio: Number((busyRate / quietRate).toFixed(3)),
    goal_ingestion_ratio: 0.9,
    ingestion_goal_met: busyRate / quietRate >= 0.9,
    ingestion_batch: batch,
    ingestion_concurrency: concurrency,
  },
};
process.stdout.write(JSON.stringify(report, null, json ? 0 : 2) + '\n');
await jobs.stop();
await receiver.close();
await harness.close();
agent.destroy();
process.exit(0);
