// Public price catalogues (genai-prices, LiteLLM) as Tariff price books: the one import the CLI and the service both
// call. What cannot be stated is skipped and reported (provider, model, reason) instead of refusing the catalogue.

import type { BookVersion, Charge, MatchRule, PriceBook, RateCard } from '../book.ts';
import {
  GenaiPricesImportError,
  importGenaiPricesWithNotes,
  matchesRule,
  normalizeGenaiPricesReference,
  type ImportGenaiPricesOptions,
  type ImportNote,
  type ImportProblem,
} from './genai-prices.ts';
import { litellmToGenaiPrices, type LitellmNote } from './litellm.ts';

export type CatalogueNote = ImportNote | LitellmNote;

export const CATALOGUE_FORMATS = ['genai-prices', 'litellm'] as const;
export type CatalogueFormat = (typeof CATALOGUE_FORMATS)[number];

export interface ImportCatalogueOptions {
  /** Id of the book. Default: the format's name. */
  bookId?: string;
  /** `effective_from` of the first version. Default 1970-01-01T00:00:00.000Z. */
  firstEffectiveFrom?: string;
  /** genai-prices regexes without an exact MatchRule: keep them as regex rules (default), widen them, or skip the model. */
  regex?: 'keep' | 'reject' | 'widen';
  /** Refuse the whole catalogue when anything would be skipped (the report is in the error). Default false. */
  strict?: boolean;
}

/** A model (or, with `model` null, a whole provider) left out of the book. */
export interface SkippedModel {
  provider: string | null;
  model: string | null;
  /** Where it is in the catalogue, e.g. `$[15].models[29]` or `$["azure/gpt-4o"]`. */
  path: string;
  reason: string;
  /**
   * A card of the book that takes the skipped model's own name: events naming it are priced by that card, which is
   * not the catalogue's price for them. Absent when no card matches (such events get `no_rate_card`).
   */
  now_priced_by?: string;
}

export interface CatalogueImport {
  format: CatalogueFormat;
  book: PriceBook;
  notes: CatalogueNote[];
  skipped: SkippedModel[];
}

/** The catalogue as a whole cannot be imported (not a catalogue, nothing statable, or skips under `strict`). */
export class CatalogueImportError extends Error {
  constructor(
    message: string,
    readonly problems: ImportProblem[],
    readonly skipped: SkippedModel[] = [],
  ) {
    super(
      `${message}${problems.length ? `:\n${problems.map((problem) => `  ${problem.path}: ${problem.message}`).join('\n')}` : ''}`,
    );
    this.name = 'CatalogueImportError';
  }
}

export function importCatalogue(
  format: CatalogueFormat,
  catalogue: unknown,
  options: ImportCatalogueOptions = {},
): CatalogueImport {
  const genaiOptions: ImportGenaiPricesOptions = {
    bookId: options.bookId ?? format,
    firstEffectiveFrom: options.firstEffectiveFrom,
    regex: options.regex ?? 'keep',
  };
  let result: CatalogueImport;
  if (format === 'genai-prices') {
    result = { format, ...importGenaiPricesSkipping(catalogue, genaiOptions) };
  } else {
    let converted: ReturnType<typeof litellmToGenaiPrices>;
    try {
      converted = litellmToGenaiPrices(catalogue);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw new CatalogueImportError('Not a LiteLLM price map', [{ path: '$', message: error.message }]);
    }
    const imported = importGenaiPricesSkipping(converted.catalogue, genaiOptions);
    // Paths and names back in LiteLLM's terms: the entry's key.
    const skipped = imported.skipped.map((skip) => {
      const origin = converted.originOf(skip.path);
      return { ...skip, path: origin?.path ?? skip.path, model: origin?.key ?? skip.model };
    });
    const notes = imported.notes.map((note) => ({ ...note, path: converted.originOf(note.path)?.path ?? note.path }));
    const unconverted = converted.skipped.map((skip) => withPricedBy(skip, imported.book));
    result = {
      format,
      book: imported.book,
      notes: [...converted.notes, ...notes],
      skipped: [...unconverted, ...skipped],
    };
  }
  if (options.strict && result.skipped.length) {
    throw new CatalogueImportError(
      `${result.skipped.length} model(s) of the catalogue cannot be stated (strict import)`,
      result.skipped.map((skip) => ({
        path: skip.path,
        message: `${skip.provider ?? '?'}/${skip.model ?? '*'}: ${skip.reason}`,
      })),
      result.skipped,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// genai-prices with skips

const LOCATION = /^\$\[(\d+)\](?:\.models\[(\d+)\])?/;

/**
 * Imports the catalogue without the models (or providers) the importer has problems with. The importer reports every
 * problem with its path; each path names its provider and model, which are left out, and the import runs again on
 * the rest until it succeeds (a second pass can find what only the remaining set shows, e.g. a duplicate card id).
 */
function importGenaiPricesSkipping(
  catalogue: unknown,
  options: ImportGenaiPricesOptions,
): Omit<CatalogueImport, 'format'> {
  if (!Array.isArray(catalogue))
    throw new CatalogueImportError('Not a genai-prices catalogue', [
      { path: '$', message: 'expected an array of providers' },
    ]);
  const skippedProviders = new Map<number, ImportProblem[]>();
  const skippedModels = new Map<string, ImportProblem[]>();
  for (let attempt = 0; attempt <= catalogue.length + 1 + countModels(catalogue); attempt++) {
    const { filtered, originalPath } = filterCatalogue(catalogue, skippedProviders, skippedModels);
    let imported: ReturnType<typeof importGenaiPricesWithNotes>;
    try {
      imported = importGenaiPricesWithNotes(filtered, options);
    } catch (error) {
      if (!(error instanceof GenaiPricesImportError)) throw error;
      const unplaced = error.problems.filter((problem) => !LOCATION.test(problem.path));
      if (unplaced.length) throw new CatalogueImportError('The catalogue cannot be imported', unplaced);
      for (const problem of error.problems) {
        const path = originalPath(problem.path);
        const [, provider, model] = LOCATION.exec(path)!;
        const key = model === undefined ? null : `${provider}/${model}`;
        const list = key === null ? skippedProviders : skippedModels;
        const id = key ?? Number(provider);
        const problems = (list as Map<typeof id, ImportProblem[]>).get(id) ?? [];
        problems.push({ path, message: problem.message });
        (list as Map<typeof id, ImportProblem[]>).set(id, problems);
      }
      continue;
    }
    const cardCount = imported.book.versions.at(-1)?.rate_cards.length ?? 0;
    const skipped = skipReport(catalogue, skippedProviders, skippedModels, imported.book);
    if (cardCount === 0) {
      throw new CatalogueImportError(
        'Nothing in the catalogue can be stated',
        skipped.map((skip) => ({ path: skip.path, message: skip.reason })),
        skipped,
      );
    }
    return {
      book: imported.book,
      notes: imported.notes.map((note) => ({ ...note, path: originalPath(note.path) })),
      skipped,
    };
  }
  throw new Error('importGenaiPricesSkipping: no progress'); // each failed pass removes at least one model or provider
}

function countModels(catalogue: unknown[]): number {
  return catalogue.reduce<number>(
    (sum, provider) => sum + (isRecord(provider) && Array.isArray(provider.models) ? provider.models.length : 0),
    0,
  );
}

/** The catalogue without the skipped entries, and the map from its paths back to the original's. */
function filterCatalogue(
  catalogue: unknown[],
  skippedProviders: Map<number, unknown>,
  skippedModels: Map<string, unknown>,
) {
  const providerIndex: number[] = [];
  const modelIndex: number[][] = [];
  const removedIds = new Set(
    [...skippedProviders.keys()].flatMap((index) => {
      const id = (catalogue[index] as { id?: unknown } | undefined)?.id;
      return typeof id === 'string' ? [normalizeGenaiPricesReference(id)] : [];
    }),
  );
  const filtered = catalogue.flatMap((provider, index) => {
    if (skippedProviders.has(index)) return [];
    providerIndex.push(index);
    if (!isRecord(provider) || !Array.isArray(provider.models)) {
      modelIndex.push([]);
      return [provider];
    }
    const kept: number[] = [];
    const models = provider.models.filter(
      (_, model) => !skippedModels.has(`${index}/${model}`) && kept.push(model) > 0,
    );
    modelIndex.push(kept);
    const copy: Record<string, unknown> = { ...provider, models };
    // A skipped provider is no one's fallback any more (it has no cards to fall back to).
    if (Array.isArray(provider.fallback_model_providers)) {
      copy.fallback_model_providers = provider.fallback_model_providers.filter(
        (id) => typeof id !== 'string' || !removedIds.has(normalizeGenaiPricesReference(id)),
      );
    }
    return [copy];
  });
  const originalPath = (path: string) =>
    path.replace(LOCATION, (_, provider: string, model: string | undefined) => {
      const original = providerIndex[Number(provider)]!;
      return model === undefined
        ? `$[${original}]`
        : `$[${original}].models[${modelIndex[Number(provider)]![Number(model)]}]`;
    });
  return { filtered, originalPath };
}

function skipReport(
  catalogue: unknown[],
  skippedProviders: Map<number, ImportProblem[]>,
  skippedModels: Map<string, ImportProblem[]>,
  book: PriceBook,
): SkippedModel[] {
  const idOf = (value: unknown) => (isRecord(value) && typeof value.id === 'string' ? value.id : null);
  const reason = (base: string, problems: ImportProblem[]) =>
    problems
      .map((problem) => `${problem.path.slice(base.length).replace(/^\./, '') || '(entry)'}: ${problem.message}`)
      .join('; ');
  const report: SkippedModel[] = [];
  for (const [index, problems] of skippedProviders) {
    const path = `$[${index}]`;
    report.push({ provider: idOf(catalogue[index]), model: null, path, reason: reason(path, problems) });
  }
  for (const [key, problems] of skippedModels) {
    const [provider, model] = key.split('/').map(Number) as [number, number];
    if (skippedProviders.has(provider)) continue;
    const providerEntry = catalogue[provider];
    const modelEntry =
      isRecord(providerEntry) && Array.isArray(providerEntry.models) ? providerEntry.models[model] : undefined;
    const path = `$[${provider}].models[${model}]`;
    report.push(
      withPricedBy(
        { provider: idOf(providerEntry), model: idOf(modelEntry), path, reason: reason(path, problems) },
        book,
      ),
    );
  }
  return report.sort((left, right) => comparePaths(left.path, right.path));
}

/** Names the card that now takes the skipped model's own name, as the kernel picks: exact names first, then book order. */
function withPricedBy(skip: SkippedModel, book: PriceBook): SkippedModel {
  if (skip.provider === null || skip.model === null) return skip;
  const [provider, model] = [normalizeGenaiPricesReference(skip.provider), normalizeGenaiPricesReference(skip.model)];
  const cards = (book.versions.at(-1)?.rate_cards ?? []).filter(
    (card) => holds(card.match.provider, provider) && holds(card.match.model, model),
  );
  const card = cards.find((candidate) => candidate.match.model === model) ?? cards[0];
  return card ? { ...skip, now_priced_by: card.id } : skip;
}

function holds(rule: MatchRule | undefined, value: string): boolean {
  return rule !== undefined && matchesRule(rule, value);
}

function comparePaths(left: string, right: string): number {
  const numbers = (path: string) => [...path.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
  const [a, b] = [numbers(left), numbers(right)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? -1) !== (b[i] ?? -1)) return (a[i] ?? -1) - (b[i] ?? -1);
  }
  return left.localeCompare(right);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Updating a book from a newer catalogue

/** One rate of a card before and after (null where the card had or has no such charge). */
export interface RateChange {
  /** `<dimension>` (or `flat`, `flat#2`...) of the card's charges; `<window>: <dimension>` of a variant; `match`. */
  charge: string;
  before: unknown;
  after: unknown;
}

export interface CardChange {
  card: string;
  rates: RateChange[];
}

export interface VersionChanges {
  added: CardChange[];
  removed: CardChange[];
  changed: CardChange[];
  unchanged: number;
  /** Time windows whose definition changed, appeared or went. */
  windows: { window: string; before: unknown; after: unknown }[];
}

export interface CatalogueUpdate {
  /** The versions to append: the catalogue's prices in force at `effectiveFrom`, then its later dated prices. Empty when nothing changed. */
  versions: BookVersion[];
  /** The latest version of the book against the first appended one. */
  changes: VersionChanges;
}

/** Thrown when a catalogue update cannot apply to the book (currency, dates). */
export class CatalogueUpdateError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'CatalogueUpdateError';
  }
}

/**
 * What updating `book` from the imported catalogue adds: new versions of the same book, never a new book. The first
 * takes effect at `effectiveFrom`, which must be after the book's latest version. The new versions take their rate
 * cards from the catalogue and keep the latest version's modifiers, allowances and time windows.
 */
export function planCatalogueUpdate(book: PriceBook, imported: PriceBook, effectiveFrom: string): CatalogueUpdate {
  const at = Date.parse(effectiveFrom);
  if (Number.isNaN(at))
    throw new CatalogueUpdateError('effective_from', `not an ISO 8601 instant: ${JSON.stringify(effectiveFrom)}`);
  if (book.currency !== imported.currency) {
    throw new CatalogueUpdateError(
      'book.currency',
      `the book is in ${book.currency}; the catalogue prices in ${imported.currency}`,
    );
  }
  const latest = book.versions.at(-1);
  if (latest && Date.parse(latest.effective_from) >= at) {
    throw new CatalogueUpdateError(
      'effective_from',
      `must be after the book's latest version (${latest.effective_from}); got ${new Date(at).toISOString()}`,
    );
  }
  const inForce =
    imported.versions.filter((version) => Date.parse(version.effective_from) <= at).at(-1) ?? imported.versions[0]!;
  // The catalogue brings prices; the book's own terms (modifiers, allowances, and the windows they name) stay.
  const keep = (version: BookVersion): BookVersion => {
    const kept: BookVersion = { ...version };
    const windows = { ...latest?.windows, ...version.windows };
    if (Object.keys(windows).length) kept.windows = windows;
    if (latest?.modifiers) kept.modifiers = latest.modifiers;
    if (latest?.allowances) kept.allowances = latest.allowances;
    return kept;
  };
  const first: BookVersion = keep({ ...inForce, effective_from: new Date(at).toISOString() });
  const later = imported.versions.filter((version) => Date.parse(version.effective_from) > at).map(keep);
  const changes = diffVersions(latest, first);
  const same = !changes.added.length && !changes.removed.length && !changes.changed.length && !changes.windows.length;
  return { versions: same && later.length === 0 ? [] : [first, ...later], changes };
}

/** Card by card (by id), what changed from one version to the next. */
export function diffVersions(before: BookVersion | undefined, after: BookVersion): VersionChanges {
  const beforeCards = new Map((before?.rate_cards ?? []).map((card) => [card.id, card]));
  const afterCards = new Map(after.rate_cards.map((card) => [card.id, card]));
  const changes: VersionChanges = { added: [], removed: [], changed: [], unchanged: 0, windows: [] };
  for (const [id, card] of afterCards) {
    const old = beforeCards.get(id);
    if (!old) {
      changes.added.push({ card: id, rates: rateChanges(undefined, card) });
      continue;
    }
    const rates = rateChanges(old, card);
    if (rates.length) changes.changed.push({ card: id, rates });
    else changes.unchanged++;
  }
  for (const [id, card] of beforeCards) {
    if (!afterCards.has(id)) changes.removed.push({ card: id, rates: rateChanges(card, undefined) });
  }
  const windows = new Set([...Object.keys(before?.windows ?? {}), ...Object.keys(after.windows ?? {})]);
  for (const name of [...windows].sort()) {
    const [left, right] = [before?.windows?.[name], after.windows?.[name]];
    if (canonical(left) !== canonical(right))
      changes.windows.push({ window: name, before: left ?? null, after: right ?? null });
  }
  return changes;
}

function rateChanges(before: RateCard | undefined, after: RateCard | undefined): RateChange[] {
  const [left, right] = [chargesByName(before), chargesByName(after)];
  const names = [...new Set([...left.keys(), ...right.keys()])];
  return names.flatMap((name) => {
    const [old, now] = [left.get(name), right.get(name)];
    return canonical(old) === canonical(now) ? [] : [{ charge: name, before: old ?? null, after: now ?? null }];
  });
}

/**
 * A card's charges by name, each with what decides its amount: the price, and the formula of a derived dimension (so
 * that a change of what a dimension counts shows as a change of that charge). The match shows as `match`.
 */
function chargesByName(card: RateCard | undefined): Map<string, unknown> {
  const named = new Map<string, unknown>();
  if (!card) return named;
  named.set('match', card.match);
  const add = (prefix: string, charges: Charge[]) => {
    for (const charge of charges) {
      const base = `${prefix}${charge.dimension ?? charge.price.model}`;
      let name = base;
      for (let n = 2; named.has(name); n++) name = `${base}#${n}`;
      const dimension = charge.dimension === undefined ? undefined : card.dimensions?.[charge.dimension];
      named.set(name, dimension ? { ...charge.price, dimension } : charge.price);
    }
  };
  add('', card.charges);
  for (const variant of card.variants ?? [])
    add(`${variant.when.window ?? canonical(variant.when)}: `, variant.charges);
  return named;
}

/** JSON with sorted keys, to compare structures whatever their key order. */
function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_, inner) =>
    isRecord(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)))
      : inner,
  );
}
