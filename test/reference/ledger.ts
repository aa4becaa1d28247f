// One customer's state while an event is rated: a working copy that the event commits whole or drops on error.
import type { BookVersion, CustomerState, Grant, PriceBook, StateMap } from '../../core-wasm/src/book.ts';
import {
  checkMoney,
  checkQuantity,
  formatMoney,
  formatQuantity,
  parseStored,
  ZERO,
  type Dec as DecValue,
} from './numbers.ts';

/** Values the event writes are stored in the output format; `normalizeStates` formats the rest at the end. */
export class Ledger {
  readonly state: CustomerState;
  written = false;

  constructor(committed: CustomerState | undefined) {
    this.state = committed === undefined ? {} : structuredClone(committed);
  }

  counter(name: string): DecValue {
    const stored = this.state.counters?.[name];
    return stored === undefined ? ZERO : parseStored(stored, 'quantity', `counters.${name}`, { min: ZERO });
  }

  /** A counter still at 0 that the state did not hold stays absent. */
  setCounter(name: string, value: DecValue): void {
    checkQuantity(value, `counter ${name}`);
    if (value.isZero() && this.state.counters?.[name] === undefined) return;
    this.state.counters = { ...this.state.counters, [name]: formatQuantity(value) };
    this.written = true;
  }

  /** A pool absent from the state starts at the `included` of the version rating the event. */
  allowance(pool: string, included: DecValue): DecValue {
    const stored = this.state.allowances?.[pool];
    return stored === undefined ? included : parseStored(stored, 'quantity', `allowances.${pool}`, { min: ZERO });
  }

  setAllowance(pool: string, value: DecValue): void {
    this.state.allowances = { ...this.state.allowances, [pool]: formatQuantity(value) };
    this.written = true;
  }

  commitmentFigure(field: 'remaining' | 'consumed'): DecValue {
    const stored = this.state.commitment?.[field];
    return stored === undefined ? ZERO : parseStored(stored, 'money', `commitment.${field}`, { min: ZERO });
  }

  setCommitmentFigure(field: 'remaining' | 'consumed', value: DecValue): void {
    checkMoney(value, `commitment ${field}`);
    this.state.commitment = { ...this.state.commitment!, [field]: formatMoney(value) };
    this.written = true;
  }

  grantBalance(grant: Grant, index: number): DecValue {
    return parseStored(grant.balance, 'money', `grants[${index}].balance`);
  }

  setGrantBalance(index: number, value: DecValue): void {
    const grants = this.state.grants!;
    grants[index] = { ...grants[index]!, balance: formatMoney(value) };
    this.written = true;
  }
}

/** The counters and allowance pools a book declares: the figures the rating keeps for each customer. */
export function bookFigures(book: PriceBook): { counters: Set<string>; pools: Set<string> } {
  const counters = new Set<string>();
  const pools = new Set<string>();
  const collect = (versions: BookVersion[], prefix: string): void => {
    for (const version of versions) {
      if (prefix === '') Object.keys(version.allowances ?? {}).forEach((pool) => pools.add(pool));
      for (const card of version.rate_cards) {
        for (const charge of [card.charges, ...(card.variants ?? []).map((variant) => variant.charges)].flat()) {
          if (prefix === '' && charge.allowance !== undefined) pools.add(charge.allowance);
          if (charge.price.model === 'graduated' || charge.price.model === 'volume') {
            counters.add(`${prefix}${charge.price.counter ?? `${card.id}:${charge.dimension}`}`);
          }
        }
      }
    }
  };
  collect(book.versions, '');
  collect(book.cost?.versions ?? [], 'cost:');
  return { counters, pools };
}

/** The input's names in their order, then the names an event added, alphabetically. */
function canonicalOrder(
  values: Record<string, string>,
  before: Record<string, string> | undefined,
): Record<string, string> {
  const old = Object.keys(before ?? {}).filter((name) => Object.hasOwn(values, name));
  const added = Object.keys(values)
    .filter((name) => !Object.hasOwn(before ?? {}, name))
    .sort();
  return Object.fromEntries([...old, ...added].map((name) => [name, values[name]!]));
}

/**
 * The returned state of every customer named by an event that passed step 0: present (`{}` when it had none), with
 * every figure the rating keeps in the output format, whether or not an event changed it: the book's counters and
 * pools that the state holds, both commitment figures, every grant's balance. Other keys keep their text.
 */
export function normalizeStates(book: PriceBook, states: StateMap, customers: Iterable<string>, input: StateMap): void {
  const { counters, pools } = bookFigures(book);
  for (const customerId of customers) {
    const state: CustomerState = states[customerId] ?? {};
    const path = `states.${customerId}`;
    const formatted = (
      values: Record<string, string> | undefined,
      known: Set<string>,
      what: string,
    ): Record<string, string> | undefined =>
      values === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(values).map(([name, text]) => [
              name,
              known.has(name) ? formatQuantity(parseStored(text, 'quantity', `${path}.${what}.${name}`)) : text,
            ]),
          );
    // Canonical key order (README, output format): the input's keys first, as they were; new ones after.
    const before = Object.hasOwn(input, customerId) ? input[customerId]! : {};
    const merged: Record<string, unknown> = { ...before, ...state };
    const added = Object.keys(merged).filter((key) => !Object.hasOwn(before, key));
    const order = [
      ...Object.keys(before),
      ...['counters', 'allowances'].filter((key) => added.includes(key)),
      ...added.filter((key) => key !== 'counters' && key !== 'allowances').sort(),
    ];
    const next = Object.fromEntries(order.map((key) => [key, merged[key]])) as CustomerState;
    if (state.counters !== undefined)
      next.counters = formatted(canonicalOrder(state.counters, before.counters), counters, 'counters');
    if (state.allowances !== undefined)
      next.allowances = formatted(canonicalOrder(state.allowances, before.allowances), pools, 'allowances');
    if (state.commitment !== undefined) {
      const figure = (text: string | undefined, field: string): string =>
        formatMoney(text === undefined ? ZERO : parseStored(text, 'money', `${path}.commitment.${field}`));
      next.commitment = {
        ...before.commitment,
        mode: state.commitment.mode,
        remaining: figure(state.commitment.remaining, 'remaining'),
        consumed: figure(state.commitment.consumed, 'consumed'),
      };
    }
    if (state.grants !== undefined) {
      next.grants = state.grants.map((grant, index) => ({
        ...grant,
        balance: formatMoney(parseStored(grant.balance, 'money', `${path}.grants[${index}].balance`)),
      }));
    }
    states[customerId] = next;
  }
}
