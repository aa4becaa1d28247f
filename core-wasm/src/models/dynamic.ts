// dynamic: round(a x (1 + markup_percent / 100)) for the amount `a` the event carries; the record's aux holds the
// amount's property slot and its rate the markup as a fraction in 1e-9.
import type { PriceModel } from '../book.ts';
import type { ModelCompiler } from './types.ts';

export const dynamic: ModelCompiler<Extract<PriceModel, { model: 'dynamic' }>> = {
  measured: false,
  modifiable: false,
  compile(price, charge) {
    const { compiled, path: pp } = charge;
    compiled.per = 1_000_000n;
    if (typeof price.amount_property !== 'string' || !price.amount_property) {
      charge.problem(`${pp}.amount_property`, 'must name the event property carrying the amount');
      return;
    }
    compiled.aux = charge.requiredMoney(price.amount_property, `${pp}.amount_property`);
    // A percentage with 7 decimals is a fraction in 1e-9.
    compiled.rate =
      price.markup_percent === undefined ? 0n : charge.decimal(price.markup_percent, 7, `${pp}.markup_percent`);
  },
};
