// Reseller chains: a customer's chain is its parent if that parent resells, then that one's parent if it resells,
// and so on up to the tenant. Ingestion rates an event at every level of it in one kernel pass (events/chain.ts)
// and the entitlement check asks every level (budgets/service.ts).
import { MAX_CHAIN_DEPTH } from '@tariff/core-wasm';

/** Resellers above a customer at most: the kernel rates the customer's own level and this many more. */
export const maxChainDepth = MAX_CHAIN_DEPTH - 1;
