// Exact integer arithmetic for money: 64x64->128 products, 128/64 division with half-even rounding,
// and overflow-checked 64-bit sums. AssemblyScript has no i128, so products are built from 32-bit halves.

/** Set when an operation's result does not fit a signed 64-bit integer; callers check it after each stage. */
export let overflowed: bool = false;

export function clearOverflow(): void {
  overflowed = false;
}

export function setOverflow(): void {
  overflowed = true;
}

// The high word of the last product, returned through a global instead of an allocation.
let productHigh: u64 = 0;

/** Unsigned 64x64 -> 128 product; returns the low word, the high word is in `productHigh`. */
@inline
function mulWide(a: u64, b: u64): u64 {
  const aLow = a & 0xffffffff;
  const aHigh = a >> 32;
  const bLow = b & 0xffffffff;
  const bHigh = b >> 32;
  const lowLow = aLow * bLow;
  const highLow = aHigh * bLow;
  const lowHigh = aLow * bHigh;
  const highHigh = aHigh * bHigh;
  const middle = (lowLow >> 32) + (highLow & 0xffffffff) + lowHigh;
  productHigh = highHigh + (highLow >> 32) + (middle >> 32);
  return (middle << 32) | (lowLow & 0xffffffff);
}

// Remainder of the last division, returned through a global.
let divisionRemainder: u64 = 0;

/**
 * Unsigned (high:low) / divisor when high < divisor, so the quotient fits 64 bits (Hacker's Delight divlu,
 * normalised two-step long division in base 2^32). Remainder in `divisionRemainder`.
 */
function divideWide(high: u64, low: u64, divisor: u64): u64 {
  if (high == 0) {
    divisionRemainder = low % divisor;
    return low / divisor;
  }
  const base: u64 = 0x100000000;
  const shift = clz<u64>(divisor);
  const v = divisor << shift;
  const vHigh = v >> 32;
  const vLow = v & 0xffffffff;
  const uHigh = shift == 0 ? high : (high << shift) | (low >> (64 - shift));
  const uLow = low << shift;
  const uLowHigh = uLow >> 32;
  const uLowLow = uLow & 0xffffffff;

  let q1 = uHigh / vHigh;
  let rhat = uHigh - q1 * vHigh;
  while (q1 >= base || q1 * vLow > ((rhat << 32) | uLowHigh)) {
    q1 -= 1;
    rhat += vHigh;
    if (rhat >= base) break;
  }
  const partial = (uHigh << 32) + uLowHigh - q1 * v;

  let q0 = partial / vHigh;
  rhat = partial - q0 * vHigh;
  while (q0 >= base || q0 * vLow > ((rhat << 32) | uLowLow)) {
    q0 -= 1;
    rhat += vHigh;
    if (rhat >= base) break;
  }
  const remainder = (partial << 32) + uLowLow - q0 * v;
  divisionRemainder = remainder >> shift;
  return (q1 << 32) | q0;
}

/** Rounds quotient q with remainder r of a division by d half-even. */
@inline
function roundHalfEven(q: u64, r: u64, d: u64): u64 {
  const rest = d - r;
  if (r > rest || (r == rest && (q & 1) == 1)) return q + 1;
  return q;
}

const I64_LIMIT: u64 = 0x8000000000000000;

/** An unsigned result as i64, or 0 with `overflowed` set when it does not fit. */
@inline
function toSigned(value: u64): i64 {
  if (value >= I64_LIMIT) {
    overflowed = true;
    return 0;
  }
  return <i64>value;
}

/** round(a x b / d) half-even for a, b >= 0 and d > 0; sets `overflowed` when the result exceeds i64. */
export function mulDivRound(a: i64, b: i64, d: i64): i64 {
  if (clz<u64>(<u64>a) + clz<u64>(<u64>b) >= 65) {
    // The product is below 2^63: one multiplication, one hardware division.
    const product = <u64>(a * b);
    const divisor = <u64>d;
    const truncated = product / divisor;
    return <i64>roundHalfEven(truncated, product - truncated * divisor, divisor);
  }
  const low = mulWide(<u64>a, <u64>b);
  const high = productHigh;
  const divisor = <u64>d;
  if (high >= divisor) {
    overflowed = true;
    return 0;
  }
  return toSigned(roundHalfEven(divideWide(high, low, divisor), divisionRemainder, divisor));
}

/** round(x x b / d) half-even, symmetric around zero, for any sign of x and b, d > 0. */
export function mulDivRoundSigned(x: i64, b: i64, d: i64): i64 {
  if (x >= 0) return mulDivRound(x, b, d);
  if (x == i64.MIN_VALUE) {
    overflowed = true;
    return 0;
  }
  return -mulDivRound(-x, b, d);
}

// A 128-bit unsigned accumulator for sums of products (graduated tiers), as two words.
let accumulatorHigh: u64 = 0;
let accumulatorLow: u64 = 0;

export function accumulatorClear(): void {
  accumulatorHigh = 0;
  accumulatorLow = 0;
}

/** accumulator += a x b for a, b >= 0. */
export function accumulatorAddProduct(a: i64, b: i64): void {
  const low = mulWide(<u64>a, <u64>b);
  const sumLow = accumulatorLow + low;
  const carry: u64 = sumLow < low ? 1 : 0;
  const sumHigh = accumulatorHigh + productHigh + carry;
  if (sumHigh < accumulatorHigh) overflowed = true;
  accumulatorLow = sumLow;
  accumulatorHigh = sumHigh;
}

/** round(accumulator / d) half-even; sets `overflowed` when it exceeds i64. */
export function accumulatorDivideRound(d: i64): i64 {
  const divisor = <u64>d;
  if (accumulatorHigh >= divisor) {
    overflowed = true;
    return 0;
  }
  const q = roundHalfEven(divideWide(accumulatorHigh, accumulatorLow, divisor), divisionRemainder, divisor);
  return toSigned(q);
}

@inline
export function addChecked(a: i64, b: i64): i64 {
  const sum = a + b;
  if (((a ^ sum) & (b ^ sum)) < 0) overflowed = true;
  return sum;
}

@inline
export function subChecked(a: i64, b: i64): i64 {
  const difference = a - b;
  if (((a ^ b) & (a ^ difference)) < 0) overflowed = true;
  return difference;
}

/** a x b for a, b >= 0, checked. */
export function mulChecked(a: i64, b: i64): i64 {
  const low = mulWide(<u64>a, <u64>b);
  if (productHigh != 0 || low >= I64_LIMIT) {
    overflowed = true;
    return 0;
  }
  return <i64>low;
}

/** ceil(a / b) for a >= 0, b > 0. */
@inline
export function ceilDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return q * b == a ? q : q + 1;
}

/** floor(a / b) for b > 0, any sign of a. */
@inline
export function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
