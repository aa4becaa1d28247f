import { describe, expect, it } from 'vitest';
import { Decimal } from 'decimal.js';
import {
  aggregateEvents,
  creditsInReceipt,
  matchesFilters,
  meterShares,
  numericValue,
  timeWeighted,
  type CountedEvent,
  type MeterDefinition,
} from './aggregate.ts';
import { billingPeriodOf } from './service.ts';

const meter = (over: Partial<MeterDefinition>): MeterDefinition => ({
  id: 'm',
  eventType: 'llm',
  aggregation: 'sum',
  property: 'tokens',
  groupBy: [],
  filters: [],
  ...over,
});
const event = (
  properties: Record<string, unknown>,
  at = '2026-03-10T10:00:00Z',
  amountNano = 1_000_000_000n,
): CountedEvent => ({
  customerId: 'c',
  periodStart: new Date('2026-03-01T00:00:00Z'),
  occurredAt: new Date(at),
  eventType: 'llm',
  properties,
  amountNano,
});

describe('matchesFilters', () => {
  it.each([
    [{ property: 'model', op: 'eq', value: 'gpt-4o' }, { model: 'gpt-4o' }, true],
    [{ property: 'model', op: 'eq', value: 'gpt-4o' }, { model: 'gpt-5' }, false],
    [{ property: 'model', op: 'neq', value: 'gpt-4o' }, {}, true],
    [{ property: 'region', op: 'in', values: ['eu', 'us'] }, { region: 'eu' }, true],
    [{ property: 'region', op: 'in', values: ['eu', 'us'] }, {}, false],
    [{ property: 'region', op: 'not_in', values: ['eu'] }, {}, true],
    [{ property: 'gpus', op: 'eq', value: '8' }, { gpus: 8 }, true],
    [{ property: 'x', op: 'exists' }, { x: null }, false],
    [{ property: 'x', op: 'not_exists' }, { y: 1 }, true],
  ] as const)('given %j and %j, holds: %s', (filter, properties, expected) => {
    expect(matchesFilters([filter as never], properties)).toBe(expected);
  });
});

describe('numericValue', () => {
  it('reads numbers and numeric strings exactly, and nothing else', () => {
    expect(numericValue('0.000001')?.toFixed()).toBe('0.000001');
    expect(numericValue(1200)?.toFixed()).toBe('1200');
    expect(numericValue('12abc')).toBeNull();
    expect(numericValue(true)).toBeNull();
    expect(numericValue(null)).toBeNull();
  });
});

describe('aggregateEvents', () => {
  it('given events of two models on two days, sums per model and day, with amounts', () => {
    const deltas = aggregateEvents(
      [meter({ groupBy: ['model'] })],
      [
        event({ model: 'a', tokens: 10 }),
        event({ model: 'a', tokens: '5.5' }, '2026-03-10T23:59:59Z'),
        event({ model: 'b', tokens: 1 }),
        event({ model: 'a', tokens: 1 }, '2026-03-11T00:00:00Z'),
      ],
    );
    expect(deltas.map((d) => [d.groupKey, d.day, d.valueSum?.toFixed(), d.eventCount, d.amountNano])).toEqual([
      [{ model: 'a' }, '2026-03-10', '15.5', 2, 2_000_000_000n],
      [{ model: 'b' }, '2026-03-10', '1', 1, 1_000_000_000n],
      [{ model: 'a' }, '2026-03-11', '1', 1, 1_000_000_000n],
    ]);
  });

  it('keeps apart the groups of absent, null and "null" values, and of several group_by properties', () => {
    const deltas = aggregateEvents(
      [meter({ id: 'one', groupBy: ['model'] }), meter({ id: 'two', groupBy: ['model', 'region'] })],
      [
        event({ model: 'null', tokens: 1 }),
        event({ model: null, tokens: 2 }),
        event({ tokens: 4 }),
        event({ model: 'null', region: 'eu', tokens: 8 }),
      ],
    );
    expect(deltas.map((d) => [d.meterId, d.groupKey, d.valueSum?.toFixed(), d.eventCount])).toEqual([
      ['one', { model: 'null' }, '9', 2],
      ['two', { model: 'null', region: null }, '1', 1],
      ['one', { model: null }, '6', 2],
      ['two', { model: null, region: null }, '6', 2],
      ['two', { model: 'null', region: 'eu' }, '8', 1],
    ]);
  });

  it('given events out of time order, latest is the value at the latest instant and max the largest', () => {
    const [delta] = aggregateEvents(
      [meter({ aggregation: 'latest' })],
      [
        event({ tokens: 7 }, '2026-03-10T12:00:00Z'),
        event({ tokens: 3 }, '2026-03-10T11:00:00Z'),
        event({ tokens: 9 }, '2026-03-10T10:00:00Z'),
      ],
    );
    expect([delta.latestValue?.toFixed(), delta.valueMax?.toFixed()]).toEqual(['7', '9']);
  });

  it('given a unique_count meter, collects distinct values; a count meter reads no property', () => {
    const deltas = aggregateEvents(
      [
        meter({ id: 'u', aggregation: 'unique_count', property: 'user' }),
        meter({ id: 'n', aggregation: 'count', property: null }),
      ],
      [event({ user: 'x' }), event({ user: 'y' }), event({ user: 'x' }), event({})],
    );
    const unique = deltas.find((d) => d.meterId === 'u')!;
    expect([...unique.uniqueValues].sort()).toEqual(['x', 'y']);
    expect(unique.eventCount).toBe(4);
    expect(deltas.find((d) => d.meterId === 'n')!.eventCount).toBe(4);
  });

  it('given filters and another event type, counts only matching events', () => {
    const deltas = aggregateEvents(
      [meter({ filters: [{ property: 'tier', op: 'eq', value: 'batch' }] })],
      [
        event({ tier: 'batch', tokens: 1 }),
        event({ tier: 'standard', tokens: 100 }),
        { ...event({ tier: 'batch', tokens: 1000 }), eventType: 'other' },
      ],
    );
    expect(deltas.map((d) => d.valueSum?.toFixed())).toEqual(['1']);
  });
});

describe('timeWeighted', () => {
  const at = (iso: string) => Date.parse(iso);
  const level = (iso: string, value: string) => ({ at: at(iso), value: new Decimal(value) });
  const from = at('2026-03-01T00:00:00Z');

  it('holds each level until the next reading and the last until the end, split by UTC day', () => {
    // 2 GPUs from 22:00 to 02:00 the next day (4 h), then 3.5 GPUs until 03:00 (1 h).
    const result = timeWeighted(
      [level('2026-03-01T22:00:00Z', '2'), level('2026-03-02T02:00:00Z', '3.5')],
      null,
      from,
      at('2026-03-02T03:00:00Z'),
    );
    expect(result.total.toFixed()).toBe(String(2 * 4 * 3600 + 3.5 * 3600));
    expect(Object.fromEntries([...result.days].map(([d, v]) => [d, v.toFixed()]))).toEqual({
      '2026-03-01': String(2 * 2 * 3600),
      '2026-03-02': String(2 * 2 * 3600 + 3.5 * 3600),
    });
  });

  it('carries a level in from before the period, ignores readings after the end, and a tie goes to the later reading', () => {
    const result = timeWeighted(
      [
        level('2026-03-01T01:00:00Z', '5'),
        level('2026-03-01T01:00:00Z', '1'),
        level('2026-03-01T02:00:00Z', '0'),
        level('2026-03-01T09:00:00Z', '7'),
      ],
      new Decimal('10'),
      from,
      at('2026-03-01T03:00:00Z'),
    );
    // 10 for 1 h, then 1 (the later of the two 01:00 readings) for 1 h, then 0.
    expect(result.total.toFixed()).toBe(String(10 * 3600 + 3600));
  });

  it('is exact for fractional levels and milliseconds, and zero with no level at all', () => {
    expect(timeWeighted([level('2026-03-01T00:00:00.001Z', '0.1')], null, from, from + 1001).total.toFixed()).toBe(
      '0.1',
    );
    expect(timeWeighted([], null, from, from + 86_400_000).total.toFixed()).toBe('0');
  });
});

describe('billingPeriodOf', () => {
  it.each([
    ['2026-03-10T10:00:00Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['2026-12-31T23:59:59.999Z', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-04-01T00:00:00Z', '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
  ])('given %s, the calendar month [%s, %s)', (at, start, end) => {
    const period = billingPeriodOf(new Date(at));
    expect([period.start.toISOString(), period.end.toISOString()]).toEqual([start, end]);
  });
});

describe('meterShares', () => {
  // Input tokens $0.30 and output tokens $0.70 before a discount; $0.900000001 left to bill.
  const receipt = [
    { step: 'quantity', charge: 0, dimension: 'input_tokens', quantity: '1000' },
    { step: 'price', charge: 0, amount: '0.300000000' },
    { step: 'quantity', charge: 1, dimension: 'output_tokens', quantity: '500' },
    { step: 'price', charge: 1, amount: '0.700000000' },
  ];
  const input = meter({ id: 'in', property: 'input_tokens' });
  const output = meter({ id: 'out', property: 'output_tokens' });
  const requests = meter({ id: 'req', aggregation: 'count', property: null });
  const charged = { ...event({ input_tokens: 1000, output_tokens: 500 }, undefined, 900_000_001n), receipt };

  it.each([
    [
      'two meters on one event type: each its own dimension, adding up to the charge',
      [input, output],
      [270_000_000n, 630_000_001n],
    ],
    [
      'a count meter beside them shows no money of its own',
      [input, requests, output],
      [270_000_000n, 0n, 630_000_001n],
    ],
    ['one meter shows its own dimension only', [output], [630_000_001n]],
    [
      'a max meter on the same property yields to the sum meter',
      [meter({ id: 'largest', aggregation: 'max', property: 'input_tokens' }), input, output],
      [0n, 270_000_000n, 630_000_001n],
    ],
    [
      'no meter measures a charged dimension: split evenly, still adding up',
      [requests, meter({ id: 'req2', aggregation: 'count', property: null })],
      [450_000_001n, 450_000_000n],
    ],
  ] as const)('given %s', (_name, meters, expected) => {
    const shares = meterShares([...meters], charged);
    expect(shares).toEqual([...expected]);
    // They add up to the charge whenever every charged dimension has a meter (or none has).
    if (meters.some((m) => m.property === 'input_tokens') || meters.every((m) => m.property === null))
      expect(shares.reduce((a, b) => a + b, 0n)).toBe(charged.amountNano);
  });

  it("is what aggregateEvents stores per meter: input tokens never show output tokens' money", () => {
    const deltas = aggregateEvents([input, output], [charged]);
    expect(deltas.map((d) => [d.meterId, d.amountNano])).toEqual([
      ['in', 270_000_000n],
      ['out', 630_000_001n],
    ]);
  });

  it('gives a meter none of an event whose charge is all on another, unmetered dimension', () => {
    const outputOnly = {
      ...event({ input_tokens: 0, output_tokens: 500 }, undefined, 700_000_000n),
      receipt: [receipt[0], { ...receipt[1], amount: '0.000000000' }, receipt[2], receipt[3]],
    };
    expect(meterShares([input, requests], outputOnly)).toEqual([0n, 0n]);
  });

  it('splits a negative correction (re-rating: the old amount out) as the exact opposite of the amount in', () => {
    expect(meterShares([input, output], { ...charged, amountNano: -900_000_001n })).toEqual([
      -270_000_000n,
      -630_000_001n,
    ]);
  });

  it('stores per meter the gross (before credits) beside the net, each split by the same rule and adding up exactly', () => {
    // $1.000000001 before credits, $0.100000000 drawn from credit; the receipt's credit step is what re-rating reads.
    const withCredit = {
      ...charged,
      grossNano: 1_000_000_001n,
      receipt: [...receipt, { step: 'credit', amount: '0.100000000' }],
    };
    expect(creditsInReceipt(withCredit.receipt)).toBe(100_000_000n);
    const deltas = aggregateEvents([input, output], [withCredit]);
    expect(deltas.map((d) => [d.meterId, d.grossNano, d.amountNano])).toEqual([
      ['in', 300_000_000n, 270_000_000n],
      ['out', 700_000_001n, 630_000_001n],
    ]);
    // Without a gross, the gross is the amount (no credit drawn).
    expect(aggregateEvents([input, output], [charged]).map((d) => d.grossNano)).toEqual([270_000_000n, 630_000_001n]);
  });
});
