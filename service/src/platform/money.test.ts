// The largest-remainder rule and the printed percentage.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateProRata, formatPercent, largestRemainder } from './money.ts';

describe('formatPercent', () => {
  it.each([
    ['12.5', '12.5000000'],
    ['0', '0.0000000'],
    ['100', '100.0000000'],
    ['0.0000001', '0.0000001'],
    ['12.5000000', '12.5000000'],
  ])('prints %s as %s (7 decimals, as stored and as the kernel prints it)', (value, printed) => {
    expect(formatPercent(value)).toBe(printed);
  });
});

const cent = 10_000_000n;

describe('largestRemainder', () => {
  it.each([
    // given units, numerators, denominator -> then parts
    [10n, [1n, 1n, 1n], 3n, [4n, 3n, 3n]],
    // Floors toward minus infinity: -1/2 is -1 with remainder 1/2, so it is first in line for the missing unit.
    [1n, [-1n, 3n], 2n, [0n, 1n]],
    // More units missing than parts: round after round, in the same order.
    [7n, [1n, 0n], 1n, [4n, 3n]],
    // Units in excess are taken back, largest remainders first.
    [0n, [3n, 3n], 2n, [0n, 0n]],
  ])('given %s units over %o / %s, the parts are %o', (units, numerators, denominator, parts) => {
    expect(largestRemainder(units, numerators, denominator)).toEqual(parts);
  });
  it('orders the parts by remainder, ties by position, alike for a few parts (sorted by insertion) and many', () => {
    // The rule as written: floors, then the missing units one each in that order, round after round.
    const reference = (units: bigint, numerators: bigint[], denominator: bigint) => {
      const floors = numerators.map((n) => n / denominator - (n % denominator < 0n ? 1n : 0n));
      const rests = numerators.map((n, i) => n - floors[i] * denominator);
      const order = floors
        .map((_, i) => i)
        .sort((a, b) => (rests[b] > rests[a] ? 1 : rests[b] < rests[a] ? -1 : a - b));
      let missing = units - floors.reduce((a, b) => a + b, 0n);
      for (let k = 0; missing !== 0n; k++) {
        floors[order[k % order.length]] += missing > 0n ? 1n : -1n;
        missing += missing > 0n ? -1n : 1n;
      }
      return floors;
    };
    fc.assert(
      fc.property(
        fc.bigInt({ min: -50n, max: 50n }),
        // Numerators from a few values, so that many remainders tie; up to 40 parts, past the insertion sort's 16.
        fc.array(fc.bigInt({ min: -7n, max: 7n }), { minLength: 1, maxLength: 40 }),
        fc.bigInt({ min: 1n, max: 4n }),
        (units, numerators, denominator) => {
          expect(largestRemainder(units, numerators, denominator)).toEqual(reference(units, numerators, denominator));
        },
      ),
    );
  });
});

describe('allocateProRata: a credit spread over invoice lines', () => {
  it.each([
    // given amount, weights -> then shares (nano)
    [100n * cent, [300n * cent, 100n * cent], [75n * cent, 25n * cent]],
    // Everything left: each line's own amount, negative credit lines included.
    [300n * cent, [100n * cent, 700n * cent, -500n * cent], [100n * cent, 700n * cent, -500n * cent]],
    // 1 cent over three equal lines: the earliest gets it.
    [cent, [cent, cent, cent], [cent, 0n, 0n]],
    [10n * cent, [0n, 3n * cent, 0n, 7n * cent], [0n, 3n * cent, 0n, 7n * cent]],
  ])('given %s over %o, the shares are %o', (amount, weights, shares) => {
    expect(allocateProRata(amount, weights, cent)).toEqual(shares);
  });

  it('adds up to the amount, in whole minor units, each share within one unit of its exact proportion', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -1000n, max: 100_000n }), { minLength: 1, maxLength: 20 }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        (units, pick) => {
          const weights = units.map((u) => u * cent);
          const total = weights.reduce((a, b) => a + b, 0n);
          fc.pre(total > 0n);
          const amount = ((pick % (total / cent)) + 1n) * cent;
          const shares = allocateProRata(amount, weights, cent);
          expect(shares.reduce((a, b) => a + b, 0n)).toBe(amount);
          shares.forEach((s, i) => {
            expect(s % cent).toBe(0n);
            // |s - amount * w / total| < 1 unit, in exact rationals: |s * total - amount * w| < unit * total.
            const diff = s * total - amount * weights[i];
            expect(diff < cent * total && diff > -cent * total).toBe(true);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
