// request_tiers: the rate of the last tier whose `above` is < this event's basis quantity; the record's aux holds
// the basis dimension.
import type { PriceModel } from '../book.ts';
import { MICRO_DIGITS } from '../decimal.ts';
import type { ModelCompiler } from './types.ts';

export const requestTiers: ModelCompiler<Extract<PriceModel, { model: 'request_tiers' }>> = {
  measured: true,
  modifiable: true,
  compile(price, charge) {
    const { compiled, path: pp } = charge;
    compiled.per = charge.per(price.per);
    compiled.rate = charge.money(price.rate, 'rate');
    compiled.aux = charge.dimension(price.basis, `${pp}.basis`);
    if (!Array.isArray(price.tiers)) {
      charge.problem(`${pp}.tiers`, 'must be a list of { above, rate }');
      return;
    }
    let previous = -1n;
    price.tiers.forEach((tier, t) => {
      const bound = charge.decimal(tier?.above, MICRO_DIGITS, `${pp}.tiers[${t}].above`);
      if (bound <= previous) charge.problem(`${pp}.tiers[${t}].above`, 'tiers must be in strictly ascending order');
      previous = bound;
      compiled.tiers.push({ bound, rate: charge.money(tier?.rate, `tiers[${t}].rate`) });
    });
  },
};
