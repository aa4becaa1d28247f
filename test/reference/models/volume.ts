// volume: P(c + q) - P(c), where P(x) prices all of x at the rate of the tier containing x.
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { checkMoney, divideHalfEven, MONEY_PLACES, type Dec } from '../numbers.ts';
import {
  advanceCounter,
  cumulativeRates,
  perOf,
  pushTier,
  upToOf,
  validateCumulativeTiers,
  type PriceHandler,
} from './types.ts';

export const volume: PriceHandler<Extract<PriceModel, { model: 'volume' }>> = {
  measured: true,
  modifiable: true,
  validate: validateCumulativeTiers,
  rates: cumulativeRates,
  price: (input) => {
    const { price, quantity, rate, context } = input;
    const per = perOf(price.per);
    const { counter, before, after } = advanceCounter(input);
    // For volume `up_to` is inclusive: x belongs to the first tier whose up_to >= x.
    const tierOf = (x: Dec): number => {
      const index = price.tiers.findIndex((tier) => {
        const upper = upToOf(tier);
        return upper === null || upper.gte(x);
      });
      return index < 0 ? price.tiers.length - 1 : index;
    };
    const priceAt = (x: Dec): Dec =>
      checkMoney(divideHalfEven(x.times(rate(tierOf(x))), per, MONEY_PLACES), 'volume price');
    const tier = tierOf(after);
    const amount = checkMoney(priceAt(after).minus(priceAt(before)), 'line');
    // The tier step attributes the event's own quantity q to the tier that c + q reaches.
    pushTier(input, tier, quantity, rate(tier));
    context.ledger.setCounter(counter, after);
    return { amount, quantity, rate: rate(tier), per };
  },
};
