// flat: the amount, per event.
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { ONE, parseStored } from '../numbers.ts';
import { money, type PriceHandler } from './types.ts';

export const flat: PriceHandler<Extract<PriceModel, { model: 'flat' }>> = {
  measured: false,
  modifiable: true,
  validate: (price, at) => void parseStored(price.amount, 'money', `${at}.amount`),
  rates: (price) => [money(price.amount, 'amount')],
  price: ({ rate }) => ({ amount: rate(0), quantity: ONE, rate: rate(0), per: ONE }),
};
