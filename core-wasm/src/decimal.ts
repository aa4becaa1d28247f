// Exact decimal <-> scaled bigint conversions for the kernel's fixed-point numbers (no floating point).

export const NANO_DIGITS = 9;
export const MICRO_DIGITS = 6;
export const I64_MAX = (1n << 63n) - 1n;
export const I64_MIN = -(1n << 63n);

const POWERS_OF_TEN = Array.from({ length: 19 }, (_, i) => 10n ** BigInt(i));

const DECIMAL_PATTERN = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export type ParsedDecimal = { ok: true; value: bigint } | { ok: false; reason: string };

/**
 * Parses a decimal string or a finite JS number into an integer count of 10^-digits units.
 * Rejects more fractional digits than `digits` and results outside signed 64 bits.
 */
export function parseScaled(input: unknown, digits: number, options: { allowNegative?: boolean } = {}): ParsedDecimal {
  let text: string;
  // Fast path for the common case, a whole JS number of tokens or seconds: exact without a string.
  if (typeof input === 'number' && Number.isSafeInteger(input) && (input >= 0 || options.allowNegative)) {
    const value = BigInt(input) * POWERS_OF_TEN[digits];
    if (value > I64_MAX || value < I64_MIN) return { ok: false, reason: 'is too large' };
    return { ok: true, value };
  }
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: 'must be a finite number' };
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return { ok: false, reason: 'must be a decimal number or string' };
  }
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a decimal number` };
  const [, sign, whole, fraction = '', exponentText] = match;
  const exponent = exponentText ? Number(exponentText) : 0;
  if (Math.abs(exponent) > 40) return { ok: false, reason: 'exponent out of range' };
  let digitsText = (whole + fraction).replace(/^0+(?=\d)/, '');
  let scale = fraction.length - exponent; // value = digitsText x 10^-scale
  // Drop trailing zeros that only add precision.
  while (scale > digits && digitsText.length > 1 && digitsText.endsWith('0')) {
    digitsText = digitsText.slice(0, -1);
    scale -= 1;
  }
  if (scale > digits) {
    if (/^0+$/.test(digitsText)) scale = digits;
    else return { ok: false, reason: `has more than ${digits} decimal places` };
  }
  let value = BigInt(digitsText) * 10n ** BigInt(digits - scale);
  if (sign === '-') {
    if (value !== 0n && !options.allowNegative) return { ok: false, reason: 'must not be negative' };
    value = -value;
  }
  if (value > I64_MAX || value < I64_MIN) return { ok: false, reason: 'is too large' };
  return { ok: true, value };
}

/** Writes an integer count of 10^-digits units with exactly `digits` decimals, e.g. 1500000000n, 9 -> "1.500000000". */
export function formatScaled(value: bigint, digits: number): string {
  const negative = value < 0n;
  const text = (negative ? -value : value).toString().padStart(digits + 1, '0');
  const cut = text.length - digits;
  return `${negative ? '-' : ''}${text.slice(0, cut)}.${text.slice(cut)}`;
}

export const formatMoney = (nano: bigint): string => formatScaled(nano, NANO_DIGITS);

/** formatMoney's output: a sign only when negative, whole digits, the dot, nine digits. */
const MONEY_TEXT = /^-?\d+\.\d{9}$/;

/**
 * A stored or kernel-written amount ("12.500000000", "-0.1") as nano-units; anything else is a bug, so it throws.
 * (Amounts a caller typed are checked with parseScaled, which says what is wrong.)
 */
export function toNano(amount: string): bigint {
  // The form formatMoney writes (every amount the kernel or the database gives back): its digits without the dot.
  if (typeof amount === 'string' && MONEY_TEXT.test(amount)) {
    const value = BigInt(amount.slice(0, -NANO_DIGITS - 1) + amount.slice(-NANO_DIGITS));
    if (value <= I64_MAX && value >= I64_MIN) return value;
  }
  const parsed = parseScaled(amount, NANO_DIGITS, { allowNegative: true });
  if (!parsed.ok) throw new Error(`not a money amount: ${amount}`);
  return parsed.value;
}
export const formatQuantity = (micro: bigint): string => formatScaled(micro, MICRO_DIGITS);
