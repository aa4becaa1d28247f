// Pure: an invoice's tax from its rounded lines and its treatment, exact with decimal.js and rounded by the
// jurisdiction's rule to the currency's minor unit. The invoice's subtotal (net) plus its tax is its total,
// whether its prices exclude tax (tax added on top) or include it (tax extracted from the lines).
import { Decimal } from 'decimal.js';
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
const toNanoUnits = (value: Decimal) => BigInt(value.mul(nanoPerUnit).toDecimalPlaces(0, Exact.ROUND_HALF_UP).toFixed(0));

/** The one tax rounding stage: to the currency's minor unit, half away from zero or truncated toward zero. */
export function roundTax(exact: Decimal, minorUnit: number, mode: RoundingRule['mode']): bigint {
  return toNanoUnits(exact.toDecimalPlaces(minorUnit, mode === 'down' ? Exact.ROUND_DOWN : Exact.ROUND_HALF_UP));
}

/**
 * Splits a rounded total over lines in proportion to their exact shares: each line gets its exact share rounded
 * toward minus infinity to the minor unit, and the units still missing go one each to the largest remainders
 * (ties: the earlier line), so the shares add up to the total.
 */
function spread(total: bigint, exactShares: Decimal[], unit: bigint): bigint[] {
  const unitDecimal = toDecimal(unit);
  const floors = exactShares.map((share) => BigInt(share.div(unitDecimal).floor().toFixed(0)) * unit);
  const remainders = exactShares.map((share, i) => share.minus(toDecimal(floors[i])));
  let missing = (total - floors.reduce((a, b) => a + b, 0n)) / unit;
  const order = exactShares.map((_, i) => i).sort((a, b) => remainders[b].comparedTo(remainders[a]) || a - b);
  const shares = [...floors];
  for (let k = 0; missing !== 0n && order.length > 0; k++) {
    const i = order[k % order.length];
    shares[i] += missing > 0n ? unit : -unit;
    missing += missing > 0n ? -1n : 1n;
  }
  return shares;
}

/**
 * The tax of an invoice whose lines (rounded to the minor unit, nano-units) all carry the treatment's components.
 * Per-invoice rounding: each component's tax is its rate times the lines' sum, rounded once. Per-line rounding:
 * each line's tax is rounded and the lines' taxes summed. With prices including tax, each component's share is
 * extracted from the gross amount: gross x rate / (1 + sum of the rates).
 */
export function computeInvoiceTax(lines: bigint[], treatment: Pick<Treatment, 'components' | 'rounding'>, minorUnit: number, pricesIncludeTax: boolean): InvoiceTax {
  const linesTotal = lines.reduce((a, b) => a + b, 0n);
  const unit = 10n ** BigInt(9 - minorUnit);
  const rateSum = treatment.components.reduce((sum, c) => sum.plus(c.rate), new Exact(0));
  const divisor = pricesIncludeTax ? rateSum.plus(1) : new Exact(1);
  const lineTax = lines.map(() => 0n);
  const components: ComponentTax[] = treatment.components.map((component) => {
    const factor = new Exact(component.rate).div(divisor);
    const exactShares = lines.map((l) => toDecimal(l).mul(factor));
    const exact = toDecimal(linesTotal).mul(factor);
    let shares: bigint[];
    let amount: bigint;
    if (treatment.rounding.scope === 'line') {
      shares = exactShares.map((share) => roundTax(share, minorUnit, treatment.rounding.mode));
      amount = shares.reduce((a, b) => a + b, 0n);
    } else {
      amount = roundTax(exact, minorUnit, treatment.rounding.mode);
      shares = spread(amount, exactShares, unit);
    }
    shares.forEach((share, i) => (lineTax[i] += share));
    return { ...component, taxable: 0n, amount, amountExact: toNanoUnits(exact) };
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
): { components: { tax: string; jurisdiction: string; rate: string; amount: bigint }[]; tax: bigint; subtotal: bigint; total: bigint } {
  const final = credited.lines + credited.alreadyCreditedLines === invoice.linesTotal;
  const components = invoice.components.map((c) => {
    const key = `${c.tax}|${c.jurisdiction}`;
    const amount = final
      ? c.amount - (credited.alreadyCreditedTax.get(key) ?? 0n)
      : invoice.linesTotal === 0n
        ? 0n
        : roundTax(toDecimal(c.amount).mul(toDecimal(credited.lines)).div(toDecimal(invoice.linesTotal)), minorUnit, 'half_up');
    return { tax: c.tax, jurisdiction: c.jurisdiction, rate: c.rate, amount };
  });
  const tax = components.reduce((sum, c) => sum + c.amount, 0n);
  const subtotal = pricesIncludeTax ? credited.lines - tax : credited.lines;
  return { components, tax, subtotal, total: subtotal + tax };
}

export function componentKey(c: { tax: string; jurisdiction: string }): string {
  return `${c.tax}|${c.jurisdiction}`;
}
