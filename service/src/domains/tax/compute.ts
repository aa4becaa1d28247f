// Pure: an invoice's tax from its rounded lines and its treatment, exact and rounded by the jurisdiction's rule to
// the currency's minor unit. Rates are decimal fractions, so an invoice's tax is an exact rational computed in bigint
// (the close's hot path: decimal.js costs ten times as much per invoice); decimal.js computes the credit notes'
// mirrored shares, and compute.test.ts checks the bigint path against decimal.js on random invoices. The invoice's subtotal (net) plus its tax is its total,
// whether its prices exclude tax (tax added on top) or include it (tax extracted from the lines).
import { Decimal } from 'decimal.js';
import { largestRemainder } from '../../platform/money.ts';
import type { RoundingRule, TaxComponent, Treatment } from './rules.ts';

/** Enough digits for any bigint nano amount times a rate with 5 decimals, and exact division by 1 + rates. */
const Exact = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
const nanoPerUnit = new Exact(1_000_000_000);

export interface ComponentTax extends TaxComponent {
  /** What the rate applies to (net of tax), rounded amounts in nano-units. */
  taxable: bigint;
  amount: bigint;
  /** The unrounded tax, in nano-units rounded half-up (for the record; the amount is what is owed). */
  amountExact: bigint;
}

export interface InvoiceTax {
  /** The lines' amounts summed, as priced (gross when prices include tax). */
  linesTotal: bigint;
  /** Net of tax: linesTotal, or linesTotal less the tax it includes. */
  subtotal: bigint;
  tax: bigint;
  /** subtotal + tax. */
  total: bigint;
  components: ComponentTax[];
  /** Each line's share of the tax (all components), adding up to `tax`. */
  lineTax: bigint[];
}

const toDecimal = (nano: bigint) => new Exact(nano.toString()).div(nanoPerUnit);
const toNanoUnits = (value: Decimal) =>
  BigInt(value.mul(nanoPerUnit).toDecimalPlaces(0, Exact.ROUND_HALF_UP).toFixed(0));

/** The one tax rounding stage: to the currency's minor unit, half away from zero or truncated toward zero. */
export function roundTax(exact: Decimal, minorUnit: number, mode: RoundingRule['mode']): bigint {
  return toNanoUnits(exact.toDecimalPlaces(minorUnit, mode === 'down' ? Exact.ROUND_DOWN : Exact.ROUND_HALF_UP));
}

/**
 * The same rounding stage for an exact rational (numerator / denominator nano-units, denominator > 0): the
 * invoice path's form, as rates are decimal fractions; compute.test.ts checks it against decimal.js.
 */
function roundRational(numerator: bigint, denominator: bigint, unit: bigint, mode: RoundingRule['mode']): bigint {
  const scale = denominator * unit;
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  let units = magnitude / scale;
  if (mode === 'half_up' && (magnitude % scale) * 2n >= scale) units += 1n;
  return (negative ? -units : units) * unit;
}

/** A decimal rate ("0.09975") as an exact fraction over a power of ten. */
function fractionOf(rate: string): { numerator: bigint; denominator: bigint } {
  const [whole, fraction = ''] = rate.split('.');
  return { numerator: BigInt(whole + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/**
 * The tax of an invoice whose lines (rounded to the minor unit, nano-units) all carry the treatment's components.
 * Per-invoice rounding: each component's tax is its rate times the lines' sum, rounded once. Per-line
 * rounding: each line's tax is rounded and the lines' taxes summed. With prices including tax, each component's
 * share is extracted from the gross amount: gross x rate / (1 + sum of the rates). Each line's share of an
 * invoice-rounded tax is allocated exactly in bigint (its rate is a decimal fraction, so the share is rational).
 */
export function computeInvoiceTax(
  lines: bigint[],
  treatment: Pick<Treatment, 'components' | 'rounding'>,
  minorUnit: number,
  pricesIncludeTax: boolean,
): InvoiceTax {
  const linesTotal = lines.reduce((a, b) => a + b, 0n);
  const unit = 10n ** BigInt(9 - minorUnit);
  // Every rate over one power of ten, so the inclusive divisor (1 + rates) is exact too.
  const fractions = treatment.components.map((c) => fractionOf(c.rate));
  const common = fractions.reduce((max, f) => (f.denominator > max ? f.denominator : max), 1n);
  const numerators = fractions.map((f) => f.numerator * (common / f.denominator));
  const denominator = pricesIncludeTax ? common + numerators.reduce((a, b) => a + b, 0n) : common;
  const lineTax = lines.map(() => 0n);
  const components: ComponentTax[] = treatment.components.map((component, c) => {
    const numerator = numerators[c];
    let shares: bigint[];
    let amount: bigint;
    if (treatment.rounding.scope === 'line') {
      shares = lines.map((l) => roundRational(l * numerator, denominator, unit, treatment.rounding.mode));
      amount = shares.reduce((a, b) => a + b, 0n);
    } else {
      amount = roundRational(linesTotal * numerator, denominator, unit, treatment.rounding.mode);
      // Each line's share of the rounded tax: its exact share (line x numerator / denominator) by the largest remainder.
      shares = largestRemainder(
        amount / unit,
        lines.map((l) => l * numerator),
        denominator * unit,
      ).map((u) => u * unit);
    }
    shares.forEach((share, i) => (lineTax[i] += share));
    return {
      ...component,
      taxable: 0n,
      amount,
      amountExact: roundRational(linesTotal * numerator, denominator, 1n, 'half_up'),
    };
  });
  const tax = components.reduce((sum, c) => sum + c.amount, 0n);
  const subtotal = pricesIncludeTax ? linesTotal - tax : linesTotal;
  for (const c of components) c.taxable = subtotal;
  return { linesTotal, subtotal, tax, total: subtotal + tax, components, lineTax };
}

/**
 * A credit note's tax, mirroring the invoice's: each component's share is the invoice's component tax times the
 * credited share of the invoice's lines, rounded half away from zero to the minor unit; a credit of everything
 * the invoice has left gets exactly the tax left, so an invoice fully credited has all its tax returned.
 */
export function mirrorCreditTax(
  invoice: { linesTotal: bigint; components: { tax: string; jurisdiction: string; rate: string; amount: bigint }[] },
  credited: { lines: bigint; alreadyCreditedLines: bigint; alreadyCreditedTax: Map<string, bigint> },
  minorUnit: number,
  pricesIncludeTax: boolean,
): {
  components: { tax: string; jurisdiction: string; rate: string; amount: bigint }[];
  tax: bigint;
  subtotal: bigint;
  total: bigint;
} {
  const final = credited.lines + credited.alreadyCreditedLines === invoice.linesTotal;
  const components = invoice.components.map((c) => {
    const key = `${c.tax}|${c.jurisdiction}`;
    const amount = final
      ? c.amount - (credited.alreadyCreditedTax.get(key) ?? 0n)
      : invoice.linesTotal === 0n
        ? 0n
        : roundTax(
            toDecimal(c.amount).mul(toDecimal(credited.lines)).div(toDecimal(invoice.linesTotal)),
            minorUnit,
            'half_up',
          );
    return { tax: c.tax, jurisdiction: c.jurisdiction, rate: c.rate, amount };
  });
  const tax = components.reduce((sum, c) => sum + c.amount, 0n);
  const subtotal = pricesIncludeTax ? credited.lines - tax : credited.lines;
  return { components, tax, subtotal, total: subtotal + tax };
}

export function componentKey(c: { tax: string; jurisdiction: string }): string {
  return `${c.tax}|${c.jurisdiction}`;
}
