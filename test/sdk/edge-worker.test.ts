// The edge-worker example, bundled and run in workerd (Miniflare) in front of a fake OpenAI-compatible upstream on
// 127.0.0.1: it forwards and prices what the budget allows and refuses the rest without calling upstream. Offline,
// from bindings, against a fake Tariff events endpoint (priced as the kernel in Node prices it); and from the real
// service's pricing snapshots, whose POST /v1/events then charges exactly what the worker's headers said.
import { readFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Kernel, parseScaled, type StateMap, type UsageEvent, withZoneTransitions } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../harness/bundle.ts';
import { type Harness, type TenantFixture, rest, signUpTenant, startService } from '../service/harness.ts';
import { eventually } from '../wait.ts';

const example = (name: string) => readFileSync(new URL(`../../core-wasm/examples/${name}`, import.meta.url), 'utf8');
const book = withZoneTransitions(JSON.parse(example('llm-book.json')));
const states: StateMap = {
  // state.json's acme: 101 in credits, 10% discount, overage when credits run out.
  ...JSON.parse(example('state.json')),
  // Blocks on depletion with one cent of credit left.
  thrifty: { on_depletion: 'block', grants: [{ id: 'last-cent', kind: 'prepaid', priority: 0, balance: '0.01' }] },
};
const BUDGET = '50';

// A chat-completions body as OpenAI documents it (API reference, "The chat completion object"): usage.prompt_tokens
// counts every input token, cached ones included, under prompt_tokens_details.cached_tokens.
function completion(id: string) {
  return {
    id,
    object: 'chat.completion',
    created: 1_763_900_000,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello there.', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 1_500_000,
      completion_tokens: 20_000,
      total_tokens: 1_520_000,
      prompt_tokens_details: { cached_tokens: 100_000, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default',
  };
}

// The worker takes its kernel as env.KERNEL; in workerd a compiled module arrives only as an import, so a two-line
// entry binds it, as a deployment would (sdk/examples/edge-worker/README.md).
const ENTRY = `
import worker from './worker.mjs';
import KERNEL from './kernel.wasm';
export default { fetch: (request, env, ctx) => worker.fetch(request, { ...env, KERNEL }, ctx) };
`;
const ROOT = '/edge-worker';

interface ErrorBody {
  error: { code: string; message: string };
}

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function listen(
  handle: (received: Received) => { status: number; body: unknown },
): Promise<{ server: Server; url: string; hits: Received[] }> {
  const hits: Received[] = [];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const received = { url: request.url ?? '', headers: request.headers, body };
    hits.push(received);
    const answer = handle(received);
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const close = (server: Server | undefined) =>
  new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
const money = (value: string | null) => {
  const parsed = parseScaled(value ?? '', 9, { allowNegative: true });
  if (!parsed.ok) throw new Error(`not an amount: ${value}`);
  return parsed.value;
};

describe('the edge worker in workerd', () => {
  let upstream: Awaited<ReturnType<typeof listen>>;
  let tariff: Awaited<ReturnType<typeof listen>>;
  let miniflare: Miniflare | undefined;
  let kernel: Kernel;

  beforeAll(async () => {
    upstream = await listen(() => ({ status: 200, body: completion(`chatcmpl-${upstream.hits.length - 1}`) }));
    tariff = await listen(() => ({ status: 202, body: { accepted: 1 } }));
    const wasm = wasmBytes();
    kernel = await Kernel.create(wasm);
    const worker = (await bundleEntry('sdk/examples/edge-worker/worker.ts')).code;
    miniflare = new Miniflare({
      modulesRoot: ROOT,
      modules: [
        { type: 'ESModule', path: `${ROOT}/entry.mjs`, contents: ENTRY },
        { type: 'ESModule', path: `${ROOT}/worker.mjs`, contents: worker },
        { type: 'CompiledWasm', path: `${ROOT}/kernel.wasm`, contents: wasm },
      ],
      compatibilityDate: '2026-04-01',
      bindings: { BOOK: book, STATE: states, BUDGET, UPSTREAM_URL: upstream.url, TARIFF_URL: tariff.url },
    });
    await miniflare.ready;
  });

  afterAll(async () => {
    await miniflare?.dispose();
    await Promise.all([close(upstream?.server), close(tariff?.server)]);
  });

  const ask = (customer: string, body: unknown) =>
    miniflare!.dispatchFetch('http://edge.invalid/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-tariff-customer': customer },
      body: JSON.stringify(body),
    });
  const chat = (maxTokens: number) => ({
    model: 'gpt-4o',
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: 'Say hello. '.repeat(40) }],
  });

  async function meteredEvents(count: number): Promise<UsageEvent[]> {
    // The worker posts after answering (ctx.waitUntil), so wait for the posts to land.
    await eventually(`the worker's ${count} usage post(s)`, () => tariff.hits.length >= count);
    return tariff.hits.map((hit) => JSON.parse(hit.body).events).flat();
  }

  it('refuses with 402 what would exceed the budget or exhaust credits under block, without calling upstream', async () => {
    // 10M output tokens of gpt-4o at 10 per million is 100 (90 after acme's discount): over the budget of 50.
    const overBudget = await ask('acme', chat(10_000_000));
    expect(overBudget.status).toBe(402);
    expect(((await overBudget.json()) as ErrorBody).error).toMatchObject({
      code: 'budget_exceeded',
      message: expect.stringContaining('budget'),
    });
    // 10k output tokens is 0.10, and thrifty has one cent and blocks.
    const noCredit = await ask('thrifty', chat(10_000));
    expect(noCredit.status).toBe(402);
    expect(((await noCredit.json()) as ErrorBody).error).toMatchObject({
      code: 'credits_exhausted',
      message: expect.any(String),
    });
    const unpriced = await ask('acme', { ...chat(10), model: 'mystery-model' });
    expect(unpriced.status).toBe(400);
    expect(((await unpriced.json()) as ErrorBody).error.code).toBe('no_rate_card');
    const unknownCustomer = await miniflare!.dispatchFetch('http://edge.invalid/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(chat(10)),
    });
    expect(unknownCustomer.status).toBe(400);
    expect(upstream.hits).toHaveLength(0);
    expect(tariff.hits).toHaveLength(0);
  });

  it('forwards what it allows, prices it as the kernel in Node does, and lowers the balance request by request', async () => {
    const first = await ask('acme', chat(1000));
    expect(first.status).toBe(200);
    expect(((await first.json()) as ReturnType<typeof completion>).usage.prompt_tokens).toBe(1_500_000);
    const second = await ask('acme', chat(1000));
    expect(second.status).toBe(200);
    await second.arrayBuffer();

    expect(upstream.hits).toHaveLength(2);
    expect(upstream.hits[0].url).toBe('/v1/chat/completions');
    expect(upstream.hits[0].headers.authorization).toBe('Bearer sk-test');
    expect(upstream.hits[0].headers['x-tariff-customer']).toBeUndefined();
    expect(JSON.parse(upstream.hits[0].body)).toEqual(chat(1000));

    // The events the worker queued for Tariff are the upstream's usage, under the customer, one per call.
    const events = await meteredEvents(2);
    expect(events.map((e) => [e.transaction_id, e.customer_id])).toEqual([
      ['chatcmpl-0', 'acme'],
      ['chatcmpl-1', 'acme'],
    ]);
    expect(events[0].properties).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-2024-08-06',
      input_tokens: 1_500_000,
      cache_read_tokens: 100_000,
      output_tokens: 20_000,
    });

    // The same events through Kernel.rate in Node, from the same snapshot: the same amounts. The cost is the price net
    // of acme's 10% discount (subtotal less the receipt's discount step); credits pay it, so nothing is left to charge.
    const rated = kernel.rate(book, structuredClone(states), events).results;
    expect(rated.map((r) => r.status)).toEqual(['rated', 'rated']);
    const net = rated.map(
      (r) => money(r.subtotal!) - money(r.receipt!.find((step) => step.step === 'discount')?.amount ?? '0'),
    );
    expect(net[0]).toBeGreaterThan(0n);
    expect([first, second].map((response) => money(response.headers.get('x-tariff-cost')))).toEqual(net);
    expect([first, second].map((response) => response.headers.get('x-tariff-charged'))).toEqual(
      rated.map((r) => r.amount),
    );

    // Balance: the credits in force after each call (acme starts with 1 + 100), lower by what credits paid each time.
    const balances = [first, second].map((response) => money(response.headers.get('x-tariff-balance')));
    expect(balances[0]).toBe(money('101') - (net[0] - money(rated[0].amount!)));
    expect(balances[1]).toBe(balances[0] - (net[1] - money(rated[1].amount!)));
    expect(balances[1]).toBeLessThan(balances[0]);
  });
});

describe('the edge worker in workerd, reading pricing snapshots from the service', () => {
  let upstream: Awaited<ReturnType<typeof listen>>;
  let harness: Harness;
  let tenant: TenantFixture;
  let miniflare: Miniflare | undefined;

  beforeAll(async () => {
    // The worker stamps events with its own clock: the service's clock starts at the real now, so they are not "in the future".
    harness = await startService({ now: new Date().toISOString() });
    tenant = await signUpTenant(harness);
    const as = (method: string, path: string, body?: unknown) =>
      rest(harness, method, path, { key: tenant.secretKey, body });
    expect((await as('POST', '/v1/price_books', { book: JSON.parse(example('llm-book.json')) })).status).toBe(201);
    for (const customer of ['acme', 'thrifty', 'bookless'])
      expect((await as('POST', '/v1/customers', { external_id: customer, currency: 'USD' })).status).toBe(201);
    for (const customer of ['acme', 'thrifty']) {
      expect(
        (
          await as('PUT', `/v1/customers/${customer}/price_book`, {
            price_book: 'example-ai-cloud',
            effective_from: '2026-01-01T00:00:00Z',
          })
        ).status,
      ).toBe(200);
    }
    // acme: 5 of prepaid credit, overage, a blocking budget of 50. thrifty: one cent, blocks on depletion.
    expect((await as('POST', '/v1/customers/acme/credit_grants', { kind: 'prepaid', amount: '5' })).status).toBe(201);
    expect((await as('PUT', '/v1/customers/acme/budget', { amount: '50', enforcement: 'block' })).status).toBe(200);
    expect((await as('POST', '/v1/customers/thrifty/credit_grants', { kind: 'prepaid', amount: '0.01' })).status).toBe(
      201,
    );
    expect((await as('PATCH', '/v1/customers/thrifty/wallet', { on_depletion: 'block' })).status).toBe(200);

    upstream = await listen(() => ({ status: 200, body: completion(`served-${upstream.hits.length - 1}`) }));
    const wasm = wasmBytes();
    const worker = (await bundleEntry('sdk/examples/edge-worker/worker.ts')).code;
    miniflare = new Miniflare({
      modulesRoot: ROOT,
      modules: [
        { type: 'ESModule', path: `${ROOT}/entry.mjs`, contents: ENTRY },
        { type: 'ESModule', path: `${ROOT}/worker.mjs`, contents: worker },
        { type: 'CompiledWasm', path: `${ROOT}/kernel.wasm`, contents: wasm },
      ],
      compatibilityDate: '2026-04-01',
      // No BOOK: every customer's book, state and budget come from the service.
      bindings: {
        UPSTREAM_URL: upstream.url,
        TARIFF_URL: harness.url,
        TARIFF_API_KEY: tenant.secretKey,
        SNAPSHOT_MAX_AGE_SECONDS: '0',
      },
    });
    await miniflare.ready;
  });

  afterAll(async () => {
    await miniflare?.dispose();
    await close(upstream?.server);
    await harness?.close();
  });

  const ask = (customer: string, maxTokens: number) =>
    miniflare!.dispatchFetch('http://edge.invalid/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-tariff-customer': customer },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: maxTokens,
        messages: [{ role: 'user', content: 'Say hello. '.repeat(40) }],
      }),
    });

  /** The receipt of an event the worker posted in waitUntil, once the service has it. */
  async function receiptOf(transactionId: string) {
    return eventually(`${transactionId} reached the service`, async () => {
      const response = await rest(harness, 'GET', `/v1/events/${transactionId}/receipt`, { key: tenant.secretKey });
      return response.status === 200 && response.body;
    });
  }

  it("charges, call after call, what the service then charges for the events it posts: amount, balance and the budget's spend", async () => {
    let balance = money('5');
    for (const transactionId of ['served-0', 'served-1', 'served-2']) {
      const response = await ask('acme', 1000);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      const receipt = await receiptOf(transactionId);
      expect(response.headers.get('x-tariff-charged'), transactionId).toBe(receipt.amount);
      const credit = receipt.receipt
        .filter((step: { step: string }) => step.step === 'credit')
        .reduce((sum: bigint, step: { amount: string }) => sum + money(step.amount), 0n);
      balance -= credit;
      expect(money(response.headers.get('x-tariff-balance'))).toBe(balance);
      expect(money(response.headers.get('x-tariff-cost'))).toBe(money(receipt.subtotal));
    }
    // 5 of credit paid for the first calls (about 3.9 each), the third is charged in part.
    expect(balance).toBe(0n);
    const budget = (await rest(harness, 'GET', '/v1/customers/acme/budget', { key: tenant.secretKey })).body;
    const costs = await Promise.all(
      ['served-0', 'served-1', 'served-2'].map(async (id) => money((await receiptOf(id)).subtotal)),
    );
    expect(money(budget.current_period.spend)).toBe(costs.reduce((a, b) => a + b, 0n));
  });

  it("refuses from the snapshot: the service's blocking budget, block on depletion, unknown customers, customers without a book", async () => {
    const calls = upstream.hits.length;
    // 20M output tokens: far over acme's budget of 50 at any hour's rate (the book prices output at up to 10 per million).
    const overBudget = await ask('acme', 20_000_000);
    expect(overBudget.status).toBe(402);
    expect(((await overBudget.json()) as ErrorBody).error).toMatchObject({
      code: 'budget_exceeded',
      message: expect.stringContaining('budget of 50.000000000'),
    });
    const noCredit = await ask('thrifty', 10_000);
    expect(noCredit.status).toBe(402);
    expect(((await noCredit.json()) as ErrorBody).error.code).toBe('credits_exhausted');
    const unknown = await ask('nobody', 10);
    expect([unknown.status, ((await unknown.json()) as ErrorBody).error.code]).toEqual([403, 'unknown_customer']);
    const bookless = await ask('bookless', 10);
    expect([bookless.status, ((await bookless.json()) as ErrorBody).error.code]).toEqual([403, 'no_price_book']);
    expect(upstream.hits).toHaveLength(calls);
  });
});
