// Exact decimal arithmetic for the reference: parsing under the representation limits of core-wasm/README.md,
// the half-even rounding stages, the signed 64-bit range checks and the fixed-decimal output formats.
import { Decimal } from 'decimal.js';

/**
 * 80 significant digits: the widest exact value the reference forms is a sum of a few products of two 19-digit
 * integers (micro-unit quantity x nano-unit rate), under 45 digits, so no operation below ever rounds implicitly.
 */
export const Dec = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -100, toExpPos: 100 });
export type Dec = Decimal;

export const ZERO = new Dec(0);
export const ONE = new Dec(1);
export const HUNDRED = new Dec(100);

/** Decimals of each representation: money and multipliers in 1e-9, quantities in 1e-6, percentages as a fraction in 1e-9. */
export const MONEY_PLACES = 9;
export const QUANTITY_PLACES = 6;
export const MULTIPLIER_PLACES = 9;
export const PERCENT_PLACES = 7;

const I64_MAX = new Dec('9223372036854775807');

/** A value the kernel rejects as an event (not a bad book or state): carries the README's code and field. */
export class EventFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A malformed book or state: the host rejects the whole call, so the reference throws instead of rating. */
export class InvalidInputError extends Error {}

/** True when `value` written in units of 10^-places is a signed 64-bit integer (|x| < 2^63). */
export function fitsUnits(value: Dec, places: number): boolean {
  return value.abs().times(Dec.pow(10, places)).lte(I64_MAX);
}

function fitOrOverflow(value: Dec, places: number, what: string): Dec {
  if (!fitsUnits(value, places)) throw new EventFailure('overflow', `${what} ${value.toFixed()} does not fit 64 bits`);
  return value;
}

export const checkMoney = (value: Dec, what: string): Dec => fitOrOverflow(value, MONEY_PLACES, what);
export const checkQuantity = (value: Dec, what: string): Dec => fitOrOverflow(value, QUANTITY_PLACES, what);

/** Half-even rounding of an exact value to `places` decimals (every stage R0..R3 ends with this or `divideHalfEven`). */
export function roundHalfEven(value: Dec, places: number): Dec {
  return value.toDecimalPlaces(places, Dec.ROUND_HALF_EVEN);
}

/**
 * numerator / denominator rounded half-even to `places` decimals, exactly: the quotient of a rate by `per` need not
 * terminate, so it is done as an integer division with the remainder compared against half the divisor.
 */
export function divideHalfEven(numerator: Dec, denominator: Dec, places: number): Dec {
  if (denominator.isZero()) throw new InvalidInputError('division by zero');
  const scale = Math.max(numerator.decimalPlaces(), denominator.decimalPlaces());
  const n = numerator.times(Dec.pow(10, scale + places));
  const d = denominator.times(Dec.pow(10, scale));
  let quotient = n.divToInt(d);
  const twiceRemainder = n.minus(quotient.times(d)).abs().times(2);
  const divisor = d.abs();
  const tieToOdd = twiceRemainder.eq(divisor) && quotient.mod(2).abs().eq(1);
  if (twiceRemainder.gt(divisor) || tieToOdd) {
    quotient = quotient.plus(n.isNegative() !== d.isNegative() ? -1 : 1);
  }
  return quotient.div(Dec.pow(10, places));
}

/** ceil(numerator / denominator) for numerator >= 0 and denominator > 0. */
export function ceilQuotient(numerator: Dec, denominator: Dec): Dec {
  const quotient = numerator.divToInt(denominator);
  return quotient.times(denominator).lt(numerator) ? quotient.plus(1) : quotient;
}

export const min = (a: Dec, b: Dec): Dec => (a.lte(b) ? a : b);
export const max = (a: Dec, b: Dec): Dec => (a.gte(b) ? a : b);

function fixed(value: Dec, places: number): string {
  if (value.decimalPlaces() > places) {
    throw new Error(`reference bug: ${value.toFixed()} has more than ${places} decimals at output`);
  }
  return (value.isZero() ? ZERO : value).toFixed(places);
}

export const formatMoney = (value: Dec): string => fixed(value, MONEY_PLACES);
export const formatQuantity = (value: Dec): string => fixed(value, QUANTITY_PLACES);
export const formatMultiplier = (value: Dec): string => fixed(value, MULTIPLIER_PLACES);
export const formatPercent = (value: Dec): string => fixed(value, PERCENT_PLACES);

const SIGNED_DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;
const UNSIGNED_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

export type Representation = 'money' | 'quantity' | 'multiplier' | 'percent';

const PLACES: Record<Representation, number> = {
  money: MONEY_PLACES,
  quantity: QUANTITY_PLACES,
  multiplier: MULTIPLIER_PLACES,
  // A percentage is stored as a fraction in 1e-9, so the percent itself has at most 7 decimals.
  percent: PERCENT_PLACES,
};

const parsedBookValues = new Map<string, Dec>();

/**
 * A decimal string from a book or a state, checked against its representation; throws InvalidInputError.
 * Decimals are counted on the value ("1.50" has 1), the same rule as for event properties.
 */
export function parseStored(
  text: unknown,
  representation: Representation,
  path: string,
  options: { min?: Dec; positive?: boolean } = {},
): Dec {
  if (typeof text !== 'string' || !SIGNED_DECIMAL.test(text)) {
    throw new InvalidInputError(`${path}: expected a decimal string, got ${JSON.stringify(text)}`);
  }
  let value = parsedBookValues.get(text);
  if (value === undefined) {
    value = new Dec(text);
    parsedBookValues.set(text, value);
  }
  const places = PLACES[representation];
  if (value.decimalPlaces() > places) throw new InvalidInputError(`${path}: more than ${places} decimals in ${text}`);
  // For a percentage, 10^-7 of a percent is 10^-9 of the fraction, so the same unit count is checked.
  if (!fitsUnits(value, places)) throw new InvalidInputError(`${path}: ${text} does not fit 64 bits`);
  if (options.min !== undefined && value.lt(options.min))
    throw new InvalidInputError(`${path}: ${text} is below ${options.min.toFixed()}`);
  if (options.positive && !value.gt(0)) throw new InvalidInputError(`${path}: ${text} must be positive`);
  return value;
}

/**
 * An event property read as a number: a non-negative decimal, given as a JSON number (read as its shortest
 * round-trip decimal, `String(n)`) or a string of digits with an optional fraction; at most `places` decimals
 * counted on the value; its unit count must fit 64 bits. Returns null when the value is not acceptable.
 */
export function parseEventNumber(raw: unknown, places: number): Dec | null {
  if (raw === undefined || raw === null) return ZERO;
  let value: Dec;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) return null;
    value = new Dec(String(raw));
  } else if (typeof raw === 'string') {
    if (!UNSIGNED_DECIMAL.test(raw)) return null;
    value = new Dec(raw);
  } else {
    return null;
  }
  if (value.isNegative() && !value.isZero()) return null;
  if (value.decimalPlaces() > places) return null;
  if (!fitsUnits(value, places)) return null;
  return value.abs();
}
