import { describe, expect, it } from 'vitest';
import { I64_MAX, I64_MIN, NANO_DIGITS, formatMoney, parseScaled, toNano } from './decimal.ts';

describe('toNano', () => {
  // given amounts as formatMoney writes them (toNano's short path) and in other decimal forms (parseScaled's)
  const amounts = [
    '12.500000000',
    '-0.000000001',
    '0.000000000',
    '-0.000000000',
    '007.000000001',
    '9223372036.854775807',
    '-9223372036.854775808',
    '-12.5',
    '0.1',
    '3',
    '+1.000000000',
    '1e-9',
    ' 2.000000000',
  ];
  it.each(amounts)('reads %s as parseScaled does', (amount) => {
    // when read both ways, then the same nano-units
    const parsed = parseScaled(amount, NANO_DIGITS, { allowNegative: true });
    expect(parsed.ok).toBe(true);
    expect(toNano(amount)).toBe((parsed as { value: bigint }).value);
  });

  it('gives back what formatMoney wrote, at the ends of the 64-bit range too', () => {
    for (const nano of [0n, 1n, -1n, 999_999_999n, -1_000_000_000n, 123_456_789_012n, I64_MAX, I64_MIN])
      expect(toNano(formatMoney(nano))).toBe(nano);
  });

  it('throws on amounts outside 64 bits or not decimals, in formatMoney form or not', () => {
    for (const amount of ['9223372036.854775808', '-9223372036.854775809', '1.0000000001', 'abc', '1.00000000x'])
      expect(() => toNano(amount)).toThrow(/not a money amount/);
  });
});
