// Conformance vectors: hand-checked books, states and events with the kernel's full expected output.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PriceBook, RateOutput, StateMap, UsageEvent } from '@tariff/core-wasm';

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
