// Public price catalogues (genai-prices, LiteLLM) as Tariff price books: the one import the CLI and the service both
// call. What cannot be stated is skipped and reported (provider, model, reason) instead of refusing the catalogue.

import type { MatchRule, PriceBook } from '../book.ts';
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
    super(`${message}${problems.length ? `:\n${problems.map((problem) => `  ${problem.path}: ${problem.message}`).join('\n')}` : ''}`);
    this.name = 'CatalogueImportError';
  }
}

export function importCatalogue(format: CatalogueFormat, catalogue: unknown, options: ImportCatalogueOptions = {}): CatalogueImport {
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
    result = { format, book: imported.book, notes: [...converted.notes, ...notes], skipped: [...unconverted, ...skipped] };
  }
  if (options.strict && result.skipped.length) {
    throw new CatalogueImportError(
      `${result.skipped.length} model(s) of the catalogue cannot be stated (strict import)`,
      result.skipped.map((skip) => ({ path: skip.path, message: `${skip.provider ?? '?'}/${skip.model ?? '*'}: ${skip.reason}` })),
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
function importGenaiPricesSkipping(catalogue: unknown, options: ImportGenaiPricesOptions): Omit<CatalogueImport, 'format'> {
  if (!Array.isArray(catalogue)) throw new CatalogueImportError('Not a genai-prices catalogue', [{ path: '$', message: 'expected an array of providers' }]);
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
      throw new CatalogueImportError('Nothing in the catalogue can be stated', skipped.map((skip) => ({ path: skip.path, message: skip.reason })), skipped);
    }
    return { book: imported.book, notes: imported.notes.map((note) => ({ ...note, path: originalPath(note.path) })), skipped };
  }
  throw new Error('importGenaiPricesSkipping: no progress'); // each failed pass removes at least one model or provider
}

function countModels(catalogue: unknown[]): number {
  return catalogue.reduce<number>((sum, provider) => sum + (isRecord(provider) && Array.isArray(provider.models) ? provider.models.length : 0), 0);
}

/** The catalogue without the skipped entries, and the map from its paths back to the original's. */
function filterCatalogue(catalogue: unknown[], skippedProviders: Map<number, unknown>, skippedModels: Map<string, unknown>) {
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
    const models = provider.models.filter((_, model) => !skippedModels.has(`${index}/${model}`) && kept.push(model) > 0);
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
      return model === undefined ? `$[${original}]` : `$[${original}].models[${modelIndex[Number(provider)]![Number(model)]}]`;
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
    problems.map((problem) => `${problem.path.slice(base.length).replace(/^\./, '') || '(entry)'}: ${problem.message}`).join('; ');
  const report: SkippedModel[] = [];
  for (const [index, problems] of skippedProviders) {
    const path = `$[${index}]`;
    report.push({ provider: idOf(catalogue[index]), model: null, path, reason: reason(path, problems) });
  }
  for (const [key, problems] of skippedModels) {
    const [provider, model] = key.split('/').map(Number) as [number, number];
    if (skippedProviders.has(provider)) continue;
    const providerEntry = catalogue[provider];
    const modelEntry = isRecord(providerEntry) && Array.isArray(providerEntry.models) ? providerEntry.models[model] : undefined;
    const path = `$[${provider}].models[${model}]`;
    report.push(withPricedBy({ provider: idOf(providerEntry), model: idOf(modelEntry), path, reason: reason(path, problems) }, book));
  }
  return report.sort((left, right) => comparePaths(left.path, right.path));
}

/** Names the card that now takes the skipped model's own name, as the kernel picks: exact names first, then book order. */
function withPricedBy(skip: SkippedModel, book: PriceBook): SkippedModel {
  if (skip.provider === null || skip.model === null) return skip;
  const [provider, model] = [normalizeGenaiPricesReference(skip.provider), normalizeGenaiPricesReference(skip.model)];
  const cards = (book.versions.at(-1)?.rate_cards ?? []).filter((card) => holds(card.match.provider, provider) && holds(card.match.model, model));
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
