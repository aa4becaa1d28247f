// What every reference price model implements (step 5.4 of core-wasm/README.md), and the helpers they share.
import type { Charge, PriceModel, PriceModelName, Tier } from '../../../core-wasm/src/book.ts';
import type { ChargeContext } from '../compose.ts';
import {
  checkQuantity,
  formatMoney,
  formatQuantity,
  InvalidInputError,
  parseStored,
  ZERO,
  type Dec,
} from '../numbers.ts';

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

/** How a model declares the event properties it reads (beyond its charge's dimension, which `measured` covers). */
export interface ReadRecorder {
  /** A property read as money; `required`: an event without it (and without a default) is an error. */
  money(name: string, required: boolean): void;
  /** A dimension of the card (or a plain property) read as a quantity. */
  dimension(name: string): void;
}

export interface PriceHandler<M> {
  /** Priced on the quantity of a dimension (quantity and allowance steps); `flat` and `dynamic` are not. */
  measured: boolean;
  /** Whether modifiers apply: never to `dynamic`, whose amount is the event's own. */
  modifiable: boolean;
  /** Throws InvalidInputError naming the first bad field of the price (at `path`). */
  validate(price: M, path: string): void;
  /** The properties the price itself reads, beyond the charge's dimension. */
  reads?(price: M, read: ReadRecorder): void;
  /** The book's rates that modifiers multiply, in a fixed order. */
  rates(price: M): Dec[];
  price(input: PriceInput<M>): PricedLine;
}

/** The registry's type: one handler per model of the book's JSON, so a model without one does not compile. */
export type PriceHandlers = { [K in PriceModelName]: PriceHandler<Extract<PriceModel, { model: K }>> };

export const DEFAULT_PER = '1000000';

export const cumulativeRates = (price: { tiers: Tier[] }): Dec[] =>
  price.tiers.map((tier) => money(tier.rate, 'tiers.rate'));
export const money = (text: string, path: string): Dec => parseStored(text, 'money', path);
export const perOf = (per: string | undefined): Dec =>
  parseStored(per ?? DEFAULT_PER, 'quantity', 'per', { positive: true });
export const upToOf = (tier: Tier): Dec | null =>
  tier.up_to === undefined || tier.up_to === null ? null : parseStored(tier.up_to, 'quantity', 'up_to');

export function fail(path: string, message: string): never {
  throw new InvalidInputError(`${path}: ${message}`);
}

export function validatePer(per: string | undefined, path: string): void {
  parseStored(per ?? DEFAULT_PER, 'quantity', `${path}.per`, { positive: true });
}

export function counterName(input: PriceInput<{ counter?: string }>): string {
  const name = input.price.counter ?? `${input.context.card.id}:${input.charge.dimension}`;
  return `${input.context.counterPrefix}${name}`;
}

/** Graduated and volume: the period's counter before and after this event's quantity (which must fit). */
export function advanceCounter(input: PriceInput<{ counter?: string }>): { counter: string; before: Dec; after: Dec } {
  const counter = counterName(input);
  const before = input.context.ledger.counter(counter);
  return { counter, before, after: checkQuantity(before.plus(input.quantity), `counter ${counter}`) };
}

export function pushTier(input: PriceInput<unknown>, tier: number, quantity: Dec, rate: Dec): void {
  input.context.steps.push({
    step: 'tier',
    charge: input.index,
    tier,
    quantity: formatQuantity(quantity),
    rate: formatMoney(rate),
  });
}

/** Graduated and volume tiers: up_to increases strictly from 0, only the last tier is unbounded; then the rates. */
export function validateCumulativeTiers(price: { tiers: Tier[]; per?: string; counter?: string }, at: string): void {
  const path = `${at}.tiers`;
  const tiers = price.tiers;
  if (!Array.isArray(tiers) || tiers.length === 0) fail(path, 'expected at least one tier');
  let previous: Dec = ZERO;
  tiers.forEach((tier, index) => {
    const last = index === tiers.length - 1;
    const bounded = tier.up_to !== undefined && tier.up_to !== null;
    if (last && bounded) fail(`${path}[${index}].up_to`, 'the last tier is unbounded');
    if (!last && !bounded) fail(`${path}[${index}].up_to`, 'only the last tier is unbounded');
    if (bounded) {
      const upTo = parseStored(tier.up_to, 'quantity', `${path}[${index}].up_to`);
      if (!upTo.gt(previous)) fail(`${path}[${index}].up_to`, 'bounds increase strictly from 0');
      previous = upTo;
    }
  });
  tiers.forEach((tier, index) => parseStored(tier.rate, 'money', `${at}.tiers[${index}].rate`));
  validatePer(price.per, at);
  if (price.counter !== undefined && typeof price.counter !== 'string') fail(`${at}.counter`, 'expected a name');
}
