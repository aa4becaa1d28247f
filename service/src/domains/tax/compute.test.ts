import { Decimal as Base } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeInvoiceTax, mirrorCreditTax } from './compute.ts';
import type { Treatment } from './rules.ts';

// The reference: decimal.js with enough digits that an inclusive share (a repeating decimal) rounds as the exact value does.
const Decimal = Base.clone({ precision: 80 });

const amount = (minorUnit: number) =>
  fc.bigInt({ min: -(10n ** 8n), max: 10n ** 10n }).map((units) => units * 10n ** BigInt(9 - minorUnit));
const rate = fc.constantFrom('0.19', '0.255', '0.081', '0.09975', '0.05', '0.10', '0.18', '0');

const treatmentArbitrary = fc.record({
  components: fc
    .array(rate, { minLength: 0, maxLength: 2 })
    .map((rates) => rates.map((r, i) => ({ tax: `T${i}`, jurisdiction: 'XX', rate: r }))),
  rounding: fc.record({
    scope: fc.constantFrom('invoice' as const, 'line' as const),
    mode: fc.constantFrom('half_up' as const, 'down' as const),
    basis: fc.constant('test'),
  }),
});

describe('invoice tax', () => {
  it('total = subtotal + tax, the lines carry the tax exactly, and every component equals a decimal.js computation (per invoice or per line)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 2, 3),
        treatmentArbitrary,
        fc.boolean(),
        fc.context(),
        (minorUnit, treatment, inclusive, context) =>
          fc.assert(
            fc.property(fc.array(amount(minorUnit), { minLength: 1, maxLength: 12 }), (lines) => {
              const result = computeInvoiceTax(
                lines,
                treatment as Pick<Treatment, 'components' | 'rounding'>,
                minorUnit,
                inclusive,
              );
              const linesTotal = lines.reduce((a, b) => a + b, 0n);
              expect(result.linesTotal).toBe(linesTotal);
              expect(result.total).toBe(result.subtotal + result.tax);
              expect(result.total).toBe(inclusive ? linesTotal : linesTotal + result.tax);
              expect(result.lineTax.reduce((a, b) => a + b, 0n)).toBe(result.tax);
              const unit = 10n ** BigInt(9 - minorUnit);
              for (const t of [result.tax, ...result.lineTax]) expect(t % unit).toBe(0n);
              {
                const rates = treatment.components.reduce((s, c) => s.plus(c.rate), new Decimal(0));
                for (const c of result.components) {
                  const exact = new Decimal(linesTotal.toString())
                    .div(1e9)
                    .mul(c.rate)
                    .div(inclusive ? rates.plus(1) : 1);
                  const mode = treatment.rounding.mode === 'down' ? Decimal.ROUND_DOWN : Decimal.ROUND_HALF_UP;
                  const expected =
                    treatment.rounding.scope === 'invoice'
                      ? exact.toDecimalPlaces(minorUnit, mode)
                      : lines.reduce(
                          (sum, l) =>
                            sum.plus(
                              new Decimal(l.toString())
                                .div(1e9)
                                .mul(c.rate)
                                .div(inclusive ? rates.plus(1) : 1)
                                .toDecimalPlaces(minorUnit, mode),
                            ),
                          new Decimal(0),
                        );
                  context.log(`${exact} -> ${expected}`);
                  expect(c.amount).toBe(BigInt(expected.mul(1e9).toFixed(0)));
                }
              }
            }),
            { numRuns: 20 },
          ),
      ),
      { numRuns: 60 },
    );
  });

  it("credit notes mirror the invoice's tax share, and crediting everything returns all of it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 8n }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('0.19', '0.09975', '0.255'),
        fc.boolean(),
        (units, weights, rateText, inclusive) => {
          const unit = 10n ** 7n;
          const lines = units.map((u) => u * unit);
          const invoice = computeInvoiceTax(
            lines,
            {
              components: [{ tax: 'VAT', jurisdiction: 'XX', rate: rateText }],
              rounding: { scope: 'invoice', mode: 'half_up', basis: '' },
            },
            2,
            inclusive,
          );
          // Credit the invoice in parts proportional to `weights`, the last part being what is left.
          const totalWeight = weights.reduce((a, b) => a + b, 0);
          let creditedLines = 0n;
          let creditedTax = 0n;
          weights.forEach((w, i) => {
            const last = i === weights.length - 1;
            const part = last
              ? invoice.linesTotal - creditedLines
              : ((invoice.linesTotal * BigInt(w)) / BigInt(totalWeight) / unit) * unit;
            const note = mirrorCreditTax(
              { linesTotal: invoice.linesTotal, components: invoice.components },
              {
                lines: part,
                alreadyCreditedLines: creditedLines,
                alreadyCreditedTax: new Map([['VAT|XX', creditedTax]]),
              },
              2,
              inclusive,
            );
            expect(note.total).toBe(note.subtotal + note.tax);
            if (!last) {
              const share = new Decimal(invoice.tax.toString())
                .mul(part.toString())
                .div(invoice.linesTotal.toString())
                .div(unit.toString());
              expect(note.tax).toBe(BigInt(share.toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toFixed(0)) * unit);
            }
            creditedLines += part;
            creditedTax += note.tax;
          });
          expect(creditedLines).toBe(invoice.linesTotal);
          expect(creditedTax).toBe(invoice.tax);
        },
      ),
      { numRuns: 300 },
    );
  });
});
