// Pure FX: which rate converts a pair at an instant (direct, inverse, or crossed through EUR), and the one
// rounding of a converted amount. The contract, stated once:
// - A rate says 1 `base` = `rate` `quote`, in force from `asOf` until the pair's next rate, for at most
//   `maxRateAgeDays` (older: no rate, the invoice waits). The ECB publishes EUR-based rates, so a pair neither
//   supplied nor its inverse is crossed through EUR: rate(A->B) = rate(EUR->B) / rate(EUR->A).
// - A derived rate (an inverse or a cross) is rounded half-even to `derivedRateDigits` significant digits, once;
//   the invoice states that rate, and with it every amount can be recomputed by hand.
// - An amount (nano-units of the source currency) converts to amount x rate, computed exactly (decimal.js at
//   `workingPrecision` significant digits, more than any product of a 38-digit amount and a rate needs) and
//   rounded half-even ONCE, to the nano-unit of the target currency, line by line. The invoice then rounds its
//   lines to the currency's minor unit in its own stage (invoices/build.ts roundLines), as for any invoice.
import { Decimal } from 'decimal.js';
import type { EventConversion } from './event-time.ts';

export const derivedRateDigits = 15;
export const maxRateAgeDays = 7;
const workingPrecision = 120;
/** decimal.js configured for FX alone: exact products, half-even, no exponent in strings. */
export const FxDecimal = Decimal.clone({
  precision: workingPrecision,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -100,
  toExpPos: 100,
});

export type FxPolicy = 'event' | 'period_end' | 'finalization';

export interface StoredRate {
  base: string;
  quote: string;
  rate: string;
  asOf: Date;
  source: string;
}

/** What an invoice states it was converted with (invoices.fx), as agreed with the invoice document. */
export interface Conversion {
  from: string;
  to: string;
  /** 1 `from` = `rate` `to`, the exact decimal every line was multiplied by. */
  rate: string;
  source: string;
  /** The rate's own time (the oldest leg's, for a cross rate). */
  as_of: string;
  /** The tenant's policy, or `issue`: converted when issued (a credit grant given in the billing currency). */
  policy: FxPolicy | 'issue';
  /** The instant the policy asked a rate for. */
  at: string;
  /**
   * How the rate was found: supplied for the pair, the inverse of one, or crossed through EUR from two; `events`:
   * the events' weighted rate under the event policy (event-time.ts), `rate` then shown to 15 digits.
   */
  method: 'direct' | 'inverse' | 'cross_eur' | 'events';
  legs: { base: string; quote: string; rate: string; as_of: string; source: string }[];
  /** The event policy: every rate the events were converted at, with their amounts (event-time.ts). */
  events?: EventConversion;
  /** The event policy: the rate of the period's end, for the lines no event made (null: none, and none needed). */
  period_end?: Conversion | null;
}

export type RateLookup = (base: string, quote: string) => StoredRate | undefined;

export type FindRateResult = { ok: true; conversion: Conversion } | { ok: false; from: string; to: string; at: Date };

const pivot = 'EUR';

/**
 * The conversion of `from` into `to` at `at`, given `latest(base, quote)`: the pair's latest rate at or before
 * `at` (the caller reads it). A rate older than maxRateAgeDays before `at` does not count.
 */
export function findRate(
  from: string,
  to: string,
  at: Date,
  policy: Conversion['policy'],
  latest: RateLookup,
): FindRateResult {
  const oldest = at.getTime() - maxRateAgeDays * 86_400_000;
  const fresh: RateLookup = (base, quote) => {
    const rate = latest(base, quote);
    return rate && rate.asOf.getTime() >= oldest && rate.asOf.getTime() <= at.getTime() ? rate : undefined;
  };
  const conversion = (method: Conversion['method'], rate: Decimal, legs: StoredRate[]): FindRateResult => ({
    ok: true,
    conversion: {
      from,
      to,
      rate: rate.toFixed(),
      source: [...new Set(legs.map((l) => l.source))].join('+'),
      as_of: new Date(Math.min(...legs.map((l) => l.asOf.getTime()))).toISOString(),
      policy,
      at: at.toISOString(),
      method,
      legs: legs.map((l) => ({
        base: l.base,
        quote: l.quote,
        rate: new FxDecimal(l.rate).toFixed(),
        as_of: l.asOf.toISOString(),
        source: l.source,
      })),
    },
  });
  const direct = fresh(from, to);
  if (direct) return conversion('direct', new FxDecimal(direct.rate), [direct]);
  const inverse = fresh(to, from);
  if (inverse) return conversion('inverse', roundDerived(new FxDecimal(1).div(inverse.rate)), [inverse]);
  if (from !== pivot && to !== pivot) {
    const toLeg = fresh(pivot, to) ?? invertLeg(fresh(to, pivot));
    const fromLeg = fresh(pivot, from) ?? invertLeg(fresh(from, pivot));
    if (toLeg && fromLeg)
      return conversion('cross_eur', roundDerived(new FxDecimal(toLeg.rate).div(fromLeg.rate)), [fromLeg, toLeg]);
  }
  return { ok: false, from, to, at };
}

/** A rate supplied as X->EUR used as the EUR->X leg of a cross (its exact reciprocal, rounded with the cross). */
function invertLeg(rate: StoredRate | undefined): StoredRate | undefined {
  return rate && { ...rate, base: rate.quote, quote: rate.base, rate: new FxDecimal(1).div(rate.rate).toFixed() };
}

function roundDerived(rate: Decimal): Decimal {
  return rate.toSignificantDigits(derivedRateDigits, Decimal.ROUND_HALF_EVEN);
}

const nanoPerUnit = new FxDecimal(1_000_000_000);

/** Nano-units of the source currency times the rate, rounded half-even to the nano-unit: the one rounding. */
export function convertNano(amount: bigint, rate: string): bigint {
  return BigInt(new FxDecimal(amount.toString()).times(rate).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed());
}

/** A decimal amount text converted, as decimal text with 9 decimals (reports). */
export function convertAmountText(amount: string, rate: string): string {
  return new FxDecimal(amount)
    .times(nanoPerUnit)
    .times(rate)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN)
    .div(nanoPerUnit)
    .toFixed(9);
}
