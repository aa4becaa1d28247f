// bench:kernel — rated events per second: the wasm kernel in batches (one and two cores), the same kernel
// through the JSON API, the decimal.js reference and @pydantic/genai-prices calcPrice, on the same events.
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { calcPrice } from '@pydantic/genai-prices';
import {
  type ChainEvent,
  EventTypes,
  type PriceBook,
  type UsageEvent,
  compileBook,
  encodeEvent,
  encodeStates,
  layout,
  writeEvent,
} from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { rateReference } from '../reference/rate.ts';

const BATCH = 10_000;
const CUSTOMERS = 100;

/** GPT-4o list prices (per million): the plain token event every LLM provider meters. */
export const tokenBook: PriceBook = {
  id: 'bench',
  currency: 'USD',
  versions: [
    {
      effective_from: '2024-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: 'gpt-4o' },
          dimensions: { uncached_input: { formula: { input_tokens: 1, cache_read_tokens: -1 } } },
          charges: [
            { dimension: 'uncached_input', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'cache_read_tokens', price: { model: 'per_unit', rate: '1.25' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
      ],
    },
  ],
};

export function tokenEvents(count: number): UsageEvent[] {
  let seed = 42;
  const next = (limit: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % limit;
  };
  return Array.from({ length: count }, (_, i) => {
    const input = 100 + next(200_000);
    return {
      transaction_id: `t${i}`,
      customer_id: `c${i % CUSTOMERS}`,
      event_type: 'llm.completion',
      timestamp: new Date(Date.UTC(2025, 5, 1) + i * 1000).toISOString(),
      properties: {
        provider: 'openai',
        model: 'gpt-4o',
        input_tokens: input,
        cache_read_tokens: next(input),
        output_tokens: next(4000),
      },
    };
  });
}

/** The events encoded once, as ingestion's hot path hands them to the kernel. */
export function encodeBatch(events: UsageEvent[]) {
  const compiled = compileBook(tokenBook);
  if (!compiled.ok) throw new Error('bench book invalid');
  const book = compiled.book;
  const types = new EventTypes();
  const customers = [...new Set(events.map((e) => e.customer_id))];
  const state = encodeStates(book, customers, {}, types);
  const stride = layout.EVENT_HEADER_SIZE + 8 * book.properties.length;
  const bytes = new Uint8Array(events.length * stride);
  const view = new DataView(bytes.buffer);
  events.forEach((event, i) => {
    const encoded = encodeEvent(book, event, types);
    if (!encoded.ok) throw new Error(encoded.error.message);
    writeEvent(view, i * stride, encoded.event, customers.indexOf(event.customer_id));
  });
  return { book, state: state.bytes, bytes, stepsPerEvent: book.stepsPerEvent };
}

/** Rates the resident batch repeatedly for `seconds`; returns events per second. */
async function kernelRate(seconds: number): Promise<number> {
  const kernel = await loadKernel();
  const batch = encodeBatch(tokenEvents(BATCH));
  let rated = 0;
  const deadline = performance.now() + 200;
  while (performance.now() < deadline)
    kernel.rateEncoded(batch.book, batch.state, batch.bytes, BATCH, batch.stepsPerEvent);
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    rated += kernel.rateEncoded(batch.book, batch.state, batch.bytes, BATCH, batch.stepsPerEvent).count;
  }
  return rated / ((performance.now() - start) / 1000);
}

/** A worker thread running this TypeScript file (tsx registers its loader inside the worker first). */
function startTsWorker(file: URL, data: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

function timed(seconds: number, run: () => number): number {
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) done += run();
  return done / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const events = tokenEvents(BATCH);

  const singleCore = await kernelRate(seconds);
  const threads = Math.min(2, availableParallelism());
  const perThread = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = startTsWorker(new URL(import.meta.url), { seconds });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  const allCores = perThread.reduce((a, b) => a + b, 0);

  const kernel = await loadKernel();
  const jsonApi = timed(seconds, () => kernel.rate(tokenBook, {}, events).results.length);
  // Reseller chains through the same JSON API, same run: each event alone (depth 1), then rated for its end user,
  // its reseller (10) and their distributor (2) in one kernel pass (depth 3); chain events per second.
  const chainBooks = [tokenBook, tokenBook, tokenBook];
  const depth1: ChainEvent[] = events.map((event) => ({
    event,
    chain: [{ customer_id: event.customer_id, book: 0 }],
  }));
  const depth3: ChainEvent[] = events.map((event, i) => ({
    event,
    chain: [
      { customer_id: event.customer_id, book: 0 },
      { customer_id: `reseller${i % 10}`, book: 1 },
      { customer_id: `distributor${i % 2}`, book: 2 },
    ],
  }));
  const chainDepth1 = timed(seconds, () => kernel.rateChain(chainBooks, {}, depth1).results.length);
  const chainDepth3 = timed(seconds, () => kernel.rateChain(chainBooks, {}, depth3).results.length);
  const referenceEvents = events.slice(0, 2_000);
  const reference = timed(seconds, () => rateReference(tokenBook, {}, referenceEvents).results.length);
  const genai = timed(seconds, () => {
    for (const event of referenceEvents) {
      const p = event.properties as Record<string, number>;
      calcPrice(
        { input_tokens: p.input_tokens, cache_read_tokens: p.cache_read_tokens, output_tokens: p.output_tokens },
        'gpt-4o',
        { providerId: 'openai', timestamp: new Date(event.timestamp) },
      );
    }
    return referenceEvents.length;
  });

  const figures = {
    benchmark: 'kernel',
    events: 'plain token events (input, cache read, output) for one model, 100 customers, batches of 10,000',
    wasm_bytes: (await import('node:fs')).statSync(new URL('../../core-wasm/build/tariff.wasm', import.meta.url)).size,
    kernel_events_per_second_one_core: Math.round(singleCore),
    kernel_events_per_second_all_cores: Math.round(allCores),
    cores: threads,
    json_api_events_per_second: Math.round(jsonApi),
    json_api_chain_depth_1_events_per_second: Math.round(chainDepth1),
    json_api_chain_depth_3_events_per_second: Math.round(chainDepth3),
    reference_decimal_js_events_per_second: Math.round(reference),
    genai_prices_calcprice_events_per_second: Math.round(genai),
    kernel_vs_reference: Math.round(singleCore / reference),
    kernel_vs_genai_prices: Math.round(singleCore / genai),
  };
  if (json) console.log(JSON.stringify(figures, null, 2));
  else for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(42)} ${value}`);
}

// Run as a script (not when kernel-ab.ts imports the book and events); a worker thread reports its rate.
if (!isMainThread) parentPort!.postMessage(await kernelRate(workerData.seconds));
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
