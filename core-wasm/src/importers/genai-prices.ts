// Imports the genai-prices v2 catalogue (data.v2.json, github.com/pydantic/genai-prices) as one Tariff price book that
// prices usage as @pydantic/genai-prices' calcPrice does. Each mapping decision is explained where it is made.

import { Decimal } from 'decimal.js';
import type { BookVersion, Charge, Dimension, MatchRule, PriceBook, RateCard, TimeWindow } from '../book.ts';
import { GENAI_PRICES_UNITS, type GenaiPricesUnit, type GenaiPricesUnitRegistry } from './genai-prices-units.ts';
import { translateRegexToMatchRule } from './match-rule-from-regex.ts';

export interface ImportGenaiPricesOptions {
  /** Id of the book. Default "genai-prices". */
  bookId?: string;
  /**
   * `effective_from` of the first version. A `start_date` at or before it is in force from the first version.
   * Default 1970-01-01T00:00:00.000Z.
   */
  firstEffectiveFrom?: string;
  /** The unit registry (units.yml). Default: the registry published with the 2026-08-21 snapshot. */
  units?: GenaiPricesUnitRegistry;
  /**
   * A `regex` clause that no prefix/suffix/contains rule states exactly: `keep` (the default) carries it as a
   * `{ regex }` MatchRule, `reject` makes it a problem, `widen` uses the tightest superset rule and notes it (a
   * regex with no literal superset, such as a lookahead, is kept as written).
   */
  regex?: 'keep' | 'reject' | 'widen';
  /**
   * Price a provider's `fallback_model_providers` (Azure selling OpenAI models at OpenAI's price) with extra cards
   * `<provider>/<model>@<fallback provider>` after the provider's own cards. Default true.
   */
  fallbackProviders?: boolean;
}

/** Something in the catalogue that cannot be imported, with its JSON path (e.g. `$[3].models[12].match.or[1].regex`). */
export interface ImportProblem {
  path: string;
  message: string;
}

/** A faithful-but-worth-knowing or approximate step of an import that succeeded. */
export interface ImportNote {
  path: string;
  kind:
    'regex_widened' | 'number_recovered' | 'cards_reordered' | 'precedence_cycle' | 'empty_window' | 'amount_rounded';
  message: string;
}

export class GenaiPricesImportError extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(
      `genai-prices catalogue has ${problems.length} problem(s):\n` +
        problems.map((problem) => `  ${problem.path}: ${problem.message}`).join('\n'),
    );
    this.name = 'GenaiPricesImportError';
  }
}

/** Imports the catalogue; throws GenaiPricesImportError listing every problem. */
export function importGenaiPrices(catalogue: unknown, options: ImportGenaiPricesOptions = {}): PriceBook {
  return importGenaiPricesWithNotes(catalogue, options).book;
}

/** As importGenaiPrices, also returning the notes (widened regexes, recovered float artefacts, reordered cards...). */
export function importGenaiPricesWithNotes(
  catalogue: unknown,
  options: ImportGenaiPricesOptions = {},
): { book: PriceBook; notes: ImportNote[] } {
  const context = new ImportContext(options);
  const providers = parseCatalogue(catalogue, context);
  const firstEffectiveFrom = parseFirstEffectiveFrom(options.firstEffectiveFrom, context);
  if (context.problems.length) throw new GenaiPricesImportError(context.problems);

  const cardSpecs = orderCardSpecs(providers, options.fallbackProviders ?? true, context);
  if (context.problems.length) throw new GenaiPricesImportError(context.problems);
  const versions = buildVersions(cardSpecs, firstEffectiveFrom);
  return { book: { id: options.bookId ?? 'genai-prices', currency: 'USD', versions }, notes: context.notes };
}

/**
 * calcPrice lowercases and trims the provider and the model before matching (and lowercases every literal of the
 * catalogue's rules). A book matches case-insensitively (core-wasm/README.md), so callers need not lowercase; this
 * function is calcPrice's normalization, for the importer's own comparisons and for callers that also want the trim.
 */
export function normalizeGenaiPricesReference(value: string): string {
  return value.toLowerCase().trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Parsed catalogue

interface ParsedProvider {
  id: string;
  path: string;
  /** The provider's id (exact) or its `provider_match` rule. */
  rule: MatchRule;
  /** Translated `provider_match`, when present. */
  providerMatch: MatchRule | null;
  models: ParsedModel[];
  fallbacks: string[];
}

interface ParsedModel {
  id: string;
  path: string;
  /** Translated `match`, without the model's id. */
  match: MatchRule;
  prices: PriceEntry[];
}

type Constraint =
  | { kind: 'always' }
  | { kind: 'start_date'; at: number }
  /** `window` is null for a window that never holds (start equal to end). */
  | { kind: 'time_of_day'; window: { name: string; definition: TimeWindow } | null };

interface PriceEntry {
  constraint: Constraint;
  prices: PriceSet;
}

/** One model price (a `ModelPrice`) as Tariff charges; dimensions are named per card. */
interface PriceSet {
  charges: {
    usageKey: string;
    formula: Record<string, number>;
    price: Charge['price'];
    /** A dimension other than the formula's (Groq Whisper's larger of two properties). */
    dimension?: { name: string; definition: Dimension };
    /** Per-call minimum quantity. */
    minimum?: string;
  }[];
}

const DEFAULT_FIRST_EFFECTIVE_FROM = '1970-01-01T00:00:00.000Z';
/** The property holding a request's total input tokens: calcPrice picks a price tier with it. */
const TIER_BASIS = 'input_tokens';
/** calcPrice prices `requests` as exactly one request per call, whatever the usage says. */
const REQUESTS = 'requests';

class ImportContext {
  readonly problems: ImportProblem[] = [];
  readonly notes: ImportNote[] = [];
  readonly units: GenaiPricesUnitRegistry;
  readonly unitsByPriceKey: Map<string, { usageKey: string; unit: GenaiPricesUnit }>;

  constructor(readonly options: ImportGenaiPricesOptions) {
    this.units = options.units ?? GENAI_PRICES_UNITS;
    this.unitsByPriceKey = new Map(
      Object.entries(this.units).map(([usageKey, unit]) => [unit.priceKey, { usageKey, unit }]),
    );
  }

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  note(path: string, kind: ImportNote['kind'], message: string): void {
    this.notes.push({ path, kind, message });
  }
}

function parseFirstEffectiveFrom(value: string | undefined, context: ImportContext): number {
  const instant = Date.parse(value ?? DEFAULT_FIRST_EFFECTIVE_FROM);
  if (Number.isNaN(instant)) context.problem('options.firstEffectiveFrom', `not an instant: ${JSON.stringify(value)}`);
  return instant;
}

function parseCatalogue(catalogue: unknown, context: ImportContext): ParsedProvider[] {
  if (!Array.isArray(catalogue)) {
    context.problem('$', 'expected an array of providers');
    return [];
  }
  const providers: ParsedProvider[] = [];
  const seen = new Map<string, string>();
  catalogue.forEach((value, index) => {
    const provider = parseProvider(value, `$[${index}]`, context);
    if (!provider) return;
    const key = normalizeGenaiPricesReference(provider.id);
    const earlier = seen.get(key);
    if (earlier)
      context.problem(`${provider.path}.id`, `duplicate provider id ${JSON.stringify(provider.id)} (also ${earlier})`);
    else seen.set(key, provider.path);
    providers.push(provider);
  });
  for (const provider of providers) {
    provider.fallbacks.forEach((fallback, index) => {
      if (!seen.has(fallback)) {
        context.problem(
          `${provider.path}.fallback_model_providers[${index}]`,
          `unknown provider ${JSON.stringify(fallback)}`,
        );
      }
    });
  }
  return providers;
}

function parseProvider(value: unknown, path: string, context: ImportContext): ParsedProvider | null {
  if (!isRecord(value)) {
    context.problem(path, 'expected a provider object');
    return null;
  }
  const id = parseId(value.id, `${path}.id`, context);
  const providerMatch =
    value.provider_match === undefined ? null : parseRule(value.provider_match, `${path}.provider_match`, context);
  let fallbacks: string[] = [];
  if (value.fallback_model_providers !== undefined) {
    if (
      !Array.isArray(value.fallback_model_providers) ||
      !value.fallback_model_providers.every((item) => typeof item === 'string')
    ) {
      context.problem(`${path}.fallback_model_providers`, 'expected an array of provider ids');
    } else fallbacks = value.fallback_model_providers.map(normalizeGenaiPricesReference);
  }
  const models: ParsedModel[] = [];
  if (!Array.isArray(value.models)) context.problem(`${path}.models`, 'expected an array of models');
  else {
    const seen = new Map<string, string>();
    value.models.forEach((model, index) => {
      const modelPath = `${path}.models[${index}]`;
      const parsed = parseModel(model, modelPath, context);
      const modelId = isRecord(model) ? model.id : undefined;
      if (typeof modelId === 'string') {
        const earlier = seen.get(modelId);
        if (earlier)
          context.problem(`${modelPath}.id`, `duplicate model id ${JSON.stringify(modelId)} (also ${earlier})`);
        else seen.set(modelId, modelPath);
      }
      if (parsed) models.push(parsed);
    });
  }
  if (id === null) return null;
  applyGroqWhisperMinimum(id, models, context);
  const exactId = normalizeGenaiPricesReference(id);
  return {
    id,
    path,
    rule: providerMatch ? { or: [exactId, ...alternatives(providerMatch)] } : exactId,
    providerMatch,
    models,
    fallbacks,
  };
}

/**
 * calcPrice bills Groq's Whisper models at least 10 seconds of audio per call, a rule in its code, not in the data: it
 * reads `audio_seconds` (`input_audio_seconds` when that is absent or 0), raises a value above 0 to 10 and sets both
 * to it, so the most specific priced audio unit carries the whole call and the other's remainder is 0. The card says
 * so with one charge at that unit's rate on the larger of the two properties (calcPrice's value whenever
 * audio_seconds >= input_audio_seconds, as consistent usage is) and a per-call minimum of 10 seconds.
 */
function applyGroqWhisperMinimum(providerId: string, models: ParsedModel[], context: ImportContext): void {
  if (normalizeGenaiPricesReference(providerId) !== 'groq') return;
  const audioKeys = ['audio_seconds', 'input_audio_seconds'];
  for (const model of models) {
    if (model.id !== 'whisper-large-v3' && model.id !== 'whisper-large-v3-turbo') continue;
    for (const entry of model.prices) {
      const charges = entry.prices.charges;
      const audio = charges.filter((charge) => audioKeys.includes(charge.usageKey));
      if (audio.length === 0) continue;
      if (audio.some((charge) => charge.price.model !== 'per_unit')) {
        context.problem(
          `${model.path}.prices`,
          "calcPrice's 10-second minimum per call for Groq Whisper cannot be stated on tiered audio prices",
        );
        continue;
      }
      const carrier = audio.find((charge) => charge.usageKey === 'input_audio_seconds') ?? audio[0]!;
      entry.prices.charges = charges.flatMap((charge) =>
        charge === carrier
          ? [{ ...charge, dimension: { name: 'billed_audio_seconds', definition: { max: audioKeys } }, minimum: '10' }]
          : audio.includes(charge)
            ? []
            : [charge],
      );
    }
  }
}

function parseId(value: unknown, path: string, context: ImportContext): string | null {
  if (typeof value !== 'string' || !/^\S+$/.test(value)) {
    context.problem(path, 'expected a non-empty id without white space');
    return null;
  }
  return value;
}

function parseModel(value: unknown, path: string, context: ImportContext): ParsedModel | null {
  if (!isRecord(value)) {
    context.problem(path, 'expected a model object');
    return null;
  }
  const id = parseId(value.id, `${path}.id`, context);
  const match =
    value.match === undefined
      ? (context.problem(`${path}.match`, 'missing'), null)
      : parseRule(value.match, `${path}.match`, context);
  const prices = parseModelPrices(value.prices, `${path}.prices`, context);
  if (id === null || match === null || prices === null) return null;
  return { id, path, match, prices };
}

// ---------------------------------------------------------------------------------------------------------------
// Match rules

const CLAUSES = ['equals', 'starts_with', 'ends_with', 'contains', 'regex', 'or', 'and'] as const;

/** Translates a catalogue clause; literals are lowercased because calcPrice compares lowercased strings. */
function parseRule(value: unknown, path: string, context: ImportContext): MatchRule | null {
  if (!isRecord(value)) {
    context.problem(path, 'expected a match clause object');
    return null;
  }
  const keys = Object.keys(value);
  const clause = keys[0] as (typeof CLAUSES)[number];
  if (keys.length !== 1 || !CLAUSES.includes(clause)) {
    context.problem(path, `expected exactly one of ${CLAUSES.join(', ')}; got ${JSON.stringify(keys)}`);
    return null;
  }
  const operand = value[clause];
  if (clause === 'or' || clause === 'and') {
    if (!Array.isArray(operand)) {
      context.problem(`${path}.${clause}`, 'expected an array of clauses');
      return null;
    }
    const rules = operand.map((item, index) => parseRule(item, `${path}.${clause}[${index}]`, context));
    if (rules.some((rule) => rule === null)) return null;
    return clause === 'or' ? { or: rules as MatchRule[] } : { and: rules as MatchRule[] };
  }
  if (typeof operand !== 'string') {
    context.problem(`${path}.${clause}`, 'expected a string');
    return null;
  }
  switch (clause) {
    case 'equals':
      return { equals: operand.toLowerCase() };
    case 'starts_with':
      return { starts_with: operand.toLowerCase() };
    case 'ends_with':
      return { ends_with: operand.toLowerCase() };
    case 'contains':
      return { contains: operand.toLowerCase() };
    case 'regex':
      return parseRegex(operand, `${path}.regex`, context);
  }
}

function parseRegex(regex: string, path: string, context: ImportContext): MatchRule | null {
  const translation = translateRegexToMatchRule(regex);
  if (translation.kind === 'exact') return translation.rule;
  if (translation.kind === 'unsupported') {
    // A regex no literal rule can state, not even as a superset (a lookahead such as ^(?!.*-tts)), is carried as
    // written unless regexes are rejected: the book's `regex` is an ECMAScript regular expression, tested like
    // calcPrice's on the lowercased name (with the `i` flag, which changes nothing for the catalogue's patterns: they
    // are written for lowercased names).
    if (context.options.regex !== 'reject' && isValidRegex(regex)) return { regex };
    context.problem(path, `regex ${JSON.stringify(regex)} cannot be stated as a MatchRule: ${translation.reason}`);
    return null;
  }
  const policy = context.options.regex ?? 'keep';
  if (policy === 'keep') return { regex };
  if (policy === 'reject') {
    context.problem(
      path,
      `regex ${JSON.stringify(regex)} has no exact MatchRule (${translation.reason}); the nearest superset is ` +
        `${JSON.stringify(translation.rule)} (import with regex: "widen" to accept it)`,
    );
    return null;
  }
  context.note(
    path,
    'regex_widened',
    `regex ${JSON.stringify(regex)} widened to ${JSON.stringify(translation.rule)}: ${translation.reason}`,
  );
  return translation.rule;
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source, 'i');
    return true;
  } catch {
    return false;
  }
}

function alternatives(rule: MatchRule): MatchRule[] {
  return typeof rule === 'object' && 'or' in rule ? rule.or : [rule];
}

/** The card's model rule: its id as the exact match (exact matches win), then the catalogue's rule. */
function modelRule(model: ParsedModel): MatchRule {
  const exactId = normalizeGenaiPricesReference(model.id);
  const rest = alternatives(model.match).filter(
    (rule) => !(typeof rule === 'object' && 'equals' in rule && rule.equals === exactId),
  );
  return rest.length ? { or: [exactId, ...rest] } : exactId;
}

/** A fallback card matches as calcPrice's fallback lookup does: by the catalogue's rule alone, never by the id. */
function fallbackModelRule(model: ParsedModel): MatchRule {
  return model.match;
}

/** MatchRule semantics (book.ts) on an already normalized value. */
export function matchesRule(rule: MatchRule, value: string): boolean {
  if (typeof rule === 'string') return value === rule;
  if ('equals' in rule) return value === rule.equals;
  if ('starts_with' in rule) return value.startsWith(rule.starts_with);
  if ('ends_with' in rule) return value.endsWith(rule.ends_with);
  if ('contains' in rule) return value.includes(rule.contains);
  if ('regex' in rule) return new RegExp(rule.regex).test(value); // as core-wasm/src/match.ts
  if ('or' in rule) return rule.or.some((item) => matchesRule(item, value));
  return rule.and.every((item) => matchesRule(item, value));
}

// ---------------------------------------------------------------------------------------------------------------
// Prices

function parseModelPrices(value: unknown, path: string, context: ImportContext): PriceEntry[] | null {
  if (isRecord(value)) {
    const prices = parsePriceSet(value, path, context);
    return prices && [{ constraint: { kind: 'always' }, prices }];
  }
  if (!Array.isArray(value) || value.length === 0) {
    context.problem(path, 'expected a price object or a non-empty array of conditional prices');
    return null;
  }
  const entries = value.map((item, index): PriceEntry | null => {
    const itemPath = `${path}[${index}]`;
    if (!isRecord(item)) {
      context.problem(itemPath, 'expected a conditional price object');
      return null;
    }
    for (const key of Object.keys(item)) {
      if (key !== 'prices' && key !== 'constraint') context.problem(`${itemPath}.${key}`, 'unknown field');
    }
    const constraint =
      item.constraint === undefined
        ? { kind: 'always' as const }
        : parseConstraint(item.constraint, `${itemPath}.constraint`, context);
    const prices = isRecord(item.prices) ? parsePriceSet(item.prices, `${itemPath}.prices`, context) : null;
    if (!isRecord(item.prices)) context.problem(`${itemPath}.prices`, 'expected a price object');
    return constraint && prices && { constraint, prices };
  });
  return entries.every((entry) => entry !== null) ? (entries as PriceEntry[]) : null;
}

const TIME_OF_DAY = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/;

function parseConstraint(value: unknown, path: string, context: ImportContext): Constraint | null {
  if (!isRecord(value)) {
    context.problem(path, 'expected a constraint object');
    return null;
  }
  // calcPrice also accepts its own normalized form, which carries a `type`.
  const { type, ...fields } = value;
  const keys = Object.keys(fields).sort().join(',');
  if (keys === 'start_date' && (type === undefined || type === 'start_date')) {
    const date = fields.start_date;
    const at = typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
    if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== date) {
      context.problem(`${path}.start_date`, `expected a date YYYY-MM-DD, got ${JSON.stringify(date)}`);
      return null;
    }
    // calcPrice compares the timestamp with `new Date("YYYY-MM-DD")`, which JavaScript reads as midnight UTC.
    return { kind: 'start_date', at };
  }
  if (keys === 'end_time,start_time' && (type === undefined || type === 'time_of_date')) {
    const start = parseTimeOfDay(fields.start_time, `${path}.start_time`, context);
    const end = parseTimeOfDay(fields.end_time, `${path}.end_time`, context);
    if (start === null || end === null) return null;
    if (start === end) {
      // calcPrice tests start <= t < end, which never holds; a Tariff window with end == start would span the day.
      context.note(
        path,
        'empty_window',
        'start_time equals end_time: calcPrice never applies these prices; no variant is made',
      );
      return { kind: 'time_of_day', window: null };
    }
    const [from, to] = [formatSecondOfDay(start), formatSecondOfDay(end)];
    return {
      kind: 'time_of_day',
      window: {
        name: `utc_${from.replaceAll(':', '')}_${to.replaceAll(':', '')}`,
        definition: { time_zone: 'UTC', start: from, end: to },
      },
    };
  }
  context.problem(path, `expected {start_date} or {start_time, end_time}; got ${JSON.stringify(Object.keys(value))}`);
  return null;
}

/** Second of the UTC day; offsets are folded in as calcPrice does, wrapping past midnight. */
function parseTimeOfDay(value: unknown, path: string, context: ImportContext): number | null {
  const match = typeof value === 'string' ? TIME_OF_DAY.exec(value) : null;
  if (!match) {
    context.problem(path, `expected a time HH:MM:SS with Z or an offset, got ${JSON.stringify(value)}`);
    return null;
  }
  const [, hours, minutes, seconds, fraction = '', zone, sign, offsetHours = '00', offsetMinutes = '00'] = match;
  if (
    Number(hours) > 23 ||
    Number(minutes) > 59 ||
    Number(seconds) > 59 ||
    Number(offsetHours) > 23 ||
    Number(offsetMinutes) > 59
  ) {
    context.problem(path, `time out of range: ${JSON.stringify(value)}`);
    return null;
  }
  if (/[1-9]/.test(fraction)) {
    // The kernel tests windows on whole seconds of the day.
    context.problem(path, `fractional seconds cannot be stated in a Tariff window: ${JSON.stringify(value)}`);
    return null;
  }
  const offset = zone === 'Z' ? 0 : (sign === '+' ? 1 : -1) * (Number(offsetHours) * 3600 + Number(offsetMinutes) * 60);
  return (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) - offset + 2 * 86_400) % 86_400;
}

function formatSecondOfDay(second: number): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(Math.floor(second / 3600))}:${pad(Math.floor(second / 60) % 60)}:${pad(second % 60)}`;
}

type ParsedPrice =
  { kind: 'flat'; value: Decimal } | { kind: 'tiered'; base: Decimal; tiers: { start: number; price: Decimal }[] };

function parsePriceSet(value: Record<string, unknown>, path: string, context: ImportContext): PriceSet | null {
  const priced: { usageKey: string; unit: GenaiPricesUnit; price: ParsedPrice; path: string }[] = [];
  let valid = true;
  for (const [priceKey, raw] of Object.entries(value)) {
    const keyPath = `${path}.${priceKey}`;
    const registered = context.unitsByPriceKey.get(priceKey);
    if (!registered) {
      // calcPrice warns and ignores unknown keys; silently under-pricing usage is worse than refusing.
      context.problem(keyPath, 'unknown price key (not in the unit registry)');
      valid = false;
      continue;
    }
    const price = parsePrice(raw, keyPath, context);
    if (!price) {
      valid = false;
      continue;
    }
    if (registered.usageKey === REQUESTS && price.kind === 'tiered') {
      context.problem(keyPath, 'a tiered price per request cannot be stated (a request has no quantity to tier)');
      valid = false;
      continue;
    }
    priced.push({ ...registered, price, path: keyPath });
  }
  if (!valid) return null;

  // calcPrice refuses a price set that prices a unit without its ancestors, or two overlapping units without their
  // join: the leaf values would not partition the usage.
  const pricedKeys = new Set(priced.map((item) => item.usageKey));
  for (const item of priced) {
    for (const [ancestorKey, ancestor] of Object.entries(context.units)) {
      if (ancestorKey !== item.usageKey && isAncestor(ancestor, item.unit) && !pricedKeys.has(ancestorKey)) {
        context.problem(item.path, `prices ${item.usageKey} without its ancestor ${ancestor.priceKey}`);
        valid = false;
      }
    }
  }
  for (let i = 0; i < priced.length; i++) {
    for (let j = i + 1; j < priced.length; j++) {
      const [left, right] = [priced[i]!, priced[j]!];
      if (!compatible(left.unit, right.unit)) continue;
      const joinDimensions = { ...left.unit.dimensions, ...right.unit.dimensions };
      const join = Object.entries(context.units).find(([, unit]) => sameDimensions(unit.dimensions, joinDimensions));
      if (!join)
        context.problem(path, `${left.unit.priceKey} and ${right.unit.priceKey} overlap in a unit the registry lacks`);
      else if (!pricedKeys.has(join[0]))
        context.problem(
          path,
          `${left.unit.priceKey} and ${right.unit.priceKey} overlap in ${join[1].priceKey}, which is not priced`,
        );
      else continue;
      valid = false;
    }
  }
  if (!valid) return null;

  const formulas = leafFormulas(
    priced.map((item) => item.usageKey).filter((key) => key !== REQUESTS),
    context.units,
  );
  const order = Object.keys(context.units);
  priced.sort((left, right) => order.indexOf(left.usageKey) - order.indexOf(right.usageKey));
  const charges = priced.map((item) => ({
    usageKey: item.usageKey,
    formula: formulas.get(item.usageKey) ?? {},
    price: chargePrice(item.usageKey, item.unit, item.price, item.path, context),
  }));
  return { charges };
}

function parsePrice(value: unknown, path: string, context: ImportContext): ParsedPrice | null {
  if (typeof value === 'number') {
    const decimal = parseAmount(value, path, context);
    return decimal && { kind: 'flat', value: decimal };
  }
  if (!isRecord(value)) {
    context.problem(path, 'expected a number or {base, tiers}');
    return null;
  }
  let valid = true;
  for (const key of Object.keys(value)) {
    if (key !== 'base' && key !== 'tiers') {
      context.problem(`${path}.${key}`, 'unknown field');
      valid = false;
    }
  }
  const base = parseAmount(value.base, `${path}.base`, context);
  if (!Array.isArray(value.tiers)) {
    context.problem(`${path}.tiers`, 'expected an array of tiers');
    return null;
  }
  const tiers = value.tiers.map((tier, index) => {
    const tierPath = `${path}.tiers[${index}]`;
    if (!isRecord(tier)) {
      context.problem(tierPath, 'expected {start, price}');
      return null;
    }
    const start = tier.start;
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
      context.problem(`${tierPath}.start`, 'expected a non-negative integer number of tokens');
      return null;
    }
    const price = parseAmount(tier.price, `${tierPath}.price`, context);
    return price && { start, price };
  });
  if (!valid || base === null || tiers.some((tier) => tier === null)) return null;
  return { kind: 'tiered', base, tiers: tiers as { start: number; price: Decimal }[] };
}

/**
 * A catalogue number as the decimal its author wrote. JSON numbers are doubles; a value whose shortest form needs more
 * than 15 significant digits (0.18000000000000002) is a float artefact of the catalogue's own tooling, so the
 * 15-digit decimal (0.18) is used and noted. The difference is below 1e-15 relative.
 */
function parseAmount(value: unknown, path: string, context: ImportContext): Decimal | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    context.problem(path, `expected a finite non-negative number, got ${JSON.stringify(value)}`);
    return null;
  }
  const shortest = new Decimal(value);
  if (shortest.precision(true) <= 15) return shortest;
  const recovered = new Decimal(value.toPrecision(15));
  context.note(path, 'number_recovered', `${shortest.toFixed()} read as ${recovered.toFixed()}`);
  return recovered;
}

/** Quantities (and so `per`) are 64-bit counts of micro-units: `per` must stay below 2^63 / 1e6. */
const MAX_PER = new Decimal(10).pow(12);

/**
 * Rates with at most 9 decimals (the kernel's money precision) and their common `per`: a rate with more decimals is
 * scaled by 10^k together with `per`, which is exact. Past what `per` can hold, the rates are rounded and noted.
 */
function scaledRates(
  rates: Decimal[],
  per: number,
  path: string,
  context: ImportContext,
): { rates: string[]; per: string } {
  const maxExcess = Math.floor(Math.log10(MAX_PER.dividedBy(per).toNumber()));
  const excess = Math.max(0, ...rates.map((rate) => rate.decimalPlaces() - 9));
  let scaled = rates;
  if (excess > maxExcess) {
    scaled = rates.map((rate) => rate.toDecimalPlaces(9 + maxExcess, Decimal.ROUND_HALF_EVEN));
    context.note(
      path,
      'amount_rounded',
      `${rates.map((rate) => rate.toFixed()).join(', ')} rounded to ${9 + maxExcess} decimals`,
    );
  }
  const scale = new Decimal(10).pow(Math.min(excess, maxExcess));
  return { rates: scaled.map((rate) => rate.times(scale).toFixed()), per: new Decimal(per).times(scale).toFixed() };
}

function chargePrice(
  usageKey: string,
  unit: GenaiPricesUnit,
  price: ParsedPrice,
  path: string,
  context: ImportContext,
): Charge['price'] {
  if (usageKey === REQUESTS) {
    // One request per call: a flat amount of price / per (per a thousand requests).
    const exact = (price as { value: Decimal }).value.dividedBy(unit.per);
    const amount = exact.toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN);
    if (!amount.equals(exact))
      context.note(path, 'amount_rounded', `${exact.toFixed()} per request rounded to ${amount.toFixed()}`);
    return { model: 'flat', amount: amount.toFixed() };
  }
  if (price.kind === 'flat') {
    const { rates, per } = scaledRates([price.value], unit.per, path, context);
    return { model: 'per_unit', rate: rates[0]!, per };
  }
  // calcPrice sorts the tiers by start and takes the last one with `input_tokens > start`: strictly greater, which is
  // the README's "last tier whose `above` is < the basis" with above = start. The sort is stable, as is ours.
  const tiers = [...price.tiers].sort((left, right) => left.start - right.start);
  const { rates, per } = scaledRates([price.base, ...tiers.map((tier) => tier.price)], unit.per, path, context);
  return {
    model: 'request_tiers',
    basis: TIER_BASIS,
    rate: rates[0]!,
    tiers: tiers.map((tier, index) => ({ above: String(tier.start), rate: rates[index + 1]! })),
    per,
  };
}

function isAncestor(ancestor: GenaiPricesUnit, descendant: GenaiPricesUnit): boolean {
  return Object.entries(ancestor.dimensions).every(([key, value]) => descendant.dimensions[key] === value);
}

function compatible(left: GenaiPricesUnit, right: GenaiPricesUnit): boolean {
  return Object.entries(left.dimensions).every(
    ([key, value]) => right.dimensions[key] === undefined || right.dimensions[key] === value,
  );
}

function sameDimensions(left: Readonly<Record<string, string>>, right: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => left[key] === right[key]);
}

/**
 * The quantity each priced unit is charged for, as integer combinations of usage properties. calcPrice charges a unit
 * its usage minus the leaf values of every priced descendant, most specific first; unpriced descendants stay in their
 * nearest priced ancestor (cache reads at the input price when cache_read_mtok is absent). Unrolled, that is
 * inclusion-exclusion over the priced units: input - cache_read - input_audio + cache_audio_read.
 */
function leafFormulas(pricedKeys: string[], units: GenaiPricesUnitRegistry): Map<string, Record<string, number>> {
  const sorted = [...pricedKeys].sort(
    (left, right) =>
      Object.keys(units[right]!.dimensions).length - Object.keys(units[left]!.dimensions).length ||
      left.localeCompare(right),
  );
  const formulas = new Map<string, Record<string, number>>();
  for (const key of sorted) {
    const formula: Record<string, number> = { [key]: 1 };
    for (const other of sorted) {
      if (other === key || !isAncestor(units[key]!, units[other]!)) continue;
      for (const [property, coefficient] of Object.entries(formulas.get(other)!)) {
        formula[property] = (formula[property] ?? 0) - coefficient;
      }
    }
    formulas.set(key, Object.fromEntries(Object.entries(formula).filter(([, coefficient]) => coefficient !== 0)));
  }
  return formulas;
}

// ---------------------------------------------------------------------------------------------------------------
// Cards and versions

interface CardSpec {
  id: string;
  match: Record<string, MatchRule>;
  model: ParsedModel;
}

/**
 * Book order reproduces calcPrice's choice: a provider's models in catalogue order (the first match wins), then its
 * fallback providers' models. One change: the kernel picks provider and model together, so where a rule of one
 * provider (model) matches another's id, the other moves first and exact ids win as the README promises
 * (huggingface_cerebras before cerebras, whose provider_match `contains cerebras` would take it).
 */
function orderCardSpecs(providers: ParsedProvider[], withFallbacks: boolean, context: ImportContext): CardSpec[] {
  const byId = new Map(providers.map((provider) => [normalizeGenaiPricesReference(provider.id), provider]));
  const orderedModels = new Map(
    providers.map((provider) => [
      provider,
      orderForExactIds(
        provider.models,
        (model) => model.id,
        (model) => model.match,
        `${provider.path}.models`,
        context,
      ),
    ]),
  );
  const specs: CardSpec[] = [];
  const seen = new Map<string, string>();
  const add = (spec: CardSpec) => {
    const earlier = seen.get(spec.id);
    if (earlier) context.problem(spec.model.path, `card id ${JSON.stringify(spec.id)} is already used by ${earlier}`);
    seen.set(spec.id, spec.model.path);
    specs.push(spec);
  };
  const orderedProviders = orderForExactIds(
    providers,
    (provider) => provider.id,
    (provider) => provider.providerMatch,
    '$',
    context,
  );
  for (const provider of orderedProviders) {
    for (const model of orderedModels.get(provider)!) {
      add({ id: `${provider.id}/${model.id}`, match: { provider: provider.rule, model: modelRule(model) }, model });
    }
    if (!withFallbacks) continue;
    // calcPrice looks in each fallback provider's models only when none of the provider's own models matches.
    for (const fallbackId of provider.fallbacks) {
      const fallback = byId.get(fallbackId)!;
      for (const model of orderedModels.get(fallback)!) {
        add({
          id: `${provider.id}/${model.id}@${fallback.id}`,
          match: { provider: provider.rule, model: fallbackModelRule(model) },
          model,
        });
      }
    }
  }
  return specs;
}

/**
 * Catalogue order, except that an item whose id another item's rule matches is moved to just before that item.
 * In a cycle (two rules matching each other's ids) book order cannot make both ids win; that is noted.
 */
function orderForExactIds<T>(
  items: T[],
  idOf: (item: T) => string,
  ruleOf: (item: T) => MatchRule | null,
  path: string,
  context: ImportContext,
): T[] {
  const ids = items.map((item) => normalizeGenaiPricesReference(idOf(item)));
  const mustFollow = items.map((item, index) => {
    const rule = ruleOf(item);
    return rule === null ? [] : ids.flatMap((id, other) => (other !== index && matchesRule(rule, id) ? [other] : []));
  });
  if (mustFollow.every((list) => list.length === 0)) return items;
  const state = new Map<number, 'visiting' | 'placed'>();
  const result: T[] = [];
  const visit = (index: number) => {
    if (state.get(index) === 'placed') return;
    if (state.get(index) === 'visiting') {
      context.note(
        path,
        'precedence_cycle',
        `rules match each other's ids around ${idOf(items[index]!)}; book order decides there`,
      );
      return;
    }
    state.set(index, 'visiting');
    for (const other of mustFollow[index]!) visit(other);
    state.set(index, 'placed');
    result.push(items[index]!);
  };
  items.forEach((_, index) => visit(index));
  const moves = items.flatMap((item, index) =>
    mustFollow[index]!.map((other) => `${idOf(items[other]!)} before ${idOf(item)}`),
  );
  context.note(path, 'cards_reordered', `exact ids win over other entries' rules: ${moves.join(', ')}`);
  return result;
}

function buildVersions(specs: CardSpec[], firstEffectiveFrom: number): BookVersion[] {
  const starts = new Set<number>([firstEffectiveFrom]);
  for (const spec of specs) {
    for (const entry of spec.model.prices) {
      if (entry.constraint.kind === 'start_date' && entry.constraint.at > firstEffectiveFrom)
        starts.add(entry.constraint.at);
    }
  }
  const cache = new Map<string, RateCard>();
  return [...starts]
    .sort((left, right) => left - right)
    .map((at) => {
      const windows: Record<string, TimeWindow> = {};
      const rateCards = specs.map((spec) => {
        const { base, variants } = resolvePrices(spec.model.prices, at);
        for (const variant of variants) windows[variant.window.name] = variant.window.definition;
        // Cards whose prices do not change are the same object in every version (the compiler dedups them).
        const key = `${spec.id}\u0000${spec.model.prices.indexOf(base)}\u0000${variants.map((variant) => spec.model.prices.indexOf(variant.entry)).join(',')}`;
        let card = cache.get(key);
        if (!card) {
          card = buildCard(spec, base, variants);
          cache.set(key, card);
        }
        return card;
      });
      const version: BookVersion = { effective_from: new Date(at).toISOString(), rate_cards: rateCards };
      if (Object.keys(windows).length) version.windows = windows;
      return version;
    });
}

type WindowVariant = { window: { name: string; definition: TimeWindow }; entry: PriceEntry };

/**
 * calcPrice tries a model's conditional prices last to first and takes the first that holds (an entry without a
 * constraint always holds), else the first entry. Within one version the start dates are settled, so the scan stops
 * at the last entry that always holds (the card's charges); the time-of-day entries after it become variants in list
 * order, since the kernel applies the last variant whose window holds.
 */
function resolvePrices(entries: PriceEntry[], at: number): { base: PriceEntry; variants: WindowVariant[] } {
  let baseIndex = 0;
  for (let index = entries.length - 1; index >= 0; index--) {
    const constraint = entries[index]!.constraint;
    if (constraint.kind === 'always' || (constraint.kind === 'start_date' && constraint.at <= at)) {
      baseIndex = index;
      break;
    }
  }
  const variants = entries.flatMap((entry, index): WindowVariant[] =>
    entry.constraint.kind === 'time_of_day' && entry.constraint.window !== null && index > baseIndex
      ? [{ window: entry.constraint.window, entry }]
      : [],
  );
  // Without any entry that holds, calcPrice uses the first entry, which may itself be a time-of-day entry: it is the
  // base then, and its own variant would change nothing.
  return { base: entries[baseIndex]!, variants };
}

function buildCard(spec: CardSpec, base: PriceEntry, variants: WindowVariant[]): RateCard {
  const dimensions: Record<string, Dimension> = {};
  const chargesOf = (prices: PriceSet): Charge[] =>
    prices.charges.length === 0
      ? // A model without prices (the ":free" ones) costs 0 in calcPrice; a card needs at least one charge.
        [{ price: { model: 'flat', amount: '0' } }]
      : prices.charges.map(({ usageKey, formula, price, dimension, minimum }): Charge => {
          if (price.model === 'flat') return { price };
          if (!dimension) return { dimension: dimensionName(usageKey, formula, dimensions), price };
          dimensions[dimension.name] = dimension.definition;
          return { dimension: dimension.name, ...(minimum === undefined ? {} : { minimum }), price };
        });
  const card: RateCard = { id: spec.id, match: spec.match, charges: chargesOf(base.prices) };
  if (variants.length) {
    card.variants = variants.map((variant) => ({
      when: { window: variant.window.name },
      charges: chargesOf(variant.entry.prices),
    }));
  }
  if (Object.keys(dimensions).length) card.dimensions = dimensions;
  return card;
}

/** The usage property itself when nothing more specific is priced, else a derived `<usage key>_remainder`. */
function dimensionName(
  usageKey: string,
  formula: Record<string, number>,
  dimensions: Record<string, Dimension>,
): string {
  const entries = Object.entries(formula).sort(([left], [right]) => left.localeCompare(right));
  if (entries.length === 1 && entries[0]![0] === usageKey && entries[0]![1] === 1) return usageKey;
  const canonical = JSON.stringify(entries);
  const same = (dimension: Dimension) =>
    'formula' in dimension &&
    JSON.stringify(Object.entries(dimension.formula).sort(([left], [right]) => left.localeCompare(right))) ===
      canonical;
  for (let suffix = 1; ; suffix++) {
    const name = suffix === 1 ? `${usageKey}_remainder` : `${usageKey}_remainder_${suffix}`;
    const existing = dimensions[name];
    if (!existing) {
      dimensions[name] = { formula: Object.fromEntries(entries) };
      return name;
    }
    if (same(existing)) return name;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
