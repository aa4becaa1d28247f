// Checks a price book and a customer state before rating. A bad book or state is not an event error: the host
// rejects the whole call, so these throw InvalidInputError.
import type {
  BookVersion,
  Charge,
  Condition,
  CustomerState,
  Dimension,
  PriceBook,
  PriceModel,
  RateCard,
} from '../../core-wasm/src/book.ts';
import { assertMatchRule } from './match.ts';
import { PRICE_MODELS, type PriceHandler } from './models/index.ts';
import { InvalidInputError, parseStored, ZERO } from './numbers.ts';
import { assertTimeZone, calendarDay, parseClock, parseStoredInstant, WEEKDAYS } from './time.ts';

const SERVICE_TIERS = ['standard', 'batch', 'flex', 'priority'];

function fail(path: string, message: string): never {
  throw new InvalidInputError(`${path}: ${message}`);
}

/** JSON with object keys sorted, so that two equal matches compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validateBook(book: PriceBook): void {
  if (!isRecord(book)) fail('book', 'expected an object');
  if (typeof book.currency !== 'string' || book.currency === '') fail('currency', 'expected an ISO 4217 code');
  validateVersions(book.versions, 'versions');
  if (book.cost !== undefined) {
    if (book.cost.currency !== undefined && book.cost.currency !== book.currency)
      fail('cost.currency', 'must equal the book currency');
    validateVersions(book.cost.versions, 'cost.versions');
  }
}

function validateVersions(versions: BookVersion[], path: string): void {
  if (!Array.isArray(versions) || versions.length === 0) fail(path, 'expected at least one version');
  versions.forEach((version, index) => validateVersion(version, `${path}[${index}]`));
  // Cards are chosen before the version, so a card id must match the same way in every version.
  const matches = new Map<string, string>();
  versions.forEach((version, index) =>
    version.rate_cards.forEach((card, position) => {
      const match = canonicalJson(card.match);
      if ((matches.get(card.id) ?? match) !== match)
        fail(
          `${path}[${index}].rate_cards[${position}].match`,
          `card ${card.id} matches differently in an earlier version`,
        );
      matches.set(card.id, match);
    }),
  );
}

function validateVersion(version: BookVersion, path: string): void {
  parseStoredInstant(version.effective_from, `${path}.effective_from`);
  for (const [name, calendar] of Object.entries(version.calendars ?? {})) {
    assertTimeZone(calendar.time_zone, `${path}.calendars.${name}.time_zone`);
    if (!Array.isArray(calendar.dates)) fail(`${path}.calendars.${name}.dates`, 'expected a list of dates');
    calendar.dates.forEach((date, index) => calendarDay(date, `${path}.calendars.${name}.dates[${index}]`));
  }
  for (const [name, window] of Object.entries(version.windows ?? {})) {
    const at = `${path}.windows.${name}`;
    assertTimeZone(window.time_zone, `${at}.time_zone`);
    parseClock(window.start, false, `${at}.start`);
    parseClock(window.end, true, `${at}.end`);
    if (
      window.days !== undefined &&
      (!Array.isArray(window.days) || !window.days.every((day) => WEEKDAYS.includes(day)))
    ) {
      fail(`${at}.days`, 'expected weekday names mon..sun');
    }
    for (const field of ['except', 'only'] as const) {
      const name = window[field];
      if (name !== undefined && version.calendars?.[name] === undefined)
        fail(`${at}.${field}`, `unknown calendar ${name}`);
    }
  }
  (version.modifiers ?? []).forEach((modifier, index) => {
    validateCondition(modifier.when, version, `${path}.modifiers[${index}].when`);
    parseStored(modifier.multiplier, 'multiplier', `${path}.modifiers[${index}].multiplier`);
    const ids = new Set(version.rate_cards.map((card) => card.id));
    if (modifier.cards !== undefined && !(Array.isArray(modifier.cards) && modifier.cards.every((id) => ids.has(id)))) {
      fail(`${path}.modifiers[${index}].cards`, 'expected ids of cards in this version');
    }
  });
  for (const [pool, allowance] of Object.entries(version.allowances ?? {})) {
    parseStored(allowance.included, 'quantity', `${path}.allowances.${pool}.included`, { min: ZERO });
  }
  if (!Array.isArray(version.rate_cards)) fail(`${path}.rate_cards`, 'expected a list');
  const ids = new Set<string>();
  version.rate_cards.forEach((card, index) => {
    if (typeof card.id !== 'string' || card.id === '' || ids.has(card.id))
      fail(`${path}.rate_cards[${index}].id`, 'expected a unique id');
    ids.add(card.id);
    validateCard(card, version, `${path}.rate_cards[${index}]`);
  });
}

function validateCondition(when: Condition, version: BookVersion, path: string): void {
  if (!isRecord(when) || (when.window === undefined && when.service_tier === undefined))
    fail(path, 'a condition names a window or a service tier');
  if (when.window !== undefined && version.windows?.[when.window] === undefined)
    fail(`${path}.window`, `unknown window ${when.window}`);
  if (when.service_tier !== undefined && !SERVICE_TIERS.includes(when.service_tier))
    fail(`${path}.service_tier`, 'unknown service tier');
}

function validateCard(card: RateCard, version: BookVersion, path: string): void {
  if (!isRecord(card.match) || Object.keys(card.match).length === 0)
    fail(`${path}.match`, 'a match names at least one property');
  for (const [name, rule] of Object.entries(card.match)) assertMatchRule(rule, `${path}.match.${name}`);
  for (const [name, dimension] of Object.entries(card.dimensions ?? {}))
    validateDimension(dimension, `${path}.dimensions.${name}`);
  validateCharges(card.charges, `${path}.charges`);
  (card.variants ?? []).forEach((variant, index) => {
    validateCondition(variant.when, version, `${path}.variants[${index}].when`);
    validateCharges(variant.charges, `${path}.variants[${index}].charges`);
  });
}

function validateDimension(dimension: Dimension, path: string): void {
  if ('formula' in dimension) {
    if (!isRecord(dimension.formula) || Object.keys(dimension.formula).length === 0)
      fail(path, 'expected a non-empty formula');
    for (const [property, coefficient] of Object.entries(dimension.formula)) {
      if (!Number.isSafeInteger(coefficient)) fail(`${path}.formula.${property}`, 'coefficients are integers');
    }
  } else if ('gpu_time' in dimension) {
    const gpu = dimension.gpu_time;
    parseStored(gpu.minimum_seconds ?? '0', 'quantity', `${path}.minimum_seconds`, { min: ZERO });
    parseStored(gpu.increment_seconds ?? '1', 'quantity', `${path}.increment_seconds`, { positive: true });
  } else if ('max' in dimension) {
    if (!Array.isArray(dimension.max) || dimension.max.length === 0)
      fail(`${path}.max`, 'expected a non-empty list of properties');
  } else {
    fail(path, 'expected formula, gpu_time or max');
  }
}

function validateCharges(charges: Charge[], path: string): void {
  if (!Array.isArray(charges)) fail(path, 'expected a list of charges');
  charges.forEach((charge, index) => validateCharge(charge, `${path}[${index}]`));
}

function validateCharge(charge: Charge, path: string): void {
  const price = charge.price;
  if (!isRecord(price) || !(price.model in PRICE_MODELS)) fail(`${path}.price.model`, 'unknown price model');
  if (PRICE_MODELS[price.model].measured && (typeof charge.dimension !== 'string' || charge.dimension === '')) {
    fail(`${path}.dimension`, `${price.model} needs a dimension`);
  }
  if (charge.minimum !== undefined) {
    if (!PRICE_MODELS[price.model].measured) fail(`${path}.minimum`, `${price.model} has no quantity`);
    parseStored(charge.minimum, 'quantity', `${path}.minimum`, { positive: true });
  }
  (PRICE_MODELS[price.model] as PriceHandler<PriceModel>).validate(price, `${path}.price`);
}

export function validateState(state: CustomerState, path: string): void {
  if (!isRecord(state)) fail(path, 'expected an object');
  if (state.period !== undefined) {
    parseStoredInstant(state.period.start, `${path}.period.start`);
    parseStoredInstant(state.period.end, `${path}.period.end`);
  }
  for (const [name, value] of Object.entries(state.counters ?? {}))
    parseStored(value, 'quantity', `${path}.counters.${name}`, { min: ZERO });
  for (const [name, value] of Object.entries(state.allowances ?? {}))
    parseStored(value, 'quantity', `${path}.allowances.${name}`, { min: ZERO });
  if (state.discount_percent !== undefined) parseStored(state.discount_percent, 'percent', `${path}.discount_percent`);
  if (state.commitment !== undefined) {
    if (state.commitment.mode !== 'prepaid' && state.commitment.mode !== 'postpaid')
      fail(`${path}.commitment.mode`, 'prepaid or postpaid');
    for (const field of ['remaining', 'consumed'] as const) {
      const value = state.commitment[field];
      if (value !== undefined) parseStored(value, 'money', `${path}.commitment.${field}`, { min: ZERO });
    }
  }
  (state.grants ?? []).forEach((grant, index) => {
    const at = `${path}.grants[${index}]`;
    if (typeof grant.id !== 'string') fail(`${at}.id`, 'expected a string');
    if (grant.kind !== 'promotional' && grant.kind !== 'prepaid') fail(`${at}.kind`, 'promotional or prepaid');
    if (typeof grant.priority !== 'number' || !Number.isFinite(grant.priority))
      fail(`${at}.priority`, 'expected a number');
    parseStored(grant.balance, 'money', `${at}.balance`);
    if (grant.effective_at !== undefined) parseStoredInstant(grant.effective_at, `${at}.effective_at`);
    if (grant.expires_at !== undefined) parseStoredInstant(grant.expires_at, `${at}.expires_at`);
  });
  if (state.on_depletion !== undefined && state.on_depletion !== 'overage' && state.on_depletion !== 'block') {
    fail(`${path}.on_depletion`, 'overage or block');
  }
}
