// The wasm kernel and the decimal.js reference agree exactly (results, receipts and states, byte for byte)
// over random books, states and events: at least 100,000 events in all, realistic and overflow-scale.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Kernel, RateOutput } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { randomScenario, type Scenario } from './reference/arbitraries.ts';
import { rateReference } from './reference/rate.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

/** The output as compared: everything but the free-text error messages. */
export function comparable(rate: () => RateOutput): string {
  try {
    const output = rate();
    return JSON.stringify({
      results: output.results.map((result) =>
        result.error ? { ...result, error: { ...result.error, message: undefined } } : result,
      ),
      states: output.states,
    });
  } catch (error) {
    return `rejected: ${(error as Error).constructor.name}`;
  }
}

function agreeOn(runs: number, options: Parameters<typeof randomScenario>[0], seed: number): number {
  let events = 0;
  fc.assert(
    fc.property(randomScenario(options), (scenario: Scenario) => {
      events += scenario.events.length;
      const fromKernel = comparable(() => kernel.rate(scenario.book, scenario.states, scenario.events));
      const fromReference = comparable(() => rateReference(scenario.book, scenario.states, scenario.events));
      expect(fromKernel).toBe(fromReference);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  return events;
}

describe('kernel against the decimal.js reference', () => {
  it('agrees on 100,000+ events of realistic books', () => {
    const events = agreeOn(3_000, { scale: 'realistic', minEvents: 20, maxEvents: 60 }, 20261123);
    expect(events).toBeGreaterThanOrEqual(100_000);
  });

  it('agrees on overflow-scale values (errors included)', () => {
    const events = agreeOn(500, { scale: 'overflow', minEvents: 5, maxEvents: 30 }, 42);
    expect(events).toBeGreaterThan(5_000);
  });
});
