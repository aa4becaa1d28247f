// Steps 4 and 5 of core-wasm/README.md for one card: the variant, then per charge the quantity, the modifiers
// (stage R1), the allowance and the price (stage R2). Shared by the price book and the cost schedule.
import type { Charge, Condition, PriceModel } from '../../core-wasm/src/book.ts';
import { composeDimension, conditionHolds, type ChargeContext } from './compose.ts';
import { PRICE_MODELS, type PriceHandler } from './models/index.ts';
import {
  checkMoney,
  formatMoney,
  formatMultiplier,
  formatQuantity,
  min,
  MONEY_PLACES,
  parseStored,
  roundHalfEven,
  ZERO,
  type Dec,
} from './numbers.ts';

/** The charges in use: the last variant whose condition holds replaces the card's own (step `variant`). */
export function selectCharges(context: ChargeContext): Charge[] {
  const variants = context.card.variants ?? [];
  for (let index = variants.length - 1; index >= 0; index -= 1) {
    const variant = variants[index]!;
    if (conditionHolds(variant.when, context.version, context.facts)) {
      context.steps.push({ step: 'variant', variant: index });
      return variant.charges;
    }
  }
  return context.card.charges;
}

/** What a modifier's receipt step names: its condition, e.g. "window:peak+service_tier:batch". */
export function modifierSource(when: Condition): string {
  return [
    ...(when.window === undefined ? [] : [`window:${when.window}`]),
    ...(when.service_tier === undefined ? [] : [`service_tier:${when.service_tier}`]),
  ].join('+');
}

/** Rates every charge in order and returns the line amounts. */
export function rateCharges(context: ChargeContext, charges: readonly Charge[]): Dec[] {
  return charges.map((charge, index) => rateCharge(context, charge, index));
}

function rateCharge(context: ChargeContext, charge: Charge, index: number): Dec {
  const handler = PRICE_MODELS[charge.price.model] as PriceHandler<PriceModel>;
  const { steps } = context;

  let quantity = ZERO;
  if (handler.measured) {
    quantity = composeDimension(context, charge.dimension!);
    steps.push({ step: 'quantity', charge: index, dimension: charge.dimension!, quantity: formatQuantity(quantity) });
    // Per-call minimum: a quantity above 0 and below it is billed as the minimum; 0 stays 0.
    if (charge.minimum !== undefined) {
      const minimum = parseStored(charge.minimum, 'quantity', `charges[${index}].minimum`, { positive: true });
      if (quantity.gt(ZERO) && quantity.lt(minimum)) {
        quantity = minimum;
        steps.push({ step: 'minimum', charge: index, minimum: formatQuantity(minimum) });
      }
    }
  }

  const multipliers: Dec[] = [];
  if (handler.modifiable) {
    (context.version.modifiers ?? []).forEach((modifier, position) => {
      // `position` only locates a bad multiplier; the receipt names the modifier by its condition.
      if (modifier.cards !== undefined && !modifier.cards.includes(context.card.id)) return;
      if (!conditionHolds(modifier.when, context.version, context.facts)) return;
      const multiplier = parseStored(modifier.multiplier, 'multiplier', `modifiers[${position}].multiplier`);
      multipliers.push(multiplier);
      steps.push({
        step: 'modifier',
        charge: index,
        source: modifierSource(modifier.when),
        multiplier: formatMultiplier(multiplier),
      });
    });
  }
  // Stage R1, once per modifier; a rate is modified (and must fit after each modifier) only when it is used.
  const bookRates = handler.rates(charge.price);
  const modified = new Map<number, Dec>();
  const rate = (position: number): Dec => {
    let value = modified.get(position);
    if (value === undefined) {
      value = multipliers.reduce(
        (current, multiplier) => checkMoney(roundHalfEven(current.times(multiplier), MONEY_PLACES), 'modified rate'),
        bookRates[position]!,
      );
      modified.set(position, value);
    }
    return value;
  };

  if (handler.measured && context.useAllowances && charge.allowance !== undefined) {
    const pool = charge.allowance;
    const declared = context.version.allowances?.[pool]?.included;
    const included =
      declared === undefined ? ZERO : parseStored(declared, 'quantity', `allowances.${pool}.included`, { min: ZERO });
    const available = context.ledger.allowance(pool, included);
    const covered = min(quantity, available);
    quantity = quantity.minus(covered);
    const remaining = available.minus(covered);
    context.ledger.setAllowance(pool, remaining);
    steps.push({
      step: 'allowance',
      charge: index,
      pool,
      covered: formatQuantity(covered),
      remaining: formatQuantity(remaining),
    });
  }

  const line = handler.price({ context, charge, price: charge.price, index, quantity, rate });
  steps.push({
    step: 'price',
    charge: index,
    model: charge.price.model,
    quantity: formatQuantity(line.quantity),
    rate: formatMoney(line.rate),
    per: formatQuantity(line.per),
    amount: formatMoney(line.amount),
  });
  return line.amount;
}
