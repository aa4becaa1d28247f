import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertNano, derivedRateDigits, findRate, maxRateAgeDays, type StoredRate } from './convert.ts';

// An independent computation of the contract in convert.ts: decimal.js configured here, on decimal text.
const Reference = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });
const referenceConvert = (amountNano: bigint, rate: string) =>
  new Reference(amountNano.toString())
    .div(1e9)
    .times(rate)
    .toDecimalPlaces(9, Reference.ROUND_HALF_EVEN)
    .times(1e9)
    .toFixed(0);

const rate = (
  base: string,
  quote: string,
  value: string,
  asOf = '2026-03-31T00:00:00Z',
  source = 'ecb',
): StoredRate => ({ base, quote, rate: value, asOf: new Date(asOf), source });
const lookup = (rates: StoredRate[]) => (base: string, quote: string) =>
  rates.find((r) => r.base === base && r.quote === quote);
const at = new Date('2026-03-31T12:00:00Z');

const rateText = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 12 }))
  .map(([digits, scale]) => new Reference(digits.toString()).div(new Reference(10).pow(scale)).toFixed());
const amount = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n });

describe('convertNano: amount x rate, rounded half-even once to the nano-unit', () => {
  it('equals an independent decimal.js computation on random amounts and rates', () => {
    fc.assert(
      fc.property(amount, rateText, (value, r) => {
        expect(convertNano(value, r).toString()).toBe(referenceConvert(value, r));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    // given amount (nano), rate -> then nano, half-even at the nano-unit
    [1_000_000_000n, '0.9234', 923_400_000n],
    [1n, '0.5', 0n],
    [3n, '0.5', 2n],
    [-3n, '0.5', -2n],
    [5n, '0.1', 0n],
    [15n, '0.1', 2n],
    [123_456_789_012n, '157.83', 19_485_185_009_764n],
  ])('converts %s nano at %s to %s', (value, r, expected) => {
    expect(convertNano(value, r)).toBe(expected);
  });
});

describe('findRate: direct, inverse, crossed through EUR, not too old', () => {
  it('uses a supplied pair as it is', () => {
    const found = findRate('USD', 'EUR', at, 'period_end', lookup([rate('USD', 'EUR', '0.9234')]));
    expect(found).toMatchObject({
      ok: true,
      conversion: {
        from: 'USD',
        to: 'EUR',
        rate: '0.9234',
        source: 'ecb',
        as_of: '2026-03-31T00:00:00.000Z',
        policy: 'period_end',
        method: 'direct',
      },
    });
  });

  it('inverts the ECB quote, rounded half-even to 15 significant digits', () => {
    const found = findRate('USD', 'EUR', at, 'period_end', lookup([rate('EUR', 'USD', '1.0834')]));
    expect(found.ok && found.conversion).toMatchObject({
      method: 'inverse',
      rate: new Reference(1).div('1.0834').toSignificantDigits(derivedRateDigits, Reference.ROUND_HALF_EVEN).toFixed(),
    });
  });

  it('crosses two EUR-based rates: rate(A->B) = rate(EUR->B) / rate(EUR->A)', () => {
    fc.assert(
      fc.property(rateText, rateText, (usd, jpy) => {
        const found = findRate(
          'USD',
          'JPY',
          at,
          'finalization',
          lookup([rate('EUR', 'USD', usd), rate('EUR', 'JPY', jpy, '2026-03-30T00:00:00Z')]),
        );
        const expected = new Reference(jpy)
          .div(usd)
          .toSignificantDigits(derivedRateDigits, Reference.ROUND_HALF_EVEN)
          .toFixed();
        expect(found.ok && found.conversion).toMatchObject({
          method: 'cross_eur',
          rate: expected,
          as_of: '2026-03-30T00:00:00.000Z',
        });
        expect(found.ok && found.conversion.legs.map((l) => `${l.base}/${l.quote}`)).toEqual(['EUR/USD', 'EUR/JPY']);
      }),
      { numRuns: 300 },
    );
  });

  it('has no rate when the pair is not known, or only from after the instant, or older than the limit', () => {
    expect(findRate('USD', 'EUR', at, 'period_end', lookup([]))).toEqual({ ok: false, from: 'USD', to: 'EUR', at });
    expect(
      findRate('USD', 'EUR', at, 'period_end', lookup([rate('EUR', 'USD', '1.08', '2026-04-01T00:00:00Z')])).ok,
    ).toBe(false);
    const old = new Date(at.getTime() - (maxRateAgeDays + 1) * 86_400_000).toISOString();
    expect(findRate('USD', 'EUR', at, 'period_end', lookup([rate('EUR', 'USD', '1.08', old)])).ok).toBe(false);
    expect(findRate('USD', 'JPY', at, 'period_end', lookup([rate('EUR', 'USD', '1.08')])).ok).toBe(false);
  });
});
