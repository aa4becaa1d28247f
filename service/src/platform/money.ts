// Money outside the kernel: bigint nano-units in TypeScript, `numeric` text from SQL, decimal strings on the wire.
import { formatMoney, parseScaled, toNano } from '@tariff/core-wasm';

// One parser of stored amounts, shared with the SDK through the kernel host.
export { formatMoney, toNano };

export const NANO_PER_UNIT = 1_000_000_000n;

export function sumNano(values: Iterable<bigint>): bigint {
  let total = 0n;
  for (const value of values) total += value;
  return total;
}

/** round(numerator / denominator) half-even, for non-negative or negative numerators (denominator > 0). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new Error('denominator must be positive');
  let quotient = numerator / denominator;
  let remainder = numerator % denominator;
  // BigInt division truncates toward zero; make the remainder non-negative (floor division).
  if (remainder < 0n) {
    quotient -= 1n;
    remainder += denominator;
  }
  const twice = remainder * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n !== 0n)) quotient += 1n;
  return quotient;
}

/**
 * The one largest-remainder rule: distributes `units` whole units over parts whose exact values are
 * `numerators[i] / denominator` (denominator > 0). Each part gets its exact value rounded toward minus infinity,
 * and the units still missing go one each to the parts with the largest remainders (ties: the earlier part),
 * round after round if more are missing than there are parts (units in excess are taken back in the same order).
 * Returns each part's units; with at least one part they add up to `units`.
 */
export function largestRemainder(units: bigint, numerators: readonly bigint[], denominator: bigint): bigint[] {
  if (denominator <= 0n) throw new Error('denominator must be positive');
  const floors: bigint[] = [];
  const remainders: bigint[] = [];
  for (const numerator of numerators) {
    let floor = numerator / denominator;
    let rest = numerator % denominator;
    // BigInt division truncates toward zero; floor division keeps every remainder non-negative.
    if (rest < 0n) {
      floor -= 1n;
      rest += denominator;
    }
    floors.push(floor);
    remainders.push(rest);
  }
  let missing = units - sumNano(floors);
  // Largest remainder first, ties by position. Most splits have a few parts (an event's dimensions): sorted by
  // insertion, since Array.prototype.sort copies the array on every call.
  let order: number[];
  if (floors.length > 16)
    order = floors
      .map((_, i) => i)
      .sort((a, b) => (remainders[b] > remainders[a] ? 1 : remainders[b] < remainders[a] ? -1 : a - b));
  else {
    order = new Array<number>(floors.length);
    for (let i = 0; i < floors.length; i++) {
      let at = i;
      for (; at > 0 && remainders[order[at - 1]] < remainders[i]; at--) order[at] = order[at - 1];
      order[at] = i;
    }
  }
  for (let k = 0; missing !== 0n && order.length > 0; k++) {
    const i = order[k % order.length];
    floors[i] += missing > 0n ? 1n : -1n;
    missing += missing > 0n ? -1n : 1n;
  }
  return floors;
}

/**
 * Splits `amount` (a whole number of minor units, `unit` nano-units each) over parts in proportion to their
 * weights (e.g. what is left of each invoice line; some may be negative, such as a credit line, but they sum to
 * more than 0), by the largest remainder. The shares add up to `amount` exactly, and splitting the weights' own
 * sum returns each weight.
 */
export function allocateProRata(amount: bigint, weights: readonly bigint[], unit: bigint): bigint[] {
  const total = sumNano(weights);
  if (total <= 0n) throw new Error('weights must sum to more than 0');
  if (amount % unit !== 0n) throw new Error('amount must be a whole number of minor units');
  const units = amount / unit;
  return largestRemainder(
    units,
    weights.map((w) => units * w),
    total,
  ).map((u) => u * unit);
}

/**
 * A percentage (a stored `numeric(10, 7)` or what a request gave, e.g. "12.5") in its one printed form: 7 decimals,
 * "12.5000000", as the kernel's receipts print it; like money (9 decimals) and quantities (6), so that a create
 * answer and every later read print it alike.
 */
export function formatPercent(value: string): string {
  const parsed = parseScaled(value, 7);
  if (!parsed.ok) throw new Error(`not a percentage: ${value}`);
  return `${parsed.value / 10_000_000n}.${(parsed.value % 10_000_000n).toString().padStart(7, '0')}`;
}
