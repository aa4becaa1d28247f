// Conformance vectors: hand-checked books, states and events with the kernel's full expected output.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChainEvent, ChainOutput, PriceBook, RateOutput, StateMap, UsageEvent } from '@tariff/core-wasm';

export interface Vector {
  name: string;
  description: string;
  book: PriceBook;
  states: StateMap;
  events: UsageEvent[];
  /** Hand-computed expectations: [transaction_id, dotted field of the result, value]. */
  checks: [string, string, string][];
  /** The full output (`{ results, states }`), identical in every runtime. */
  expected?: RateOutput;
}

export const vectorsDirectory = fileURLToPath(new URL('.', import.meta.url));

export function loadVectors(): Vector[] {
  return readdirSync(vectorsDirectory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(vectorsDirectory + file, 'utf8')) as Vector);
}

/** Reads a dotted path such as "error.code" from a rated event. */
export function fieldOf(result: unknown, path: string): unknown {
  return path.split('.').reduce<any>((value, key) => (value == null ? undefined : value[key]), result);
}

/** A reseller-chain vector (test/vectors/chains/): books, states and chain events rated by `rateChain`. */
export interface ChainVector {
  name: string;
  description: string;
  books: PriceBook[];
  states: StateMap;
  events: ChainEvent[];
  /** Hand-computed expectations: [transaction_id, level, dotted field of that level's result, value]. */
  checks: [string, number, string, string][];
  /** Hand-computed refusals: [transaction_id, refused level]; every chain not listed is rated whole. */
  refusals: [string, number][];
  /** The full output (`{ results, states }`), identical in every runtime. */
  expected?: ChainOutput;
}

export const chainVectorsDirectory = fileURLToPath(new URL('./chains/', import.meta.url));

export function loadChainVectors(): ChainVector[] {
  return readdirSync(chainVectorsDirectory)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(chainVectorsDirectory + file, 'utf8')) as ChainVector);
}

/** The hand checks a chain vector's output fails, as messages (none when it passes them all). */
export function chainCheckFailures(vector: ChainVector, output: ChainOutput): string[] {
  const failures: string[] = [];
  const byId = new Map(output.results.map((result, i) => [vector.events[i]!.event.transaction_id, result]));
  for (const [id, level, field, value] of vector.checks) {
    const actual = fieldOf(byId.get(id)?.levels[level], field);
    if (actual !== value) failures.push(`${id} level ${level} ${field} is ${String(actual)}, hand check says ${value}`);
  }
  const refusals = new Map(vector.refusals);
  for (const [id, result] of byId) {
    if (result.refused_level !== refusals.get(id))
      failures.push(`${id} refused_level is ${String(result.refused_level)}, hand check says ${refusals.get(id)}`);
  }
  return failures;
}
