// The invoice pipeline's FX stage (build -> FX -> tax -> finalize): a period's lines, built in the currency of
// the customer's price books, converted into the customer's billing currency under the tenant's policy. The
// arithmetic and its one rounding are currency/convert.ts's; the lines are then rounded to the billing
// currency's minor unit by the invoice's own stage (build.ts roundLines), so they still add up to the total.
import { formatMoney } from '../../platform/money.ts';
import { AppError, type FieldProblem } from '../../platform/errors.ts';
import { convertNano, type Conversion, type FxPolicy } from '../currency/convert.ts';
import type { Period } from '../periods/calendar.ts';
import { roundLines, type DraftLine } from './build.ts';

/** The instant whose rate converts an invoice under `policy`: its period's end, or the finalization (now). */
export function conversionInstant(policy: FxPolicy, period: Period, now: Date): Date {
  if (policy === 'finalization') return now;
  // 'event' cannot be chosen yet (currency/service.ts updateSettings): a period's end is the closest instant.
  return period.end;
}

export interface MissingRate {
  code: 'fx_rate_missing';
  from: string;
  to: string;
  at: string;
  policy: FxPolicy;
}

/** The clear error of an invoice that cannot be finalized for want of a rate: it names the pair and the instant. */
export class FxRateMissingError extends AppError {
  readonly missing: MissingRate;
  constructor(missing: MissingRate, message: string, details: FieldProblem[]) {
    super('precondition', 'fx_rate_missing', message, details);
    this.missing = missing;
  }
}

export function fxRateMissing(missing: MissingRate): FxRateMissingError {
  return new FxRateMissingError(
    missing,
    `No ${missing.from}/${missing.to} rate for ${missing.at} (policy ${missing.policy}): supply one (POST /v1/fx_rates or an ECB file) and the invoice is finalized on the next billing tick`,
    [
      {
        field: 'fx_rates',
        reason: `no ${missing.from}->${missing.to} rate, direct, inverse or through EUR, in force at ${missing.at}`,
      },
    ],
  );
}

/**
 * Pure: the lines converted with `conversion`. Each line's exact amount and unit price are multiplied by the rate
 * and rounded half-even to the nano-unit (the one conversion rounding), the source amounts kept in the line's
 * details; then the lines are rounded to `minorUnit` as any invoice's. Lines deducting earlier threshold
 * invoices are left as they are: those invoices were issued, converted, in the billing currency already.
 */
export function convertLines(
  lines: DraftLine[],
  conversion: Conversion,
  minorUnit: number,
): { lines: DraftLine[]; total: bigint; totalExact: bigint } {
  const converted = lines.map((line): DraftLine => {
    if (line.kind === 'progressive_billing') return { ...line };
    return {
      ...line,
      amountExact: convertNano(line.amountExact, conversion.rate),
      unitPrice: line.unitPrice === null ? null : convertNano(line.unitPrice, conversion.rate),
      details: {
        ...line.details,
        fx: {
          currency: conversion.from,
          amount_exact: formatMoney(line.amountExact),
          ...(line.unitPrice === null ? {} : { unit_price: formatMoney(line.unitPrice) }),
          rate: conversion.rate,
        },
      },
    };
  });
  const rounded = roundLines(
    converted.map((l) => l.amountExact),
    minorUnit,
  );
  rounded.amounts.forEach((amount, i) => (converted[i].amount = amount));
  return { lines: converted, total: rounded.total, totalExact: converted.reduce((sum, l) => sum + l.amountExact, 0n) };
}
