// per_unit: round(q x rate / per).
import type { PriceModel } from '../book.ts';
import type { ModelCompiler } from './types.ts';

export const perUnit: ModelCompiler<Extract<PriceModel, { model: 'per_unit' }>> = {
  measured: true,
  modifiable: true,
  compile(price, charge) {
    charge.compiled.per = charge.per(price.per);
    charge.compiled.rate = charge.money(price.rate, 'rate');
  },
};
