// dynamic: round(a x (1 + markup_percent / 100)) for the amount `a` the event carries; modifiers never apply.
import type { PriceModel } from '../../../core-wasm/src/book.ts';
import { propertyNumber } from '../compose.ts';
import { checkMoney, HUNDRED, MONEY_PLACES, ONE, parseStored, roundHalfEven, ZERO } from '../numbers.ts';
import { fail, type PriceHandler } from './types.ts';

export const dynamic: PriceHandler<Extract<PriceModel, { model: 'dynamic' }>> = {
  measured: false,
  modifiable: false,
  validate: (price, at) => {
    if (typeof price.amount_property !== 'string' || price.amount_property === '')
      fail(`${at}.amount_property`, 'expected a property');
    parseStored(price.markup_percent ?? '0', 'percent', `${at}.markup_percent`, { min: ZERO });
  },
  reads: (price, read) => read.money(price.amount_property, true),
  rates: () => [],
  price: ({ price, context }) => {
    const eventAmount = propertyNumber(context.facts, price.amount_property);
    const markup = parseStored(price.markup_percent ?? '0', 'percent', 'markup_percent');
    const amount = roundHalfEven(eventAmount.times(ONE.plus(markup.div(HUNDRED))), MONEY_PLACES);
    return { amount: checkMoney(amount, 'line'), quantity: ONE, rate: eventAmount, per: ONE };
  },
};
