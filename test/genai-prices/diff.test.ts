// Differential test: the shared genai-prices snapshot imported as a Tariff book, rated by Tariff (rate-book.ts), against
// @pydantic/genai-prices' calcPrice running on the same snapshot, over every model, token counts up to 2,000,000, every
// tier boundary, every start date and every time-of-day boundary.
import { Decimal } from 'decimal.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { calcPrice, updatePrices, waitForUpdate, type Provider } from '@pydantic/genai-prices';
import type { PriceBook, RatedEvent, StateMap, UsageEvent } from '../../core-wasm/src/book.ts';
import { compileBook } from '../../core-wasm/src/compile.ts';
import {
  importGenaiPricesWithNotes,
  normalizeGenaiPricesReference,
  type ImportNote,
} from '../../core-wasm/src/importers/genai-prices.ts';
import {
  type CatalogueModel,
  type CatalogueProvider,
  clauseHolds,
  hasRegex,
  isAncestorOrSelf,
  loadCatalogue,
  priceEntries,
  sampleStrings,
  UNIT_BY_PRICE_KEY,
  UNITS,
} from './catalogue.ts';
import { rateBook } from './rate-book.ts';

const CUSTOMER = 'customer';
const STATES: StateMap = { [CUSTOMER]: { period: { start: '1970-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' } } };
/** The snapshot's date: the default instant of cases that are not about time. */
const DEFAULT_AT = '2026-08-21T12:00:00.000Z';
const MAX_TOKENS = 2_000_000;
/** Tariff's lines before rounding may differ from calcPrice (which computes in doubles) by this fraction. */
const RELATIVE_TOLERANCE = 1e-9;
/** Tariff then rounds each charge line half-even to the nano-dollar; calcPrice does not round. */
const HALF_NANO_PER_LINE = new Decimal('0.0000000005');

type Usage = Record<string, number>;

/** `provider` and `model` as a caller reports them: calcPrice gets them as they are, Tariff normalized. */
interface Case {
  provider: string;
  model: string;
  at: string;
  usage: Usage;
}

type Expected =
  | { kind: 'price'; total: number; provider: string; model: string }
  | { kind: 'none' }
  | { kind: 'error'; message: string };

/** A disagreement the import accepts knowingly, with the reason it is expected; anything else fails the test. */
type Deviation = 'exact_id' | 'regex_widened' | 'provider_precedence' | 'date_normalization';

interface Comparison {
  cases: number;
  pricedBoth: number;
  noneBoth: number;
  errorBoth: number;
  /** Cases whose rounded amount is itself within RELATIVE_TOLERANCE of calcPrice (small amounts are not: rounding). */
  amountWithinRelative: number;
  /** Largest relative difference between calcPrice and Tariff's unrounded lines (sum of quantity x rate / per). */
  maxRelativeErrorBeforeRounding: number;
  deviations: Record<Deviation, number>;
  /** "<provider>/<model>" of every catalogue model both sides priced (and agreed on) at least once. */
  modelsAgreed: Set<string>;
  deviationExamples: string[];
  failures: string[];
}

let catalogue: CatalogueProvider[];
let book: PriceBook;
let notes: ImportNote[];

beforeAll(async () => {
  catalogue = loadCatalogue();
  // calcPrice ships newer data; point it at the same snapshot (setProviderData with a plain array applies at once).
  updatePrices(({ setProviderData }) => setProviderData(structuredClone(catalogue) as unknown as Provider[]));
  const active = await waitForUpdate();
  expect(active?.map((provider) => provider.id)).toEqual(catalogue.map((provider) => provider.id));
  expect(active?.reduce((count, provider) => count + provider.models.length, 0)).toBe(countModels());
  ({ book, notes } = importGenaiPricesWithNotes(catalogue));
});

function countModels(): number {
  return catalogue.reduce((count, provider) => count + provider.models.length, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing

function expectedOf(item: Case): Expected {
  try {
    const result = calcPrice(item.usage, item.model, { providerId: item.provider, timestamp: new Date(item.at) });
    return result
      ? { kind: 'price', total: result.total_price, provider: result.provider.id, model: result.model.id }
      : { kind: 'none' };
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
}

/** Card ids are "<provider>/<model>" or "<provider>/<model>@<fallback provider>"; provider ids hold no "/". */
function cardIdentity(card: string): { provider: string; model: string; fallback?: string } {
  const slash = card.indexOf('/');
  const at = card.lastIndexOf('@');
  const provider = card.slice(0, slash);
  return at > slash
    ? { provider, model: card.slice(slash + 1, at), fallback: card.slice(at + 1) }
    : { provider, model: card.slice(slash + 1) };
}

function findModel(providerId: string, modelId: string): CatalogueModel | undefined {
  return catalogue.find((provider) => provider.id === providerId)?.models.find((model) => model.id === modelId);
}

/** calcPrice's provider lookup: which providers an id or provider_match would accept for this string. */
function providersAccepting(value: string): string[] {
  return catalogue
    .filter(
      (provider) =>
        provider.id === value || (provider.provider_match !== undefined && clauseHolds(provider.provider_match, value)),
    )
    .map((provider) => provider.id);
}

/** calcPrice retries a model with "-YYYYMMDD" rewritten to "-YYYY-MM-DD"; Tariff does not. */
function hasCompactDate(model: string): boolean {
  return /-20\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/.test(model);
}

function classify(reported: Case, expected: Expected, actual: RatedEvent): Deviation | null {
  const item = {
    ...reported,
    provider: normalizeGenaiPricesReference(reported.provider),
    model: normalizeGenaiPricesReference(reported.model),
  };
  if (providersAccepting(item.provider).length > 1 && !catalogue.some((provider) => provider.id === item.provider)) {
    return 'provider_precedence';
  }
  // The card also matches its model's id, which some catalogue rules leave out (fireworks' "deepseek-r1-0528" only
  // matches "accounts/fireworks/models/deepseek-r1-0528"); calcPrice then finds nothing or another model.
  const provider = calcPriceProvider(item.provider);
  const byId = provider?.models.find((candidate) => candidate.id.toLowerCase() === item.model);
  const cardOfId = byId && `${provider!.id}/${byId.id}`;
  if (
    byId &&
    !clauseHolds(byId.match, item.model) &&
    (actual.card === cardOfId || (actual.status === 'error' && actual.error?.code !== 'no_rate_card'))
  ) {
    return 'exact_id';
  }
  if (actual.status === 'rated' && actual.card) {
    const identity = cardIdentity(actual.card);
    const model = findModel(identity.fallback ?? identity.provider, identity.model)!;
    if (!clauseHolds(model.match, item.model) && hasRegex(model.match)) return 'regex_widened';
  }
  if (
    expected.kind === 'price' &&
    actual.status === 'error' &&
    actual.error?.code === 'no_rate_card' &&
    hasCompactDate(item.model)
  ) {
    return 'date_normalization';
  }
  return null;
}

/** calcPrice's provider for a providerId: the one with that id, else the first whose provider_match holds. */
function calcPriceProvider(value: string): CatalogueProvider | undefined {
  return (
    catalogue.find((provider) => provider.id === value) ??
    catalogue.find((provider) => provider.provider_match !== undefined && clauseHolds(provider.provider_match, value))
  );
}

async function compare(cases: Case[]): Promise<Comparison> {
  const events: UsageEvent[] = cases.map((item, index) => ({
    transaction_id: `case_${index}`,
    customer_id: CUSTOMER,
    event_type: 'llm.request',
    timestamp: item.at,
    properties: {
      provider: normalizeGenaiPricesReference(item.provider),
      model: normalizeGenaiPricesReference(item.model),
      ...item.usage,
    },
  }));
  const results = await rateBook(book, STATES, events);
  const comparison: Comparison = {
    cases: cases.length,
    pricedBoth: 0,
    noneBoth: 0,
    errorBoth: 0,
    amountWithinRelative: 0,
    maxRelativeErrorBeforeRounding: 0,
    deviations: { exact_id: 0, regex_widened: 0, provider_precedence: 0, date_normalization: 0 },
    modelsAgreed: new Set(),
    deviationExamples: [],
    failures: [],
  };
  cases.forEach((item, index) => {
    const expected = expectedOf(item);
    const actual = results[index]!;
    const describe = () =>
      `${item.provider} ${item.model} at ${item.at} usage ${JSON.stringify(item.usage)}: calcPrice ${JSON.stringify(expected)}, ` +
      `Tariff ${actual.status === 'rated' ? `${actual.amount} by ${actual.card}` : JSON.stringify(actual.error)}`;
    const sameModel =
      expected.kind === 'price' &&
      actual.status === 'rated' &&
      cardIdentity(actual.card!).provider === expected.provider &&
      cardIdentity(actual.card!).model === expected.model;
    if (sameModel) {
      // Two checks: the pricing (Tariff's lines before rounding, from its receipt, against calcPrice, relative 1e-9),
      // then the rounding (the amount within half a nano-dollar per line of those lines).
      const total = (expected as { total: number }).total;
      const lines = actual.receipt!.flatMap((step) => (step.step === 'price' ? [step] : []));
      const unrounded = lines.reduce(
        (sum, line) => sum.plus(new Decimal(line.quantity).times(line.rate).dividedBy(line.per)),
        new Decimal(0),
      );
      const relative =
        total === 0 ? unrounded.abs().toNumber() : unrounded.minus(total).abs().dividedBy(Math.abs(total)).toNumber();
      const roundingOff = new Decimal(actual.amount!).minus(unrounded).abs();
      comparison.maxRelativeErrorBeforeRounding = Math.max(comparison.maxRelativeErrorBeforeRounding, relative);
      if (
        new Decimal(actual.amount!)
          .minus(total)
          .abs()
          .lte(Math.abs(total) * RELATIVE_TOLERANCE)
      )
        comparison.amountWithinRelative++;
      if (relative <= RELATIVE_TOLERANCE && roundingOff.lte(HALF_NANO_PER_LINE.times(lines.length))) {
        comparison.pricedBoth++;
        comparison.modelsAgreed.add(
          `${(expected as { provider: string }).provider}/${(expected as { model: string }).model}`,
        );
      } else
        comparison.failures.push(
          `relative difference ${relative} before rounding, ${roundingOff.toFixed()} from rounding: ${describe()}`,
        );
      return;
    }
    if (expected.kind === 'none' && actual.status === 'error' && actual.error?.code === 'no_rate_card') {
      comparison.noneBoth++;
      return;
    }
    if (expected.kind === 'error' && actual.status === 'error' && actual.error?.code === 'negative_quantity') {
      comparison.errorBoth++;
      return;
    }
    const deviation = classify(item, expected, actual);
    if (deviation) {
      comparison.deviations[deviation]++;
      if (comparison.deviations[deviation] <= 3) comparison.deviationExamples.push(`${deviation}: ${describe()}`);
    } else comparison.failures.push(describe());
  });
  return comparison;
}

function report(name: string, comparison: Comparison): void {
  const { deviationExamples, failures, modelsAgreed, ...counts } = comparison;
  console.log(
    `[genai-prices diff] ${name}: ${JSON.stringify({ ...counts, modelsAgreed: modelsAgreed.size, failures: failures.length })}`,
  );
  if (deviationExamples.length) console.log(`  expected deviations, e.g.:\n    ${deviationExamples.join('\n    ')}`);
}

function expectAgreement(comparison: Comparison): void {
  expect(comparison.failures.slice(0, 20)).toEqual([]);
  expect(comparison.failures.length).toBe(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Usage

/** Deterministic PRNG (mulberry32), so that a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..max, log-uniform so that small counts are as common as large ones. */
function tokenCount(next: () => number, max = MAX_TOKENS): number {
  return Math.min(max, Math.floor(Math.expm1(next() * Math.log1p(max))));
}

function pricedUsageKeys(model: CatalogueModel): string[] {
  const keys = new Set<string>();
  for (const entry of priceEntries(model)) {
    for (const priceKey of Object.keys(entry.prices)) {
      const usageKey = UNIT_BY_PRICE_KEY.get(priceKey)!;
      if (usageKey !== 'requests') keys.add(usageKey);
    }
  }
  return [...keys];
}

/**
 * The usage keys a case reports: the priced ones, their ancestors (the totals), and cache reads and reasoning tokens
 * even when unpriced, which calcPrice then bills within their ancestor.
 */
function reportedUnits(model: CatalogueModel): string[] {
  const priced = [...pricedUsageKeys(model), 'cache_read_tokens', 'output_reasoning_tokens'];
  return UNITS.map((unit) => unit.key).filter((key) => priced.some((pricedKey) => isAncestorOrSelf(key, pricedKey)));
}

/**
 * A consistent hierarchical usage: exclusive counts are drawn for each reported unit (input tokens summing to
 * `inputTotal`), and each key reports its own count plus its descendants', as providers report totals.
 */
function consistentUsage(units: string[], inputTotal: number, outputTotal: number, next: () => number): Usage {
  const exclusive: Usage = {};
  for (const [total, direction] of [
    [inputTotal, 'input'],
    [outputTotal, 'output'],
  ] as const) {
    const parts = units.filter((key) => key !== `${direction}_tokens` && isAncestorOrSelf(`${direction}_tokens`, key));
    let left = total;
    for (const key of parts) {
      const share = next() < 0.3 ? 0 : Math.floor(left * next() * 0.6);
      exclusive[key] = share;
      left -= share;
    }
    if (units.includes(`${direction}_tokens`)) exclusive[`${direction}_tokens`] = left;
  }
  for (const key of units) {
    if (!isAncestorOrSelf('input_tokens', key) && !isAncestorOrSelf('output_tokens', key))
      exclusive[key] = Math.floor(next() * 20);
  }
  const usage: Usage = {};
  for (const key of units) {
    usage[key] = units
      .filter((other) => isAncestorOrSelf(key, other))
      .reduce((sum, other) => sum + (exclusive[other] ?? 0), 0);
  }
  return usage;
}

function versionStarts(): string[] {
  return book.versions.map((version) => version.effective_from);
}

function shift(at: string, milliseconds: number): string {
  return new Date(Date.parse(at) + milliseconds).toISOString();
}

/** Instants inside each version of the book: the model's entries all get their turn. */
function instantsAcrossVersions(): string[] {
  return [DEFAULT_AT, ...versionStarts().map((start) => shift(start, 3_600_000))];
}

interface ModelRef {
  provider: CatalogueProvider;
  model: CatalogueModel;
}

function allModels(): ModelRef[] {
  return catalogue.flatMap((provider) => provider.models.map((model) => ({ provider, model })));
}

/**
 * The model reference price cases use: its id, unless the catalogue rule leaves the id out (51 models, where only
 * Tariff would find it), then the first sample of its rule, so that both sides price every model.
 */
function referenceOf(model: CatalogueModel): string {
  if (clauseHolds(model.match, model.id)) return model.id;
  return sampleStrings(model.match).find((sample) => clauseHolds(model.match, sample)) ?? model.id;
}

const RESOLUTION_USAGE: Usage = {
  input_tokens: 12_345,
  cache_read_tokens: 2_000,
  cache_write_tokens: 1_000,
  output_tokens: 678,
  web_searches: 2,
};

// ---------------------------------------------------------------------------------------------------------------

describe('genai-prices snapshot imported as a Tariff book, against calcPrice on the same snapshot', () => {
  it('imports the whole snapshot, keeping every regex the simple rules cannot state, into a book the kernel compiler accepts', () => {
    const providers = catalogue.length;
    const cards = book.versions[0]!.rate_cards.length;
    console.log(
      `[genai-prices diff] ${providers} providers, ${countModels()} models, ${cards} cards per version, ${book.versions.length} versions; notes: ` +
        JSON.stringify(
          notes.reduce<Record<string, number>>(
            (counts, note) => ({ ...counts, [note.kind]: (counts[note.kind] ?? 0) + 1 }),
            {},
          ),
        ),
    );
    const regexClauses = JSON.stringify(catalogue.map((provider) => provider.models)).match(/"regex"/g)?.length ?? 0;
    const kept = JSON.stringify(book.versions[0]!.rate_cards.map((card) => card.match)).match(/"regex"/g)?.length ?? 0;
    expect(notes.filter((note) => note.kind === 'regex_widened')).toEqual([]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(regexClauses * 2); // fallback cards repeat their model's rule
    expect(cards).toBeGreaterThanOrEqual(countModels());
    const compiled = compileBook(book);
    expect(compiled.ok ? [] : compiled.errors.slice(0, 10)).toEqual([]);
  });

  it('finds the same model for every id and match literal of every model, provider alias and fallback provider', async () => {
    const cases: Case[] = [];
    for (const { provider, model } of allModels()) {
      // The id as written (272 ids have capitals: calcPrice lowercases, Tariff's caller normalizes), then samples.
      const strings = new Set([model.id, ...sampleStrings(model.match)]);
      for (const value of strings)
        cases.push({ provider: provider.id, model: value, at: DEFAULT_AT, usage: RESOLUTION_USAGE });
    }
    for (const provider of catalogue) {
      for (const alias of provider.provider_match ? sampleStrings(provider.provider_match) : []) {
        for (const model of provider.models.slice(0, 3))
          cases.push({ provider: alias, model: referenceOf(model), at: DEFAULT_AT, usage: RESOLUTION_USAGE });
      }
      for (const fallbackId of provider.fallback_model_providers ?? []) {
        for (const model of catalogue.find((candidate) => candidate.id === fallbackId)!.models) {
          cases.push({ provider: provider.id, model: referenceOf(model), at: DEFAULT_AT, usage: RESOLUTION_USAGE });
        }
      }
    }
    cases.push({ provider: 'no-such-provider', model: 'gpt-4o', at: DEFAULT_AT, usage: RESOLUTION_USAGE });
    cases.push({ provider: 'openai', model: 'no-such-model', at: DEFAULT_AT, usage: RESOLUTION_USAGE });
    const comparison = await compare(cases);
    report('model resolution', comparison);
    expectAgreement(comparison);
    expect(comparison.pricedBoth).toBeGreaterThan(countModels());
    expect(comparison.noneBoth).toBeGreaterThanOrEqual(2);
  });

  it('agrees on token counts from 0 to 2,000,000 for every model, and errs with calcPrice on inconsistent usage', async () => {
    const next = random(20260821);
    const fixed = [0, 1, 7, 999, 1_000, 123_456, 999_999, 1_000_000, 1_999_999, MAX_TOKENS];
    const cases: Case[] = [];
    for (const { provider, model } of allModels()) {
      const units = reportedUnits(model);
      const totals = [...fixed, ...Array.from({ length: 4 }, () => tokenCount(next))];
      for (const inputTotal of totals) {
        cases.push({
          provider: provider.id,
          model: referenceOf(model),
          at: DEFAULT_AT,
          usage: consistentUsage(units, inputTotal, tokenCount(next), next),
        });
      }
      // More cache reads than input tokens: calcPrice throws when it prices cache reads, Tariff's remainder is negative.
      if (pricedUsageKeys(model).includes('cache_read_tokens')) {
        cases.push({
          provider: provider.id,
          model: referenceOf(model),
          at: DEFAULT_AT,
          usage: { input_tokens: 10, cache_read_tokens: 20, output_tokens: 5 },
        });
      }
    }
    const comparison = await compare(cases);
    report('token counts', comparison);
    expectAgreement(comparison);
    expect(comparison.modelsAgreed.size).toBe(countModels());
    expect(comparison.errorBoth).toBeGreaterThan(0);
  });

  it('agrees at and around every tier boundary, in every version', async () => {
    const next = random(272_000);
    const cases: Case[] = [];
    let boundaries = 0;
    for (const { provider, model } of allModels()) {
      const starts = new Set<number>();
      for (const entry of priceEntries(model)) {
        for (const value of Object.values(entry.prices))
          if (typeof value === 'object') for (const tier of value.tiers) starts.add(tier.start);
      }
      if (starts.size === 0) continue;
      boundaries += starts.size;
      const units = reportedUnits(model);
      for (const start of starts) {
        for (const inputTotal of [start - 1, start, start + 1].filter((count) => count >= 0)) {
          for (const at of instantsAcrossVersions()) {
            cases.push({
              provider: provider.id,
              model: referenceOf(model),
              at,
              usage: consistentUsage(units, inputTotal, tokenCount(next), next),
            });
          }
        }
      }
    }
    const comparison = await compare(cases);
    report(`tier boundaries (${boundaries} distinct tier starts over the tiered models)`, comparison);
    expectAgreement(comparison);
    expect(boundaries).toBeGreaterThan(0);
  });

  it('switches prices exactly at every start date (midnight UTC), for every model', async () => {
    const next = random(1_970);
    const cases: Case[] = [];
    const dated = new Set<string>();
    for (const { provider, model } of allModels()) {
      const units = reportedUnits(model);
      const instants = new Set(versionStarts());
      for (const entry of priceEntries(model)) {
        if (entry.constraint && 'start_date' in entry.constraint) {
          const start = `${entry.constraint.start_date}T00:00:00.000Z`;
          dated.add(`${provider.id}/${model.id}`);
          for (const offset of [-1, 0, 1]) instants.add(shift(start, offset));
        }
      }
      for (const at of instants) {
        if (Date.parse(at) < Date.parse(versionStarts()[0]!)) continue;
        cases.push({
          provider: provider.id,
          model: referenceOf(model),
          at,
          usage: consistentUsage(units, tokenCount(next), tokenCount(next), next),
        });
      }
    }
    const comparison = await compare(cases);
    report(`start dates (${dated.size} dated models)`, comparison);
    expectAgreement(comparison);
    expect(comparison.modelsAgreed.size).toBe(countModels());
    expect(dated.size).toBeGreaterThan(0);
  });

  it('switches prices exactly at every time-of-day boundary (UTC), on several days and versions', async () => {
    const next = random(1_630);
    const cases: Case[] = [];
    let windows = 0;
    for (const { provider, model } of allModels()) {
      const seconds = new Set<number>([0]);
      for (const entry of priceEntries(model)) {
        if (entry.constraint && 'start_time' in entry.constraint) {
          windows++;
          for (const time of [entry.constraint.start_time, entry.constraint.end_time])
            seconds.add(secondOfUtcDay(time));
        }
      }
      if (seconds.size === 1) continue;
      const units = reportedUnits(model);
      for (const day of ['2025-01-15', '2026-03-13', DEFAULT_AT.slice(0, 10), '2027-06-01']) {
        for (const second of seconds) {
          const boundary = Date.parse(`${day}T00:00:00Z`) + second * 1000;
          for (const offset of [-1, 0, 1, 59_999]) {
            const at = new Date(boundary + offset).toISOString();
            cases.push({
              provider: provider.id,
              model: referenceOf(model),
              at,
              usage: consistentUsage(units, tokenCount(next), tokenCount(next), next),
            });
          }
        }
      }
    }
    const comparison = await compare(cases);
    report(`time of day (${windows} windows)`, comparison);
    expectAgreement(comparison);
    expect(windows).toBeGreaterThan(0);
  });
});

function secondOfUtcDay(time: string): number {
  const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time)!;
  const local = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  const offset = match[4] === 'Z' ? 0 : (match[5] === '+' ? 1 : -1) * (Number(match[6]) * 3600 + Number(match[7]) * 60);
  return (local - offset + 86_400) % 86_400;
}
