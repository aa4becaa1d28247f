// Kernel.rateFigures (each event's amount and cost only, for simulations) gives what Kernel.rate gives for the same
// events, errors included, over random books, states and events at both scales.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toNano, type Kernel } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { randomScenario, type Scenario } from './reference/arbitraries.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

function agreeOn(runs: number, options: Parameters<typeof randomScenario>[0], seed: number) {
  const seen = { rated: 0, errors: 0 };
  fc.assert(
    fc.property(randomScenario(options), (scenario: Scenario) => {
      let full;
      try {
        full = kernel.rate(scenario.book, scenario.states, scenario.events).results;
      } catch (error) {
        // when rate refuses the call, so does rateFigures, with the same error
        expect(() => kernel.rateFigures(scenario.book, scenario.states, scenario.events)).toThrow(
          (error as Error).message,
        );
        return;
      }
      const figures = kernel.rateFigures(scenario.book, scenario.states, scenario.events);
      expect(figures).toHaveLength(full.length);
      full.forEach((result, i) => {
        if (result.status === 'rated') {
          seen.rated++;
          expect(figures[i]).toEqual({
            amount: toNano(result.amount!),
            cost: result.cost === undefined ? null : toNano(result.cost),
          });
        } else {
          seen.errors++;
          expect(figures[i]).toEqual({ error: result.error });
        }
      });
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  return seen;
}

describe('Kernel.rateFigures', () => {
  it("gives rate's amount and cost of every rated event and its error of every other", () => {
    const realistic = agreeOn(300, { scale: 'realistic', minEvents: 20, maxEvents: 60 }, 20261206);
    const overflow = agreeOn(200, { scale: 'overflow', minEvents: 5, maxEvents: 30 }, 7);
    // given: both kinds of outcome were exercised
    expect(realistic.rated).toBeGreaterThan(4_000);
    expect(realistic.errors + overflow.errors).toBeGreaterThan(100);
  });
});
