// graduated: each tier's share of [c, c + q) at its rate, summed exactly then rounded once.
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { checkMoney, divideHalfEven, MONEY_PLACES, ZERO } from '../numbers.ts';
import {
  advanceCounter,
  cumulativeRates,
  perOf,
  pushTier,
  upToOf,
  validateCumulativeTiers,
  type PriceHandler,
} from './types.ts';

export const graduated: PriceHandler<Extract<PriceModel, { model: 'graduated' }>> = {
  measured: true,
  modifiable: true,
  validate: validateCumulativeTiers,
  rates: cumulativeRates,
  price: (input) => {
    const { price, quantity, rate, context } = input;
    const per = perOf(price.per);
    const { counter, before, after } = advanceCounter(input);
    let exact = ZERO;
    let lower = ZERO;
    let lastTouched = -1;
    price.tiers.forEach((tier, index) => {
      const upper = upToOf(tier);
      const from = before.gt(lower) ? before : lower;
      const to = upper === null || after.lt(upper) ? after : upper;
      if (to.gt(from)) {
        const share = to.minus(from);
        exact = exact.plus(share.times(rate(index)));
        pushTier(input, index, share, rate(index));
        lastTouched = index;
      }
      if (upper !== null) lower = upper;
    });
    const amount = checkMoney(divideHalfEven(exact, per, MONEY_PLACES), 'line');
    context.ledger.setCounter(counter, after);
    // With q = 0 no tier is touched; the rate shown is that of the tier containing c (up_to exclusive here).
    const containingBefore = price.tiers.findIndex((tier) => {
      const upper = upToOf(tier);
      return upper === null || upper.gt(before);
    });
    return { amount, quantity, rate: rate(lastTouched >= 0 ? lastTouched : containingBefore), per };
  },
};
