// Reseller chains: a customer's chain is its parent if that parent resells, then that one's parent if it resells,
// and so on up to the tenant. Ingestion rates an event at every level of it (events/chain.ts) and the entitlement
// check asks every level (budgets/service.ts).

/** Deep enough for any real chain; past it a chain is not followed (ingestion refuses the event). */
export const maxChainDepth = 32;
