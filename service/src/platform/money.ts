// Money outside the kernel: bigint nano-units in TypeScript, `numeric` text from SQL, decimal strings on the wire.
import { formatMoney, parseScaled } from '@tariff/core-wasm';

export { formatMoney };

export const NANO_PER_UNIT = 1_000_000_000n;

/** A stored or kernel-written amount ("12.500000000", "-0.1") as nano-units; anything else is a bug. */
export function toNano(amount: string): bigint {
  const parsed = parseScaled(amount, 9, { allowNegative: true });
  if (!parsed.ok) throw new Error(`not a money amount: ${amount}`);
  return parsed.value;
}

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
 * A percentage (a stored `numeric(10, 7)` or what a request gave, e.g. "12.5") in its one printed form: 7 decimals,
 * "12.5000000", as the kernel's receipts print it; like money (9 decimals) and quantities (6), so that a create
 * answer and every later read print it alike.
 */
export function formatPercent(value: string): string {
  const parsed = parseScaled(value, 7);
  if (!parsed.ok) throw new Error(`not a percentage: ${value}`);
  return `${parsed.value / 10_000_000n}.${(parsed.value % 10_000_000n).toString().padStart(7, '0')}`;
}
