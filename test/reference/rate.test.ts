// Hand-computed cases for the decimal.js reference: every expected string below was worked out on paper from
// core-wasm/README.md (the arithmetic is in the comments), never by running the reference.
import { describe, expect, it } from 'vitest';
import type {
  BookVersion,
  Charge,
  CostSchedule,
  CustomerState,
  PriceBook,
  RateCard,
  RatedEvent,
  StateMap,
  UsageEvent,
} from '../../core-wasm/src/book.ts';
import { divideHalfEven, Dec, InvalidInputError } from './numbers.ts';
import { rateReference } from './rate.ts';
import { parseInstant, windowHolds } from './time.ts';

const V1 = '2026-01-01T00:00:00Z';
const AT = '2026-02-10T12:00:00Z';

function card(id: string, charges: Charge[], extra: Partial<RateCard> = {}): RateCard {
  return { id, match: { model: id }, charges, ...extra };
}

function book(cards: RateCard[], version: Partial<BookVersion> = {}, cost?: CostSchedule): PriceBook {
  return {
    id: 'test',
    currency: 'USD',
    versions: [{ effective_from: V1, rate_cards: cards, ...version }],
    ...(cost ? { cost } : {}),
  };
}

let sequence = 0;
function usage(
  model: string,
  properties: UsageEvent['properties'] = {},
  overrides: Partial<UsageEvent> = {},
): UsageEvent {
  sequence += 1;
  return {
    transaction_id: `tx_${sequence}`,
    customer_id: 'cus_1',
    event_type: 'llm.request',
    timestamp: AT,
    properties: { model, ...properties },
    ...overrides,
  };
}

function rateOne(
  given: PriceBook,
  event: UsageEvent,
  state: CustomerState = {},
): { result: RatedEvent; state: CustomerState | undefined; before: StateMap } {
  const before: StateMap = { cus_1: state };
  const snapshot = structuredClone(before);
  const { results, states } = rateReference(given, before, [event]);
  expect(before).toEqual(snapshot); // the inputs are never modified
  return { result: results[0]!, state: states.cus_1, before: snapshot };
}

const perUnit = (dimension: string, rate: string, per?: string): Charge => ({
  dimension,
  price: { model: 'per_unit', rate, ...(per ? { per } : {}) },
});
const flat = (amount: string): Charge => ({ price: { model: 'flat', amount } });

describe('price models', () => {
  const cases: {
    name: string;
    charge: Charge;
    properties: UsageEvent['properties'];
    state?: CustomerState;
    amount: string;
    rate: string;
    per: string;
    quantity: string;
  }[] = [
    // 1234567 x 2.5 / 1e6 = 3.0864175
    {
      name: 'per_unit per million',
      charge: perUnit('input_tokens', '2.5'),
      properties: { input_tokens: 1234567 },
      amount: '3.086417500',
      rate: '2.500000000',
      per: '1000000.000000',
      quantity: '1234567.000000',
    },
    // 1 x 0.0025 / 1e6 = 0.0000000025: a tie, rounded to the even 0.000000002
    {
      name: 'per_unit half-even tie down',
      charge: perUnit('input_tokens', '0.0025'),
      properties: { input_tokens: 1 },
      amount: '0.000000002',
      rate: '0.002500000',
      per: '1000000.000000',
      quantity: '1.000000',
    },
    // 3 x 0.0025 / 1e6 = 0.0000000075: a tie, rounded to the even 0.000000008
    {
      name: 'per_unit half-even tie up',
      charge: perUnit('input_tokens', '0.0025'),
      properties: { input_tokens: '3' },
      amount: '0.000000008',
      rate: '0.002500000',
      per: '1000000.000000',
      quantity: '3.000000',
    },
    // 1 x 1 / 3 = 0.333333333|33 (per "3")
    {
      name: 'per_unit non-terminating quotient',
      charge: perUnit('images', '1', '3'),
      properties: { images: 1 },
      amount: '0.333333333',
      rate: '1.000000000',
      per: '3.000000',
      quantity: '1.000000',
    },
    // ceil(2001 / 1000) = 3 packages x 0.5
    {
      name: 'package rounds up to whole packages',
      charge: { dimension: 'images', price: { model: 'package', size: '1000', amount: '0.5' } },
      properties: { images: 2001 },
      amount: '1.500000000',
      rate: '0.500000000',
      per: '1000.000000',
      quantity: '2001.000000',
    },
    // exactly 2 packages
    {
      name: 'package on a package boundary',
      charge: { dimension: 'images', price: { model: 'package', size: '1000', amount: '0.5' } },
      properties: { images: 2000 },
      amount: '1.000000000',
      rate: '0.500000000',
      per: '1000.000000',
      quantity: '2000.000000',
    },
    // markup: 0.123456789 x 1.125 = 0.138888887625 -> 0.138888888
    {
      name: 'dynamic with markup',
      charge: { price: { model: 'dynamic', amount_property: 'cost_usd', markup_percent: '12.5' } },
      properties: { cost_usd: '0.123456789' },
      amount: '0.138888888',
      rate: '0.123456789',
      per: '1.000000',
      quantity: '1.000000',
    },
    {
      name: 'flat writes quantity 1 and per 1',
      charge: flat('0.99'),
      properties: {},
      amount: '0.990000000',
      rate: '0.990000000',
      per: '1.000000',
      quantity: '1.000000',
    },
    // basis 200000 is not above 200000: base rate. 200000 x 3 / 1e6 = 0.6
    {
      name: 'request_tiers at the boundary keeps the base rate',
      charge: {
        dimension: 'input_tokens',
        price: { model: 'request_tiers', basis: 'input_tokens', rate: '3', tiers: [{ above: '200000', rate: '6' }] },
      },
      properties: { input_tokens: 200000 },
      amount: '0.600000000',
      rate: '3.000000000',
      per: '1000000.000000',
      quantity: '200000.000000',
    },
    // 200000.000001 x 6 / 1e6 = 1.200000000006 -> 1.200000000
    {
      name: 'request_tiers one micro-unit above the boundary',
      charge: {
        dimension: 'input_tokens',
        price: { model: 'request_tiers', basis: 'input_tokens', rate: '3', tiers: [{ above: '200000', rate: '6' }] },
      },
      properties: { input_tokens: '200000.000001' },
      amount: '1.200000000',
      rate: '6.000000000',
      per: '1000000.000000',
      quantity: '200000.000001',
    },
  ];

  it.each(cases)('$name', ({ charge, properties, state, amount, rate, per, quantity }) => {
    const { result } = rateOne(book([card('m', [charge])]), usage('m', properties), state);
    expect(result).toMatchObject({
      status: 'rated',
      amount,
      subtotal: amount,
      card: 'm',
      book_version: '2026-01-01T00:00:00.000Z',
    });
    expect(result.receipt!.at(-1)).toEqual({
      step: 'price',
      charge: 0,
      model: charge.price.model,
      quantity,
      rate,
      per,
      amount,
    });
  });

  it('dynamic has no quantity step and modifiers never touch it', () => {
    const given = book([card('m', [{ price: { model: 'dynamic', amount_property: 'cost_usd' } }])], {
      modifiers: [{ when: { service_tier: 'standard' }, multiplier: '2' }],
    });
    const { result } = rateOne(given, usage('m', { cost_usd: 1 }));
    expect(result.receipt).toEqual([
      {
        step: 'price',
        charge: 0,
        model: 'dynamic',
        quantity: '1.000000',
        rate: '1.000000000',
        per: '1.000000',
        amount: '1.000000000',
      },
    ]);
  });
});

describe('tiers over the period counter', () => {
  const graduated: Charge = {
    dimension: 'output_tokens',
    price: { model: 'graduated', tiers: [{ up_to: '1000', rate: '10' }, { up_to: '5000', rate: '5' }, { rate: '2' }] },
  };

  it('graduated splits [900, 5400) across three tiers and rounds once', () => {
    // 100 x 10 + 4000 x 5 + 400 x 2 = 21800 per million = 0.0218
    const { result, state } = rateOne(book([card('m', [graduated])]), usage('m', { output_tokens: 4500 }), {
      counters: { 'm:output_tokens': '900' },
    });
    expect(result.receipt).toEqual([
      { step: 'quantity', charge: 0, dimension: 'output_tokens', quantity: '4500.000000' },
      { step: 'tier', charge: 0, tier: 0, quantity: '100.000000', rate: '10.000000000' },
      { step: 'tier', charge: 0, tier: 1, quantity: '4000.000000', rate: '5.000000000' },
      { step: 'tier', charge: 0, tier: 2, quantity: '400.000000', rate: '2.000000000' },
      {
        step: 'price',
        charge: 0,
        model: 'graduated',
        quantity: '4500.000000',
        rate: '2.000000000',
        per: '1000000.000000',
        amount: '0.021800000',
      },
    ]);
    expect(state!.counters).toEqual({ 'm:output_tokens': '5400.000000' });
  });

  it('graduated up_to is exclusive: the unit at 1000 is in tier 1', () => {
    // [1000, 1001) lies wholly in tier 1: 1 x 5 / 1e6
    const { result } = rateOne(book([card('m', [graduated])]), usage('m', { output_tokens: 1 }), {
      counters: { 'm:output_tokens': '1000' },
    });
    expect(result.receipt!.filter((step) => step.step === 'tier')).toEqual([
      { step: 'tier', charge: 0, tier: 1, quantity: '1.000000', rate: '5.000000000' },
    ]);
    expect(result.amount).toBe('0.000005000');
  });

  it('graduated with q = 0 shows the rate of the tier containing c and still writes the counter', () => {
    // c = 1000 = up_to of tier 0: the next unit falls in tier 1
    const { result, state } = rateOne(book([card('m', [graduated])]), usage('m', {}), {
      counters: { 'm:output_tokens': '1000' },
    });
    expect(result.receipt!.at(-1)).toMatchObject({
      step: 'price',
      quantity: '0.000000',
      rate: '5.000000000',
      amount: '0.000000000',
    });
    expect(state!.counters).toEqual({ 'm:output_tokens': '1000.000000' });
  });

  const volume: Charge = {
    dimension: 'output_tokens',
    price: { model: 'volume', tiers: [{ up_to: '1000', rate: '10' }, { rate: '4' }], counter: 'out' },
  };

  it('volume crossing into a cheaper tier gives a negative line', () => {
    // P(1100) - P(900) = 1100 x 4 / 1e6 - 900 x 10 / 1e6 = 0.0044 - 0.009 = -0.0046
    const { result, state } = rateOne(book([card('m', [volume])]), usage('m', { output_tokens: 200 }), {
      counters: { out: '900' },
    });
    expect(result.receipt!.slice(1)).toEqual([
      { step: 'tier', charge: 0, tier: 1, quantity: '200.000000', rate: '4.000000000' },
      {
        step: 'price',
        charge: 0,
        model: 'volume',
        quantity: '200.000000',
        rate: '4.000000000',
        per: '1000000.000000',
        amount: '-0.004600000',
      },
    ]);
    expect(result.amount).toBe('-0.004600000');
    expect(state!.counters).toEqual({ out: '1100.000000' });
  });

  it('volume up_to is inclusive: reaching exactly 1000 stays in tier 0', () => {
    // P(1000) - P(900) = 0.01 - 0.009
    const { result } = rateOne(book([card('m', [volume])]), usage('m', { output_tokens: 100 }), {
      counters: { out: '900' },
    });
    expect(result.receipt![1]).toEqual({
      step: 'tier',
      charge: 0,
      tier: 0,
      quantity: '100.000000',
      rate: '10.000000000',
    });
    expect(result.amount).toBe('0.001000000');
  });

  it('volume rounds P(c + q) and P(c) separately', () => {
    // per 1: P(0.000001 + 0.000001) = round(0.000002 x 0.0005) = round(0.000000001) ; P(0.000001) = round(0.0000000005) = 0 (tie to even)
    const charge: Charge = { dimension: 'x', price: { model: 'volume', tiers: [{ rate: '0.0005' }], per: '1' } };
    const { result } = rateOne(book([card('m', [charge])]), usage('m', { x: '0.000001' }), {
      counters: { 'm:x': '0.000001' },
    });
    expect(result.amount).toBe('0.000000001');
  });
});

describe('derived dimensions and GPU time', () => {
  const formulaCard = card('m', [perUnit('uncached_input', '2')], {
    dimensions: { uncached_input: { formula: { input_tokens: 1, cache_read_tokens: -1 } } },
  });

  it('a formula composes the quantity', () => {
    // (1000 - 400) x 2 / 1e6
    const { result } = rateOne(book([formulaCard]), usage('m', { input_tokens: 1000, cache_read_tokens: 400 }));
    expect(result.receipt![0]).toEqual({
      step: 'quantity',
      charge: 0,
      dimension: 'uncached_input',
      quantity: '600.000000',
    });
    expect(result.amount).toBe('0.001200000');
  });

  it('a negative formula is negative_quantity naming the dimension, with no state change', () => {
    const { result, state, before } = rateOne(
      book([formulaCard]),
      usage('m', { input_tokens: 100, cache_read_tokens: 150 }),
      { counters: { x: '1' } },
    );
    expect(result).toMatchObject({
      status: 'error',
      error: { code: 'negative_quantity', field: 'dimensions.uncached_input' },
      currency: 'USD',
    });
    expect(state).toEqual(before.cus_1);
  });

  const gpuCard = (minimum: string, increment: string): RateCard =>
    card('h100', [perUnit('gpu_seconds', '2.5', '3600')], {
      match: { gpu_type: 'h100' },
      dimensions: { gpu_seconds: { gpu_time: { minimum_seconds: minimum, increment_seconds: increment } } },
    });
  const gpuJob = (properties: UsageEvent['properties']): UsageEvent =>
    usage('none', { gpu_type: 'h100', ...properties }, { event_type: 'gpu.job' });

  it.each([
    // ceil(45/30) x 30 = 60 >= minimum 60; 0.25 x 60 = 15 GPU-s; 15 x 2.5 / 3600 = 0.01041666.. -> 0.010416667
    {
      name: 'completed, fractional GPU',
      properties: { gpu_count: 0.25, duration_seconds: 45 },
      quantity: '15.000000',
      amount: '0.010416667',
    },
    // ceil(10/30) x 30 = 30, raised to the 60 s minimum for a completed job
    {
      name: 'completed below the minimum',
      properties: { gpu_count: 0.25, duration_seconds: 10 },
      quantity: '15.000000',
      amount: '0.010416667',
    },
    // preempted: 30 s, no minimum; 0.25 x 30 = 7.5; 7.5 x 2.5 / 3600 = 0.00520833.. -> 0.005208333
    {
      name: 'preempted pays its rounded-up duration only',
      properties: { gpu_count: 0.25, duration_seconds: 10, outcome: 'preempted' },
      quantity: '7.500000',
      amount: '0.005208333',
    },
    {
      name: 'user_failure pays its rounded-up duration only',
      properties: { gpu_count: 0.25, duration_seconds: 10, outcome: 'user_failure' },
      quantity: '7.500000',
      amount: '0.005208333',
    },
    // ceil(61/30) = 3 increments = 90 s; 90 x 2.5 / 3600 = 0.0625
    {
      name: 'duration rounded up to the increment',
      properties: { gpu_count: 1, duration_seconds: 61 },
      quantity: '90.000000',
      amount: '0.062500000',
    },
  ])('$name', ({ properties, quantity, amount }) => {
    const { result } = rateOne(book([gpuCard('60', '30')]), gpuJob(properties));
    expect(result.receipt![0]).toEqual({ step: 'quantity', charge: 0, dimension: 'gpu_seconds', quantity });
    expect(result.amount).toBe(amount);
  });

  it('GPU time is rounded half-even to the micro-unit (R0)', () => {
    // billable 0.5 s; 0.000003 x 0.5 = 0.0000015 -> 0.000002 ; 0.000001 x 0.5 = 0.0000005 -> 0.000000
    const given = book([gpuCard('0', '0.5')]);
    expect(rateOne(given, gpuJob({ gpu_count: '0.000003', duration_seconds: '0.5' })).result.receipt![0]).toMatchObject(
      { quantity: '0.000002' },
    );
    expect(rateOne(given, gpuJob({ gpu_count: '0.000001', duration_seconds: '0.5' })).result.receipt![0]).toMatchObject(
      { quantity: '0.000000' },
    );
  });

  it('infra_failure charges nothing and changes no price state, but the cost is still rated', () => {
    const cost: CostSchedule = {
      versions: [
        {
          effective_from: V1,
          rate_cards: [
            {
              ...gpuCard('60', '30'),
              charges: [
                { dimension: 'gpu_seconds', price: { model: 'graduated', tiers: [{ rate: '1.2' }], per: '3600' } },
              ],
            },
          ],
        },
      ],
    };
    const given = book([gpuCard('60', '30')], {}, cost);
    const state: CustomerState = {
      discount_percent: '10',
      grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: '5' }],
    };
    // cost: 30 s (the minimum is for completed jobs only) x 0.25 = 7.5 GPU-s; 7.5 x 1.2 / 3600 = 0.0025
    const { result, state: after } = rateOne(
      given,
      gpuJob({ gpu_count: 0.25, duration_seconds: 10, outcome: 'infra_failure' }),
      state,
    );
    expect(result).toEqual({
      transaction_id: result.transaction_id,
      customer_id: 'cus_1',
      status: 'rated',
      currency: 'USD',
      amount: '0.000000000',
      subtotal: '0.000000000',
      cost: '0.002500000',
      margin: '-0.002500000',
      book_version: '2026-01-01T00:00:00.000Z',
      card: 'h100',
      receipt: [{ step: 'outcome', outcome: 'infra_failure', note: 'no_charge' }],
    });
    expect(after).toEqual({
      ...state,
      counters: { 'cost:h100:gpu_seconds': '7.500000' },
      grants: [{ ...state.grants![0]!, balance: '5.000000000' }],
    });
  });
});

describe('time-of-use windows', () => {
  const peak = (window: BookVersion['windows']): PriceBook =>
    book([card('m', [flat('1')])], { windows: window, modifiers: [{ when: { window: 'peak' }, multiplier: '2' }] });
  const newYork = peak({ peak: { time_zone: 'America/New_York', start: '09:00', end: '18:00' } });

  it.each([
    // 2026-03-08: DST starts at 02:00 local, so 09:00-18:00 EDT is 13:00-22:00 UTC
    { at: '2026-03-08T12:59:59.999Z', inside: false },
    { at: '2026-03-08T13:00:00Z', inside: true },
    { at: '2026-03-08T21:59:59.999Z', inside: true },
    { at: '2026-03-08T22:00:00Z', inside: false },
    // 2026-11-01: DST ends at 02:00 local, so 09:00-18:00 EST is 14:00-23:00 UTC
    { at: '2026-11-01T13:00:00Z', inside: false },
    { at: '2026-11-01T13:59:59.999Z', inside: false },
    { at: '2026-11-01T14:00:00Z', inside: true },
    { at: '2026-11-01T22:59:59.999Z', inside: true },
    { at: '2026-11-01T23:00:00Z', inside: false },
    // the same instant written with an offset
    { at: '2026-11-01T09:00:00-05:00', inside: true },
  ])('09:00-18:00 America/New_York at $at: inside=$inside', ({ at, inside }) => {
    const { result } = rateOne(newYork, usage('m', {}, { timestamp: at }));
    expect(result.amount).toBe(inside ? '2.000000000' : '1.000000000');
    expect(result.receipt!.some((step) => step.step === 'modifier')).toBe(inside);
  });

  it.each([
    // Europe/Berlin is UTC+1 in January; 2026-01-09 is a Friday
    { at: '2026-01-09T20:59:59Z', inside: false, why: 'Friday 21:59:59' },
    { at: '2026-01-09T21:00:00Z', inside: true, why: 'Friday 22:00' },
    { at: '2026-01-10T04:59:59Z', inside: true, why: 'Saturday 05:59:59, the day after a listed day' },
    { at: '2026-01-10T05:00:00Z', inside: false, why: 'Saturday 06:00' },
    { at: '2026-01-10T21:00:00Z', inside: false, why: 'Saturday 22:00, Saturday is not listed' },
    { at: '2026-01-09T02:00:00Z', inside: false, why: 'Friday 03:00, Thursday is not listed' },
  ])('a window wrapping midnight, 22:00-06:00 Berlin on Fridays: $why', ({ at, inside }) => {
    const given = peak({ peak: { time_zone: 'Europe/Berlin', days: ['fri'], start: '22:00', end: '06:00' } });
    expect(rateOne(given, usage('m', {}, { timestamp: at })).result.amount).toBe(
      inside ? '2.000000000' : '1.000000000',
    );
  });

  it.each([
    { at: '2026-02-10T08:30:14.999Z', inside: false },
    { at: '2026-02-10T08:30:15Z', inside: true },
    { at: '2026-02-10T23:59:59.999Z', inside: true },
    { at: '2026-02-11T00:00:00Z', inside: false },
  ])('"HH:MM:SS" start and a "24:00" end in UTC at $at', ({ at, inside }) => {
    const window = { time_zone: 'UTC', start: '08:30:15', end: '24:00' };
    expect(windowHolds(window, parseInstant(at)!)).toBe(inside);
  });

  it('Asia/Shanghai has no DST: 09:00 local is 01:00 UTC all year', () => {
    const window = { time_zone: 'Asia/Shanghai', start: '09:00', end: '10:00' };
    expect(windowHolds(window, parseInstant('2026-07-01T01:00:00Z')!)).toBe(true);
    expect(windowHolds(window, parseInstant('2026-01-01T00:59:59Z')!)).toBe(false);
  });
});

describe('modifiers and variants', () => {
  it('a service-tier modifier rounds the rate first (R1), then the line (R2)', () => {
    // 0.000000003 x 0.5 = 0.0000000015 -> 0.000000002 (tie to even); 3000000 x 0.000000002 / 1e6 = 0.000000006
    const given = book([card('m', [perUnit('input_tokens', '0.000000003')]), card('other', [flat('1')])], {
      modifiers: [
        { when: { service_tier: 'batch' }, multiplier: '0.5', cards: ['m'] },
        { when: { service_tier: 'batch' }, multiplier: '3', cards: ['other'] },
      ],
    });
    const { result } = rateOne(given, usage('m', { input_tokens: 3000000, service_tier: 'batch' }));
    expect(result.receipt).toEqual([
      { step: 'quantity', charge: 0, dimension: 'input_tokens', quantity: '3000000.000000' },
      { step: 'modifier', charge: 0, source: 'service_tier:batch', multiplier: '0.500000000' },
      {
        step: 'price',
        charge: 0,
        model: 'per_unit',
        quantity: '3000000.000000',
        rate: '0.000000002',
        per: '1000000.000000',
        amount: '0.000000006',
      },
    ]);
    const standard = rateOne(given, usage('m', { input_tokens: 3000000 })).result;
    expect(standard.amount).toBe('0.000000009');
  });

  it('a modifier step names its condition', () => {
    const given = book([card('m', [flat('1')])], {
      windows: { day: { time_zone: 'UTC', start: '00:00', end: '24:00' } },
      modifiers: [
        { when: { service_tier: 'flex', window: 'day' }, multiplier: '1' },
        { when: { service_tier: 'flex' }, multiplier: '1' },
        { when: { window: 'day' }, multiplier: '1' },
      ],
    });
    const sources = rateOne(given, usage('m', { service_tier: 'flex' })).result.receipt!.flatMap((step) =>
      step.step === 'modifier' ? [step.source] : [],
    );
    expect(sources).toEqual(['window:day+service_tier:flex', 'service_tier:flex', 'window:day']);
  });

  it('modifiers apply in book order, each rounded', () => {
    // 1 x 0.333333333 = 0.333333333; x 3 = 0.999999999 (a single 1/3 x 3 would be 1)
    const always = { service_tier: 'standard' as const };
    const given = book([card('m', [flat('1')])], {
      modifiers: [
        { when: always, multiplier: '0.333333333' },
        { when: always, multiplier: '3' },
      ],
    });
    expect(rateOne(given, usage('m')).result.amount).toBe('0.999999999');
  });

  it('the last variant whose condition holds replaces the charges', () => {
    const given = book(
      [
        card('m', [perUnit('input_tokens', '2.5')], {
          variants: [
            { when: { service_tier: 'batch' }, charges: [flat('0.1')] },
            { when: { service_tier: 'batch', window: 'night' }, charges: [flat('0.01'), flat('0.02')] },
          ],
        }),
      ],
      { windows: { night: { time_zone: 'UTC', start: '22:00', end: '06:00' } } },
    );
    const night = rateOne(
      given,
      usage('m', { input_tokens: 1000, service_tier: 'batch' }, { timestamp: '2026-02-10T23:00:00Z' }),
    ).result;
    expect(night.receipt!.map((step) => step.step)).toEqual(['variant', 'price', 'price']);
    expect(night.receipt![0]).toEqual({ step: 'variant', variant: 1 });
    expect(night.receipt![2]).toMatchObject({ charge: 1, amount: '0.020000000' });
    expect(night.amount).toBe('0.030000000');
    const day = rateOne(given, usage('m', { input_tokens: 1000, service_tier: 'batch' })).result;
    expect(day.receipt![0]).toEqual({ step: 'variant', variant: 0 });
    expect(day.amount).toBe('0.100000000');
    const standard = rateOne(given, usage('m', { input_tokens: 1000 })).result;
    expect(standard.receipt![0]).toMatchObject({ step: 'quantity' });
    expect(standard.amount).toBe('0.002500000');
  });
});

describe('allowances, discount, commitment and credits', () => {
  it('an allowance covers usage until the pool is empty, across events', () => {
    const given = book([card('m', [{ ...perUnit('input_tokens', '2'), allowance: 'free' }])], {
      allowances: { free: { included: '1000' } },
    });
    const { results, states } = rateReference(given, { cus_1: {} }, [
      usage('m', { input_tokens: 600 }),
      usage('m', { input_tokens: 600 }),
    ]);
    expect(results[0]!.receipt![1]).toEqual({
      step: 'allowance',
      charge: 0,
      pool: 'free',
      covered: '600.000000',
      remaining: '400.000000',
    });
    expect(results[0]!.amount).toBe('0.000000000');
    // 400 covered, 200 priced: 200 x 2 / 1e6
    expect(results[1]!.receipt![1]).toEqual({
      step: 'allowance',
      charge: 0,
      pool: 'free',
      covered: '400.000000',
      remaining: '0.000000',
    });
    expect(results[1]!.receipt![2]).toMatchObject({ step: 'price', quantity: '200.000000', amount: '0.000400000' });
    expect(states.cus_1).toEqual({ allowances: { free: '0.000000' } });
  });

  it.each([
    // 0.00000001 x 25% = 0.0000000025: a tie, to the even 0.000000002
    { subtotal: '0.00000001', discount: '0.000000002', net: '0.000000008' },
    // 0.00000003 x 25% = 0.0000000075: a tie, to the even 0.000000008
    { subtotal: '0.00000003', discount: '0.000000008', net: '0.000000022' },
  ])('the negotiated discount rounds half-even (R3): $subtotal', ({ subtotal, discount, net }) => {
    const { result } = rateOne(book([card('m', [flat(subtotal)])]), usage('m'), { discount_percent: '25' });
    expect(result.receipt!.at(-1)).toEqual({ step: 'discount', percent: '25.0000000', amount: discount });
    expect(result.amount).toBe(net);
  });

  it('a prepaid commitment pays until it is used up', () => {
    const given = book([card('m', [flat('0.75')])]);
    const { results, states } = rateReference(given, { cus_1: { commitment: { mode: 'prepaid', remaining: '1' } } }, [
      usage('m'),
      usage('m'),
    ]);
    expect(results[0]!.receipt!.at(-1)).toEqual({
      step: 'commitment',
      mode: 'prepaid',
      amount: '0.750000000',
      remaining: '0.250000000',
    });
    expect(results[0]!.amount).toBe('0.000000000');
    expect(results[1]!.receipt!.at(-1)).toEqual({
      step: 'commitment',
      mode: 'prepaid',
      amount: '0.250000000',
      remaining: '0.000000000',
    });
    expect(results[1]!.amount).toBe('0.500000000');
    expect(states.cus_1!.commitment).toEqual({ mode: 'prepaid', remaining: '0.000000000', consumed: '0.000000000' });
  });

  it('a postpaid commitment counts the net and leaves it to pay', () => {
    const { result, state } = rateOne(book([card('m', [flat('0.75')])]), usage('m'), {
      commitment: { mode: 'postpaid', consumed: '10' },
    });
    expect(result.receipt!.at(-1)).toEqual({
      step: 'commitment',
      mode: 'postpaid',
      amount: '0.750000000',
      consumed: '10.750000000',
    });
    expect(result.amount).toBe('0.750000000');
    expect(state!.commitment).toEqual({ mode: 'postpaid', consumed: '10.750000000', remaining: '0.000000000' });
  });

  it('credits: promotional before prepaid, then priority, then earlier expiry (none last); expired and out-of-scope grants are skipped', () => {
    const state: CustomerState = {
      grants: [
        { id: 'prepaid', kind: 'prepaid', priority: 0, balance: '1' },
        { id: 'promo_p2', kind: 'promotional', priority: 2, balance: '0.3' },
        { id: 'promo_never', kind: 'promotional', priority: 1, balance: '0.05' },
        { id: 'promo_june', kind: 'promotional', priority: 1, balance: '0.2', expires_at: '2026-06-01T00:00:00Z' },
        { id: 'promo_march', kind: 'promotional', priority: 1, balance: '0.1', expires_at: '2026-03-01T00:00:00Z' },
        { id: 'expired', kind: 'promotional', priority: 0, balance: '9', expires_at: '2026-02-10T12:00:00Z' },
        { id: 'not_yet', kind: 'promotional', priority: 0, balance: '9', effective_at: '2026-02-10T12:00:00.001Z' },
        { id: 'other_card', kind: 'promotional', priority: 0, balance: '9', scope: { cards: ['other'] } },
        { id: 'other_type', kind: 'promotional', priority: 0, balance: '9', scope: { event_types: ['gpu.job'] } },
        { id: 'empty', kind: 'promotional', priority: 0, balance: '0' },
      ],
    };
    // 0.5 = 0.1 (march) + 0.2 (june) + 0.05 (never) + 0.15 of promo_p2; the prepaid grant is not reached
    const { result, state: after } = rateOne(book([card('m', [flat('0.5')])]), usage('m'), state);
    expect(result.receipt!.filter((step) => step.step === 'credit')).toEqual([
      { step: 'credit', grant: 'promo_march', kind: 'promotional', amount: '0.100000000', balance: '0.000000000' },
      { step: 'credit', grant: 'promo_june', kind: 'promotional', amount: '0.200000000', balance: '0.000000000' },
      { step: 'credit', grant: 'promo_never', kind: 'promotional', amount: '0.050000000', balance: '0.000000000' },
      { step: 'credit', grant: 'promo_p2', kind: 'promotional', amount: '0.150000000', balance: '0.150000000' },
    ]);
    expect(result.amount).toBe('0.000000000');
    const nine = '9.000000000';
    expect(after!.grants!.map((grant) => grant.balance)).toEqual([
      '1.000000000',
      '0.150000000',
      '0.000000000',
      '0.000000000',
      '0.000000000',
      nine,
      nine,
      nine,
      nine,
      '0.000000000',
    ]);
  });

  it('a scope naming the card and the event type is eligible; prepaid credit pays after promotional', () => {
    const state: CustomerState = {
      grants: [
        { id: 'prepaid', kind: 'prepaid', priority: 0, balance: '10' },
        {
          id: 'scoped',
          kind: 'promotional',
          priority: 5,
          balance: '0.2',
          scope: { cards: ['m'], event_types: ['llm.request'] },
        },
      ],
    };
    const { result } = rateOne(book([card('m', [flat('0.5')])]), usage('m'), state);
    expect(
      result.receipt!.filter((step) => step.step === 'credit').map((step) => [step.grant, step.amount, step.balance]),
    ).toEqual([
      ['scoped', '0.200000000', '0.000000000'],
      ['prepaid', '0.300000000', '9.700000000'],
    ]);
  });

  it('commitment and credits come after the discount, and margin is net minus cost before them', () => {
    const cost: CostSchedule = { versions: [{ effective_from: V1, rate_cards: [card('m', [flat('0.3')])] }] };
    const state: CustomerState = {
      discount_percent: '10',
      commitment: { mode: 'prepaid', remaining: '0.2' },
      grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: '0.5' }],
    };
    // subtotal 1; discount 0.1; net 0.9; margin 0.9 - 0.3; commitment 0.2; credit 0.5; amount 0.2
    const { result } = rateOne(book([card('m', [flat('1')])], {}, cost), usage('m'), state);
    expect(result).toMatchObject({
      subtotal: '1.000000000',
      cost: '0.300000000',
      margin: '0.600000000',
      amount: '0.200000000',
    });
    expect(result.receipt!.map((step) => step.step)).toEqual(['price', 'discount', 'commitment', 'credit']);
  });

  it('block: a remainder left after credits rejects the event and changes no state at all', () => {
    const given = book([
      card('m', [{ dimension: 'input_tokens', price: { model: 'graduated', tiers: [{ rate: '1' }] } }, flat('0.5')]),
    ]);
    const state: CustomerState = {
      on_depletion: 'block',
      counters: { 'm:input_tokens': '5' },
      grants: [{ id: 'g', kind: 'promotional', priority: 0, balance: '0.2' }],
    };
    const { result, state: after } = rateOne(given, usage('m', { input_tokens: 10 }), state);
    expect(result).toMatchObject({ status: 'error', error: { code: 'credits_exhausted' } });
    expect(result.error!.field).toBeUndefined();
    // the same figures as before, only written in the output format
    expect(after).toEqual({
      ...state,
      counters: { 'm:input_tokens': '5.000000' },
      grants: [{ ...state.grants![0]!, balance: '0.200000000' }],
    });
  });

  it('block: an event fully covered by credits is rated', () => {
    const state: CustomerState = {
      on_depletion: 'block',
      grants: [{ id: 'g', kind: 'promotional', priority: 0, balance: '0.5' }],
    };
    const { result, state: after } = rateOne(book([card('m', [flat('0.5')])]), usage('m'), state);
    expect(result).toMatchObject({ status: 'rated', amount: '0.000000000' });
    expect(after!.grants![0]!.balance).toBe('0.000000000');
  });
});

describe('card and version resolution', () => {
  const cards: RateCard[] = [
    { id: 'rule', match: { model: { starts_with: 'gpt-4' } }, charges: [flat('1')] },
    { id: 'exact', match: { model: 'gpt-4o', event_type: 'llm.request' }, charges: [flat('2')] },
    {
      id: 'either',
      match: {
        model: { or: [{ ends_with: '-mini' }, { and: [{ contains: 'claude' }, { starts_with: 'anthropic/' }] }] },
      },
      charges: [flat('3')],
    },
    { id: 'exact-too', match: { model: 'gpt-4o' }, charges: [flat('4')] },
    { id: 'catch-all', match: { event_type: { contains: '.' } }, charges: [flat('5')] },
  ];
  it.each([
    {
      name: 'an exact card beats an earlier rule card',
      properties: { model: 'gpt-4o' },
      eventType: 'llm.request',
      chosen: 'exact',
    },
    {
      name: 'among exact cards the first in book order wins',
      properties: { model: 'gpt-4o' },
      eventType: 'batch.request',
      chosen: 'exact-too',
    },
    {
      name: 'rule cards in book order',
      properties: { model: 'gpt-4o-mini' },
      eventType: 'llm.request',
      chosen: 'rule',
    },
    {
      name: 'or / and / contains',
      properties: { model: 'anthropic/claude-sonnet-4' },
      eventType: 'llm.request',
      chosen: 'either',
    },
    {
      name: 'a later rule card when nothing earlier matches',
      properties: { model: 'mistral-large' },
      eventType: 'llm.request',
      chosen: 'catch-all',
    },
    {
      name: 'a non-string property matches no rule',
      properties: { model: 4 },
      eventType: 'llm.request',
      chosen: 'catch-all',
    },
  ])('$name', ({ properties, eventType, chosen }) => {
    const event: UsageEvent = { ...usage('x', {}, { event_type: eventType }), properties };
    expect(rateOne(book(cards), event).result.card).toBe(chosen);
  });

  it('book order is the order of first appearance across versions', () => {
    // 'later' is first in the last version, but 'earlier' appeared first in the book
    const given: PriceBook = {
      id: 'order',
      currency: 'USD',
      versions: [
        {
          effective_from: V1,
          rate_cards: [{ id: 'earlier', match: { model: { starts_with: 'g' } }, charges: [flat('1')] }],
        },
        {
          effective_from: '2026-02-01T00:00:00Z',
          rate_cards: [
            { id: 'later', match: { model: { ends_with: 'o' } }, charges: [flat('2')] },
            { id: 'earlier', match: { model: { starts_with: 'g' } }, charges: [flat('3')] },
          ],
        },
      ],
    };
    expect(rateOne(given, usage('gpt-4o')).result).toMatchObject({ card: 'earlier', amount: '3.000000000' });
  });

  it('a card id that matches differently in two versions makes the book invalid', () => {
    const given: PriceBook = {
      id: 'bad',
      currency: 'USD',
      versions: [
        { effective_from: V1, rate_cards: [card('m', [flat('1')])] },
        {
          effective_from: '2026-02-01T00:00:00Z',
          rate_cards: [{ ...card('m', [flat('1')]), match: { model: 'other' } }],
        },
      ],
    };
    expect(() => rateReference(given, {}, [])).toThrow(InvalidInputError);
  });

  it('no matching card is no_rate_card on properties', () => {
    const given = book([card('m', [flat('1')])]);
    expect(rateOne(given, usage('other')).result.error).toMatchObject({ code: 'no_rate_card', field: 'properties' });
  });

  const versioned: PriceBook = {
    id: 'v',
    currency: 'EUR',
    versions: [
      { effective_from: '2026-01-01T00:00:00Z', rate_cards: [card('m', [flat('2')]), card('old', [flat('9')])] },
      { effective_from: '2026-02-01T00:00:00+01:00', rate_cards: [card('m', [flat('3')]), card('new', [flat('7')])] },
    ],
  };
  it.each([
    {
      at: '2026-01-31T22:59:59.999Z',
      model: 'm',
      expected: { amount: '2.000000000', book_version: '2026-01-01T00:00:00.000Z' },
    },
    {
      at: '2026-01-31T23:00:00Z',
      model: 'm',
      expected: { amount: '3.000000000', book_version: '2026-01-31T23:00:00.000Z' },
    },
    {
      at: '2025-12-31T23:59:59.999Z',
      model: 'm',
      expected: { status: 'error', error: { code: 'no_price_version', field: 'timestamp' } },
    },
    // the card is in the catalogue (a later version) but not in the version in force
    {
      at: '2026-01-15T00:00:00Z',
      model: 'new',
      expected: { status: 'error', error: { code: 'no_rate_card', field: 'properties' } },
    },
    // a card only the first version has still rates that version's events, and is not found after it
    { at: '2026-01-15T00:00:00Z', model: 'old', expected: { amount: '9.000000000', card: 'old' } },
    {
      at: '2026-02-15T00:00:00Z',
      model: 'old',
      expected: { status: 'error', error: { code: 'no_rate_card', field: 'properties' } },
    },
  ])('version boundary at $at ($model)', ({ at, model, expected }) => {
    expect(rateOne(versioned, usage(model, {}, { timestamp: at })).result).toMatchObject({
      currency: 'EUR',
      ...expected,
    });
  });
});

describe('event errors', () => {
  const given = book([card('m', [perUnit('input_tokens', '1')])]);
  it.each([
    {
      name: 'empty transaction_id',
      event: usage('m', {}, { transaction_id: '' }),
      error: { code: 'invalid_event', field: 'transaction_id' },
    },
    {
      name: 'customer_id not a string',
      event: usage('m', {}, { customer_id: 7 as unknown as string }),
      error: { code: 'invalid_event', field: 'customer_id' },
    },
    {
      name: 'no zone designator',
      event: usage('m', {}, { timestamp: '2026-02-10T12:00:00' }),
      error: { code: 'invalid_timestamp', field: 'timestamp' },
    },
    {
      name: 'no such day',
      event: usage('m', {}, { timestamp: '2026-02-29T12:00:00Z' }),
      error: { code: 'invalid_timestamp', field: 'timestamp' },
    },
    {
      name: 'unknown service tier',
      event: usage('m', { service_tier: 'turbo' }),
      error: { code: 'invalid_property', field: 'properties.service_tier' },
    },
    {
      name: 'unknown outcome',
      event: usage('m', { outcome: 'lost' }),
      error: { code: 'invalid_property', field: 'properties.outcome' },
    },
    {
      name: 'seven decimals in a quantity',
      event: usage('m', { input_tokens: '1.0000001' }),
      error: { code: 'invalid_property', field: 'properties.input_tokens' },
    },
    {
      name: 'a negative quantity',
      event: usage('m', { input_tokens: -1 }),
      error: { code: 'invalid_property', field: 'properties.input_tokens' },
    },
    {
      name: 'a non-numeric quantity',
      event: usage('m', { input_tokens: '12 tokens' }),
      error: { code: 'invalid_property', field: 'properties.input_tokens' },
    },
    {
      name: 'a quantity beyond 64 bits of micro-units',
      event: usage('m', { input_tokens: '9223372036855' }),
      error: { code: 'invalid_property', field: 'properties.input_tokens' },
    },
  ])('$name', ({ event, error }) => {
    const { result } = rateOne(given, event);
    expect(result).toMatchObject({ status: 'error', currency: 'USD', error });
    expect(result.receipt).toBeUndefined();
  });

  it('trailing zeros do not count as decimals', () => {
    expect(rateOne(given, usage('m', { input_tokens: '1.5000000' })).result.amount).toBe('0.000001500');
  });

  it('numeric properties are checked in alphabetical order, including the cost card and unused variants', () => {
    const cost: CostSchedule = {
      versions: [{ effective_from: V1, rate_cards: [card('m', [perUnit('a_cost_units', '1')])] }],
    };
    const withVariant = book(
      [
        card('m', [perUnit('input_tokens', '1')], {
          variants: [{ when: { service_tier: 'flex' }, charges: [perUnit('b_units', '1')] }],
        }),
      ],
      {},
      cost,
    );
    const event = usage('m', { input_tokens: 'x', a_cost_units: 'y', b_units: 'z' });
    expect(rateOne(withVariant, event).result.error).toMatchObject({
      code: 'invalid_property',
      field: 'properties.a_cost_units',
    });
    expect(rateOne(withVariant, usage('m', { input_tokens: 'x', b_units: 'z' })).result.error).toMatchObject({
      field: 'properties.b_units',
    });
  });

  it('outside_period: the period is [start, end)', () => {
    const state: CustomerState = { period: { start: '2026-02-01T00:00:00Z', end: '2026-03-01T00:00:00Z' } };
    expect(rateOne(given, usage('m', {}, { timestamp: '2026-03-01T00:00:00Z' }), state).result.error).toMatchObject({
      code: 'outside_period',
      field: 'timestamp',
    });
    expect(rateOne(given, usage('m', {}, { timestamp: '2026-02-01T00:00:00Z' }), state).result.status).toBe('rated');
  });

  it('overflow: a line beyond 2^63 nano-units is an error, and the state is left as it was', () => {
    // 2 x 9000000000 / 1 = 1.8e10 units = 1.8e19 nano > 2^63 - 1 = 9223372036854775807
    const huge = book([
      card('m', [
        { dimension: 'output_tokens', price: { model: 'graduated', tiers: [{ rate: '1' }] } },
        perUnit('input_tokens', '9000000000', '1'),
      ]),
    ]);
    const { result, state, before } = rateOne(huge, usage('m', { input_tokens: 2, output_tokens: 5 }), {});
    expect(result).toMatchObject({ status: 'error', error: { code: 'overflow' } });
    expect(state).toEqual(before.cus_1);
    // 1 x 9000000000 = 9e18 nano still fits
    expect(rateOne(huge, usage('m', { input_tokens: 1 })).result.amount).toBe('9000000000.000000000');
  });

  it('overflow: only a modified rate that prices something must fit', () => {
    // tier 1: 4611686018.427387904 x 2 = 9223372036.854775808, one nano-unit past 2^63 - 1
    const given = book(
      [
        card('m', [
          {
            dimension: 'x',
            price: { model: 'volume', tiers: [{ up_to: '10', rate: '1' }, { rate: '4611686018.427387904' }] },
          },
        ]),
      ],
      {
        modifiers: [{ when: { service_tier: 'standard' }, multiplier: '2' }],
      },
    );
    // q = 1 stays in tier 0: P(1) - P(0) = 1 x 2 / 1e6
    expect(rateOne(given, usage('m', { x: 1 })).result.amount).toBe('0.000002000');
    expect(rateOne(given, usage('m', { x: 20 })).result.error).toMatchObject({ code: 'overflow' });
  });

  it('overflow: a formula sum beyond 2^63 micro-units is overflow, not a wrap to a negative quantity', () => {
    const given = book([card('m', [perUnit('total', '1')], { dimensions: { total: { formula: { a: 1, b: 1 } } } })]);
    const { result } = rateOne(given, usage('m', { a: '9223372036854.775807', b: '0.000001' }));
    expect(result.error).toMatchObject({ code: 'overflow' });
  });

  it("errors follow the charge order: charge 0's overflow before charge 1's negative quantity", () => {
    const given = book([
      card('m', [perUnit('x', '9000000000', '1'), perUnit('neg', '1')], {
        dimensions: { neg: { formula: { a: 1, b: -1 } } },
      }),
    ]);
    expect(rateOne(given, usage('m', { x: 2, a: 1, b: 2 })).result.error).toMatchObject({ code: 'overflow' });
    expect(rateOne(given, usage('m', { x: 1, a: 1, b: 2 })).result.error).toMatchObject({
      code: 'negative_quantity',
      field: 'dimensions.neg',
    });
  });

  it('overflow: a counter beyond 2^63 micro-units', () => {
    const given2 = book([card('m', [{ dimension: 'x', price: { model: 'graduated', tiers: [{ rate: '0' }] } }])]);
    const { result } = rateOne(given2, usage('m', { x: '1' }), { counters: { 'm:x': '9223372036854.775807' } });
    expect(result.error).toMatchObject({ code: 'overflow' });
  });
});

describe('state handling', () => {
  it('every customer of an event past step 0 gets a state, its figures in the output format; other values keep their text', () => {
    const given = book([
      card('m', [flat('1')]),
      card('t', [{ dimension: 'x', price: { model: 'graduated', tiers: [{ rate: '1' }] } }]),
    ]);
    const { states } = rateReference(
      given,
      {
        other: { counters: { 't:x': '1.5' } },
        old: { counters: { 't:x': '2', unknown: '1.50' }, discount_percent: '5.0' },
      },
      [
        usage('m', {}, { customer_id: 'new_1' }),
        usage('t', { x: 0 }, { customer_id: 'new_2' }), // a counter still at 0 stays absent
        usage('m', {}, { customer_id: 'new_3', timestamp: 'yesterday' }), // fails step 0: no state
        usage('nothing', {}, { customer_id: 'old' }), // no_rate_card: the state is still written out
      ],
    );
    expect(states).toEqual({
      other: { counters: { 't:x': '1.5' } },
      old: { counters: { 't:x': '2.000000', unknown: '1.50' }, discount_percent: '5.0' },
      new_1: {},
      new_2: {},
    });
  });

  it('events of one customer see the state the previous event left', () => {
    const given = book([
      card('m', [
        {
          dimension: 'x',
          price: { model: 'graduated', tiers: [{ up_to: '10', rate: '1' }, { rate: '0.5' }], per: '1' },
        },
      ]),
    ]);
    // first: [0, 8) at 1 = 8 ; second: [8, 10) at 1 + [10, 14) at 0.5 = 4
    const { results } = rateReference(given, {}, [usage('m', { x: 8 }), usage('m', { x: 6 })]);
    expect(results.map((result) => result.amount)).toEqual(['8.000000000', '4.000000000']);
  });

  it('a malformed book is rejected as a whole', () => {
    const bad = book([card('m', [perUnit('x', '0.0000000001')])]);
    expect(() => rateReference(bad, {}, [])).toThrow(InvalidInputError);
  });
});

describe('exact half-even division', () => {
  it.each([
    ['5', '2', 0, '2'],
    ['7', '2', 0, '4'],
    ['-5', '2', 0, '-2'],
    ['-7', '2', 0, '-4'],
    ['1', '3', 9, '0.333333333'],
    ['2', '3', 9, '0.666666667'],
    ['-2', '3', 9, '-0.666666667'],
    ['0.0000000025', '1', 9, '0.000000002'],
  ])('%s / %s to %i places = %s', (numerator, denominator, places, expected) => {
    expect(divideHalfEven(new Dec(numerator), new Dec(denominator), places).toFixed()).toBe(expected);
  });
});
