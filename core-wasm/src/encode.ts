// Turns JSON events and customer states into the kernel's binary records (and back, for states).
import type { CustomerState, EventError, Grant, StateMap, UsageEvent } from './book.ts';
import { type CardMeta, type CompiledBook, parseInstant } from './compile.ts';
import { I64_MAX, I64_MIN, MICRO_DIGITS, NANO_DIGITS, formatMoney, formatQuantity, parseScaled } from './decimal.ts';
import * as L from './layout.gen.ts';

export class RateInputError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** Per-call interning of event types, shared by events and grant scopes. */
export class EventTypes {
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) this.ids.set(name, (id = this.ids.size));
    return id;
  }
}

export interface EncodedEvent {
  timestamp: bigint;
  product: number;
  costProduct: number;
  serviceTier: number;
  outcome: number;
  eventType: number;
  properties: bigint[];
}

/** Host checks of README step 0 (and the card lookup); an encoded record or the event's error. */
export type EncodeResult =
  | { ok: true; event: EncodedEvent }
  /** `named`: the event passed step 0, so its customer still appears in the returned states. */
  | { ok: false; error: EventError; named: boolean };

/** A customer's period bounds in ms (unbounded without one). */
export interface Period {
  start: bigint;
  end: bigint;
}

export function periodOf(state: CustomerState | undefined, path: string): Period {
  return {
    start: instant(state?.period?.start, `${path}.period.start`, I64_MIN),
    end: instant(state?.period?.end, `${path}.period.end`, I64_MAX),
  };
}

/** What step 0 reads of an event whichever book rates it: read once for all the levels of a reseller chain. */
export interface EventRead {
  timestamp: bigint;
  properties: Record<string, unknown>;
  serviceTier: number;
  outcome: number;
}

/** Step 0's checks that depend on no book (their errors name no customer). */
export function readEvent(
  event: UsageEvent,
): { ok: true; read: EventRead } | { ok: false; error: EventError; named: false } {
  if (!isRecord(event)) return fail('invalid_event', 'an event must be a JSON object');
  for (const field of ['transaction_id', 'customer_id', 'event_type'] as const) {
    if (typeof event[field] !== 'string' || event[field].length === 0)
      return fail('invalid_event', `${field} must be a non-empty string`, field);
  }
  const timestamp = typeof event.timestamp === 'string' ? parseInstant(event.timestamp) : undefined;
  if (timestamp === undefined)
    return fail(
      'invalid_timestamp',
      'timestamp must be an ISO 8601 instant with a zone, e.g. 2026-01-01T00:00:00Z',
      'timestamp',
    );
  const properties = isRecord(event.properties) ? event.properties : {};
  if (event.properties !== undefined && !isRecord(event.properties))
    return fail('invalid_event', 'properties must be an object', 'properties');
  const serviceTier = enumIndex(L.SERVICE_TIERS, properties.service_tier);
  if (serviceTier < 0)
    return fail(
      'invalid_property',
      `service_tier must be one of ${L.SERVICE_TIERS.join(', ')}`,
      'properties.service_tier',
    );
  const outcome = enumIndex(L.OUTCOMES, properties.outcome);
  if (outcome < 0)
    return fail('invalid_property', `outcome must be one of ${L.OUTCOMES.join(', ')}`, 'properties.outcome');
  return { ok: true, read: { timestamp, properties, serviceTier, outcome } };
}

/** `read`: readEvent's reading of this event, when the caller has it (a chain's levels share it). */
export function encodeEvent(
  book: CompiledBook,
  event: UsageEvent,
  types: EventTypes,
  period?: Period,
  read?: EventRead,
): EncodeResult {
  if (!read) {
    const outcome = readEvent(event);
    if (!outcome.ok) return outcome;
    read = outcome.read;
  }
  const { timestamp, properties, serviceTier, outcome } = read;
  const product = book.price.resolver.resolve(event);
  if (product < 0) return { ...fail('no_rate_card', 'no rate card matches this event', 'properties'), named: true };
  const costProduct = book.cost ? book.cost.resolver.resolve(event) : -1;

  const values = new Array<bigint>(book.properties.length).fill(0n);
  const priceVersion = versionAt(book.price.versions, timestamp);
  const priceCard = priceVersion >= 0 ? book.price.cards[product][priceVersion] : undefined;
  if (priceCard) {
    // Step 2 ends with the period check, before any numeric property is read.
    if (period && (timestamp < period.start || timestamp >= period.end)) {
      return {
        ...fail('outside_period', "the event timestamp is outside the customer's current period", 'timestamp'),
        named: true,
      };
    }
    const costVersion = book.cost && costProduct >= 0 ? versionAt(book.cost.versions, timestamp) : -1;
    const costCard = costVersion >= 0 ? book.cost!.cards[costProduct][costVersion] : undefined;
    const reads = costCard ? combinedReads(priceCard, costCard) : priceCard.reads;
    for (const name of reads) {
      const slot = book.propertySlots.get(name)!;
      const raw = properties[name];
      if (raw === undefined || raw === null) {
        // Step 2: an omitted property takes the card's default; one a charge cannot do without is an error.
        const fallback = priceCard.defaults.get(name) ?? costCard?.defaults.get(name);
        if (fallback !== undefined) values[slot] = fallback;
        else if (priceCard.required.has(name) || costCard?.required.has(name)) {
          return {
            ...fail(
              'missing_property',
              `${name} is required by rate card "${priceCard.id}" and the book states no default for it`,
              `properties.${name}`,
            ),
            named: true,
          };
        }
        continue;
      }
      const parsed =
        typeof raw === 'string' && !PLAIN_DECIMAL.test(raw)
          ? { ok: false as const, reason: 'must be a non-negative decimal such as "12.5"' }
          : parseScaled(raw, book.properties[slot].money ? NANO_DIGITS : MICRO_DIGITS);
      if (!parsed.ok)
        return { ...fail('invalid_property', `${name} ${parsed.reason}`, `properties.${name}`), named: true };
      values[slot] = parsed.value;
    }
  }
  return {
    ok: true,
    event: {
      timestamp,
      product,
      costProduct,
      serviceTier,
      outcome,
      eventType: types.id(event.event_type),
      properties: values,
    },
  };
}

// The properties a price card and a cost card read together, computed once per pair (not once per event).
const readsByPair = new WeakMap<CardMeta, WeakMap<CardMeta, string[]>>();
function combinedReads(price: CardMeta, cost: CardMeta): string[] {
  let byCost = readsByPair.get(price);
  if (!byCost) readsByPair.set(price, (byCost = new WeakMap()));
  let reads = byCost.get(cost);
  if (!reads) byCost.set(cost, (reads = [...new Set([...price.reads, ...cost.reads])].sort()));
  return reads;
}

/** Strings carry digits with an optional fraction: no sign, exponent or spaces. */
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

function versionAt(versions: { from: bigint }[], timestamp: bigint): number {
  let found = -1;
  for (let i = 0; i < versions.length && versions[i].from <= timestamp; i++) found = i;
  return found;
}

function enumIndex(values: readonly string[], value: unknown): number {
  if (value === undefined || value === null) return 0;
  return typeof value === 'string' ? values.indexOf(value) : -1;
}

function fail(code: string, message: string, field?: string): { ok: false; error: EventError; named: false } {
  return { ok: false, error: field ? { code, message, field } : { code, message }, named: false };
}

const isRecord = (value: unknown): value is Record<string, any> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---- state ------------------------------------------------------------------------------------------------

export interface StateLayout {
  bytes: Uint8Array;
  /** Byte offset of each customer's block, relative to the state base. */
  blocks: number[];
  /** The grants of each customer in drawing order, with their index in the input list. */
  grants: { grant: Grant; index: number }[][];
}

function money(value: unknown, path: string): bigint {
  const parsed = parseScaled(value ?? '0', NANO_DIGITS, { allowNegative: true });
  if (!parsed.ok) throw new RateInputError(path, parsed.reason);
  return parsed.value;
}

function quantity(value: unknown, path: string): bigint {
  const parsed = parseScaled(value ?? '0', MICRO_DIGITS, { allowNegative: true });
  if (!parsed.ok) throw new RateInputError(path, parsed.reason);
  return parsed.value;
}

function instant(value: unknown, path: string, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  const parsed = typeof value === 'string' ? parseInstant(value) : undefined;
  if (parsed === undefined) throw new RateInputError(path, 'must be an ISO 8601 instant with a zone');
  return parsed;
}

/** Draw order of README step 9: promotional first, then priority, then earliest expiry, then input order. */
export function orderGrants(grants: Grant[]): { grant: Grant; index: number }[] {
  return grants
    .map((grant, index) => ({
      grant,
      index,
      expires: grant.expires_at ? (parseInstant(grant.expires_at) ?? I64_MAX) : I64_MAX,
    }))
    .sort(
      (a, b) =>
        L.GRANT_KIND_CODE[a.grant.kind] - L.GRANT_KIND_CODE[b.grant.kind] ||
        a.grant.priority - b.grant.priority ||
        (a.expires < b.expires ? -1 : a.expires > b.expires ? 1 : 0) ||
        a.index - b.index,
    )
    .map(({ grant, index }) => ({ grant, index }));
}

export function encodeStates(
  book: CompiledBook,
  customers: string[],
  states: StateMap,
  types: EventTypes,
): StateLayout {
  const tableSize = (customers.length * 4 + 7) & ~7;
  const chunks: { at: number; write: (view: DataView) => void }[] = [];
  let size = tableSize;
  const blocks: number[] = [];
  const grantsByCustomer: { grant: Grant; index: number }[][] = [];
  const productIds = new Map(book.price.productIds.map((id, i) => [id, i]));

  customers.forEach((customerId) => {
    const state: CustomerState = states[customerId] ?? {};
    const path = `states.${customerId}`;
    const block = size;
    blocks.push(block);
    const slots = book.counters.length + book.pools.length;
    const ordered = orderGrants(Array.isArray(state.grants) ? state.grants : []);
    if (ordered.length > 1000) throw new RateInputError(`${path}.grants`, 'at most 1,000 grants per customer');
    grantsByCustomer.push(ordered);
    const grantsAt = block + L.STATE_HEADER_SIZE + slots * 8;
    let scopeAt = grantsAt + ordered.length * L.GRANT_SIZE;
    const scopes = ordered.map(({ grant, index }) => {
      const gp = `${path}.grants[${index}]`;
      if (grant.kind !== 'promotional' && grant.kind !== 'prepaid')
        throw new RateInputError(`${gp}.kind`, 'must be promotional or prepaid');
      if (!Number.isSafeInteger(grant.priority)) throw new RateInputError(`${gp}.priority`, 'must be an integer');
      const cards = grant.scope?.cards?.map((id) => productIds.get(id) ?? -2);
      const eventTypes = grant.scope?.event_types?.map((name) => types.id(name));
      const cardsAt = scopeAt;
      scopeAt += (cards?.length ?? 0) * 4;
      const typesAt = scopeAt;
      scopeAt += (eventTypes?.length ?? 0) * 4;
      return {
        cards,
        cardsAt,
        eventTypes,
        typesAt,
        effective: instant(grant.effective_at, `${gp}.effective_at`, I64_MIN),
        expires: instant(grant.expires_at, `${gp}.expires_at`, I64_MAX),
        balance: money(grant.balance, `${gp}.balance`),
      };
    });
    size = (scopeAt + 7) & ~7;

    const period = state.period;
    const periodStart = instant(period?.start, `${path}.period.start`, I64_MIN);
    const periodEnd = instant(period?.end, `${path}.period.end`, I64_MAX);
    const discount =
      state.discount_percent === undefined
        ? 0n
        : (() => {
            const parsed = parseScaled(state.discount_percent, 7);
            if (!parsed.ok) throw new RateInputError(`${path}.discount_percent`, parsed.reason);
            return parsed.value;
          })();
    const commitment = state.commitment;
    const commitmentMode =
      commitment === undefined
        ? L.COMMITMENT_NONE
        : commitment.mode === 'prepaid' || commitment.mode === 'postpaid'
          ? L.COMMITMENT_CODE[commitment.mode]
          : -1;
    if (commitmentMode < 0) throw new RateInputError(`${path}.commitment.mode`, 'must be prepaid or postpaid');
    const remaining = money(commitment?.remaining, `${path}.commitment.remaining`);
    const consumed = money(commitment?.consumed, `${path}.commitment.consumed`);
    const onDepletion = state.on_depletion === 'block' ? L.ON_DEPLETION_BLOCK : L.ON_DEPLETION_OVERAGE;
    const counters = book.counters.map((name) => quantity(state.counters?.[name], `${path}.counters.${name}`));
    const pools = book.pools.map((name) =>
      state.allowances?.[name] === undefined
        ? L.POOL_UNSET
        : quantity(state.allowances[name], `${path}.allowances.${name}`),
    );

    chunks.push({
      at: block,
      write: (view) => {
        L.writeState(view, block, {
          periodStart,
          periodEnd,
          discount,
          commitmentMode,
          onDepletion,
          commitmentRemaining: remaining,
          commitmentConsumed: consumed,
          grantCount: ordered.length,
          grants: grantsAt,
        });
        [...counters, ...pools].forEach((value, i) => view.setBigInt64(block + L.STATE_COUNTERS + i * 8, value, true));
        scopes.forEach((scope, g) => {
          L.writeGrant(view, grantsAt + g * L.GRANT_SIZE, {
            kind: L.GRANT_KIND_CODE[ordered[g].grant.kind],
            effective: scope.effective,
            expires: scope.expires,
            balance: scope.balance,
            cardCount: scope.cards ? scope.cards.length : -1,
            cards: scope.cardsAt,
            typeCount: scope.eventTypes ? scope.eventTypes.length : -1,
            types: scope.typesAt,
          });
          scope.cards?.forEach((id, i) => view.setInt32(scope.cardsAt + i * 4, id, true));
          scope.eventTypes?.forEach((id, i) => view.setInt32(scope.typesAt + i * 4, id, true));
        });
      },
    });
  });

  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  blocks.forEach((block, i) => view.setInt32(i * 4, block, true));
  for (const chunk of chunks) chunk.write(view);
  return { bytes, blocks, grants: grantsByCustomer };
}

/**
 * Writes the kernel's state blocks back into JSON states (touched values in canonical format), into a copy of the
 * input unless `output` is given (a chain call decodes each book's customers into one map).
 */
export function decodeStates(
  book: CompiledBook,
  customers: string[],
  layout: StateLayout,
  stateBytes: DataView,
  input: StateMap,
  output: StateMap = { ...input },
): StateMap {
  customers.forEach((customerId, c) => {
    const block = layout.blocks[c];
    const before: CustomerState = input[customerId] ?? {};
    const state: CustomerState = { ...before };
    // Canonical order: the input's names as they were, then names the events added, alphabetically.
    const counters: Record<string, string> = { ...(before.counters ?? {}) };
    book.sortedCounters.forEach((i) => {
      const name = book.counters[i];
      const value = stateBytes.getBigInt64(block + L.STATE_COUNTERS + i * 8, true);
      if (value !== 0n || before.counters?.[name] !== undefined) counters[name] = formatQuantity(value);
    });
    if (Object.keys(counters).length > 0) state.counters = counters;
    const allowances: Record<string, string> = { ...(before.allowances ?? {}) };
    book.sortedPools.forEach((i) => {
      const value = stateBytes.getBigInt64(block + L.STATE_COUNTERS + (book.counters.length + i) * 8, true);
      if (value !== L.POOL_UNSET) allowances[book.pools[i]] = formatQuantity(value);
    });
    if (Object.keys(allowances).length > 0) state.allowances = allowances;
    if (before.commitment) {
      state.commitment = {
        ...before.commitment,
        remaining: formatMoney(stateBytes.getBigInt64(block + L.STATE_COMMITMENT_REMAINING, true)),
        consumed: formatMoney(stateBytes.getBigInt64(block + L.STATE_COMMITMENT_CONSUMED, true)),
      };
    }
    if (Array.isArray(before.grants)) {
      const grants = [...before.grants];
      const grantsAt = stateBytes.getInt32(block + L.STATE_GRANTS, true);
      layout.grants[c].forEach(({ grant, index }, g) => {
        grants[index] = {
          ...grant,
          balance: formatMoney(stateBytes.getBigInt64(grantsAt + g * L.GRANT_SIZE + L.GRANT_BALANCE, true)),
        };
      });
      state.grants = grants;
    }
    output[customerId] = state;
  });
  return output;
}
