// `npm run bench:webhooks -- --json`: outgoing webhook delivery on a fresh PostgreSQL database, the service in
// this process with its pg-boss workers and webhook dispatcher (as `npm start` runs them), a local receiver (127.0.0.1) answering 200 at once.
// (1) Deliveries per second of a backlog of --deliveries messages to one endpoint (claim, sign, POST, record),
//     from the first request the receiver got to the last (the time before the first, the dispatcher's tick and
//     pg-boss's poll, is reported apart), beside a plain HTTP POST loop of the same bodies to the same receiver at
//     the same concurrency (keep-alive, no database, no signing) on node:http and on undici (the sender's client):
//     the floor. --rounds rounds (default 3) of a drain and the two loops; medians reported, each round's figures
//     beside them, after --warmup-rounds (default 1) reported apart. Goal: at least half the faster loop's rate.
// (2) A backlog of --messages (100,000) drains while POST /v1/events batches of --batch events are sent at
//     --concurrency for --ingest-seconds: the ingestion rate during the drain beside the rate without it (goal: at
//     least 0.9 of it), the drain's rate while ingestion runs and the whole drain's time.
import http from 'node:http';
import os from 'node:os';
import { Pool } from 'undici';
import { startWebhookDispatcher } from '../../service/src/domains/webhooks/jobs.ts';
import { cpuSeconds } from '../bench/cpu.ts';
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
const roundCount = argument('rounds', 3);
const warmupRounds = argument('warmup-rounds', 1);
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

// (1) Delivery rate beside the plain POST loops, in alternated rounds: one drain, then each loop. A single drain
// and loop pass lasted 1-2 s and 0.4-1 s: on a shared machine the load moved between them, and one run's ratio
// ranged 0.3-1.0; each round's ratio is of figures measured within seconds of each other, and the median of the
// rounds is reported. CPU per delivery and per POST (this process, and the bench database's backends) beside them.
/** A message's body as the trigger wrote it: the loops POST it. */
let sampleBody = '';
const nodeCpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
async function backendsCpuSeconds(): Promise<() => number> {
  const pids = (await owner`select pid from pg_stat_activity where datname = ${harness.database.name}`).map(
    (r) => r.pid as number,
  );
  return () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** One drain of `deliveries` messages: its rate from the first request to the last, and the CPU in that window. */
async function deliveryRound(round: number) {
  await recordNotifications(deliveries, `rate-${round}-`);
  if (sampleBody === '')
    [{ body: sampleBody }] =
      await owner`select body from webhook_messages where tenant_id = ${tenant.tenantId} limit 1`;
  const before = receiver.received.length;
  const postgresCpu = await backendsCpuSeconds();
  // CPU sampled every 50 ms, to take the window from the first request the receiver got to the last.
  const samples: { at: number; node: number; postgres: number }[] = [];
  const sample = () => samples.push({ at: performance.now(), node: nodeCpuSeconds(), postgres: postgresCpu() });
  const sampler = setInterval(sample, 50);
  const drainStarted = performance.now();
  await drain();
  clearInterval(sampler);
  sample();
  const got = receiver.received.slice(before);
  if (got.length < deliveries) throw new Error('the receiver got fewer requests than messages');
  const first = got[0].at;
  const last = got.at(-1)!.at;
  const from = [...samples].reverse().find((s) => s.at <= first) ?? samples[0];
  const to = samples.find((s) => s.at >= last) ?? samples.at(-1)!;
  // The window widened to the samples around it: its deliveries counted at the rate inside it.
  const windowDeliveries = ((to.at - from.at) / (last - first)) * (got.length - 1);
  return {
    firstAfterSeconds: (first - drainStarted) / 1000,
    rate: (got.length - 1) / ((last - first) / 1000),
    nodeMicros: ((to.node - from.node) / windowDeliveries) * 1e6,
    postgresMicros: ((to.postgres - from.postgres) / windowDeliveries) * 1e6,
  };
}

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
// The same loop on undici, the sender's own HTTP client: the goal is judged against the faster of the two loops, so
// a faster client alone cannot meet it.
const pool = new Pool(receiver.url, { connections: inFlight });
async function postOnUndici(body: string): Promise<void> {
  const response = await pool.request({
    path: '/plain',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.body.dump();
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
}
/** `deliveries` POSTs of the sample body at `inFlight` at once: rate and this process's CPU per POST. */
async function plainLoop(send: (body: string) => Promise<void>) {
  let next = 0;
  const cpuBefore = nodeCpuSeconds();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < deliveries) await send(sampleBody);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = nodeCpuSeconds() - cpuBefore;
  receiver.received.length = 0;
  return { rate: deliveries / seconds, nodeMicros: (cpu / deliveries) * 1e6 };
}

type Round = {
  delivery: Awaited<ReturnType<typeof deliveryRound>>;
  plain: Awaited<ReturnType<typeof plainLoop>>;
  undici: Awaited<ReturnType<typeof plainLoop>>;
  load: number;
};
const rounds: Round[] = [];
// The first round is cold on the delivery side only: its drain runs the sender's, pg-boss's and postgres.js's code
// for the first time, on backends that have not yet cached the statements' relations and plans, while its loops run
// after it, on the receiver and undici code the drain has warmed. Its ratio was the lowest of the rounds in most
// runs (BENCHMARKS.md); warm-up rounds are reported apart from the medians.
const warmups: Round[] = [];
for (let round = 0; round < warmupRounds + roundCount; round++) {
  const delivery = await deliveryRound(round);
  const plain = await plainLoop(post);
  const undici = await plainLoop(postOnUndici);
  (round < warmupRounds ? warmups : rounds).push({ delivery, plain, undici, load: os.loadavg()[0] });
  log(
    `${round < warmupRounds ? 'warm-up ' : ''}round ${round + 1}: delivered ${deliveries} at ${delivery.rate.toFixed(0)}/s (first ${delivery.firstAfterSeconds.toFixed(2)} s after the dispatcher started; CPU ${delivery.nodeMicros.toFixed(0)} µs + PostgreSQL ${delivery.postgresMicros.toFixed(0)} µs per delivery); plain POST loop ${plain.rate.toFixed(0)}/s (${plain.nodeMicros.toFixed(0)} µs), on undici ${undici.rate.toFixed(0)}/s (${undici.nodeMicros.toFixed(0)} µs)`,
  );
}
await pool.close();
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fastest = (r: (typeof rounds)[number]) => (r.undici.rate >= r.plain.rate ? r.undici : r.plain);
const ratioToFastest = median(rounds.map((r) => r.delivery.rate / fastest(r).rate));

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

/** One round's figures as the report shows them. */
const roundFigures = (r: Round) => ({
  load_average: Number(r.load.toFixed(2)),
  deliveries_per_second: Math.round(r.delivery.rate),
  plain_post_loop_per_second: Math.round(r.plain.rate),
  plain_undici_loop_per_second: Math.round(r.undici.rate),
  ratio_to_fastest_loop: Number((r.delivery.rate / fastest(r).rate).toFixed(3)),
  cpu_us_per_delivery: Math.round(r.delivery.nodeMicros),
  postgres_cpu_us_per_delivery: Math.round(r.delivery.postgresMicros),
  plain_loop_cpu_us_per_post: Math.round(r.plain.nodeMicros),
  undici_loop_cpu_us_per_post: Math.round(r.undici.nodeMicros),
});

const report = {
  bench: 'webhooks',
  machine: { cpus: os.cpus().length, load_average: os.loadavg() },
  delivery: {
    messages: deliveries,
    rounds: roundCount,
    attempts_in_flight: inFlight,
    body_bytes: Buffer.byteLength(sampleBody),
    // Medians of the rounds; each ratio is a round's delivery rate over that round's loop.
    first_delivery_after_seconds: Number(median(rounds.map((r) => r.delivery.firstAfterSeconds)).toFixed(2)),
    deliveries_per_second: Math.round(median(rounds.map((r) => r.delivery.rate))),
    plain_post_loop_per_second: Math.round(median(rounds.map((r) => r.plain.rate))),
    plain_undici_loop_per_second: Math.round(median(rounds.map((r) => r.undici.rate))),
    ratio: Number(median(rounds.map((r) => r.delivery.rate / r.plain.rate)).toFixed(3)),
    ratio_to_fastest_loop: Number(ratioToFastest.toFixed(3)),
    goal_ratio: 0.5,
    goal_met: ratioToFastest >= 0.5,
    // CPU per delivery (this process: sender, receiver, pg-boss; and the bench database's backends) and per POST of
    // the faster loop (this process: client and receiver), less moved by other work on the machine than the rates.
    cpu_us_per_delivery: Math.round(median(rounds.map((r) => r.delivery.nodeMicros))),
    postgres_cpu_us_per_delivery: Math.round(median(rounds.map((r) => r.delivery.postgresMicros))),
    fastest_loop_cpu_us_per_post: Math.round(median(rounds.map((r) => fastest(r).nodeMicros))),
    warmup_rounds: warmupRounds,
    warmup: warmups.map(roundFigures),
    per_round: rounds.map(roundFigures),
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
