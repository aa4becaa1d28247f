// Pure: how a credit of some minor units is spread over an invoice's lines.

/**
 * Splits `amount` (a whole number of minor units, `unit` nano-units each) over lines in proportion to their
 * weights (what is left of each line; some may be negative, e.g. a credit line, but they sum to more than 0):
 * each share is its exact proportion rounded down to the minor unit, and the units still missing go one each
 * to the largest remainders (ties: the earlier line). The shares add up to `amount` exactly, and a credit of
 * everything that is left returns each line's weight.
 */
export function allocateProRata(amount: bigint, weights: bigint[], unit: bigint): bigint[] {
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total <= 0n) throw new Error('weights must sum to more than 0');
  if (amount % unit !== 0n) throw new Error('amount must be a whole number of minor units');
  const units = amount / unit;
  const floors: bigint[] = [];
  const remainders: bigint[] = [];
  for (const w of weights) {
    const product = units * w;
    let floor = product / total;
    let rest = product % total;
    if (rest < 0n) {
      floor -= 1n;
      rest += total;
    }
    floors.push(floor);
    remainders.push(rest);
  }
  let missing = units - floors.reduce((a, b) => a + b, 0n);
  const order = weights.map((_, i) => i).sort((a, b) => (remainders[b] > remainders[a] ? 1 : remainders[b] < remainders[a] ? -1 : a - b));
  for (const i of order) {
    if (missing <= 0n) break;
    floors[i] += 1n;
    missing -= 1n;
  }
  return floors.map((f) => f * unit);
}
