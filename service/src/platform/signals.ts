// Signals: a lower domain states a fact inside its own transaction, and a higher domain, wired at the
// composition root (app.ts), reacts to it in that same transaction. The lower domain never imports the higher
// one, so the domain graph stays acyclic, and a signal nobody wired fails loudly instead of being dropped.
import type { TenantScope } from './db.ts';

/** Every signal and what it carries. */
export interface SignalPayloads {
  /** A price version taking effect before now was added to a book: what it covers is to be re-rated. */
  'price_book.retroactive_version': {
    priceBookId: string;
    effectiveFrom: Date;
    bookVersions: number;
    createdBy: string;
    now: Date;
  };
}

export type SignalName = keyof SignalPayloads;
export type SignalHandler<K extends SignalName> = (scope: TenantScope, payload: SignalPayloads[K]) => Promise<void>;

const handlers = new Map<SignalName, Set<SignalHandler<never>>>();

/** Registers a reaction (the same function twice is one reaction: the composition root may run more than once). */
export function onSignal<K extends SignalName>(name: K, handler: SignalHandler<K>): void {
  let registered = handlers.get(name) as Set<SignalHandler<K>> | undefined;
  if (!registered) handlers.set(name, (registered = new Set()) as Set<SignalHandler<never>>);
  registered.add(handler);
}

/** Runs every reaction to the signal in the caller's transaction, in registration order; any failure aborts it. */
export async function emitSignal<K extends SignalName>(
  scope: TenantScope,
  name: K,
  payload: SignalPayloads[K],
): Promise<void> {
  const registered = handlers.get(name) as Set<SignalHandler<K>> | undefined;
  if (!registered || registered.size === 0)
    throw new Error(`Signal "${name}" has no handler: the composition root (app.ts) wires them`);
  for (const handler of registered) await handler(scope, payload);
}
