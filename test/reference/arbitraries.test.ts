// The generators produce valid inputs that reach every feature, and the reference keeps its own bookkeeping
// straight on them: receipts add up, batches equal one-by-one rating, inputs are never modified.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RatedEvent, StateMap } from '../../core-wasm/src/book.ts';
import { randomScenario, type Scale, type Scenario } from './arbitraries.ts';
import { Dec } from './numbers.ts';
import { rateReference } from './rate.ts';

const MONEY = /^-?\d+\.\d{9}$/;
const FIELDS: Record<string, RegExp | undefined> = {
  invalid_event: /^(transaction_id|customer_id|event_type)$/,
  invalid_timestamp: /^timestamp$/,
  invalid_property: /^properties\.\w+$/,
  missing_property: /^properties\.\w+$/,
  no_rate_card: /^properties$/,
  no_price_version: /^timestamp$/,
  outside_period: /^timestamp$/,
  negative_quantity: /^dimensions\.\w+$/,
  overflow: undefined,
  credits_exhausted: undefined,
};

const total = (values: string[]): string => values.reduce((sum, value) => sum.plus(value), new Dec(0)).toFixed(9);

/** What a rated event's receipt must add up to. */
function checkReceipt(result: RatedEvent): void {
  if (result.status === 'error') {
    const code = result.error!.code;
    expect(Object.keys(FIELDS)).toContain(code);
    const field = FIELDS[code];
    if (field === undefined) expect(result.error!.field).toBeUndefined();
    else expect(result.error!.field).toMatch(field);
    return;
  }
  const receipt = result.receipt!;
  for (const value of [result.amount, result.subtotal, result.cost, result.margin].filter((text) => text !== undefined))
    expect(value).toMatch(MONEY);
  const lines = receipt.flatMap((step) => (step.step === 'price' ? [step.amount] : []));
  expect(total(lines)).toBe(new Dec(result.subtotal!).toFixed(9));
  const discount = receipt.flatMap((step) => (step.step === 'discount' ? [step.amount] : []));
  const paidBy = receipt.flatMap((step) =>
    step.step === 'credit' || (step.step === 'commitment' && step.mode === 'prepaid') ? [step.amount] : [],
  );
  const net = new Dec(result.subtotal!).minus(total(discount));
  expect(net.minus(total(paidBy)).toFixed(9)).toBe(result.amount);
  if (result.cost !== undefined) expect(net.minus(result.cost).toFixed(9)).toBe(result.margin);
  if (receipt[0]?.step === 'outcome') expect(receipt).toHaveLength(1);
}

function rateOneByOne({ book, states, events }: Scenario): { results: RatedEvent[]; states: StateMap } {
  let current = states;
  const results = events.map((event) => {
    const output = rateReference(book, current, [event]);
    current = output.states;
    return output.results[0]!;
  });
  return { results, states: current };
}

describe.each<Scale>(['realistic', 'overflow'])('generated %s scenarios', (scale) => {
  it('are valid books, states and events whose receipts add up, rated alike in one batch or one by one', () => {
    fc.assert(
      fc.property(randomScenario({ scale, maxEvents: 15 }), (scenario) => {
        const snapshot = structuredClone(scenario);
        const batch = rateReference(scenario.book, scenario.states, scenario.events);
        expect(scenario).toEqual(snapshot);
        batch.results.forEach(checkReceipt);
        expect(rateOneByOne(scenario)).toEqual(batch);
      }),
      { numRuns: 150 },
    );
  });

  it('reach every model, receipt step and error code', () => {
    const seen = new Set<string>();
    for (const { book, states, events } of fc.sample(randomScenario({ scale }), { numRuns: 300, seed: 20260308 })) {
      const firstVersion = new Date(book.versions[0]!.effective_from).toISOString();
      for (const [index, result] of rateReference(book, states, events).results.entries()) {
        seen.add(result.status === 'error' ? `error:${result.error!.code}` : 'rated');
        if (result.book_version !== undefined && result.book_version !== firstVersion) seen.add('later version');
        if (result.cost !== undefined) seen.add('cost');
        if (result.status === 'rated' && /^2026-(03-08|11-01)/.test(events[index]!.timestamp))
          seen.add('rated on a US DST day');
        for (const step of result.receipt ?? []) {
          seen.add(`step:${step.step}`);
          if (step.step === 'price') seen.add(`model:${step.model}`);
          if (step.step === 'price' && step.amount.startsWith('-')) seen.add('negative line');
          if (step.step === 'modifier')
            seen.add(step.source.startsWith('window:') ? 'window modifier' : 'other modifier');
          if (step.step === 'credit') seen.add(`credit:${step.kind}`);
        }
      }
    }
    const expected = [
      'rated',
      'later version',
      'cost',
      'rated on a US DST day',
      'window modifier',
      'other modifier',
      'credit:promotional',
      'credit:prepaid',
      ...['per_unit', 'package', 'graduated', 'volume', 'request_tiers', 'flat', 'dynamic'].map(
        (model) => `model:${model}`,
      ),
      ...[
        'outcome',
        'variant',
        'quantity',
        'minimum',
        'modifier',
        'allowance',
        'tier',
        'price',
        'discount',
        'commitment',
        'credit',
      ].map((step) => `step:${step}`),
      ...Object.keys(FIELDS)
        .filter((code) => code !== 'overflow')
        .map((code) => `error:${code}`),
      ...(scale === 'overflow' ? ['error:overflow'] : ['negative line']),
    ];
    expect(expected.filter((feature) => !seen.has(feature))).toEqual([]);
  });
});
