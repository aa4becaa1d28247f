// The one place the service calls the rating kernel: compiled books are cached, the kernel build is named.
import crypto from 'node:crypto';
import {
  compileBook,
  RateInputError,
  type ChainEvent,
  type ChainOutput,
  type CompiledBook,
  type PriceBook,
  type RatedEvent,
  type RatedFigures,
  type StateMap,
  type UsageEvent,
} from '@tariff/core-wasm';
import { rate, rateChain, rateFigures, wasmBytes } from '@tariff/core-wasm/node';
import { invalid } from '../../platform/errors.ts';

let version: string | undefined;

/** Names the kernel build that rates (stored on every rated line): a hash of the wasm module. */
export function kernelVersion(): string {
  version ??= `tariff.wasm@sha256:${crypto.createHash('sha256').update(wasmBytes()).digest('hex').slice(0, 16)}`;
  return version;
}

// Stored versions never change, so a book with the same number of versions compiles to the same bytes.
const compiled = new Map<string, CompiledBook>();
const maxCompiledBooks = 500;

export async function compiledBook(cacheKey: string, load: () => Promise<PriceBook>): Promise<CompiledBook> {
  const hit = compiled.get(cacheKey);
  if (hit) {
    compiled.delete(cacheKey);
    compiled.set(cacheKey, hit);
    return hit;
  }
  const result = compileBook(await load());
  // Books are validated when stored, so this only fails if the kernel's rules tightened since.
  if (!result.ok)
    throw invalid(
      'price_book_invalid',
      `Stored price book no longer compiles: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  compiled.set(cacheKey, result.book);
  if (compiled.size > maxCompiledBooks) compiled.delete(compiled.keys().next().value!);
  return result.book;
}

/** Rates events; a state the kernel cannot read is a validation error naming its path. */
export async function rateEvents(
  book: CompiledBook,
  states: StateMap,
  events: UsageEvent[],
): Promise<{ results: RatedEvent[]; states: StateMap }> {
  return asInputError(() => rate(book, states, events));
}

/** Each event's amount and cost only, in nano-units (no receipts, no states): for totals over many events. */
export async function rateEventFigures(
  book: CompiledBook,
  states: StateMap,
  events: UsageEvent[],
): Promise<RatedFigures[]> {
  return asInputError(() => rateFigures(book, states, events));
}

/** Rates events along their reseller chains (events/chain.ts) in one kernel pass; errors as rateEvents'. */
export async function rateChainEvents(
  books: CompiledBook[],
  states: StateMap,
  events: ChainEvent[],
): Promise<ChainOutput> {
  return asInputError(() => rateChain(books, states, events));
}

/** A state or chain the kernel cannot read is a validation error naming its path. */
async function asInputError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RateInputError) {
      const field = error.path.replace(/\[(\d+)\]/g, '.$1');
      throw invalid('invalid_state', error.message, [{ field, reason: error.message.slice(error.path.length + 2) }]);
    }
    throw error;
  }
}
