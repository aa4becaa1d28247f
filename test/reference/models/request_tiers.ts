// request_tiers: the rate of the last tier whose `above` is < this event's basis quantity, then as per_unit.
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { composeDimension } from '../compose.ts';
import { checkMoney, divideHalfEven, MONEY_PLACES, parseStored, ZERO, type Dec } from '../numbers.ts';
import { fail, money, perOf, validatePer, type PriceHandler } from './types.ts';

export const requestTiers: PriceHandler<Extract<PriceModel, { model: 'request_tiers' }>> = {
  measured: true,
  modifiable: true,
  validate: (price, at) => {
    if (typeof price.basis !== 'string' || price.basis === '') fail(`${at}.basis`, 'expected a property or dimension');
    parseStored(price.rate, 'money', `${at}.rate`);
    price.tiers.reduce<Dec | null>((previous, tier, index) => {
      const above = parseStored(tier.above, 'quantity', `${at}.tiers[${index}].above`, { min: ZERO });
      if (previous !== null && !above.gt(previous)) fail(`${at}.tiers[${index}].above`, 'thresholds increase strictly');
      parseStored(tier.rate, 'money', `${at}.tiers[${index}].rate`);
      return above;
    }, null);
    validatePer(price.per, at);
  },
  reads: (price, read) => read.dimension(price.basis),
  rates: (price) => [money(price.rate, 'rate'), ...price.tiers.map((tier) => money(tier.rate, 'tiers.rate'))],
  price: ({ price, quantity, rate, context }) => {
    const per = perOf(price.per);
    // The basis is the raw quantity of this event (before any allowance); no tier step is written.
    const basis = composeDimension(context, price.basis);
    let selected = 0;
    price.tiers.forEach((tier, index) => {
      if (parseStored(tier.above, 'quantity', 'above').lt(basis)) selected = index + 1;
    });
    const amount = divideHalfEven(quantity.times(rate(selected)), per, MONEY_PLACES);
    return { amount: checkMoney(amount, 'line'), quantity, rate: rate(selected), per };
  },
};
