// Step 5.4 of core-wasm/README.md: one handler per price model, each pricing one charge line (stage R2).
import type { Charge, PriceModel, PriceModelName, Tier } from '../../core-wasm/src/book.ts';
import { composeDimension, propertyNumber, type ChargeContext } from './compose.ts';
import {
  ceilQuotient,
  checkMoney,
  checkQuantity,
  divideHalfEven,
  formatMoney,
  formatQuantity,
  HUNDRED,
  MONEY_PLACES,
  ONE,
  parseStored,
  roundHalfEven,
  ZERO,
  type Dec,
} from './numbers.ts';

const DEFAULT_PER = '1000000';

export interface PriceInput<M> {
  context: ChargeContext;
  charge: Charge;
  price: M;
  /** Position of the charge in the list in use. */
  index: number;
  /** The quantity after the allowance (unused by `flat` and `dynamic`). */
  quantity: Dec;
  /**
   * The model's rate at a position of `rates`, after the modifiers. Computed when a rate is used, so that only the
   * rates that price something must fit 64 bits.
   */
  rate: (index: number) => Dec;
}

/** What the `price` step shows. */
export interface PricedLine {
  amount: Dec;
  quantity: Dec;
  rate: Dec;
  per: Dec;
}

export interface PriceHandler<M> {
  /** Priced on the quantity of a dimension (quantity and allowance steps); `flat` and `dynamic` are not. */
  measured: boolean;
  /** Whether modifiers apply: never to `dynamic`, whose amount is the event's own. */
  modifiable: boolean;
  /** The book's rates that modifiers multiply, in a fixed order. */
  rates(price: M): Dec[];
  price(input: PriceInput<M>): PricedLine;
}

type Handlers = { [K in PriceModelName]: PriceHandler<Extract<PriceModel, { model: K }>> };

const money = (text: string, path: string): Dec => parseStored(text, 'money', path);
const perOf = (per: string | undefined): Dec => parseStored(per ?? DEFAULT_PER, 'quantity', 'per', { positive: true });
const upToOf = (tier: Tier): Dec | null => (tier.up_to === undefined || tier.up_to === null ? null : parseStored(tier.up_to, 'quantity', 'up_to'));

function counterName(input: PriceInput<{ counter?: string }>): string {
  const name = input.price.counter ?? `${input.context.card.id}:${input.charge.dimension}`;
  return `${input.context.counterPrefix}${name}`;
}

function pushTier(input: PriceInput<unknown>, tier: number, quantity: Dec, rate: Dec): void {
  input.context.steps.push({ step: 'tier', charge: input.index, tier, quantity: formatQuantity(quantity), rate: formatMoney(rate) });
}

export const PRICE_MODELS: Handlers = {
  per_unit: {
    measured: true,
    modifiable: true,
    rates: (price) => [money(price.rate, 'rate')],
    price: ({ price, quantity, rate }) => {
      const per = perOf(price.per);
      const amount = divideHalfEven(quantity.times(rate(0)), per, MONEY_PLACES);
      return { amount: checkMoney(amount, 'line'), quantity, rate: rate(0), per };
    },
  },

  package: {
    measured: true,
    modifiable: true,
    rates: (price) => [money(price.amount, 'amount')],
    price: ({ price, quantity, rate }) => {
      const size = parseStored(price.size, 'quantity', 'size', { positive: true });
      const amount = ceilQuotient(quantity, size).times(rate(0));
      return { amount: checkMoney(amount, 'line'), quantity, rate: rate(0), per: size };
    },
  },

  graduated: {
    measured: true,
    modifiable: true,
    rates: (price) => price.tiers.map((tier) => money(tier.rate, 'tiers.rate')),
    price: (input) => {
      const { price, quantity, rate, context } = input;
      const per = perOf(price.per);
      const counter = counterName(input);
      const before = context.ledger.counter(counter);
      const after = checkQuantity(before.plus(quantity), `counter ${counter}`);
      let exact = ZERO;
      let lower = ZERO;
      let lastTouched = -1;
      price.tiers.forEach((tier, index) => {
        const upper = upToOf(tier);
        const from = before.gt(lower) ? before : lower;
        const to = upper === null || after.lt(upper) ? after : upper;
        if (to.gt(from)) {
          const share = to.minus(from);
          exact = exact.plus(share.times(rate(index)));
          pushTier(input, index, share, rate(index));
          lastTouched = index;
        }
        if (upper !== null) lower = upper;
      });
      const amount = checkMoney(divideHalfEven(exact, per, MONEY_PLACES), 'line');
      context.ledger.setCounter(counter, after);
      // With q = 0 no tier is touched; the rate shown is that of the tier containing c (up_to exclusive here).
      const containingBefore = price.tiers.findIndex((tier) => {
        const upper = upToOf(tier);
        return upper === null || upper.gt(before);
      });
      return { amount, quantity, rate: rate(lastTouched >= 0 ? lastTouched : containingBefore), per };
    },
  },

  volume: {
    measured: true,
    modifiable: true,
    rates: (price) => price.tiers.map((tier) => money(tier.rate, 'tiers.rate')),
    price: (input) => {
      const { price, quantity, rate, context } = input;
      const per = perOf(price.per);
      const counter = counterName(input);
      const before = context.ledger.counter(counter);
      const after = checkQuantity(before.plus(quantity), `counter ${counter}`);
      // For volume `up_to` is inclusive: x belongs to the first tier whose up_to >= x.
      const tierOf = (x: Dec): number => {
        const index = price.tiers.findIndex((tier) => {
          const upper = upToOf(tier);
          return upper === null || upper.gte(x);
        });
        return index < 0 ? price.tiers.length - 1 : index;
      };
      const priceAt = (x: Dec): Dec => checkMoney(divideHalfEven(x.times(rate(tierOf(x))), per, MONEY_PLACES), 'volume price');
      const tier = tierOf(after);
      const amount = checkMoney(priceAt(after).minus(priceAt(before)), 'line');
      // The tier step attributes the event's own quantity q to the tier that c + q reaches.
      pushTier(input, tier, quantity, rate(tier));
      context.ledger.setCounter(counter, after);
      return { amount, quantity, rate: rate(tier), per };
    },
  },

  request_tiers: {
    measured: true,
    modifiable: true,
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
  },

  flat: {
    measured: false,
    modifiable: true,
    rates: (price) => [money(price.amount, 'amount')],
    price: ({ rate }) => ({ amount: rate(0), quantity: ONE, rate: rate(0), per: ONE }),
  },

  dynamic: {
    measured: false,
    modifiable: false,
    rates: () => [],
    price: ({ price, context }) => {
      const eventAmount = propertyNumber(context.facts, price.amount_property);
      const markup = parseStored(price.markup_percent ?? '0', 'percent', 'markup_percent');
      const amount = roundHalfEven(eventAmount.times(ONE.plus(markup.div(HUNDRED))), MONEY_PLACES);
      return { amount: checkMoney(amount, 'line'), quantity: ONE, rate: eventAmount, per: ONE };
    },
  },
};
