// The rating kernel in the browser, loaded only by the price editor: the host code and the .wasm (fetched and
// compiled once). Old and new prices are rated by the same kernel the service runs.
import type { BookVersion, PriceBook, RatedEvent, UsageEvent } from '../../../../core-wasm/src/book.ts';
import { Kernel, compileBook } from '../../../../core-wasm/src/index.ts';
import wasmUrl from '../../../../core-wasm/build/tariff.wasm?url';

export type { BookVersion, PriceBook, RatedEvent, UsageEvent };
export { compileBook };

let loading: Promise<Kernel> | undefined;

export function loadKernel(): Promise<Kernel> {
  loading ??= WebAssembly.compileStreaming(fetch(wasmUrl)).then((module) => Kernel.create(module));
  return loading;
}

/** Rates each event alone (an empty customer state), so a line shows what that one event costs under the book. */
export async function rateSamples(book: PriceBook, events: UsageEvent[]): Promise<RatedEvent[]> {
  const kernel = await loadKernel();
  return events.map((event) => kernel.rate(book, {}, [event]).results[0]);
}
