// Amounts on the wire: what is wrong with a refused one is said plainly, never "must be a decimal string".
import { describe, expect, it } from 'vitest';
import { formatPercent, moneyAmount } from './money.ts';

const reason = (value: unknown): string => {
  const parsed = moneyAmount.safeParse(value);
  return parsed.success ? `ok ${parsed.data}` : parsed.error.issues.map((i) => i.message).join('; ');
};

describe('moneyAmount', () => {
  it.each([
    ['12.50', 'ok 12.50'],
    ['0.000000001', 'ok 0.000000001'],
    ['-5', 'must not be negative'],
    ['-0.10', 'must not be negative'],
    ['1.0000000001', 'has more than 9 decimal places'],
    ['99999999999999999999', 'is too large'],
    ['9999999999.999999999', 'is too large'],
    [' 5', 'must not have spaces around it'],
    ['.5', 'must have digits on both sides of the point, e.g. "0.50"'],
    ['1e3', 'must be a decimal number such as "500" or "12.50" (digits, an optional point, no sign, exponent or separators)'],
    [5, 'must be a string such as "12.50": amounts are decimal strings, never JSON numbers'],
    [undefined, 'is required'],
  ])('given %j, answers %s', (value, expected) => {
    expect(reason(value)).toBe(expected);
  });
});

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
