// Kernel.rateChain beyond the random properties: malformed chains are rejected naming the field, a level the host
// cannot encode refuses the chain like a kernel refusal, step 0 names no customer, a long batch resumes across the
// receipt buffer, and the undo log holds twelve levels drawing 1,000 grants each.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_CHAIN_DEPTH,
  RateInputError,
  type ChainEvent,
  type Kernel,
  type PriceBook,
  type StateMap,
  type UsageEvent,
} from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { rateChainReference } from './reference/chain.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

function perUnitBook(id: string, rate: string): PriceBook {
  return {
    id,
    currency: 'USD',
    versions: [
      {
        effective_from: '2026-01-01T00:00:00Z',
        rate_cards: [
          {
            id: 'm',
            match: { model: 'm' },
            charges: [{ dimension: 'usd', price: { model: 'per_unit', rate, per: '1' } }],
          },
        ],
      },
    ],
  };
}

/** A book whose card cannot do without `cost_usd` (a dynamic charge): an event lacking it fails to encode. */
const dynamicBook: PriceBook = {
  id: 'dynamic',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'm',
          match: { model: 'm' },
          charges: [{ price: { model: 'dynamic', amount_property: 'cost_usd', markup_percent: '10' } }],
        },
      ],
    },
  ],
};

const event = (id: string, customer: string, usd: string, extra: Partial<UsageEvent> = {}): UsageEvent => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'usage',
  timestamp: '2026-02-02T10:00:00Z',
  properties: { model: 'm', usd },
  ...extra,
});

const grant = (id: string, balance: string) => ({ id, kind: 'prepaid' as const, priority: 0, balance });

function rejection(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RateInputError);
    return (error as RateInputError).path;
  }
  throw new Error('expected a RateInputError');
}

describe('Kernel.rateChain input checks', () => {
  const books = [perUnitBook('a', '1'), perUnitBook('b', '0.5')];
  const ok: ChainEvent = {
    event: event('t', 'U', '1'),
    chain: [
      { customer_id: 'U', book: 0 },
      { customer_id: 'R', book: 1 },
    ],
  };

  it('names the field of a malformed chain', () => {
    expect(rejection(() => kernel.rateChain([], {}, [ok]))).toBe('books');
    expect(rejection(() => kernel.rateChain(books, {}, [{ ...ok, chain: [] }]))).toBe('events[0].chain');
    expect(rejection(() => kernel.rateChain(books, {}, [{ ...ok, chain: [{ customer_id: 'X', book: 0 }] }]))).toBe(
      'events[0].chain[0].customer_id',
    );
    expect(rejection(() => kernel.rateChain(books, {}, [{ ...ok, chain: [{ customer_id: 'U', book: 2 }] }]))).toBe(
      'events[0].chain[0].book',
    );
    expect(
      rejection(() =>
        kernel.rateChain(books, {}, [
          ok,
          {
            event: event('t2', 'V', '1'),
            chain: [
              { customer_id: 'V', book: 0 },
              { customer_id: 'R', book: 0 },
            ],
          },
        ]),
      ),
    ).toBe('events[1].chain[1].book');
    expect(
      rejection(() => kernel.rateChain(books, {}, [{ ...ok, chain: [...ok.chain, { customer_id: 'U', book: 0 }] }])),
    ).toBe('events[0].chain[2].customer_id');
    const tooDeep = Array.from({ length: MAX_CHAIN_DEPTH + 1 }, (_, k) => ({
      customer_id: k ? `R${k}` : 'U',
      book: 0,
    }));
    expect(rejection(() => kernel.rateChain(books, {}, [{ ...ok, chain: tooDeep }]))).toBe('events[0].chain');
    expect(rejection(() => kernel.rateChain([perUnitBook('a', '1'), { id: 'broken' } as PriceBook], {}, [ok]))).toBe(
      'books[1]',
    );
  });
});

describe('Kernel.rateChain refusals', () => {
  it('refuses at a level the host cannot encode and gives back the credit drawn below it', () => {
    const books = [perUnitBook('end-user', '1'), dynamicBook];
    const states: StateMap = { U: { grants: [grant('u', '10')] } };
    const chain = [
      { customer_id: 'U', book: 0 },
      { customer_id: 'R', book: 1 },
    ];
    const events: ChainEvent[] = [
      { event: event('a', 'U', '2'), chain },
      { event: event('b', 'U', '3', { properties: { model: 'm', usd: '3', cost_usd: '1' } }), chain },
    ];
    const output = kernel.rateChain(books, states, events);
    expect(output.results[0]!.refused_level).toBe(1);
    expect(output.results[0]!.levels[1]!.error).toMatchObject({
      code: 'missing_property',
      field: 'properties.cost_usd',
    });
    expect(output.results[0]!.levels[0]!.error?.code).toBe('chain_refused');
    expect(output.results[1]!.refused_level).toBeUndefined();
    expect(output.results[1]!.levels[1]!.amount).toBe('1.100000000');
    // Only b's 3 was drawn from U's 10: a's 2 was rolled back with the refusal.
    expect(output.states.U!.grants![0]!.balance).toBe('7.000000000');
    expect(output.states.R).toEqual({});
    const withoutMessages = (value: unknown) =>
      JSON.stringify(value, (key, item: unknown) => (key === 'message' ? undefined : item));
    expect(withoutMessages(output)).toBe(withoutMessages(rateChainReference(books, states, events)));
  });

  it('rolls back two levels when the third refuses under block', () => {
    const books = [perUnitBook('u', '1'), perUnitBook('r', '0.8'), perUnitBook('d', '0.5')];
    const states: StateMap = {
      U: { grants: [grant('u', '10')] },
      R: { grants: [grant('r', '10')] },
      D: { on_depletion: 'block', grants: [grant('d', '0.3')] },
    };
    const chain = [
      { customer_id: 'U', book: 0 },
      { customer_id: 'R', book: 1 },
      { customer_id: 'D', book: 2 },
    ];
    const output = kernel.rateChain(books, states, [
      { event: event('a', 'U', '0.5'), chain },
      { event: event('b', 'U', '0.5'), chain },
    ]);
    expect(output.results.map((r) => r.refused_level)).toEqual([undefined, 2]);
    expect(output.results[1]!.levels.map((level) => level.error?.code)).toEqual([
      'chain_refused',
      'chain_refused',
      'credits_exhausted',
    ]);
    expect(output.results[1]!.levels[0]!.error?.message).toContain('customer D');
    expect(output.states.U!.grants![0]!.balance).toBe('9.500000000');
    expect(output.states.R!.grants![0]!.balance).toBe('9.600000000');
    expect(output.states.D!.grants![0]!.balance).toBe('0.050000000');
  });

  it('refuses an event failing step 0 at level 0 and names no customer', () => {
    const books = [perUnitBook('u', '1')];
    const output = kernel.rateChain(books, {}, [
      {
        event: event('a', 'U', '1', { event_type: '' }),
        chain: [
          { customer_id: 'U', book: 0 },
          { customer_id: 'R', book: 0 },
        ],
      },
    ]);
    expect(output.results[0]!.refused_level).toBe(0);
    expect(output.results[0]!.levels[0]!.error).toMatchObject({ code: 'invalid_event', field: 'event_type' });
    expect(output.results[0]!.levels[1]!.error?.code).toBe('chain_refused');
    expect(output.states).toEqual({});
  });
});

describe('Kernel.rateChain capacity', () => {
  it('resumes a batch larger than the receipt buffer: the same output as one chain per call', () => {
    const books = [perUnitBook('u', '1'), perUnitBook('r', '0.9')];
    const ancestors = Array.from({ length: 7 }, (_, k) => ({ customer_id: `R${k}`, book: 1 }));
    const states: StateMap = Object.fromEntries(
      ancestors.map((link) => [link.customer_id, { grants: [grant('g', '500')] }]),
    );
    const events: ChainEvent[] = Array.from({ length: 1500 }, (_, i) => ({
      event: event(`t${i}`, `U${i % 3}`, `0.${(i % 9) + 1}`),
      chain: [{ customer_id: `U${i % 3}`, book: 0 }, ...ancestors],
    }));
    const whole = kernel.rateChain(books, states, events);
    expect(whole.results.every((result) => result.refused_level === undefined)).toBe(true);
    let running = states;
    const oneByOne = events.map((chainEvent) => {
      const output = kernel.rateChain(books, running, [chainEvent]);
      running = output.states;
      return output.results[0];
    });
    expect(JSON.stringify(whole.results)).toBe(JSON.stringify(oneByOne));
    expect(JSON.stringify(whole.states)).toBe(JSON.stringify(running));
    expect(whole.states.R6!.grants![0]!.balance).not.toBe('500.000000000');
  });

  it('holds twelve levels drawing 1,000 grants each in one undo log, and rolls them all back', () => {
    const books = [perUnitBook('u', '1')];
    const chain = Array.from({ length: MAX_CHAIN_DEPTH }, (_, k) => ({ customer_id: `C${k}`, book: 0 }));
    const tiny = Array.from({ length: 1000 }, (_, g) => grant(`g${g}`, '0.000000001'));
    const states: StateMap = Object.fromEntries(chain.map((link) => [link.customer_id, { grants: tiny }]));
    const accepted = kernel.rateChain(books, states, [{ event: event('a', 'C0', '1'), chain }]);
    expect(accepted.results[0]!.refused_level).toBeUndefined();
    for (const level of accepted.results[0]!.levels) {
      expect(level.amount).toBe('0.999999000');
      expect(level.receipt!.filter((step) => step.step === 'credit')).toHaveLength(1000);
    }
    states[`C${MAX_CHAIN_DEPTH - 1}`] = { on_depletion: 'block', grants: tiny };
    const refused = kernel.rateChain(books, states, [{ event: event('a', 'C0', '1'), chain }]);
    expect(refused.results[0]!.refused_level).toBe(MAX_CHAIN_DEPTH - 1);
    for (const link of chain) {
      expect(refused.states[link.customer_id]!.grants!.every((g) => g.balance === '0.000000001')).toBe(true);
    }
  });
});
