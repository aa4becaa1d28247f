import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conversion } from '../currency/convert.ts';
import { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
import { buildInvoice, type DraftLine } from './build.ts';
import { conversionInstant, convertLines } from './fx.ts';

const Reference = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });
const conversion = (from: string, to: string, rate: string): Conversion => ({
  from,
  to,
  rate,
  source: 'ecb',
  as_of: '2026-03-31T00:00:00.000Z',
  policy: 'period_end',
  at: '2026-04-01T00:00:00.000Z',
  method: 'direct',
  legs: [],
});

/** A USD invoice (built as any): $100 base fee, 750,000 tokens at $0.02 per 1,000, a $0.5 credit. */
function usdInvoice(): DraftLine[] {
  const built = buildInvoice({
    currency: 'USD',
    minorUnit: 2,
    period: { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') },
    plan: {
      code: 'p',
      name: 'Pro',
      baseFee: 100_000_000_000n,
      minimumSpend: null,
      cadence: { interval: 'month', anchorDay: 1 },
    },
    usage: [
      {
        card: 'llm',
        charge: 0,
        dimension: 'tokens',
        model: 'per_unit',
        rate: '0.020000000',
        per: '1000.000000',
        group: {},
        quantity: '750000.000000',
        amount: '15.000000000',
        events: 3n,
      },
    ],
    steps: [
      {
        step: 'credit',
        pool: null,
        grantId: 'g',
        mode: null,
        percent: null,
        covered: '0',
        amount: '0.500000000',
        events: 1n,
      },
    ],
    grants: new Map([['g', { kind: 'promotional', name: null, reason: null }]]),
    ratedAmount: 14_500_000_000n,
  });
  if (!built.ok) throw new Error(built.error);
  return built.lines;
}

describe('an invoice converted into its billing currency, exact to the minor unit', () => {
  it.each([
    // given the USD lines [100, 15, -0.5] and a rate -> then the lines and total in the billing currency
    // Lines floor to the minor unit, the total is the exact sum rounded half-even, and the units missing go to the
    // largest remainders (build.ts roundLines).
    // JPY (0 decimals) at 157.8312: floors 15783, 2367, -79 (sum 18071); total 18071.6724 -> 18072; +1 to 2367.468.
    [
      'JPY',
      '157.8312',
      ['15783.120000000', '2367.468000000', '-78.915600000'],
      ['15783.000000000', '2368.000000000', '-79.000000000'],
      '18072.000000000',
    ],
    // KWD (3 decimals) at 0.30752: floors 30.752, 4.612, -0.154 (sum 35.210); total 35.21104 -> 35.211; +0.001 to 4.6128.
    [
      'KWD',
      '0.30752',
      ['30.752000000', '4.612800000', '-0.153760000'],
      ['30.752000000', '4.613000000', '-0.154000000'],
      '35.211000000',
    ],
    // USD (2 decimals) at 1.0834: floors 108.34, 16.25, -0.55 (sum 124.04); total 124.0493 -> 124.05; +0.01 to -0.5417.
    [
      'USD',
      '1.0834',
      ['108.340000000', '16.251000000', '-0.541700000'],
      ['108.340000000', '16.250000000', '-0.540000000'],
      '124.050000000',
    ],
  ])('in %s at %s', (currency, rate, exact, amounts, total) => {
    const converted = convertLines(usdInvoice(), conversion('USD', currency, rate), minorUnitOf(currency)!);
    const money = (n: bigint) => new Reference(n.toString()).div(1e9).toFixed(9);
    expect(converted.lines.map((l) => money(l.amountExact))).toEqual(exact);
    expect(converted.lines.map((l) => money(l.amount))).toEqual(amounts);
    expect(money(converted.total)).toBe(total);
    // The unit price converts too ($0.02 x rate, to the nano-unit), the source amounts stay in the line's details.
    expect(converted.lines[1]).toMatchObject({
      unitPrice: BigInt(
        new Reference('0.02').times(rate).times(1e9).toDecimalPlaces(0, Reference.ROUND_HALF_EVEN).toFixed(),
      ),
      details: { fx: { currency: 'USD', amount_exact: '15.000000000', unit_price: '0.020000000', rate } },
    });
  });

  it('every line is the exact amount x rate rounded once to the nano-unit; lines add up to the total, which is their sum rounded half-even', () => {
    const line = fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n });
    const rate = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.integer({ min: 0, max: 10 }))
      .map(([d, s]) => new Reference(d.toString()).div(new Reference(10).pow(s)).toFixed());
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 12 }),
        rate,
        fc.constantFrom('JPY', 'USD', 'KWD', 'CLF'),
        (exact, r, currency) => {
          const minor = minorUnitOf(currency)!;
          const lines: DraftLine[] = exact.map((amountExact) => ({
            kind: 'usage',
            description: 'x',
            card: null,
            dimension: null,
            group: null,
            quantity: null,
            unitPrice: null,
            per: null,
            amountExact,
            amount: 0n,
            grantId: null,
            eventCount: null,
            details: null,
          }));
          const converted = convertLines(lines, conversion('USD', currency, r), minor);
          const unit = new Reference(10).pow(9 - minor);
          converted.lines.forEach((l, i) => {
            expect(l.amountExact.toString()).toBe(
              new Reference(exact[i].toString()).times(r).toDecimalPlaces(0, Reference.ROUND_HALF_EVEN).toFixed(),
            );
            expect(new Reference(l.amount.toString()).mod(unit).isZero()).toBe(true);
          });
          expect(converted.lines.reduce((sum, l) => sum + l.amount, 0n)).toBe(converted.total);
          const sum = converted.lines.reduce((s, l) => s + l.amountExact, 0n);
          expect(converted.total.toString()).toBe(
            new Reference(sum.toString()).div(unit).toDecimalPlaces(0, Reference.ROUND_HALF_EVEN).times(unit).toFixed(),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves the deduction of an earlier threshold invoice as issued, in the billing currency', () => {
    const lines: DraftLine[] = [
      {
        kind: 'usage',
        description: 'x',
        card: null,
        dimension: null,
        group: null,
        quantity: null,
        unitPrice: null,
        per: null,
        amountExact: 10_000_000_000n,
        amount: 0n,
        grantId: null,
        eventCount: null,
        details: null,
      },
      {
        kind: 'progressive_billing',
        description: 'y',
        card: null,
        dimension: null,
        group: null,
        quantity: null,
        unitPrice: null,
        per: null,
        amountExact: -9_000_000_000n,
        amount: 0n,
        grantId: null,
        eventCount: null,
        details: null,
      },
    ];
    const converted = convertLines(lines, conversion('USD', 'EUR', '0.9'), 2);
    expect(converted.lines.map((l) => l.amountExact)).toEqual([9_000_000_000n, -9_000_000_000n]);
    expect(converted.total).toBe(0n);
  });
});

describe('conversionInstant: the instant whose rate converts an invoice', () => {
  const period = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };
  const now = new Date('2026-04-03T09:30:00Z');
  it.each([
    ['period_end', period.end],
    ['finalization', now],
  ] as const)('under %s: %s', (policy, expected) => {
    expect(conversionInstant(policy, period, now)).toEqual(expected);
  });
});
