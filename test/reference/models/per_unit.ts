// per_unit: round(q x rate / per).
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { checkMoney, divideHalfEven, MONEY_PLACES, parseStored } from '../numbers.ts';
import { money, perOf, validatePer, type PriceHandler } from './types.ts';

export const perUnit: PriceHandler<Extract<PriceModel, { model: 'per_unit' }>> = {
  measured: true,
  modifiable: true,
  validate: (price, at) => {
    parseStored(price.rate, 'money', `${at}.rate`);
    validatePer(price.per, at);
  },
  rates: (price) => [money(price.rate, 'rate')],
  price: ({ price, quantity, rate }) => {
    const per = perOf(price.per);
    const amount = divideHalfEven(quantity.times(rate(0)), per, MONEY_PLACES);
    return { amount: checkMoney(amount, 'line'), quantity, rate: rate(0), per };
  },
};
