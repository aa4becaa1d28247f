// The one place the genai-prices differential test rates events: the decimal.js reference today; the WebAssembly
// kernel later by swapping the import below (`rate` from '@tariff/core-wasm/node' has the same shape, async).
import type { PriceBook, RatedEvent, StateMap, UsageEvent } from '../../core-wasm/src/book.ts';
import { rateReference as rate } from '../reference/rate.ts';

export async function rateBook(book: PriceBook, states: StateMap, events: UsageEvent[]): Promise<RatedEvent[]> {
  return (await rate(book, states, events)).results;
}
