import { describe, expect, it } from 'vitest';
import { currencyCode, isoPublishDate, listCurrencies, minorUnitOf } from './iso4217.ts';

describe('ISO 4217 minor units', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['USD', 2],
    ['EUR', 2],
    ['IDR', 2],
    ['KWD', 3],
    ['BHD', 3],
    ['TND', 3],
    ['CLF', 4],
    ['XCG', 2],
  ])('%s has %d decimals', (code, digits) => {
    expect(minorUnitOf(code)).toBe(digits);
  });

  it('has no minor unit for unknown codes and for codes ISO gives none (metals, funds, testing)', () => {
    for (const code of ['ZZZ', 'usd', 'XAU', 'XDR', 'XTS', 'XXX', '']) expect(minorUnitOf(code)).toBeUndefined();
  });

  it('covers list one of the dated ISO data', () => {
    expect(isoPublishDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(listCurrencies().length).toBeGreaterThan(150);
  });

  it('validates a currency field: unknown codes are refused with a reason', () => {
    expect(currencyCode.safeParse('KWD').success).toBe(true);
    expect(currencyCode.safeParse('ABC').error?.issues[0].message).toBe(
      'is not an active ISO 4217 currency with a minor unit',
    );
    expect(currencyCode.safeParse('usd').error?.issues[0].message).toBe(
      'must be an ISO 4217 code in capitals, e.g. USD',
    );
  });
});
