// Amounts on the wire: what is wrong with a refused one is said plainly, never "must be a decimal string".
import { describe, expect, it } from 'vitest';
import { createPlanInput } from './plans.ts';
import { moneyAmount } from './money.ts';

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
    [
      '1e3',
      'must be a decimal number such as "500" or "12.50" (digits, an optional point, no sign, exponent or separators)',
    ],
    [5, 'must be a string such as "12.50": amounts are decimal strings, never JSON numbers'],
    [undefined, 'is required'],
  ])('given %j, answers %s', (value, expected) => {
    expect(reason(value)).toBe(expected);
  });
});

describe('progressive thresholds', () => {
  it("are refused with the element's own reason when one of them is not an amount, and when they do not ascend", () => {
    const plan = { code: 'pro', name: 'Pro', price_book: 'book', interval: 'month' };
    const parsed = createPlanInput.safeParse({ ...plan, progressive_thresholds: ['10', 'ten'] });
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['progressive_thresholds.1', expect.stringMatching(/must be a decimal number/)],
    ]);
    expect(
      createPlanInput.safeParse({ ...plan, progressive_thresholds: ['10', '5'] }).error?.issues.map((i) => i.message),
    ).toEqual(['must be strictly ascending']);
    expect(createPlanInput.safeParse({ ...plan, progressive_thresholds: ['5', '10'] }).success).toBe(true);
  });
});
