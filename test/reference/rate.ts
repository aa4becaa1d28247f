// The decimal.js reference of the rating kernel: core-wasm/README.md followed step by step, in exact arithmetic,
// so that the property tests can compare the WebAssembly kernel with it nano-unit for nano-unit.
import type {
  BookVersion,
  Outcome,
  PriceBook,
  PriceModel,
  RateCard,
  RatedEvent,
  ReceiptStep,
  ServiceTier,
  StateMap,
  UsageEvent,
} from '../../core-wasm/src/book.ts';
import { rateCharges, selectCharges } from './charges.ts';
import type { ChargeContext, EventFacts } from './compose.ts';
import { Ledger, normalizeStates } from './ledger.ts';
import { chooseCard } from './match.ts';
import { PRICE_MODELS, type PriceHandler } from './models/index.ts';
import {
  checkMoney,
  divideHalfEven,
  EventFailure,
  formatMoney,
  formatPercent,
  HUNDRED,
  min,
  MONEY_PLACES,
  parseEventNumber,
  parseStored,
  QUANTITY_PLACES,
  ZERO,
  type Dec,
} from './numbers.ts';
import { parseInstant, parseStoredInstant } from './time.ts';
import { validateBook, validateState } from './validate.ts';

const SERVICE_TIERS: readonly ServiceTier[] = ['standard', 'batch', 'flex', 'priority'];
const OUTCOMES: readonly Outcome[] = ['completed', 'preempted', 'infra_failure', 'user_failure'];

/**
 * Rates `events` in order against `book`, starting from `states`; neither input is modified.
 * Throws InvalidInputError for a malformed book or state (the host rejects those before the kernel runs).
 */
export function rateReference(
  book: PriceBook,
  states: StateMap,
  events: UsageEvent[],
): { results: RatedEvent[]; states: StateMap } {
  validateBook(book);
  const nextStates = structuredClone(states);
  const validated = new WeakSet<object>();
  const customers = new Set<string>();
  const results = events.map((event) => rateOrReject(book, nextStates, validated, customers, event));
  normalizeStates(book, nextStates, customers, states);
  return { results, states: nextStates };
}

function echo(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function rateOrReject(
  book: PriceBook,
  states: StateMap,
  validated: WeakSet<object>,
  customers: Set<string>,
  event: UsageEvent,
): RatedEvent {
  try {
    return rateEvent(book, states, validated, customers, event);
  } catch (error) {
    // Event errors are thrown from deep inside a charge and caught here, where the working state is simply dropped.
    if (!(error instanceof EventFailure)) throw error;
    return {
      transaction_id: echo(event?.transaction_id),
      customer_id: echo(event?.customer_id),
      status: 'error',
      error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) },
      currency: book.currency,
    };
  }
}

/** Step 0: the event's own fields, in the README's order. */
function checkEvent(event: UsageEvent): { timestamp: number; serviceTier: ServiceTier; outcome: Outcome } {
  for (const field of ['transaction_id', 'customer_id', 'event_type'] as const) {
    const value: unknown = event?.[field];
    if (typeof value !== 'string' || value === '')
      throw new EventFailure('invalid_event', `${field} must be a non-empty string`, field);
  }
  const timestamp = parseInstant(event.timestamp);
  if (timestamp === null)
    throw new EventFailure('invalid_timestamp', 'timestamp is not an RFC 3339 instant', 'timestamp');
  const serviceTier = canonical(event, 'service_tier', SERVICE_TIERS, 'standard');
  const outcome = canonical(event, 'outcome', OUTCOMES, 'completed');
  return { timestamp, serviceTier, outcome };
}

function canonical<T extends string>(event: UsageEvent, name: string, allowed: readonly T[], absent: T): T {
  const value = event.properties?.[name];
  if (value === undefined || value === null) return absent;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new EventFailure('invalid_property', `${name} must be one of ${allowed.join(', ')}`, `properties.${name}`);
}

type Resolution =
  | { ok: true; card: RateCard; version: BookVersion; effectiveFrom: number }
  | { ok: false; code: 'no_rate_card' | 'no_price_version'; field: 'properties' | 'timestamp' };

const catalogues = new WeakMap<readonly BookVersion[], RateCard[]>();

/** Every card id of the versions, in order of first appearance (a card id keeps one match in every version). */
function catalogueOf(versions: readonly BookVersion[]): RateCard[] {
  let catalogue = catalogues.get(versions);
  if (catalogue === undefined) {
    const byId = new Map<string, RateCard>();
    for (const card of versions.flatMap((version) => version.rate_cards))
      if (!byId.has(card.id)) byId.set(card.id, card);
    catalogue = [...byId.values()];
    catalogues.set(versions, catalogue);
  }
  return catalogue;
}

/**
 * Steps 1 and 2. The card is matched against the book's catalogue, every card id in order of first appearance;
 * the version in force must then define a card with that id.
 */
function resolveCard(versions: readonly BookVersion[], event: UsageEvent, timestamp: number): Resolution {
  const chosen = chooseCard(catalogueOf(versions), event);
  if (chosen === undefined) return { ok: false, code: 'no_rate_card', field: 'properties' };
  let inForce: { version: BookVersion; effectiveFrom: number } | undefined;
  for (const version of versions) {
    const effectiveFrom = parseStoredInstant(version.effective_from, 'effective_from');
    if (effectiveFrom <= timestamp) inForce = { version, effectiveFrom };
  }
  if (inForce === undefined) return { ok: false, code: 'no_price_version', field: 'timestamp' };
  const card = inForce.version.rate_cards.find((candidate) => candidate.id === chosen.id);
  if (card === undefined) return { ok: false, code: 'no_rate_card', field: 'properties' };
  return { ok: true, card, ...inForce };
}

type Reading = 'quantity' | 'money';

/**
 * The numeric properties a card reads: through the charges of the card and of all its variants. `required`
 * gets those a charge cannot do without (a GPU count or duration, a dynamic amount).
 */
function collectReads(card: RateCard, reads: Map<string, Set<Reading>>, required: Set<string>): void {
  const add = (name: string, reading: Reading, needed = false): void => {
    const set = reads.get(name) ?? new Set<Reading>();
    set.add(reading);
    reads.set(name, set);
    if (needed) required.add(name);
  };
  const addDimension = (name: string): void => {
    const dimension = card.dimensions?.[name];
    if (dimension === undefined) add(name, 'quantity');
    else if ('formula' in dimension) Object.keys(dimension.formula).forEach((property) => add(property, 'quantity'));
    else if ('max' in dimension) dimension.max.forEach((property) => add(property, 'quantity'));
    else {
      add(dimension.gpu_time.count ?? 'gpu_count', 'quantity', true);
      add(dimension.gpu_time.duration ?? 'duration_seconds', 'quantity', true);
    }
  };
  for (const charges of [card.charges, ...(card.variants ?? []).map((variant) => variant.charges)]) {
    for (const charge of charges) {
      const handler = PRICE_MODELS[charge.price.model] as PriceHandler<PriceModel>;
      if (handler.measured) addDimension(charge.dimension!);
      handler.reads?.(charge.price, {
        money: (name, required) => add(name, 'money', required),
        dimension: addDimension,
      });
    }
  }
}

/** The numeric properties of the price and cost cards in force, checked in alphabetical order of name. */
function checkNumbers(event: UsageEvent, cards: readonly RateCard[]): Map<string, Dec> {
  const reads = new Map<string, Set<Reading>>();
  const required = new Set<string>();
  cards.forEach((card) => collectReads(card, reads, required));
  const numbers = new Map<string, Dec>();
  for (const name of [...reads.keys()].sort()) {
    let raw = event.properties?.[name];
    if (raw === undefined || raw === null) {
      raw = cards.map((card) => card.defaults?.[name]).find((value) => value !== undefined);
      if (raw === undefined && required.has(name))
        throw new EventFailure('missing_property', `${name} is required and has no default`, `properties.${name}`);
    }
    let value: Dec | null = null;
    for (const reading of reads.get(name)!) {
      value = parseEventNumber(raw, reading === 'money' ? MONEY_PLACES : QUANTITY_PLACES);
      if (value === null) {
        throw new EventFailure(
          'invalid_property',
          `${name} must be a non-negative ${reading === 'money' ? 'amount' : 'quantity'}`,
          `properties.${name}`,
        );
      }
    }
    numbers.set(name, value!);
  }
  return numbers;
}

const sum = (values: readonly Dec[]): Dec => values.reduce((total, value) => total.plus(value), ZERO);

function rateEvent(
  book: PriceBook,
  states: StateMap,
  validated: WeakSet<object>,
  customers: Set<string>,
  event: UsageEvent,
): RatedEvent {
  const { timestamp, serviceTier, outcome } = checkEvent(event);
  const customerId = event.customer_id;
  customers.add(customerId);
  const committed = Object.hasOwn(states, customerId) ? states[customerId] : undefined;
  if (committed !== undefined && !validated.has(committed)) {
    validateState(committed, `states.${customerId}`);
    validated.add(committed);
  }

  const price = resolveCard(book.versions, event, timestamp);
  if (!price.ok) throw new EventFailure(price.code, `${price.code.replaceAll('_', ' ')} for this event`, price.field);
  // A customer without a state, or a state without a period, has no period to be outside of.
  const period = committed?.period;
  if (period !== undefined) {
    const start = parseStoredInstant(period.start, 'period.start');
    const end = parseStoredInstant(period.end, 'period.end');
    if (!(start <= timestamp && timestamp < end))
      throw new EventFailure('outside_period', 'timestamp is outside the period', 'timestamp');
  }
  // Any failure to resolve a cost card means the event has no cost.
  const costResolution = book.cost === undefined ? undefined : resolveCard(book.cost.versions, event, timestamp);
  const cost = costResolution?.ok ? costResolution : undefined;

  const facts: EventFacts = {
    event,
    timestamp,
    serviceTier,
    outcome,
    numbers: checkNumbers(event, cost === undefined ? [price.card] : [price.card, cost.card]),
  };
  const ledger = new Ledger(committed);
  const steps: ReceiptStep[] = [];

  let lines: Dec[] = [];
  if (outcome === 'infra_failure') {
    steps.push({ step: 'outcome', outcome, note: 'no_charge' });
  } else {
    const context: ChargeContext = {
      facts,
      card: price.card,
      version: price.version,
      ledger,
      counterPrefix: '',
      useAllowances: true,
      steps,
    };
    lines = rateCharges(context, selectCharges(context));
  }
  const subtotal = checkMoney(sum(lines), 'subtotal');

  // The cost schedule is rated after the price lines and before steps 6-11, so its errors take precedence
  // over credits_exhausted. It skips step 3 and draws no allowance; its receipt steps are not shown.
  let costTotal: Dec | undefined;
  if (cost !== undefined) {
    const context: ChargeContext = {
      facts,
      card: cost.card,
      version: cost.version,
      ledger,
      counterPrefix: 'cost:',
      useAllowances: false,
      steps: [],
    };
    costTotal = checkMoney(sum(rateCharges(context, selectCharges(context))), 'cost');
  }

  let net = subtotal;
  if (outcome !== 'infra_failure') {
    const percent = parseStored(ledger.state.discount_percent ?? '0', 'percent', 'discount_percent');
    if (!percent.isZero()) {
      const discount = checkMoney(divideHalfEven(subtotal.times(percent), HUNDRED, MONEY_PLACES), 'discount');
      net = checkMoney(subtotal.minus(discount), 'net');
      steps.push({ step: 'discount', percent: formatPercent(percent), amount: formatMoney(discount) });
    }
  }
  const margin = costTotal === undefined ? undefined : checkMoney(net.minus(costTotal), 'margin');

  if (outcome !== 'infra_failure') {
    net = drawCommitment(ledger, net, steps);
    net = drawCredits(ledger, net, steps, { timestamp, cardId: price.card.id, eventType: event.event_type });
    if (net.gt(0) && ledger.state.on_depletion === 'block') {
      throw new EventFailure('credits_exhausted', `credits do not cover ${formatMoney(net)}`);
    }
  }

  if (ledger.written) {
    states[customerId] = ledger.state;
    validated.add(ledger.state);
  }
  return {
    transaction_id: event.transaction_id,
    customer_id: customerId,
    status: 'rated',
    currency: book.currency,
    amount: formatMoney(net),
    subtotal: formatMoney(subtotal),
    ...(costTotal === undefined ? {} : { cost: formatMoney(costTotal), margin: formatMoney(margin!) }),
    book_version: new Date(price.effectiveFrom).toISOString(),
    card: price.card.id,
    receipt: steps,
  };
}

/** Step 8. A prepaid commitment with nothing left still writes its step (amount 0) and its `remaining`. */
function drawCommitment(ledger: Ledger, net: Dec, steps: ReceiptStep[]): Dec {
  const commitment = ledger.state.commitment;
  if (commitment === undefined || !net.gt(0)) return net;
  if (commitment.mode === 'prepaid') {
    const available = ledger.commitmentFigure('remaining');
    const drawn = min(available, net);
    const remaining = available.minus(drawn);
    ledger.setCommitmentFigure('remaining', remaining);
    steps.push({ step: 'commitment', mode: 'prepaid', amount: formatMoney(drawn), remaining: formatMoney(remaining) });
    return net.minus(drawn);
  }
  const consumed = checkMoney(ledger.commitmentFigure('consumed').plus(net), 'commitment consumed');
  ledger.setCommitmentFigure('consumed', consumed);
  steps.push({ step: 'commitment', mode: 'postpaid', amount: formatMoney(net), consumed: formatMoney(consumed) });
  return net;
}

const KIND_ORDER = { promotional: 0, prepaid: 1 } as const;

/** Step 9. Grants are drawn while something is left to pay, so every credit step draws more than 0. */
function drawCredits(
  ledger: Ledger,
  net: Dec,
  steps: ReceiptStep[],
  event: { timestamp: number; cardId: string; eventType: string },
): Dec {
  const grants = ledger.state.grants ?? [];
  const eligible = grants
    .map((grant, index) => ({
      grant,
      index,
      balance: ledger.grantBalance(grant, index),
      effectiveAt:
        grant.effective_at === undefined ? -Infinity : parseStoredInstant(grant.effective_at, 'effective_at'),
      expiresAt: grant.expires_at === undefined ? Infinity : parseStoredInstant(grant.expires_at, 'expires_at'),
    }))
    .filter(
      (entry) =>
        entry.balance.gt(0) &&
        entry.effectiveAt <= event.timestamp &&
        event.timestamp < entry.expiresAt &&
        (entry.grant.scope?.cards === undefined || entry.grant.scope.cards.includes(event.cardId)) &&
        (entry.grant.scope?.event_types === undefined || entry.grant.scope.event_types.includes(event.eventType)),
    )
    .sort(
      (a, b) =>
        KIND_ORDER[a.grant.kind] - KIND_ORDER[b.grant.kind] ||
        a.grant.priority - b.grant.priority ||
        (a.expiresAt === b.expiresAt ? 0 : a.expiresAt < b.expiresAt ? -1 : 1) ||
        a.index - b.index,
    );
  let left = net;
  for (const entry of eligible) {
    if (!left.gt(0)) break;
    const drawn = min(entry.balance, left);
    const balance = entry.balance.minus(drawn);
    left = left.minus(drawn);
    ledger.setGrantBalance(entry.index, balance);
    steps.push({
      step: 'credit',
      grant: entry.grant.id,
      kind: entry.grant.kind,
      amount: formatMoney(drawn),
      balance: formatMoney(balance),
    });
  }
  return left;
}
