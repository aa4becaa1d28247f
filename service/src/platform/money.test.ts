// The one printed form of a percentage.
import { describe, expect, it } from 'vitest';
import { formatPercent } from './money.ts';

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
