// TEMPORARY development scaffold until the kernel's rateChain lands (branch chain-kernel): the same contract,
// composed from `rate` level by level. Deleted at merge.
import type { CompiledBook, PriceBook, RatedEvent, StateMap, UsageEvent } from '@tariff/core-wasm';
import { rate } from '@tariff/core-wasm/node';

export interface ChainEvent {
  event: UsageEvent;
  chain: { customer_id: string; book: number }[];
}
export interface ChainRated {
  levels: RatedEvent[];
  refused_level?: number;
}

export async function rateChain(
  books: (PriceBook | CompiledBook)[],
  states: StateMap,
  events: ChainEvent[],
): Promise<{ results: ChainRated[]; states: StateMap }> {
  const live: StateMap = structuredClone(states);
  const results: ChainRated[] = [];
  for (const { event, chain } of events) {
    const snapshot = structuredClone(live);
    const levels: RatedEvent[] = [];
    let refused: number | undefined;
    for (let k = 0; k < chain.length; k++) {
      const id = chain[k].customer_id;
      const out = await rate(books[chain[k].book], { [id]: live[id] }, [{ ...event, customer_id: id }]);
      levels.push(out.results[0]);
      if (out.results[0].status !== 'rated') {
        refused = k;
        break;
      }
      live[id] = out.states[id];
    }
    if (refused === undefined) {
      results.push({ levels });
      continue;
    }
    for (const id of Object.keys(snapshot)) live[id] = snapshot[id];
    results.push({
      refused_level: refused,
      levels: chain.map((c, k) =>
        k === refused
          ? levels[k]
          : {
              transaction_id: event.transaction_id,
              customer_id: c.customer_id,
              status: 'error',
              currency: levels[refused].currency,
              error: { code: 'chain_refused', message: `refused at level ${refused} (${chain[refused].customer_id})` },
            },
      ),
    });
  }
  return { results, states: live };
}
