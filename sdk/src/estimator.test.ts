import { readFileSync } from 'node:fs';
import { type PriceBook, type StateMap, type UsageEvent, Kernel } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Estimator } from './estimator.ts';

const example = (name: string) => new URL(`../../core-wasm/examples/${name}`, import.meta.url);
const book = JSON.parse(readFileSync(example('llm-book.json'), 'utf8')) as PriceBook;
const states = JSON.parse(readFileSync(example('state.json'), 'utf8')) as StateMap;
const events = readFileSync(example('events.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as UsageEvent);

const gpt4o = (id: string, input: number, output: number, customer = 'acme'): UsageEvent => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp: '2026-03-10T14:00:00Z',
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output },
});

/** The book includes 1M starter tokens; a state that has used them prices every token. */
const noFreeTokens = { allowances: { starter_tokens: '0' } };

let kernel: Kernel;
beforeAll(async () => {
  kernel = await Kernel.create(wasmBytes());
});

describe('Estimator.estimate', () => {
  it("returns exactly the kernel's results, receipts included, byte for byte", async () => {
    const estimator = await Estimator.create({ wasm: wasmBytes(), book, states, updateState: true });
    const expected = kernel.rate(book, states, events);
    const local = events.map((event) => estimator.estimate(event));
    expect(JSON.stringify(local)).toBe(JSON.stringify(expected.results));
    expect(JSON.stringify(estimator.state('acme'))).toBe(JSON.stringify(expected.states.acme));
    expect(JSON.stringify(estimator.state('globex'))).toBe(JSON.stringify(expected.states.globex));
  });

  it('leaves the snapshot alone unless asked to update it', async () => {
    const estimator = await Estimator.create({ wasm: kernel, book, states });
    const first = estimator.estimate(events[0]);
    expect(estimator.estimate(events[0])).toEqual(first);
    expect(estimator.state('acme')).toEqual(states.acme);
    const second = estimator.estimate(events[0], { updateState: true });
    expect(second).toEqual(first);
    // The launch promotion (1.00) paid for the first event; the snapshot now says so.
    expect(estimator.state('acme')!.grants![0].balance).not.toBe('1.00');
    // Spend counts usage net of the 10% discount, whether credits pay for it or not.
    expect(first.amount).toBe('0.000000000');
    expect(estimator.snapshot().spend).toEqual({ acme: '0.382500000' });
  });

  it('estimateMany rates in order against one snapshot', async () => {
    const estimator = await Estimator.create({ wasm: kernel, book, states });
    expect(JSON.stringify(estimator.estimateMany(events))).toBe(
      JSON.stringify(kernel.rate(book, states, events).results),
    );
  });

  it('takes a compiled WebAssembly.Module (what workerd requires) as well as bytes', async () => {
    const module = await WebAssembly.compile(wasmBytes() as Uint8Array<ArrayBuffer>);
    const estimator = await Estimator.create({ wasm: module, book, states });
    expect(estimator.estimate(events[1])).toEqual(kernel.rate(book, states, [events[1]]).results[0]);
  });
});

describe('Estimator.check', () => {
  it('allows a rated event and says what it costs and what credit is left, changing nothing', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { acme: { ...noFreeTokens, grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: '5' }] } },
    });
    const event = gpt4o('c1', 200_000, 10_000); // 0.5 + 0.1 = 0.60, all from the grant
    const expected = {
      allowed: true,
      currency: 'USD',
      amount: '0.000000000',
      spend: '0.600000000',
      creditsRemaining: '4.400000000',
    };
    expect(estimator.check(event)).toEqual(expected);
    expect(estimator.check(event)).toEqual(expected);
    expect(estimator.state('acme')!.grants![0].balance).toBe('5');
  });

  it('refuses what the block policy refuses once credits run out', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: {
        acme: {
          ...noFreeTokens,
          on_depletion: 'block',
          grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: '0.50' }],
        },
      },
    });
    expect(estimator.check(gpt4o('c1', 100_000, 10_000))).toMatchObject({
      allowed: true,
      amount: '0.000000000',
      creditsRemaining: '0.150000000',
    });
    expect(estimator.check(gpt4o('c2', 200_000, 10_000))).toMatchObject({
      allowed: false,
      reason: 'credits_exhausted',
      error: { code: 'credits_exhausted' },
      creditsRemaining: '0.500000000',
    });
    // estimate() answers as POST /v1/events: refused under on_block "refuse"; under "accept" (the default) rated, the
    // 0.50 of credit drawn and the 0.10 left billed, and flagged as the ack flags it.
    expect(estimator.estimate(gpt4o('c2', 200_000, 10_000), { onBlock: 'refuse' }).error?.code).toBe(
      'credits_exhausted',
    );
    const accepted = estimator.estimate(gpt4o('c2', 200_000, 10_000));
    expect(accepted).toMatchObject({ status: 'rated', amount: '0.100000000' });
    expect(accepted.blocked).toEqual([
      {
        code: 'credits_exhausted',
        limit: 'credits',
        limit_amount: '0.500000000',
        spend: '0.600000000',
        exceeded_by: '0.100000000',
        message:
          'Credit in force covered 0.500000000 of this event; 0.100000000 is billed and the customer blocks on depletion',
      },
    ]);
    // Credits that cover the event leave it unflagged.
    expect(estimator.estimate(gpt4o('c1', 100_000, 10_000)).blocked).toBeUndefined();
    // The customer's policy stays "block" in the state the estimate leaves.
    estimator.estimate(gpt4o('c2', 200_000, 10_000), { updateState: true });
    expect(estimator.state('acme')!.on_depletion).toBe('block');
    expect(estimator.estimate(gpt4o('c3', 1000, 0), { onBlock: 'refuse' }).error?.code).toBe('credits_exhausted');
  });

  it('applies a blocking budget to estimateMany as ingestion does: flagged under "accept", refused and skipped under "refuse"', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { globex: noFreeTokens },
      spend: { globex: '0.5' },
      onBlock: 'refuse',
    });
    (estimator as unknown as { budgets: Map<string, bigint> }).budgets.set('globex', 1_000_000_000n);
    // 0.35 fits (0.85), 0.60 would make 1.45 and is refused, the next 0.10 still fits (0.95): rated as if the refused one never came.
    const batch = [
      gpt4o('b1', 100_000, 10_000, 'globex'),
      gpt4o('b2', 200_000, 10_000, 'globex'),
      gpt4o('b3', 40_000, 0, 'globex'),
    ];
    const refused = estimator.estimateMany(batch);
    expect(refused.map((r) => [r.status, r.error?.code ?? r.amount])).toEqual([
      ['rated', '0.350000000'],
      ['error', 'budget_exceeded'],
      ['rated', '0.100000000'],
    ]);
    expect(refused[1].error).toMatchObject({
      field: 'on_block',
      message: expect.stringContaining("exceeds the customer's blocking budget (1.000000000) by 0.450000000"),
    });
    expect(JSON.stringify(refused[2])).toBe(JSON.stringify(estimator.estimateMany([batch[0], batch[2]])[1]));
    const accepted = estimator.estimateMany(batch, { onBlock: 'accept' });
    expect(accepted.map((r) => r.blocked?.map((b) => `${b.code} ${b.spend} ${b.exceeded_by}`))).toEqual([
      undefined,
      ['budget_exceeded 1.450000000 0.450000000'],
      ['budget_exceeded 1.550000000 0.550000000'],
    ]);
  });

  it('refuses an event that would take the period spend over the budget', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { globex: noFreeTokens },
      spend: { globex: '9.40' },
    });
    const event = gpt4o('c1', 200_000, 10_000, 'globex'); // 0.60
    expect(estimator.check(event, { budget: '10' })).toEqual({
      allowed: true,
      currency: 'USD',
      amount: '0.600000000',
      spend: '0.600000000',
      creditsRemaining: '0.000000000',
      budgetRemaining: '0.000000000',
    });
    expect(estimator.check(event, { budget: '9.999999999' })).toMatchObject({
      allowed: false,
      reason: 'budget_exceeded',
      budgetRemaining: '-0.000000001',
    });
    estimator.estimate(event, { updateState: true });
    expect(estimator.check(gpt4o('c2', 1, 0, 'globex'), { budget: '10' })).toMatchObject({
      allowed: false,
      reason: 'budget_exceeded',
    });
  });

  it("counts spend net of the discount, paid by credits or not, as the service's budgets do", async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { acme: { ...noFreeTokens, ...states.acme } },
    });
    const event = gpt4o('c1', 200_000, 10_000); // 0.60 less 10%, all paid by the promotion
    expect(estimator.check(event, { budget: '0.54' })).toMatchObject({
      allowed: true,
      amount: '0.000000000',
      spend: '0.540000000',
      budgetRemaining: '0.000000000',
    });
    expect(estimator.check(event, { budget: '0.53' })).toMatchObject({ allowed: false, reason: 'budget_exceeded' });
  });

  it('refuses an event the server would reject, with its error and field', async () => {
    const estimator = await Estimator.create({ wasm: kernel, book, states });
    expect(estimator.check(events[10])).toMatchObject({
      allowed: false,
      reason: 'invalid_property',
      error: { field: 'properties.input_tokens' },
    });
    expect(estimator.check(events[11])).toMatchObject({
      allowed: false,
      reason: 'invalid_timestamp',
      error: { field: 'timestamp' },
    });
    expect(estimator.check(events[12])).toMatchObject({
      allowed: false,
      reason: 'no_rate_card',
      error: { field: 'properties' },
    });
    expect(estimator.check({ ...gpt4o('c', 1, 1), timestamp: '2025-01-01T00:00:00Z' })).toMatchObject({
      allowed: false,
      reason: 'no_price_version',
      error: { field: 'timestamp' },
    });
  });

  it('applies the customer period as the server does', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { acme: { period: { start: '2026-03-01T00:00:00Z', end: '2026-04-01T00:00:00Z' } } },
    });
    expect(estimator.check(gpt4o('c', 1, 1)).allowed).toBe(true);
    expect(estimator.check({ ...gpt4o('c', 1, 1), timestamp: '2026-04-01T00:00:00Z' })).toMatchObject({
      allowed: false,
      reason: 'outside_period',
    });
  });

  it('sees a state replaced with setState', async () => {
    const estimator = await Estimator.create({
      wasm: kernel,
      book,
      states: { acme: { ...noFreeTokens, on_depletion: 'block' } },
    });
    expect(estimator.check(gpt4o('c', 1000, 0)).reason).toBe('credits_exhausted');
    estimator.setState('acme', {
      ...noFreeTokens,
      on_depletion: 'block',
      grants: [{ id: 'top-up', kind: 'prepaid', priority: 0, balance: '10' }],
    });
    expect(estimator.check(gpt4o('c', 1000, 0))).toMatchObject({ allowed: true, creditsRemaining: '9.997500000' });
  });
});

describe('Estimator refuses bad input, naming the field', () => {
  it('an invalid book', async () => {
    await expect(Estimator.create({ wasm: kernel, book: { ...book, currency: 'dollars' } })).rejects.toThrow(
      /^book: invalid price book: currency: must be an ISO 4217 code/,
    );
  });

  it('a malformed state', async () => {
    const bad = {
      acme: { grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: 'lots' }] },
    } as unknown as StateMap;
    await expect(Estimator.create({ wasm: kernel, book, states: bad })).rejects.toThrow(
      /^states\.acme\.grants\[0\]\.balance: /,
    );
    const estimator = await Estimator.create({ wasm: kernel, book, states });
    expect(() => estimator.setState('acme', { discount_percent: 'ten' })).toThrow(/^states\.acme\.discount_percent: /);
    expect(estimator.state('acme')).toEqual(states.acme); // the old state stays
  });

  it('a bad budget or spend, and a wasm that is not one', async () => {
    const estimator = await Estimator.create({ wasm: kernel, book });
    expect(() => estimator.check(gpt4o('c', 1, 1), { budget: 'ten dollars' })).toThrow(
      /^budget: must be a decimal amount/,
    );
    await expect(Estimator.create({ wasm: kernel, book, spend: { acme: '1.0000000001' } })).rejects.toThrow(
      /^spend\.acme: must be a decimal amount with at most 9 decimals/,
    );
    await expect(Estimator.create({ wasm: 'tariff.wasm' as unknown as Uint8Array, book })).rejects.toThrow(
      'wasm must be a WebAssembly.Module',
    );
    await expect(Estimator.create({ wasm: kernel, book, onBlock: 'allow' as never })).rejects.toThrow(
      'onBlock must be "accept" or "refuse"',
    );
    expect(() => estimator.estimate(gpt4o('c', 1, 1), { onBlock: 'skip' as never })).toThrow(
      'options.onBlock must be "accept" or "refuse"',
    );
  });
});

describe('a property a charge needs', () => {
  const gpuBook = (defaults?: Record<string, string>): PriceBook => ({
    id: 'gpu',
    currency: 'USD',
    versions: [
      {
        effective_from: '2026-01-01T00:00:00Z',
        rate_cards: [
          {
            id: 'gpu/h100',
            match: { gpu_type: 'h100' },
            dimensions: { gpu_seconds: { gpu_time: {} } },
            ...(defaults ? { defaults } : {}),
            charges: [{ dimension: 'gpu_seconds', price: { model: 'per_unit', rate: '3.6', per: '3600' } }],
          },
        ],
      },
    ],
  });
  const job = (properties: Record<string, unknown>): UsageEvent => ({
    transaction_id: 'j1',
    customer_id: 'acme',
    event_type: 'gpu.job',
    timestamp: '2026-03-10T14:00:00Z',
    properties: { gpu_type: 'h100', ...properties },
  });

  it('is a per-event error naming it when missing, exactly as the kernel (and so the service) answers', async () => {
    const estimator = await Estimator.create({ wasm: kernel, book: gpuBook() });
    const result = estimator.estimate(job({ duration_seconds: 3600 }));
    expect(result).toMatchObject({
      status: 'error',
      error: { code: 'missing_property', field: 'properties.gpu_count' },
    });
    expect(result).toEqual(kernel.rate(gpuBook(), {}, [job({ duration_seconds: 3600 })]).results[0]);
    expect(estimator.check(job({ duration_seconds: 3600 }))).toMatchObject({
      allowed: false,
      error: { code: 'missing_property' },
    });
  });

  it("takes the book's default when it states one", async () => {
    const estimator = await Estimator.create({ wasm: kernel, book: gpuBook({ gpu_count: '2' }) });
    expect(estimator.estimate(job({ duration_seconds: 3600 }))).toMatchObject({
      status: 'rated',
      amount: '7.200000000',
    });
    expect(estimator.estimate(job({ duration_seconds: 3600, gpu_count: 1 }))).toMatchObject({
      status: 'rated',
      amount: '3.600000000',
    });
    // Without a duration there is still nothing to bill from: the default covers only the count.
    expect(estimator.estimate(job({ gpu_count: 1 })).error).toMatchObject({
      code: 'missing_property',
      field: 'properties.duration_seconds',
    });
  });
});
