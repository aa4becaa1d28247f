// Every rate table, and the lookup of the rates in force at an instant.
import { asiaPacificRates } from './asia-pacific.ts';
import { canadaRates } from './canada.ts';
import { euRates } from './eu.ts';
import { europeRates } from './europe.ts';
import type { RateEntry, RateTable } from './types.ts';

export const rateTables: readonly RateTable[] = [euRates, europeRates, canadaRates, asiaPacificRates];

const byJurisdiction = new Map<string, RateEntry[]>();
for (const table of rateTables) {
  for (const entry of table.rates)
    byJurisdiction.set(entry.jurisdiction, [...(byJurisdiction.get(entry.jurisdiction) ?? []), entry]);
}
for (const entries of byJurisdiction.values()) entries.sort((a, b) => a.from.localeCompare(b.from));

export function hasRates(jurisdiction: string): boolean {
  return byJurisdiction.has(jurisdiction);
}

/** The rates of each tax of the jurisdiction in force at `at` (the latest entry per tax starting on or before it). */
export function ratesAt(jurisdiction: string, at: Date): { tax: string; rate: string; from: string }[] {
  const day = at.toISOString().slice(0, 10);
  const latest = new Map<string, RateEntry>();
  for (const entry of byJurisdiction.get(jurisdiction) ?? []) if (entry.from <= day) latest.set(entry.tax, entry);
  return [...latest.values()].map((e) => ({ tax: e.tax, rate: e.rate, from: e.from }));
}

/** The table a jurisdiction's rates come from (its source is printed in reports). */
export function sourceOf(jurisdiction: string): RateTable | undefined {
  return rateTables.find((t) => t.rates.some((r) => r.jurisdiction === jurisdiction));
}
