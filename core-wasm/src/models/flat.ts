// flat: the amount, per event.
import type { PriceModel } from '../book.ts';
import type { ModelCompiler } from './types.ts';

export const flat: ModelCompiler<Extract<PriceModel, { model: 'flat' }>> = {
  measured: false,
  modifiable: true,
  compile(price, charge) {
    charge.compiled.per = 1_000_000n;
    charge.compiled.rate = charge.money(price.amount, 'amount');
  },
};
