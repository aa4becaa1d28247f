// The genai-prices catalogue as the differential test reads it, with calcPrice's own matching semantics (lowercased,
// JavaScript regex) to classify disagreements independently of the importer.
import { readFileSync } from 'node:fs';
import { GENAI_PRICES_SNAPSHOT_PATH } from '../../core-wasm/src/importers/genai-prices-snapshot.ts';
import { GENAI_PRICES_UNITS } from '../../core-wasm/src/importers/genai-prices-units.ts';

export const CATALOGUE_PATH = GENAI_PRICES_SNAPSHOT_PATH;

export type Clause =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: Clause[] }
  | { and: Clause[] };

export type PriceValue = number | { base: number; tiers: { start: number; price: number }[] };
export type ModelPrice = Record<string, PriceValue>;
export type Constraint = { start_date: string } | { start_time: string; end_time: string };

export interface CatalogueModel {
  id: string;
  match: Clause;
  prices: ModelPrice | { constraint?: Constraint; prices: ModelPrice }[];
}

export interface CatalogueProvider {
  id: string;
  provider_match?: Clause;
  fallback_model_providers?: string[];
  models: CatalogueModel[];
}

export function loadCatalogue(): CatalogueProvider[] {
  return JSON.parse(readFileSync(CATALOGUE_PATH, 'utf8')) as CatalogueProvider[];
}

/** calcPrice's clause test: every literal and the value lowercased; a regex tested as written on the lowercased value. */
export function clauseHolds(clause: Clause, value: string): boolean {
  const text = value.toLowerCase();
  if ('or' in clause) return clause.or.some((inner) => clauseHolds(inner, value));
  if ('and' in clause) return clause.and.every((inner) => clauseHolds(inner, value));
  if ('equals' in clause) return text === clause.equals.toLowerCase();
  if ('starts_with' in clause) return text.startsWith(clause.starts_with.toLowerCase());
  if ('ends_with' in clause) return text.endsWith(clause.ends_with.toLowerCase());
  if ('contains' in clause) return text.includes(clause.contains.toLowerCase());
  return new RegExp(clause.regex).test(text);
}

export function hasRegex(clause: Clause): boolean {
  if ('or' in clause) return clause.or.some(hasRegex);
  if ('and' in clause) return clause.and.some(hasRegex);
  return 'regex' in clause;
}

export function priceEntries(model: CatalogueModel): { constraint?: Constraint; prices: ModelPrice }[] {
  return Array.isArray(model.prices) ? model.prices : [{ prices: model.prices }];
}

/** A few strings each clause accepts (and, for a regex, one its literal prefix accepts but the regex does not). */
export function sampleStrings(clause: Clause): string[] {
  if ('or' in clause) return clause.or.flatMap(sampleStrings);
  if ('and' in clause) {
    const candidates = [
      ...clause.and.flatMap(sampleStrings),
      clause.and.map((inner) => sampleStrings(inner)[0] ?? '').join('-'),
    ];
    return candidates.filter((candidate) => clauseHolds(clause, candidate));
  }
  if ('equals' in clause) return [clause.equals.toLowerCase()];
  if ('starts_with' in clause) return [clause.starts_with.toLowerCase(), `${clause.starts_with.toLowerCase()}-preview`];
  if ('ends_with' in clause) return [clause.ends_with.toLowerCase(), `custom-${clause.ends_with.toLowerCase()}`];
  if ('contains' in clause) return [clause.contains.toLowerCase(), `x-${clause.contains.toLowerCase()}-y`];
  return regexSamples(clause.regex);
}

/** An example built from the pattern (first alternative, first class member, 2s for digits) plus a near miss. */
function regexSamples(regex: string): string[] {
  const example = regex
    .replace(/\(\?:([^|)]*)[^)]*\)/g, '$1')
    .replace(/\[\^?\\?(.)[^\]]*\]/g, '$1')
    .replace(/\\d\{(\d+)\}/g, (_, count: string) => '2'.repeat(Number(count)))
    .replace(/\\d/g, '2')
    .replace(/\\(.)/g, '$1')
    .replace(/^\^|\$$/g, '');
  const literalPrefix = /^\^?((?:[^\\[\](){}.*+?|^$]|\\[./-])*)/.exec(regex)![1]!.replace(/\\(.)/g, '$1');
  return [example, `${literalPrefix}zz`].filter((sample) => sample !== '');
}

export interface UnitInfo {
  key: string;
  dimensions: Readonly<Record<string, string>>;
}

export const UNITS: UnitInfo[] = Object.entries(GENAI_PRICES_UNITS).map(([key, unit]) => ({
  key,
  dimensions: unit.dimensions,
}));
export const UNIT_BY_PRICE_KEY = new Map(Object.entries(GENAI_PRICES_UNITS).map(([key, unit]) => [unit.priceKey, key]));

/** `ancestor`'s dimensions are a subset of `descendant`'s (every unit is its own ancestor). */
export function isAncestorOrSelf(ancestor: string, descendant: string): boolean {
  const [a, d] = [GENAI_PRICES_UNITS[ancestor]!, GENAI_PRICES_UNITS[descendant]!];
  return Object.entries(a.dimensions).every(([key, value]) => d.dimensions[key] === value);
}
