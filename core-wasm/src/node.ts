// Node convenience: load the built wasm from disk once and rate with it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChainEvent, PriceBook, StateMap, UsageEvent } from './book.ts';
import type { CompiledBook } from './compile.ts';
import { type ChainOutput, Kernel, type RatedFigures, type RateOutput } from './kernel.ts';

export const wasmPath = fileURLToPath(new URL('../build/tariff.wasm', import.meta.url));

let shared: Kernel | undefined;

export function wasmBytes(): Uint8Array {
  try {
    return readFileSync(wasmPath);
  } catch {
    throw new Error(`${wasmPath} is missing: run "npm run build" first`);
  }
}

/** A kernel instance of its own (one per worker or per concurrent caller). */
export async function loadKernel(): Promise<Kernel> {
  return Kernel.create(wasmBytes());
}

/** Rates with a process-wide kernel instance. */
export async function rate(
  book: PriceBook | CompiledBook,
  states: StateMap,
  events: UsageEvent[],
): Promise<RateOutput> {
  shared ??= await loadKernel();
  return shared.rate(book, states, events);
}

/** Each event's figures only (Kernel.rateFigures) with the process-wide kernel instance. */
export async function rateFigures(
  book: PriceBook | CompiledBook,
  states: StateMap,
  events: UsageEvent[],
): Promise<RatedFigures[]> {
  shared ??= await loadKernel();
  return shared.rateFigures(book, states, events);
}

/** Rates events along their reseller chains (Kernel.rateChain) with the process-wide kernel instance. */
export async function rateChain(
  books: (PriceBook | CompiledBook)[],
  states: StateMap,
  events: ChainEvent[],
): Promise<ChainOutput> {
  shared ??= await loadKernel();
  return shared.rateChain(books, states, events);
}
