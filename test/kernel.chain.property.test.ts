// Reseller chains through the wasm kernel's one-pass `rateChain`, over random books, trees of resellers and event
// sequences where several end users share ancestors (chains of depth 1 to 8):
//   (a) every level equals rating that level alone with `rate` (amount, subtotal, cost, margin, receipt, and the
//       final states), nano-unit for nano-unit, with a refused chain changing nothing;
//   (b) the whole output equals the decimal.js rateChainReference, refusals and refused_level included;
//   (c) at every level the sum over events of the net and of the amount equals the level-alone totals.
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChainEvent, ChainRated, Kernel, PriceBook, RatedEvent, StateMap } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { randomBook, randomEvents, randomState, type Scale } from './reference/arbitraries.ts';
import { rateChainReference } from './reference/chain.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

export interface ChainScenario {
  books: PriceBook[];
  states: StateMap;
  events: ChainEvent[];
}

/** A reseller's book for its customers: the base book with every price rate and amount marked down to 80%. */
export function markedDown(book: PriceBook, factor = '0.8'): PriceBook {
  const scale = (text: unknown) =>
    typeof text === 'string' || typeof text === 'number'
      ? new Decimal(String(text)).times(factor).toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN).toFixed()
      : text;
  const walk = (value: unknown, inPrice: boolean): unknown => {
    if (Array.isArray(value)) return value.map((item) => walk(item, inPrice));
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        inPrice && (key === 'rate' || key === 'amount') ? scale(item) : walk(item, inPrice || key === 'price'),
      ]),
    );
  };
  return { ...(walk(book, false) as PriceBook), id: `${book.id}-reseller` };
}

/**
 * Resellers r0..r8 (a line of 0-7 of them, then others under an earlier reseller or the tenant, at most 7 deep) and
 * end users u0..u4 under them (the first under the deepest of the line);
 * each customer rated by one of the books (the base, its marked-down copy, sometimes an unrelated book).
 */
export function chainScenario(
  options: { scale?: Scale; minEvents?: number; maxEvents?: number } = {},
): fc.Arbitrary<ChainScenario> {
  return randomBook(options).chain((base) =>
    fc
      .tuple(
        fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: randomBook(options), weight: 1 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.oneof(fc.constant(-2), fc.integer({ min: -1, max: 8 })), { maxLength: 9 }),
        fc.array(fc.integer({ min: -1, max: 8 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }),
        fc.array(randomState(base, options), { minLength: 7, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
        randomEvents(base, { ...options, minLength: options.minEvents ?? 1, maxLength: options.maxEvents ?? 20 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
      )
      .map(([other, spine, picks, userPicks, bookPicks, stateMaps, stateless, events, owners]) => {
        // A spine of `spine` resellers in one line (chains of depth spine + 1 for the first end user), then others.
        const resellerParents = [...Array.from({ length: spine }, () => -2), ...picks].slice(0, 9);
        const userParents = spine > 0 ? [spine - 1, ...userPicks.slice(1)] : userPicks;
        const books = [base, markedDown(base), ...(other ? [other] : [])];
        // Parent of reseller i: -2 = the previous one (deep lines), -1 = the tenant, else an earlier reseller.
        const parents: number[] = [];
        const depth: number[] = [];
        resellerParents.forEach((pick, i) => {
          let parent = pick === -2 ? i - 1 : pick >= 0 && i > 0 ? pick % i : -1;
          if (parent >= 0 && depth[parent]! >= 7) parent = -1;
          parents.push(parent);
          depth.push(parent < 0 ? 1 : depth[parent]! + 1);
        });
        const users = userParents.map((pick) => (parents.length === 0 || pick < 0 ? -1 : pick % parents.length));
        const names = [...parents.map((_, i) => `r${i}`), ...users.map((_, i) => `u${i}`)];
        const bookOf = new Map(
          names.map((name, i) => {
            const pick = bookPicks[i]!;
            return [name, pick === 9 && other ? 2 : pick % 2];
          }),
        );
        const pool = stateMaps.flatMap((map) => [map.cus_a, map.cus_b]);
        const states: StateMap = {};
        names.forEach((name, i) => {
          if (!stateless[i]) states[name] = pool[i]!;
        });
        const chainOf = (user: number) => {
          const chain = [{ customer_id: `u${user}`, book: bookOf.get(`u${user}`)! }];
          for (let r = users[user]!; r >= 0; r = parents[r]!)
            chain.push({ customer_id: `r${r}`, book: bookOf.get(`r${r}`)! });
          return chain;
        };
        return {
          books,
          states,
          events: events.map((event, i) => {
            const user = owners[i % owners.length]! % users.length;
            return { event: { ...event, customer_id: `u${user}` }, chain: chainOf(user) };
          }),
        };
      }),
  );
}

/** The output as compared: everything but the free-text error messages, or the class of the rejection. */
function comparable(rate: () => { results: ChainRated[]; states: StateMap }): string {
  try {
    const output = rate();
    return JSON.stringify({
      results: output.results.map((chain) => ({
        ...chain,
        levels: chain.levels.map((level) =>
          level.error ? { ...level, error: { ...level.error, message: '' } } : level,
        ),
      })),
      states: output.states,
    });
  } catch (error) {
    return `rejected: ${(error as Error).message}`;
  }
}

/** Each level rated alone with `rate`, level after level; a chain some level refuses is dropped whole. */
function levelByLevel(scenario: ChainScenario): { results: RatedEvent[][]; states: StateMap } {
  let states = scenario.states;
  const results = scenario.events.map(({ event, chain }) => {
    let working = states;
    const levels: RatedEvent[] = [];
    for (const link of chain) {
      const output = kernel.rate(scenario.books[link.book]!, working, [{ ...event, customer_id: link.customer_id }]);
      levels.push(output.results[0]!);
      if (output.results[0]!.status === 'error') return levels;
      working = output.states;
    }
    states = working;
    return levels;
  });
  return { results, states };
}

/** States compared by value: keys sorted, decimals by their number ("0.5" = "0.500000000"), zero figures and empty states dropped. */
function byValue(states: StateMap): string {
  const canonical = (value: unknown): unknown => {
    if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return new Decimal(value).toFixed();
    if (Array.isArray(value)) return value.map(canonical);
    if (typeof value !== 'object' || value === null) return value;
    // An absent figure is 0 (a refused chain still writes its customers' commitment figures out in full).
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])])
        .filter(([, item]) => item !== '0'),
    );
  };
  return JSON.stringify(
    canonical(Object.fromEntries(Object.entries(states).filter(([, state]) => Object.keys(state).length > 0))),
  );
}

const nano = (text: string | undefined): bigint => (text === undefined ? 0n : BigInt(text.replace('.', '')));
/** The net of a rated level: its subtotal less the negotiated discount (before commitment and credits). */
const netOf = (result: RatedEvent): bigint =>
  nano(result.subtotal) - nano((result.receipt ?? []).find((step) => step.step === 'discount')?.amount as string);

interface Tally {
  accepted: number;
  refusedAbove0: number;
  deepAccepted: number;
  /** Chains of depth 8 rated whole. */
  depth8Accepted: number;
}

function checkScenario(scenario: ChainScenario, tally: Tally): void {
  const chained = kernel.rateChain(scenario.books, scenario.states, scenario.events);

  // (b) the decimal.js reference, refusals included.
  expect(comparable(() => chained)).toBe(
    comparable(() => rateChainReference(scenario.books, scenario.states, scenario.events)),
  );

  // (a) level by level with `rate`.
  const alone = levelByLevel(scenario);
  const sums = new Map<number, { net: bigint; amount: bigint; aloneNet: bigint; aloneAmount: bigint }>();
  chained.results.forEach((result, i) => {
    const levels = alone.results[i]!;
    expect(result.levels).toHaveLength(scenario.events[i]!.chain.length);
    if (result.refused_level === undefined) {
      tally.accepted++;
      if (result.levels.length >= 3) tally.deepAccepted++;
      if (result.levels.length === 8) tally.depth8Accepted++;
      expect(JSON.stringify(result.levels)).toBe(JSON.stringify(levels));
      result.levels.forEach((level, k) => {
        const sum = sums.get(k) ?? { net: 0n, amount: 0n, aloneNet: 0n, aloneAmount: 0n };
        sum.net += netOf(level);
        sum.amount += nano(level.amount);
        sum.aloneNet += netOf(levels[k]!);
        sum.aloneAmount += nano(levels[k]!.amount);
        sums.set(k, sum);
      });
    } else {
      if (result.refused_level > 0) tally.refusedAbove0++;
      // The levels below the refusing one rated alone; the refusing one fails alone exactly as in the chain.
      expect(levels).toHaveLength(result.refused_level + 1);
      expect(JSON.stringify(result.levels[result.refused_level])).toBe(JSON.stringify(levels.at(-1)));
      result.levels.forEach((level, k) => {
        if (k !== result.refused_level) expect(level.error?.code).toBe('chain_refused');
      });
    }
  });
  expect(byValue(chained.states)).toBe(byValue(alone.states));

  // (c) per level, the chain's totals are the level-alone totals.
  for (const sum of sums.values()) {
    expect(sum.net).toBe(sum.aloneNet);
    expect(sum.amount).toBe(sum.aloneAmount);
  }
}

describe('rateChain against level-by-level rate and the decimal.js reference', () => {
  it('agrees on random reseller trees of realistic books', () => {
    const tally: Tally = { accepted: 0, refusedAbove0: 0, deepAccepted: 0, depth8Accepted: 0 };
    fc.assert(
      fc.property(chainScenario({ scale: 'realistic', minEvents: 5, maxEvents: 25 }), (scenario) =>
        checkScenario(scenario, tally),
      ),
      { numRuns: 300, seed: 20261205, endOnFailure: true },
    );
    // Not vacuous: chains rated whole (three levels or more too) and chains refused above the end user.
    expect(tally.accepted).toBeGreaterThan(1000);
    expect(tally.deepAccepted).toBeGreaterThan(300);
    expect(tally.refusedAbove0).toBeGreaterThan(200);
    expect(tally.depth8Accepted).toBeGreaterThan(25);
  });

  it('agrees on overflow-scale values (errors included)', () => {
    const tally: Tally = { accepted: 0, refusedAbove0: 0, deepAccepted: 0, depth8Accepted: 0 };
    fc.assert(
      fc.property(chainScenario({ scale: 'overflow', minEvents: 3, maxEvents: 15 }), (scenario) =>
        checkScenario(scenario, tally),
      ),
      { numRuns: 100, seed: 7, endOnFailure: true },
    );
    expect(tally.refusedAbove0).toBeGreaterThan(0);
  });
});
