// Invoice money for display: the API's decimal string cut to the currency's minor unit, by string alone.

/**
 * An invoice figure of the API (whole minor units written with nine decimals, e.g. "9.950000000") cut to the
 * currency's ISO 4217 minor unit ("9.95") by string, never through a float. A figure with more precision than
 * that (an `_exact` one) is shown whole rather than rounded here.
 */
export function toMinorUnit(amount: string, minorUnit: number): string {
  const match = /^(-?\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match) return amount;
  const [, whole, fraction = ''] = match;
  if (/[^0]/.test(fraction.slice(minorUnit))) return amount;
  return minorUnit === 0 ? whole : `${whole}.${fraction.slice(0, minorUnit).padEnd(minorUnit, '0')}`;
}
