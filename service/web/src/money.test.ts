import { describe, expect, it } from 'vitest';
import { toMinorUnit } from './money.ts';

describe('toMinorUnit', () => {
  it.each([
    ['9.950000000', 2, '9.95'],
    ['115.000000000', 2, '115.00'],
    ['-0.010000000', 2, '-0.01'],
    ['1500.000000000', 0, '1500'],
    ['1.234000000', 3, '1.234'],
    ['12', 2, '12.00'],
    ['12.5', 2, '12.50'],
    // Digits beyond 2^53 stay exact: nothing goes through a float.
    ['90071992547409931.230000000', 2, '90071992547409931.23'],
  ])('given %s with minor unit %i, shows %s', (amount, minorUnit, shown) => {
    expect(toMinorUnit(amount, minorUnit)).toBe(shown);
  });

  it('shows a figure finer than the minor unit whole instead of rounding it', () => {
    expect(toMinorUnit('9.954999999', 2)).toBe('9.954999999');
    expect(toMinorUnit('not money', 2)).toBe('not money');
  });
});
