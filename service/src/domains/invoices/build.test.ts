import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInvoice, roundLines, type InvoiceInput } from './build.ts';

const cents = 2;

describe('invoice rounding', () => {
  it.each([
    // given exact nano amounts -> then rounded lines (nano) and total
    // Equal remainders: the missing cent goes to the earlier line.
    [
      [1_004_000_000n, 2_004_000_000n, 3_004_000_000n],
      [1_010_000_000n, 2_000_000_000n, 3_000_000_000n],
      6_010_000_000n,
    ],
    [
      [1_004_000_000n, 2_004_000_000n, 3_006_000_000n],
      [1_000_000_000n, 2_000_000_000n, 3_010_000_000n],
      6_010_000_000n,
    ],
    [[5_000_000n, 5_000_000n], [10_000_000n, 0n], 10_000_000n],
    [[15_000_000n], [20_000_000n], 20_000_000n],
    [[25_000_000n], [20_000_000n], 20_000_000n],
    [[100_000_000_000n, -33_333_333_333n], [100_000_000_000n, -33_330_000_000n], 66_670_000_000n],
    [[0n, 1n], [0n, 0n], 0n],
  ])('given %o, lines round to %o with total %s', (exact, amounts, total) => {
    expect(roundLines(exact, cents)).toEqual({ amounts, total });
  });

  it('keeps every line within one minor unit, adds up to the total, and the total is the exact sum rounded half-even', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), { maxLength: 30 }),
        fc.constantFrom(0, 2, 3, 4),
        (exact, minor) => {
          const unit = 10n ** BigInt(9 - minor);
          const { amounts, total } = roundLines(exact, minor);
          expect(amounts.reduce((a, b) => a + b, 0n)).toBe(total);
          const sum = exact.reduce((a, b) => a + b, 0n);
          const floor = sum >= 0n ? sum / unit : -((-sum + unit - 1n) / unit);
          const rest = sum - floor * unit;
          expect(total / unit).toBe(rest * 2n > unit || (rest * 2n === unit && floor % 2n !== 0n) ? floor + 1n : floor);
          amounts.forEach((a, i) => {
            expect(a % unit).toBe(0n);
            const diff = a - exact[i];
            expect(diff > -unit && diff < unit).toBe(true);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('invoice lines', () => {
  const period = { start: new Date('2026-03-15T12:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };
  const input: InvoiceInput = {
    currency: 'USD',
    minorUnit: 2,
    period,
    plan: {
      code: 'hybrid',
      name: 'Hybrid',
      baseFee: 100_000_000_000n,
      minimumSpend: 50_000_000_000n,
      cadence: { interval: 'month', anchorDay: 1 },
    },
    usage: [
      {
        card: 'llm/tokens',
        charge: 0,
        dimension: 'tokens',
        model: 'per_unit',
        rate: '0.020000000',
        per: '1000.000000',
        group: { model: 'a' },
        quantity: '100000.000000',
        amount: '2.000000000',
        events: 3n,
      },
    ],
    steps: [
      {
        step: 'allowance',
        pool: 'tokens',
        grantId: null,
        mode: null,
        percent: null,
        covered: '1000000.000000',
        amount: '0',
        events: 2n,
      },
      {
        step: 'credit',
        pool: null,
        grantId: 'g1',
        mode: null,
        percent: null,
        covered: '0',
        amount: '0.500000000',
        events: 1n,
      },
    ],
    grants: new Map([['g1', { kind: 'goodwill', name: null, reason: 'outage' }]]),
    ratedAmount: 1_500_000_000n,
  };

  it('given a partial period: prorated base fee and minimum, usage, allowance, credit and true-up lines that add up', () => {
    const result = buildInvoice(input);
    if (!result.ok) throw new Error(result.error);
    expect(result.lines.map((l) => [l.kind, l.amountExact, l.amount])).toEqual([
      ['base_fee', 53_225_806_452n, 53_230_000_000n],
      ['usage', 2_000_000_000n, 2_000_000_000n],
      ['allowance', 0n, 0n],
      ['credit', -500_000_000n, -500_000_000n],
      // Minimum $50 x 1,425,600 / 2,678,400 = 26.612903226, less $2 of usage.
      ['minimum_true_up', 24_612_903_226n, 24_610_000_000n],
    ]);
    expect(result.lines[0].description).toBe('Hybrid base fee (prorated: 1425600 of 2678400 seconds)');
    expect(result.lines[3].description).toBe('Credit applied: goodwill credit (outage)');
    expect(result.total).toBe(79_340_000_000n);
    expect(result.totalExact).toBe(79_338_709_678n);
  });

  it('given receipts that do not add up, refuses to build', () => {
    expect(buildInvoice({ ...input, ratedAmount: 1n })).toEqual({
      ok: false,
      error: 'usage lines net 1.500000000 but the receipts bill 0.000000001',
    });
  });
});
