// The one place the genai-prices differential test rates events: the WebAssembly kernel (the reference agrees
// with it everywhere, see test/reference).
import type { PriceBook, RatedEvent, StateMap, UsageEvent } from '../../core-wasm/src/book.ts';
import { rate } from '@tariff/core-wasm/node';

export async function rateBook(book: PriceBook, states: StateMap, events: UsageEvent[]): Promise<RatedEvent[]> {
  return (await rate(book, states, events)).results;
}
