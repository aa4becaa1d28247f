// bench:sdk: the SDK's local check() latency and estimate throughput, its bundle size (wasm included), and the round
// trip of the service's own check endpoint on the same machine. `npm run bench:sdk -- --json` prints one JSON object.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Kernel, type PriceBook, type StateMap, type UsageEvent } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { TariffClient } from '../../sdk/src/client.ts';
import { Estimator } from '../../sdk/src/estimator.ts';
import { bundleEntry } from '../harness/bundle.ts';
import { exampleBook, signUpTenant, startService } from '../service/harness.ts';

const json = process.argv.includes('--json');
const log = (line: string) => {
  if (!json) process.stderr.write(line + '\n');
};

const example = (name: string) => new URL(`../../core-wasm/examples/${name}`, import.meta.url);
const book = JSON.parse(readFileSync(example('llm-book.json'), 'utf8')) as PriceBook;
const states = JSON.parse(readFileSync(example('state.json'), 'utf8')) as StateMap;

/** 1,000 LLM requests across the book's models, tiers and service tiers, for one customer with grants and a discount. */
function requests(): UsageEvent[] {
  const models = [
    ['openai', 'gpt-4o'],
    ['openai', 'gpt-4o-2024-08-06'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['deepseek', 'deepseek-chat'],
  ];
  const tiers = [undefined, 'batch', 'priority'];
  return Array.from({ length: 1000 }, (_, i) => {
    const [provider, model] = models[i % models.length];
    const service_tier = tiers[i % tiers.length];
    return {
      transaction_id: `bench_${i}`,
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: `2026-03-10T${String(i % 24).padStart(2, '0')}:15:00Z`,
      properties: {
        provider,
        model,
        input_tokens: 1000 + ((i * 7919) % 300_000),
        cache_read_tokens: (i * 31) % 1000,
        output_tokens: 50 + ((i * 104_729) % 4000),
        ...(service_tier ? { service_tier } : {}),
      },
    };
  });
}

function percentiles(samples: Float64Array): { p50: number; p90: number; p99: number; p999: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function local() {
  const kernel = await Kernel.create(wasmBytes());
  const estimator = await Estimator.create({ wasm: kernel, book, states, spend: { acme: '12.5' } });
  const events = requests();
  const rejected = events.filter((e) => !estimator.check(e, { budget: '1000' }).allowed).length;
  if (rejected) throw new Error(`${rejected} benchmark events are refused: the benchmark would time errors`);

  for (let i = 0; i < 100_000; i++) estimator.check(events[i % events.length], { budget: '1000' });
  const count = 500_000;
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const event = events[i % events.length];
    const start = performance.now();
    estimator.check(event, { budget: '1000' });
    samples[i] = performance.now() - start;
  }
  const check = percentiles(samples);
  let started = performance.now();
  let checks = 0;
  while (performance.now() - started < 2000)
    for (let i = 0; i < 1000; i++, checks++) estimator.check(events[i], { budget: '1000' });
  const checksPerSecond = checks / ((performance.now() - started) / 1000);

  started = performance.now();
  let estimates = 0;
  while (performance.now() - started < 2000) for (let i = 0; i < 1000; i++, estimates++) estimator.estimate(events[i]);
  const estimatesPerSecond = estimates / ((performance.now() - started) / 1000);

  started = performance.now();
  let batched = 0;
  while (performance.now() - started < 2000) batched += estimator.estimateMany(events).length;
  const batchedPerSecond = batched / ((performance.now() - started) / 1000);

  const micros = (ms: number) => round(ms * 1000);
  return {
    book: 'core-wasm/examples/llm-book.json, customer with 2 grants and a 10% discount, budget on',
    check_latency_us: {
      samples: count,
      p50: micros(check.p50),
      p90: micros(check.p90),
      p99: micros(check.p99),
      p999: micros(check.p999),
      max: micros(check.max),
    },
    check_p99_target_us: 20,
    checks_per_second: Math.round(checksPerSecond),
    estimates_per_second: Math.round(estimatesPerSecond),
    estimates_per_second_batched_1000: Math.round(batchedPerSecond),
  };
}

async function bundle() {
  const entry = await bundleEntry('sdk/src/index.ts', { minify: true });
  const wasm = wasmBytes();
  const wasmGzip = gzipSync(wasm).byteLength;
  return {
    entry: 'sdk/src/index.ts (minified ES module, no Node built-ins)',
    js_bytes: entry.bytes,
    js_gzip_bytes: entry.gzipBytes,
    wasm_bytes: wasm.byteLength,
    wasm_gzip_bytes: wasmGzip,
    total_bytes: entry.bytes + wasm.byteLength,
    total_gzip_bytes: entry.gzipBytes + wasmGzip,
  };
}

/** Sequential round trips against the service started in this process (PostgreSQL from TEST_DATABASE_URL). */
async function server() {
  let harness: Awaited<ReturnType<typeof startService>>;
  try {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
  } catch (error) {
    return { skipped: `service did not start: ${(error as Error).message}` };
  }
  try {
    const tenant = await signUpTenant(harness);
    const client = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
    await client.createCustomer({ body: { external_id: 'acme', currency: 'USD' } });
    await client.createPriceBook({ body: { book: exampleBook('llm') } });
    await client.assignPriceBook({
      path: { id: 'acme' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    await client.request('put', '/v1/customers/{id}/budget', {
      path: { id: 'acme' },
      body: { amount: '1000', enforcement: 'block' },
    });
    const event: UsageEvent = {
      transaction_id: 'q',
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: '2026-03-14T12:00:00Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 100 },
    };

    const time = async (count: number, call: () => Promise<unknown>) => {
      for (let i = 0; i < 100; i++) await call();
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await call();
        samples[i] = performance.now() - start;
      }
      const p = percentiles(samples);
      return { samples: count, p50_ms: round(p.p50, 3), p99_ms: round(p.p99, 3), max_ms: round(p.max, 3) };
    };
    const check = await time(2000, () =>
      client.checkEntitlement({
        path: { id: 'acme' },
        body: { estimated_cost: '0.003500000', event_type: 'llm.completion' },
      }),
    );
    const estimate = await time(2000, () =>
      client.estimate({ body: { price_book: 'llm', events: [event as unknown as Record<string, unknown>] } }),
    );
    const snapshot = await time(1000, () => client.getPricingSnapshot({ path: { id: 'acme' } }));
    const { etag } = await client.getPricingSnapshot({ path: { id: 'acme' } });
    const notModified = await time(1000, () =>
      client
        .getPricingSnapshot({ path: { id: 'acme' }, headers: { 'if-none-match': etag } })
        .catch((error: { status?: number }) => {
          if (error.status !== 304) throw error;
        }),
    );
    const quote = await time(1000, () => client.createQuote({ body: { event: event as never } }));
    // Estimator.fromServer: the snapshot download, compiling its book and loading the kernel module from its bytes.
    const wasm = wasmBytes();
    const load = await time(200, () => Estimator.fromServer(client, 'acme', { wasm }));
    return {
      check_endpoint: { route: 'POST /v1/customers/{id}/check', ...check },
      estimate_endpoint: { route: 'POST /v1/estimates (one event)', ...estimate },
      snapshot_endpoint: { route: 'GET /v1/customers/{id}/pricing-snapshot (200)', ...snapshot },
      snapshot_not_modified: {
        route: 'GET /v1/customers/{id}/pricing-snapshot with If-None-Match (304)',
        ...notModified,
      },
      quote_endpoint: { route: 'POST /v1/quotes', ...quote },
      estimator_from_server: { route: 'Estimator.fromServer (download, compile, instantiate)', ...load },
      note: 'sequential calls over HTTP/1.1 keep-alive on 127.0.0.1 to the service started in-process, PostgreSQL on the same machine',
    };
  } finally {
    await harness.close();
  }
}

const result = { local: await local(), bundle: await bundle(), server: await server(), node: process.version };
if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else {
  const { local: l, bundle: b, server: s } = result;
  log(
    `check(): p50 ${l.check_latency_us.p50} µs, p99 ${l.check_latency_us.p99} µs (target ${l.check_p99_target_us}), ${l.checks_per_second}/s`,
  );
  log(
    `estimate(): ${l.estimates_per_second}/s one at a time, ${l.estimates_per_second_batched_1000}/s in batches of 1000`,
  );
  log(
    `bundle: ${b.js_bytes} B JS (${b.js_gzip_bytes} gzipped) + ${b.wasm_bytes} B wasm (${b.wasm_gzip_bytes} gzipped)`,
  );
  log(`server: ${JSON.stringify(s)}`);
}
process.exit(0);
