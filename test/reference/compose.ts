// What a charge is rated against (the event's checked facts, the card and version in force, the working state)
// and step 5.1 of core-wasm/README.md: the quantity of a dimension, including GPU time (stage R0).
import type {
  BookVersion,
  Condition,
  Outcome,
  RateCard,
  ReceiptStep,
  ServiceTier,
  UsageEvent,
} from '../../core-wasm/src/book.ts';
import type { Ledger } from './ledger.ts';
import {
  ceilQuotient,
  checkQuantity,
  EventFailure,
  InvalidInputError,
  max,
  parseStored,
  QUANTITY_PLACES,
  roundHalfEven,
  ZERO,
  type Dec,
} from './numbers.ts';
import { windowHolds } from './time.ts';

/** The event after step 0 and the numeric-property checks. */
export interface EventFacts {
  event: UsageEvent;
  timestamp: number;
  serviceTier: ServiceTier;
  outcome: Outcome;
  /** Every numeric property the chosen price and cost cards read, already checked. */
  numbers: ReadonlyMap<string, Dec>;
}

export interface ChargeContext {
  facts: EventFacts;
  card: RateCard;
  version: BookVersion;
  ledger: Ledger;
  /** "" for the price book, "cost:" for the cost schedule. */
  counterPrefix: string;
  /** The cost schedule draws no allowances. */
  useAllowances: boolean;
  /** Receipt steps are collected here (and dropped for the cost schedule, which has no receipt). */
  steps: ReceiptStep[];
}

export function propertyNumber(facts: EventFacts, name: string): Dec {
  const value = facts.numbers.get(name);
  if (value === undefined) throw new Error(`reference bug: property ${name} was read but never checked`);
  return value;
}

export function conditionHolds(when: Condition, version: BookVersion, facts: EventFacts): boolean {
  if (when.window !== undefined) {
    const window = version.windows?.[when.window];
    if (window === undefined) throw new InvalidInputError(`unknown window ${when.window}`);
    if (!windowHolds(window, facts.timestamp, version.calendars)) return false;
  }
  return when.service_tier === undefined || when.service_tier === facts.serviceTier;
}

/** The quantity of a dimension: a derived dimension of the card, else the event property of that name. */
export function composeDimension(context: ChargeContext, name: string): Dec {
  const dimension = context.card.dimensions?.[name];
  if (dimension === undefined) return propertyNumber(context.facts, name);
  if ('formula' in dimension) {
    let sum = ZERO;
    for (const [property, coefficient] of Object.entries(dimension.formula)) {
      sum = sum.plus(propertyNumber(context.facts, property).times(coefficient));
    }
    if (sum.isNegative() && !sum.isZero()) {
      throw new EventFailure('negative_quantity', `dimension ${name} is ${sum.toFixed()}`, `dimensions.${name}`);
    }
    return checkQuantity(sum, `dimension ${name}`);
  }
  if ('max' in dimension) {
    // The largest of the properties; absent ones read as 0.
    return dimension.max.reduce((largest, property) => max(largest, propertyNumber(context.facts, property)), ZERO);
  }
  const gpu = dimension.gpu_time;
  const count = propertyNumber(context.facts, gpu.count ?? 'gpu_count');
  const duration = propertyNumber(context.facts, gpu.duration ?? 'duration_seconds');
  const increment = parseStored(gpu.increment_seconds ?? '1', 'quantity', `dimensions.${name}.increment_seconds`, {
    positive: true,
  });
  const minimum = parseStored(gpu.minimum_seconds ?? '0', 'quantity', `dimensions.${name}.minimum_seconds`, {
    min: ZERO,
  });
  let billable = ceilQuotient(duration, increment).times(increment);
  // The minimum is for completed jobs only: preempted and failed jobs pay their actual, rounded-up duration.
  if (context.facts.outcome === 'completed') billable = max(billable, minimum);
  checkQuantity(billable, `billable seconds of ${name}`);
  return checkQuantity(roundHalfEven(count.times(billable), QUANTITY_PLACES), `dimension ${name}`);
}
