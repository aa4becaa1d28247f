// Amounts on the wire: decimal strings with at most 9 decimals, never JSON numbers. The service's own money
// (bigint nano-units, formatting) is service/src/platform/money.ts.
import { parseScaled } from '@tariff/core-wasm';
import { text } from './text.ts';

const moneyPattern = /^\d{1,18}(\.\d{1,9})?$/;

/** What is wrong with an amount the pattern refuses, said plainly. */
export function moneyProblem(value: string): string {
  const trimmed = value.trim();
  if (trimmed !== value) return 'must not have spaces around it';
  if (/^-\d+(\.\d+)?$/.test(value)) return 'must not be negative';
  if (/^\d+\.\d{10,}$/.test(value)) return 'has more than 9 decimal places';
  if (/^\d{19,}(\.\d+)?$/.test(value)) return 'is too large';
  if (/^\d*\.$|^\.\d+$/.test(value)) return 'must have digits on both sides of the point, e.g. "0.50"';
  return 'must be a decimal number such as "500" or "12.50" (digits, an optional point, no sign, exponent or separators)';
}

/** The nano-units of an amount moneyAmount accepts, or undefined for anything else (its own schema says why). */
export function amountNano(value: string): bigint | undefined {
  const parsed = parseScaled(value, 9);
  return parsed.ok && moneyPattern.test(value) ? parsed.value : undefined;
}

/** A non-negative amount as a decimal string with at most 9 decimals, e.g. "500" or "0.075". */
export const moneyAmount = text(40, {
  typeError: 'must be a string such as "12.50": amounts are decimal strings, never JSON numbers',
})
  .regex(moneyPattern, { error: (issue) => moneyProblem(String(issue.input)), abort: true })
  // parseScaled itself refuses what does not fit 64 bits: checked here, not thrown (a 500) by the service's toNano.
  .refine(
    (value) => {
      const parsed = parseScaled(value, 9);
      return parsed.ok && parsed.value < 2n ** 63n;
    },
    { message: 'is too large', abort: true },
  );

/** A strictly positive amount. */
export const positiveMoneyAmount = moneyAmount.refine(
  (value) => (amountNano(value) ?? 0n) > 0n,
  'must be greater than 0',
);
