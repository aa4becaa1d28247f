// package: ceil(q / size) x amount; the record's per holds the size and its rate the amount.
import type { PriceModel } from '../book.ts';
import { MICRO_DIGITS } from '../decimal.ts';
import type { ModelCompiler } from './types.ts';

export const packageModel: ModelCompiler<Extract<PriceModel, { model: 'package' }>> = {
  measured: true,
  modifiable: true,
  compile(price, charge) {
    charge.compiled.per = charge.decimal(price.size, MICRO_DIGITS, `${charge.path}.size`, { positive: true });
    charge.compiled.rate = charge.money(price.amount, 'amount');
  },
};
