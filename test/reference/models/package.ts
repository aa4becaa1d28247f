// package: ceil(q / size) x amount (exact).
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { ceilQuotient, checkMoney, parseStored } from '../numbers.ts';
import { money, type PriceHandler } from './types.ts';

export const packageModel: PriceHandler<Extract<PriceModel, { model: 'package' }>> = {
  measured: true,
  modifiable: true,
  validate: (price, at) => {
    parseStored(price.size, 'quantity', `${at}.size`, { positive: true });
    parseStored(price.amount, 'money', `${at}.amount`);
  },
  rates: (price) => [money(price.amount, 'amount')],
  price: ({ price, quantity, rate }) => {
    const size = parseStored(price.size, 'quantity', 'size', { positive: true });
    const amount = ceilQuotient(quantity, size).times(rate(0));
    return { amount: checkMoney(amount, 'line'), quantity, rate: rate(0), per: size };
  },
};
