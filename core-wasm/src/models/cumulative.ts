// The tiers of graduated and volume pricing, over the period's cumulative usage in a state counter.
import type { Tier } from '../book.ts';
import { MICRO_DIGITS } from '../decimal.ts';
import { MAX_BOUND, type ChargeCompiler } from './types.ts';

/** up_to increases strictly; every tier but the last has one, the last has none (its bound is i64 max). */
export function compileCumulativeTiers(
  price: { tiers: Tier[]; per?: string; counter?: string },
  charge: ChargeCompiler,
): void {
  const { compiled, path: pp } = charge;
  compiled.per = charge.per(price.per);
  if (!Array.isArray(price.tiers) || price.tiers.length === 0) {
    charge.problem(`${pp}.tiers`, 'must be a non-empty list of tiers');
    return;
  }
  let previous = -1n;
  price.tiers.forEach((tier, t) => {
    const tp = `${pp}.tiers[${t}]`;
    const last = t === price.tiers.length - 1;
    let bound = MAX_BOUND;
    if (!last || (tier?.up_to !== undefined && tier?.up_to !== null)) {
      if (last) charge.problem(`${tp}.up_to`, 'the last tier has no up_to');
      else if (tier?.up_to === undefined || tier?.up_to === null)
        charge.problem(`${tp}.up_to`, 'every tier but the last needs up_to');
      else bound = charge.decimal(tier.up_to, MICRO_DIGITS, `${tp}.up_to`, { positive: true });
      if (bound <= previous) charge.problem(`${tp}.up_to`, 'tiers must be in strictly ascending up_to order');
    }
    previous = bound;
    compiled.tiers.push({ bound, rate: charge.money(tier?.rate, `tiers[${t}].rate`) });
  });
  compiled.counter = charge.counter(price.counter ?? charge.defaultCounter);
}
