import type { ReceiptStep } from '@tariff/core-wasm';
import { describe, expect, it } from 'vitest';
import { aggregateLines, type AggregatedLine } from './aggregates.ts';

const start = new Date('2026-03-01T00:00:00Z');
const line = (fields: Partial<AggregatedLine> & { receipt: ReceiptStep[] }): AggregatedLine => ({
  customerId: 'c1',
  periodStart: start,
  occurredAt: new Date('2026-03-02T00:00:00Z'),
  card: 'llm/tokens',
  amount: '0',
  properties: {},
  ...fields,
});
const price = (charge: number, quantity: string, rate: string, amount: string): ReceiptStep => ({
  step: 'price',
  charge,
  model: 'per_unit',
  quantity,
  rate,
  per: '1000000.000000',
  amount,
});
const quantity = (charge: number, dimension: string, value: string): ReceiptStep => ({
  step: 'quantity',
  charge,
  dimension,
  quantity: value,
});
const rowsOf = (lines: AggregatedLine[]) =>
  aggregateLines(lines).map((r) => ({
    step: r.step,
    key: [
      r.card,
      r.charge,
      r.dimension,
      r.rate,
      Object.keys(r.group).length > 0 ? JSON.stringify(r.group) : '',
      r.pool,
      r.grantId,
      r.mode,
      r.percent,
    ].join('|'),
    quantity: r.quantity,
    covered: r.covered,
    amount: r.amount,
    events: r.events,
  }));

describe('aggregateLines', () => {
  it('sums price steps per card, charge, dimension of the line, rate and group, exactly, and the lines into one total', () => {
    // given two events of one model and one of another, each with a quantity step naming the charge's dimension
    const lines = [
      line({
        amount: '0.000000001',
        properties: { model: 'm1', region: 'eu' },
        receipt: [quantity(0, 'input', '1.000001'), price(0, '1.000001', '2.500000000', '0.000000001')],
      }),
      line({
        amount: '1.999999999',
        properties: { model: 'm1', region: 'eu' },
        receipt: [quantity(0, 'input', '2'), price(0, '2.000000', '2.500000000', '1.999999999')],
      }),
      line({
        amount: '5',
        properties: { model: 'm2', other: 'x' },
        receipt: [quantity(0, 'input', '3'), price(0, '3.000000', '2.500000000', '5.000000000')],
      }),
    ];
    // then one row per group, the sums exact, and the total of the lines' amounts
    expect(rowsOf(lines)).toEqual([
      { step: 'total', key: '|-1|||||||', quantity: '0', covered: '0', amount: '7.000000000', events: 3n },
      {
        step: 'price',
        key: 'llm/tokens|0|input|2.500000000|{"model":"m1","region":"eu"}||||',
        quantity: '3.000001',
        covered: '0',
        amount: '2.000000000',
        events: 2n,
      },
      {
        step: 'price',
        key: 'llm/tokens|0|input|2.500000000|{"model":"m2"}||||',
        quantity: '3.000000',
        covered: '0',
        amount: '5.000000000',
        events: 1n,
      },
    ]);
  });

  it('names the dimension per line, so one charge with two dimensions in a period (variants) gives two rows', () => {
    const lines = [
      line({ receipt: [quantity(0, 'tokens', '1'), price(0, '1', '1', '1')], amount: '1' }),
      line({
        receipt: [{ step: 'variant', variant: 0 }, quantity(0, 'batch_tokens', '1'), price(0, '1', '0.5', '0.5')],
        amount: '0.5',
      }),
    ];
    expect(
      rowsOf(lines)
        .filter((r) => r.step === 'price')
        .map((r) => r.key.split('|')[2]),
    ).toEqual(['tokens', 'batch_tokens']);
  });

  it('groups allowance, discount, commitment and credit steps by pool, grant, mode and percentage', () => {
    const steps: ReceiptStep[] = [
      { step: 'allowance', charge: 0, pool: 'tokens', covered: '10.000000', remaining: '0.000000' },
      { step: 'discount', percent: '10.0000000', amount: '0.100000000' },
      { step: 'commitment', mode: 'prepaid', amount: '0.200000000', remaining: '1.000000000' },
      { step: 'credit', grant: 'g1', kind: 'promotional', amount: '0.300000000', balance: '4.700000000' },
    ];
    expect(
      rowsOf([line({ receipt: steps, amount: '0' }), line({ receipt: steps, amount: '0' })]).filter(
        (r) => r.step !== 'total',
      ),
    ).toEqual([
      { step: 'allowance', key: '|-1||||tokens|||', quantity: '0', covered: '20.000000', amount: '0', events: 2n },
      { step: 'discount', key: '|-1|||||||10.0000000', quantity: '0', covered: '0', amount: '0.200000000', events: 2n },
      { step: 'commitment', key: '|-1||||||prepaid|', quantity: '0', covered: '0', amount: '0.400000000', events: 2n },
      { step: 'credit', key: '|-1|||||g1||', quantity: '0', covered: '0', amount: '0.600000000', events: 2n },
    ]);
  });

  it('takes a line out with sign -1 (re-rating), leaving zero rows for the caller to delete', () => {
    const old = line({ amount: '2', properties: { model: 'm1' }, receipt: [price(0, '1', '2', '2')] });
    const rerated = line({ amount: '1', properties: { model: 'm1' }, receipt: [price(0, '1', '1', '1')] });
    expect(
      rowsOf([
        { ...old, sign: -1 },
        { ...rerated, sign: 1 },
      ]),
    ).toEqual([
      { step: 'total', key: '|-1|||||||', quantity: '0', covered: '0', amount: '-1', events: 0n },
      {
        step: 'price',
        key: 'llm/tokens|0||2|{"model":"m1"}||||',
        quantity: '-1',
        covered: '0',
        amount: '-2',
        events: -1n,
      },
      {
        step: 'price',
        key: 'llm/tokens|0||1|{"model":"m1"}||||',
        quantity: '1',
        covered: '0',
        amount: '1',
        events: 1n,
      },
    ]);
  });

  it('groups by the properties as PostgreSQL ->> reads them (numbers without exponent, booleans as text, null as absent)', () => {
    const lines = [
      line({
        properties: { model: 1e21, region: true, gpu_type: null, availability_class: 1.5e-7 },
        receipt: [price(0, '1', '1', '1')],
        amount: '1',
      }),
    ];
    expect(aggregateLines(lines).find((r) => r.step === 'price')!.group).toEqual({
      model: '1000000000000000000000',
      region: 'true',
      availability_class: '0.00000015',
    });
  });

  it('sums decimals of any scale and sign exactly, per customer and period, each period with its total first', () => {
    const march = start;
    const april = new Date('2026-04-01T00:00:00Z');
    const lines = [
      line({ amount: '1.5', receipt: [price(0, '1', '1', '1.5')] }),
      line({ customerId: 'c2', amount: '7', receipt: [price(0, '1', '1', '7')] }),
      line({
        periodStart: april,
        occurredAt: new Date('2026-04-02T00:00:00Z'),
        amount: '0.000000001',
        receipt: [price(0, '1', '1', '0.000000001')],
      }),
      line({ amount: '-0.25', receipt: [price(0, '0.125', '1', '-0.25')] }),
      line({ amount: '0.001', sign: -1, receipt: [price(0, '2', '1', '0.001')] }),
    ];
    expect(
      aggregateLines(lines).map((r) => [r.customerId, r.periodStart, r.step, r.quantity, r.amount, r.events]),
    ).toEqual([
      ['c1', march.toISOString(), 'total', '0', '1.249', 1n],
      ['c1', march.toISOString(), 'price', '-0.875', '1.249', 1n],
      ['c2', march.toISOString(), 'total', '0', '7', 1n],
      ['c2', march.toISOString(), 'price', '1', '7', 1n],
      ['c1', april.toISOString(), 'total', '0', '0.000000001', 1n],
      ['c1', april.toISOString(), 'price', '1', '0.000000001', 1n],
    ]);
    expect(() => aggregateLines([line({ amount: '1e3', receipt: [] })])).toThrow(/not a decimal: 1e3/);
    for (const text of ['', '-', '1.', '.5', '+1', '1-', '1.2.3', ' 1', '-.5'])
      expect(() => aggregateLines([line({ amount: text, receipt: [] })])).toThrow(/not a decimal/);
  });

  it('adds decimals of more digits than a number holds exactly as exactly as short ones, either sign', () => {
    const lines = [
      line({ amount: '123456789012345.678901234', receipt: [price(0, '1', '1', '99999999999999999999')] }),
      line({ amount: '-0.000000001', receipt: [price(0, '1', '1', '-99999999999999999999.5')] }),
      line({ amount: '9007199254740993', sign: -1, receipt: [price(0, '1', '1', '0.5')] }),
    ];
    expect(aggregateLines(lines).map((r) => [r.step, r.amount])).toEqual([
      ['total', '-8883742465728647.321098767'],
      ['price', '-1.0'],
    ]);
  });

  it('leaves out lines stamped before their period (the invoice reads find a period from its start)', () => {
    expect(
      aggregateLines([
        line({ occurredAt: new Date('2026-02-28T23:59:59Z'), receipt: [price(0, '1', '1', '1')], amount: '1' }),
      ]),
    ).toEqual([]);
  });
});
