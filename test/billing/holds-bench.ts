// `npm run bench:holds -- --json`: spend holds placed per second over HTTP (POST /v1/customers/{id}/holds, by
// amount) for one customer under contention (every request serialises on that customer's locks) and across many
// customers, beside POST /v1/customers/{id}/check in the same run and the same conditions (the same concurrency,
// interleaved rounds), and GET /healthz as the HTTP floor. A hold is a durable write (concurrent placements share
// a transaction that takes their customers' grant and period locks once and inserts every hold in one statement);
// the check answers from memory. Open holds are released (by SQL,
// untimed) between rounds, so each round starts from the same state. Options: --requests N (per series and
// round), --rounds, --customers, --concurrency.
import http from 'node:http';
import { cpuSeconds } from '../bench/cpu.ts';
import { restAs, signUpTenant, startService } from '../service/harness.ts';
import { billingBook } from './fixtures.ts';

const argument = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const json = process.argv.includes('--json');
const requests = argument('requests', 1000);
const rounds = argument('rounds', 3);
const customers = argument('customers', 200);
const concurrency = argument('concurrency', 8);
const log = (message: string) => {
  if (!json) process.stderr.write(message + '\n');
};

const harness = await startService({ now: '2026-03-20T00:00:00Z' });
try {
  const tenant = await signUpTenant(harness);
  const call = restAs(harness, tenant.secretKey);
  await call('POST', '/v1/price_books', { book: billingBook });
  for (let c = 0; c < customers; c++) {
    await call('POST', '/v1/customers', { external_id: `bench-${c}`, currency: 'USD' });
    await call('PUT', `/v1/customers/bench-${c}/price_book`, {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    // Every customer blocks on depletion, with credit and a blocking budget: a hold is decided against both.
    await call('PATCH', `/v1/customers/bench-${c}/wallet`, { on_depletion: 'block' });
    await call('POST', `/v1/customers/bench-${c}/credit_grants`, { kind: 'prepaid', amount: '1000000' });
    await call('PUT', `/v1/customers/bench-${c}/budget`, { amount: '10000000', enforcement: 'block' });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(harness.url);
  const send = (method: string, path: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${tenant.secretKey}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode!));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });

  let sequence = 0;
  const customerOf = (spread: boolean) => `bench-${spread ? sequence % customers : 0}`;
  const series = {
    healthz: () => send('GET', '/healthz'),
    check_one_customer: () => send('POST', `/v1/customers/${customerOf(false)}/check`, { estimated_cost: '0.01' }),
    hold_one_customer: () =>
      send('POST', `/v1/customers/${customerOf(false)}/holds`, { id: `h-${sequence++}`, amount: '0.01' }),
    check_many_customers: () => send('POST', `/v1/customers/${customerOf(true)}/check`, { estimated_cost: '0.01' }),
    hold_many_customers: () =>
      send('POST', `/v1/customers/${customerOf(true)}/holds`, { id: `h-${sequence++}`, amount: '0.01' }),
  };
  type Name = keyof typeof series;
  const expected: Record<Name, number> = {
    healthz: 200,
    check_one_customer: 200,
    hold_one_customer: 201,
    check_many_customers: 200,
    hold_many_customers: 201,
  };

  /** The backends serving the bench's database: their CPU is this bench's alone on a server shared with others. */
  const backendPids = async () =>
    (
      await harness.database.owner`
        select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`
    ).map((r) => r.pid as number);

  async function run(name: Name, count: number) {
    const latencies: number[] = [];
    let left = count;
    const backends0 = new Map((await backendPids()).map((pid) => [pid, cpuSeconds(pid)]));
    const process0 = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left > 0) {
          left--;
          if (name.endsWith('many_customers')) sequence++;
          const t0 = performance.now();
          const status = await series[name]();
          latencies.push(performance.now() - t0);
          if (status !== expected[name]) throw new Error(`${name}: HTTP ${status}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(process0);
    let backends = 0;
    for (const pid of await backendPids()) backends += cpuSeconds(pid) - (backends0.get(pid) ?? 0);
    latencies.sort((a, b) => a - b);
    const at = (p: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] * 1000) / 1000;
    return {
      per_second: Math.round(count / seconds),
      p50_ms: at(50),
      p99_ms: at(99),
      // What each request cost in CPU, which the load of other work on the machine changes far less than its rate:
      // this process (the service and the HTTP client) and the database's backends, in µs.
      cpu_us_service_and_client: Math.round((used.user + used.system) / count),
      cpu_us_postgresql: Math.round((backends / count) * 1e6),
    };
  }

  // Warm-up: every series once at small scale.
  for (const name of Object.keys(series) as Name[]) await run(name, 100);
  type Figures = Awaited<ReturnType<typeof run>>;
  const results: Record<Name, Figures[]> = {
    healthz: [],
    check_one_customer: [],
    hold_one_customer: [],
    check_many_customers: [],
    hold_many_customers: [],
  };
  for (let round = 0; round < rounds; round++) {
    await harness.database
      .owner`update holds set status = 'released', closed_at = now(), updated_at = now() where status = 'open'`;
    for (const name of Object.keys(series) as Name[]) {
      results[name].push(await run(name, requests));
      log(`round ${round + 1} ${name}: ${JSON.stringify(results[name].at(-1))}`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const summary = Object.fromEntries(
    (Object.keys(series) as Name[]).map((name) => [
      name,
      Object.fromEntries(
        Object.keys(results[name][0]).map((figure) => [
          figure,
          median(results[name].map((r) => r[figure as keyof Figures])),
        ]),
      ),
    ]),
  ) as Record<Name, Figures>;
  const ratio = (hold: Name, check: Name) =>
    Math.round((summary[check].per_second / summary[hold].per_second) * 100) / 100;
  const cpuOf = (name: Name) => summary[name].cpu_us_service_and_client + summary[name].cpu_us_postgresql;
  const cpuRatio = (hold: Name, check: Name) => Math.round((cpuOf(hold) / cpuOf(check)) * 100) / 100;
  const output = {
    ...summary,
    // How many checks one hold costs (checks per second over holds per second); the goal is at most 2.
    hold_cost_in_checks: {
      one_customer: ratio('hold_one_customer', 'check_one_customer'),
      many_customers: ratio('hold_many_customers', 'check_many_customers'),
    },
    // The same in CPU (service, client and database backends per request): what the rate would be if the cores
    // were the only limit.
    hold_cpu_in_checks: {
      one_customer: cpuRatio('hold_one_customer', 'check_one_customer'),
      many_customers: cpuRatio('hold_many_customers', 'check_many_customers'),
    },
    requests_per_series_and_round: requests,
    rounds,
    customers,
    concurrency,
  };
  if (json) process.stdout.write(JSON.stringify(output, null, 2) + '\n');
  else log(JSON.stringify(output, null, 2));
  agent.destroy();
} finally {
  await harness.close();
}
process.exit(0);
