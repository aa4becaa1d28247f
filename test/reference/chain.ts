// The decimal.js reference of reseller-chain rating (core-wasm/README.md, "Reseller chains"), built on
// rateReference: each level of a chain event is rated alone on a copy of the ledger, and the copy is committed only
// when every level rated it; otherwise the first level that refused it is named and no level's state changes.
import type {
  ChainEvent,
  ChainRated,
  EventError,
  PriceBook,
  RatedEvent,
  StateMap,
  UsageEvent,
} from '../../core-wasm/src/book.ts';
import { normalizeStates } from './ledger.ts';
import { InvalidInputError } from './numbers.ts';
import { rateReference } from './rate.ts';

export const REFERENCE_MAX_CHAIN_DEPTH = 12;

/** Errors of step 0: they do not depend on the customer, and an event failing them names no customer. */
function failedStepZero(error: EventError | undefined): boolean {
  if (error === undefined) return false;
  return (
    error.code === 'invalid_event' ||
    error.code === 'invalid_timestamp' ||
    (error.code === 'invalid_property' &&
      (error.field === 'properties.service_tier' || error.field === 'properties.outcome'))
  );
}

function checkInput(books: PriceBook[], events: ChainEvent[]): void {
  if (!Array.isArray(books) || books.length === 0) throw new InvalidInputError('books: must be a non-empty array');
  if (!Array.isArray(events)) throw new InvalidInputError('events: must be an array');
  const bookOf = new Map<string, number>();
  events.forEach((item, i) => {
    const chain = item?.chain;
    if (!Array.isArray(chain) || chain.length === 0 || chain.length > REFERENCE_MAX_CHAIN_DEPTH)
      throw new InvalidInputError(`events[${i}].chain: must list 1 to ${REFERENCE_MAX_CHAIN_DEPTH} levels`);
    const seen = new Set<string>();
    chain.forEach((link, k) => {
      const where = `events[${i}].chain[${k}]`;
      if (typeof link?.customer_id !== 'string' || link.customer_id === '')
        throw new InvalidInputError(`${where}.customer_id: must be a non-empty string`);
      if (!Number.isInteger(link.book) || link.book < 0 || link.book >= books.length)
        throw new InvalidInputError(`${where}.book: must index a book`);
      if (seen.has(link.customer_id)) throw new InvalidInputError(`${where}.customer_id: twice in one chain`);
      seen.add(link.customer_id);
      const other = bookOf.get(link.customer_id);
      if (other !== undefined && other !== link.book)
        throw new InvalidInputError(`${where}.book: customer rated by two books`);
      bookOf.set(link.customer_id, link.book);
    });
    if (item.event?.customer_id !== chain[0]!.customer_id)
      throw new InvalidInputError(`events[${i}].chain[0].customer_id: must equal the event's customer_id`);
  });
}

const echo = (value: unknown): string => (typeof value === 'string' ? value : '');

export function rateChainReference(
  books: PriceBook[],
  states: StateMap,
  events: ChainEvent[],
): { results: ChainRated[]; states: StateMap } {
  checkInput(books, events);
  let ledger: StateMap = states;
  const named: string[] = [];
  const bookOf = new Map<string, number>();
  const results = events.map(({ event, chain }): ChainRated => {
    let working = ledger;
    const levels: RatedEvent[] = [];
    let refused: number | undefined;
    for (let k = 0; k < chain.length; k++) {
      const levelEvent: UsageEvent = k === 0 ? event : { ...event, customer_id: chain[k]!.customer_id };
      const output = rateReference(books[chain[k]!.book]!, working, [levelEvent]);
      levels.push(output.results[0]!);
      if (output.results[0]!.status === 'error') {
        refused = k;
        break;
      }
      working = output.states;
    }
    if (!(refused === 0 && failedStepZero(levels[0]!.error))) {
      for (const link of chain) {
        if (!bookOf.has(link.customer_id)) named.push(link.customer_id);
        bookOf.set(link.customer_id, link.book);
      }
    }
    if (refused === undefined) {
      ledger = working;
      return { levels };
    }
    const refuser = chain[refused]!.customer_id;
    return {
      levels: chain.map((link, k) =>
        k === refused
          ? levels[k]!
          : {
              transaction_id: echo(event.transaction_id),
              customer_id: link.customer_id,
              status: 'error',
              error: { code: 'chain_refused', message: `level ${refused} (customer ${refuser}) refused the event` },
              currency: books[link.book]!.currency,
            },
      ),
      refused_level: refused,
    };
  });

  // The input's customers keep their place; new ones follow in order of first appearance. Every named customer's
  // figures are written in the output format, key order canonical against the input (normalizeStates).
  const output: StateMap = { ...states };
  for (const customerId of named) output[customerId] = ledger[customerId] ?? {};
  books.forEach((book, b) =>
    normalizeStates(
      book,
      output,
      named.filter((customerId) => bookOf.get(customerId) === b),
      states,
    ),
  );
  return { results, states: output };
}
