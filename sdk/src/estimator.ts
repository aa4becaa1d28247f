// The local estimator: the service's own wasm kernel, a price book and a customer-state snapshot, so a gateway or an
// edge worker can price a request and stop one that would break a budget without a network round trip.
import {
  type CompiledBook,
  type CustomerState,
  type EventError,
  EventTypes,
  Kernel,
  type LimitBlock,
  type OnBlock,
  type PriceBook,
  RateInputError,
  type RatedEvent,
  type StateMap,
  type UsageEvent as KernelEvent,
  encodeEvent,
  encodeStates,
  formatMoney,
  layout as L,
  limitsCrossed,
  parseInstant,
  parseScaled,
  stateForOnBlock,
  toCompiled,
  writeEvent,
} from '@tariff/core-wasm';
import type { ResponseOf, TariffClient } from './client.ts';
import { TariffError } from './client.ts';
import type { operations } from '@tariff/openapi';
import type { UsageEvent as WireEvent } from './sender.ts';

/** GET /v1/customers/{id}/pricing-snapshot: the customer's book, rating state, spend, budget and a signed token. */
export type PricingSnapshot = ResponseOf<operations['getPricingSnapshot']>;
/** POST /v1/quotes: a signed, binding price for one event. */
export type Quote = ResponseOf<operations['createQuote']>;

/** What the snapshot's token states (its claims, read without verifying: only the service holds the key). */
export interface SnapshotToken {
  /** The customer's external id. */
  sub: string;
  /** Credit in force at the watermark. */
  bal: string;
  /** The period's spend at the watermark. */
  spd: string;
  cur: string;
  /** The watermark instant. */
  wm: string;
  etag: string;
  /** Issued at / expires at, Unix seconds. */
  iat: number;
  exp: number;
}

/** Where a server-backed estimator's snapshot came from and how fresh it is. */
export interface SnapshotInfo {
  customerId: string;
  etag: string;
  token: string;
  claims: SnapshotToken;
  /** The token's expiry. */
  expiresAt: string;
  /** Every event acknowledged before this was in the snapshot when it was downloaded. */
  watermark: string;
  /** When the service last confirmed the snapshot (a 200 or a 304). */
  confirmedAt: string;
  validUntil: string;
  creditBalance: string;
  budget: { amount: string; enforcement: 'alert' | 'block' } | null;
  period: PricingSnapshot['period'];
  priceBook: string;
}

export type { LimitBlock, OnBlock };

/**
 * An estimate: the kernel's RatedEvent, and, like POST /v1/events' ack, `blocked` when the event takes its customer
 * past a blocking limit under `onBlock: "accept"` (rated, billed, and the customer blocked from then on).
 */
export type EstimatedEvent = RatedEvent & { blocked?: LimitBlock[] };

export interface ServerEstimatorOptions {
  /** The kernel (see EstimatorOptions.wasm). */
  wasm: EstimatorOptions['wasm'];
  /** See EstimatorOptions.onBlock. Default "accept", as POST /v1/events. */
  onBlock?: OnBlock;
  /** Apply each estimate to the local snapshot, as the server will when the event arrives. Default false. */
  updateState?: boolean;
  /** Clock for confirmedAt (ms since the epoch). Default Date.now. */
  now?: () => number;
}

/** An event as the API takes it (properties optional) or as the kernel host types it. */
export type UsageEvent = WireEvent | KernelEvent;

export interface EstimatorOptions {
  /**
   * The kernel: a compiled WebAssembly.Module (workerd and other runtimes that forbid compiling wasm at run time
   * must pass a Module), the .wasm bytes, or a Kernel already instantiated.
   */
  wasm: WebAssembly.Module | ArrayBuffer | ArrayBufferView | Kernel;
  /** The customer's effective price book; zones pinned with withZoneTransitions rate alike on every runtime. */
  book: PriceBook | CompiledBook;
  /** Customer states by customer id, as the kernel takes them (period, counters, allowances, grants, ...). */
  states?: StateMap;
  /**
   * Each customer's spend so far this period (decimal string), for budgets: usage net of discounts, whether credits
   * or the invoice pay for it, as the service counts it (its Budget's `current_period.spend`). Default 0.
   */
  spend?: Record<string, string>;
  /** Apply each estimate to the local snapshot, as the server will when the event arrives. Default false. */
  updateState?: boolean;
  /**
   * What estimate() does with an event past a blocking limit, as POST /v1/events' `on_block` (the same rule, the
   * kernel host's limitsCrossed). "accept" (default): a customer who blocks on depletion is rated as overage for what
   * credits do not cover, and the estimate is flagged `blocked` (credits_exhausted; budget_exceeded past a blocking
   * budget). "refuse": the kernel rejects it (credits_exhausted), or it is rejected with budget_exceeded and the rest
   * rated without it. POST /v1/estimates rates the states as given, which is "refuse".
   */
  onBlock?: OnBlock;
}

export interface CheckOptions {
  /** The customer's budget for the period (decimal string in the book's currency), compared with spend + this event's `spend`. */
  budget?: string;
}

export interface CheckResult {
  allowed: boolean;
  /**
   * Why not: `credits_exhausted` (credits do not cover it and the customer blocks on depletion), `budget_exceeded`
   * (the service's codes for the same refusals), or the code of the error that keeps the event from being rated
   * (e.g. `no_rate_card`, `invalid_property`).
   */
  reason?: string;
  /** The rating error, when there is one (`code`, `message`, `field`). */
  error?: EventError;
  currency: string;
  /** What the event would be charged after discount, commitment and credits (9 decimals); absent when it cannot be rated. */
  amount?: string;
  /**
   * What the event adds to the period's spend: net of the negotiated discount, before commitment and credits. This
   * is what budgets count, and the `estimated_cost` to give the service's entitlement check.
   */
  spend?: string;
  /** Grant balance in force at the event's instant, after the event. */
  creditsRemaining?: string;
  /** `budget - spend so far - spend` (negative when over), when a budget was given and the event can be rated. */
  budgetRemaining?: string;
}

/** One customer's state, encoded once and reused by every check() until the state changes. */
interface EncodedCustomer {
  types: EventTypes;
  bytes: Uint8Array;
  period: { start: bigint; end: bigint } | undefined;
  grants: { effective: bigint; expires: bigint; balance: bigint }[];
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export class Estimator {
  private currentBook: CompiledBook;
  private readonly states: StateMap;
  private readonly spend = new Map<string, bigint>();
  private readonly budgets = new Map<string, bigint>();
  /** Open holds by customer, then hold id: what each still sets aside and until when (ms), as the service counts them. */
  private readonly holds = new Map<string, Map<string, { held: bigint; expiresAt: number }>>();
  private readonly encoded = new Map<string, EncodedCustomer>();
  private eventBytes: Uint8Array;
  private eventView: DataView;
  private readonly updateState: boolean;
  private readonly onBlock: OnBlock;
  /** Set when the estimator was loaded from the service (fromServer): what refresh() and quote() use. */
  /** The book as the snapshot sent it, to see whether a refresh brought another. */
  private sourceBook: unknown;
  private source:
    { client: TariffClient | undefined; customerId: string; info: SnapshotInfo; now: () => number } | undefined;

  private constructor(
    private readonly kernel: Kernel,
    book: CompiledBook,
    options: EstimatorOptions,
  ) {
    this.currentBook = book;
    this.states = { ...(options.states ?? {}) };
    this.updateState = options.updateState ?? false;
    this.onBlock = onBlockOf(options.onBlock, 'onBlock');
    this.eventBytes = new Uint8Array(L.EVENT_HEADER_SIZE + 8 * book.properties.length);
    this.eventView = new DataView(this.eventBytes.buffer);
    for (const [customer, value] of Object.entries(options.spend ?? {}))
      this.spend.set(customer, money(value, `spend.${customer}`));
    // A malformed state is refused now, naming its field, rather than at the first check().
    for (const customer of Object.keys(this.states)) this.encodedCustomer(customer);
  }

  /** The price book the estimator rates with. */
  get book(): CompiledBook {
    return this.currentBook;
  }

  /**
   * Downloads the customer's pricing snapshot (GET /v1/customers/{id}/pricing-snapshot: the book in force, the state
   * ingestion would give the kernel, spend and budget), loads the kernel and answers estimate() and check() locally,
   * with the bytes the service's kernel would produce. A blocking budget in the snapshot applies to check() unless
   * a budget is passed. refresh() fetches it again (a 304 when nothing changed); quote() asks the service to sign.
   */
  static async fromServer(
    client: TariffClient,
    customerId: string,
    options: ServerEstimatorOptions,
  ): Promise<Estimator> {
    if (!client || typeof (client as { getPricingSnapshot?: unknown }).getPricingSnapshot !== 'function')
      throw new TypeError('client must be a TariffClient');
    if (typeof customerId !== 'string' || customerId === '')
      throw new TypeError('customerId must be a non-empty string');
    const snapshot = await client.getPricingSnapshot({ path: { id: customerId } });
    const estimator = await Estimator.fromSnapshot(snapshot, options);
    estimator.source!.client = client;
    return estimator;
  }

  /**
   * The same from a snapshot already downloaded, e.g. relayed to a browser by the tenant's backend (publishable keys
   * may not read snapshots: they carry the customer's balances). Without a client, refresh() and quote() throw.
   */
  static async fromSnapshot(snapshot: PricingSnapshot, options: ServerEstimatorOptions): Promise<Estimator> {
    if (!snapshot || typeof snapshot !== 'object' || typeof snapshot.customer_id !== 'string')
      throw new TypeError('snapshot must be a pricing snapshot (GET /v1/customers/{id}/pricing-snapshot)');
    const customer = snapshot.customer_id;
    const estimator = await Estimator.create({
      wasm: options.wasm,
      book: snapshot.book as unknown as PriceBook,
      states: { [customer]: snapshot.state as unknown as CustomerState },
      spend: { [customer]: snapshot.spend },
      updateState: options.updateState,
      onBlock: options.onBlock,
    });
    const now = options.now ?? Date.now;
    estimator.source = { client: undefined, customerId: customer, info: infoOf(snapshot, now()), now };
    estimator.sourceBook = snapshot.book;
    estimator.applyBudget(customer, snapshot.budget);
    return estimator;
  }

  /** The snapshot's provenance (fromServer/fromSnapshot), undefined otherwise. */
  get snapshotInfo(): SnapshotInfo | undefined {
    return this.source?.info;
  }

  /**
   * Asks the service whether the snapshot changed (If-None-Match with its ETag). On a 304 the local state stays, with
   * everything estimated since (the service vouches nothing else moved); on a 200 book, state, spend and budget are
   * replaced. Returns whether anything changed.
   */
  async refresh(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const source = this.requireSource('refresh');
    let snapshot: PricingSnapshot;
    try {
      snapshot = await source.client.getPricingSnapshot({
        path: { id: source.customerId },
        headers: { 'if-none-match': source.info.etag },
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof TariffError && error.status === 304) {
        source.info = { ...source.info, confirmedAt: new Date(source.now()).toISOString() };
        return false;
      }
      throw error;
    }
    if (JSON.stringify(snapshot.book) !== JSON.stringify(this.sourceBook)) {
      const book = toCompiled(snapshot.book as unknown as PriceBook);
      this.currentBook = book;
      this.eventBytes = new Uint8Array(L.EVENT_HEADER_SIZE + 8 * book.properties.length);
      this.eventView = new DataView(this.eventBytes.buffer);
      this.encoded.clear();
    }
    this.sourceBook = snapshot.book;
    this.setState(source.customerId, snapshot.state as unknown as CustomerState, snapshot.spend);
    this.applyBudget(source.customerId, snapshot.budget);
    source.info = infoOf(snapshot, source.now());
    return true;
  }

  /**
   * A signed, binding price for `event` from the service (POST /v1/quotes; the SDK cannot sign, it holds no secret).
   * Send the event with `quote: result.quote` (see withQuote) before `expires_at`: it is rated with the quoted book
   * version. Needs a key that may send events.
   */
  async quote(event: UsageEvent, options: { expiresIn?: number; signal?: AbortSignal } = {}): Promise<Quote> {
    const source = this.requireSource('quote');
    return source.client.createQuote({
      body: { event: event as never, ...(options.expiresIn === undefined ? {} : { expires_in: options.expiresIn }) },
      signal: options.signal,
    });
  }

  private requireSource(what: string): {
    client: TariffClient;
    customerId: string;
    info: SnapshotInfo;
    now: () => number;
  } {
    if (!this.source?.client)
      throw new TypeError(`${what}() needs an estimator made by Estimator.fromServer(client, customerId, ...)`);
    return this.source as { client: TariffClient; customerId: string; info: SnapshotInfo; now: () => number };
  }

  /** Only a blocking budget refuses requests; an alerting one is left to the service. */
  private applyBudget(customer: string, budget: PricingSnapshot['budget']): void {
    if (budget && budget.enforcement === 'block') this.budgets.set(customer, money(budget.amount, 'budget.amount'));
    else this.budgets.delete(customer);
  }

  /** Loads the kernel and checks the book and the states; throws naming the first bad field. */
  static async create(options: EstimatorOptions): Promise<Estimator> {
    if (!options || typeof options !== 'object') throw new TypeError('options are required: { wasm, book, states? }');
    if (options.book === undefined) throw new TypeError('book is required');
    if (
      options.states !== undefined &&
      (typeof options.states !== 'object' || options.states === null || Array.isArray(options.states))
    ) {
      throw new TypeError('states must be an object of customer states by customer id');
    }
    let book: CompiledBook;
    try {
      book = toCompiled(options.book);
    } catch (error) {
      if (error instanceof RateInputError)
        throw new RateInputError('book', `invalid price book: ${error.message.slice('book: '.length)}`);
      throw error;
    }
    const kernel = options.wasm instanceof Kernel ? options.wasm : await Kernel.create(checkWasm(options.wasm));
    return new Estimator(kernel, book, options);
  }

  get currency(): string {
    return this.book.currency;
  }

  /**
   * Rates one event exactly as the server's kernel does (amount, cost, margin, receipt: the same bytes). With
   * `updateState` the snapshot moves on as the server's state will once the event is ingested.
   */
  estimate(event: UsageEvent, options: { updateState?: boolean; onBlock?: OnBlock } = {}): EstimatedEvent {
    return this.estimateMany([event], options)[0];
  }

  /**
   * Rates events in order, each seeing the state the previous ones left (the snapshot changes only with `updateState`),
   * and applies the blocking limits as POST /v1/events does for the same `onBlock` mode.
   */
  estimateMany(events: UsageEvent[], options: { updateState?: boolean; onBlock?: OnBlock } = {}): EstimatedEvent[] {
    if (!Array.isArray(events)) throw new TypeError('events must be an array');
    const onBlock = options.onBlock === undefined ? this.onBlock : onBlockOf(options.onBlock, 'options.onBlock');
    const subset: StateMap = {};
    for (const event of events) {
      const customer = event?.customer_id;
      if (typeof customer === 'string' && Object.hasOwn(this.states, customer))
        subset[customer] = stateForOnBlock(this.states[customer], onBlock);
    }
    // Events refused for a budget (onBlock "refuse") are taken out and the rest rated again, as the service does.
    const refused = new Map<number, LimitBlock>();
    for (;;) {
      const positions = events.map((_, i) => i).filter((i) => !refused.has(i));
      const kept = positions.map((i) => events[i]);
      // The API's event (properties optional) is the kernel's: absent properties read as none.
      const output = this.kernel.rate(this.book, subset, kept as KernelEvent[]);
      const results: EstimatedEvent[] = output.results;
      const spends = new Map<string, bigint>();
      let more = false;
      results.forEach((result, k) => {
        if (result.status !== 'rated') return;
        const customer = result.customer_id;
        const crossed = limitsCrossed(result, {
          spendBefore: spends.get(customer) ?? this.spend.get(customer) ?? 0n,
          ...(this.budgets.has(customer) ? { blockingBudget: this.budgets.get(customer)! } : {}),
          blocksOnDepletion: this.states[customer]?.on_depletion === 'block',
          onBlock,
        });
        if (crossed.refuse) {
          refused.set(positions[k], crossed.refuse);
          more = true;
          return;
        }
        spends.set(customer, crossed.spendAfter);
        if (crossed.blocks.length > 0) result.blocked = crossed.blocks;
      });
      if (more) continue;
      if (options.updateState ?? this.updateState) {
        for (const [customer, state] of Object.entries(output.states)) {
          // The depletion policy is the customer's, whatever the mode rated it as.
          const policy = this.states[customer]?.on_depletion;
          this.states[customer] = policy === undefined ? state : { ...state, on_depletion: policy };
          this.encoded.delete(customer);
        }
        for (const result of results) {
          if (result.status === 'rated')
            this.spend.set(result.customer_id, (this.spend.get(result.customer_id) ?? 0n) + netOf(result));
        }
      }
      if (refused.size === 0) return results;
      const all: EstimatedEvent[] = [];
      let next = 0;
      events.forEach((event, i) => {
        const block = refused.get(i);
        if (block === undefined) all.push(results[next++]);
        else
          all.push({
            transaction_id: event.transaction_id,
            customer_id: event.customer_id,
            status: 'error',
            error: { code: block.code, message: block.message, field: 'on_block' },
            currency: this.book.currency,
          });
      });
      return all;
    }
  }

  /**
   * Would the server take this event? Rated against the snapshot (nothing changes): rejected by the block policy
   * when credits run out, by the budget when the period's spend plus this event's exceeds it, or by any rating error.
   */
  check(event: UsageEvent, options: CheckOptions = {}): CheckResult {
    const customer = typeof event?.customer_id === 'string' ? event.customer_id : undefined;
    const budget =
      options.budget === undefined
        ? customer === undefined
          ? undefined
          : this.budgets.get(customer)
        : money(options.budget, 'budget');
    const currency = this.book.currency;
    const entry = customer === undefined ? undefined : this.encodedCustomer(customer);
    const outcome = encodeEvent(this.book, event as KernelEvent, entry?.types ?? new EventTypes(), entry?.period);
    if (!outcome.ok) return { allowed: false, reason: outcome.error.code, error: outcome.error, currency };

    writeEvent(this.eventView, 0, outcome.event, 0);
    const raw = this.kernel.rateEncoded(
      this.book,
      entry!.bytes,
      this.eventBytes,
      1,
      this.book.stepsPerEvent + entry!.grants.length,
    );
    const at = outcome.event.timestamp;
    let credits = 0n;
    for (const grant of entry!.grants)
      if (grant.effective <= at && at < grant.expires && grant.balance > 0n) credits += grant.balance;

    const status = raw.results.getInt32(L.RESULT_STATUS, true);
    if (status !== L.STATUS_RATED) {
      const error = kernelError(this.book, status, raw.results.getInt32(L.RESULT_DETAIL, true));
      return { allowed: false, reason: error.code, error, currency, creditsRemaining: formatMoney(credits) };
    }
    const amount = raw.results.getBigInt64(L.RESULT_AMOUNT, true);
    const net = raw.results.getBigInt64(L.RESULT_NET, true);
    const start = raw.results.getInt32(L.RESULT_STEPS_START, true);
    const count = raw.results.getInt32(L.RESULT_STEP_COUNT, true);
    for (let s = start; s < start + count; s++) {
      if (raw.steps.getUint8(s * L.STEP_SIZE + L.STEP_KIND) === L.STEP.credit)
        credits -= raw.steps.getBigInt64(s * L.STEP_SIZE + L.STEP_A, true);
    }
    // Open holds set aside credit and budget for requests under way (the service's check counts them the same way).
    const held = this.heldAt(customer!, Number(at));
    let remaining: bigint | undefined;
    if (budget !== undefined) remaining = budget - (this.spend.get(customer!) ?? 0n) - held - net;
    const over = remaining !== undefined && remaining < 0n;
    const blocks = this.states[customer!]?.on_depletion === 'block';
    // credits is what is left after this event's draws: the event fits when the rest still covers the holds.
    const short = blocks && held > 0n && credits - amount < held;
    const result: CheckResult = short
      ? { allowed: false, reason: 'credits_exhausted', currency }
      : over
        ? { allowed: false, reason: 'budget_exceeded', currency }
        : { allowed: true, currency };
    result.amount = formatMoney(amount);
    result.spend = formatMoney(net);
    result.creditsRemaining = formatMoney(credits);
    if (remaining !== undefined) result.budgetRemaining = formatMoney(remaining);
    return result;
  }

  /**
   * Counts an open hold of the customer (POST /v1/customers/{id}/holds answers it; withHold calls this) until
   * forgetHold or its expiry: check() then refuses what the hold sets aside, as the service does.
   */
  trackHold(customerId: string, hold: { id: string; held: string; expires_at: string; status?: string }): void {
    if (hold.status !== undefined && hold.status !== 'open') return this.forgetHold(customerId, hold.id);
    let holds = this.holds.get(customerId);
    if (!holds) this.holds.set(customerId, (holds = new Map()));
    holds.set(hold.id, { held: money(hold.held, 'held'), expiresAt: Date.parse(hold.expires_at) });
  }

  /** Stops counting a hold (captured, released). */
  forgetHold(customerId: string, holdId: string): void {
    this.holds.get(customerId)?.delete(holdId);
  }

  /** What the customer's tracked holds set aside at `atMs` (holds past their expiry no longer count). */
  heldAt(customerId: string, atMs: number): bigint {
    let held = 0n;
    for (const hold of this.holds.get(customerId)?.values() ?? []) if (hold.expiresAt > atMs) held += hold.held;
    return held;
  }

  /** The snapshot's state of one customer (undefined: none, the kernel starts it empty). */
  state(customerId: string): CustomerState | undefined {
    return this.states[customerId];
  }

  /** Everything the estimator holds now: states and period spend by customer. */
  snapshot(): { states: StateMap; spend: Record<string, string> } {
    return {
      states: { ...this.states },
      spend: Object.fromEntries([...this.spend].map(([customer, value]) => [customer, formatMoney(value)])),
    };
  }

  /** Replaces one customer's state (and, if given, its period spend), e.g. from a fresher server snapshot. */
  setState(customerId: string, state: CustomerState, spend?: string): void {
    if (typeof customerId !== 'string' || customerId === '')
      throw new TypeError('customerId must be a non-empty string');
    const previous = this.states[customerId];
    this.states[customerId] = state;
    this.encoded.delete(customerId);
    try {
      this.encodedCustomer(customerId);
    } catch (error) {
      if (previous === undefined) delete this.states[customerId];
      else this.states[customerId] = previous;
      this.encoded.delete(customerId);
      throw error;
    }
    if (spend !== undefined) this.spend.set(customerId, money(spend, `spend.${customerId}`));
  }

  private encodedCustomer(customer: string): EncodedCustomer {
    let entry = this.encoded.get(customer);
    if (entry) return entry;
    const types = new EventTypes();
    const present = Object.hasOwn(this.states, customer);
    const state = present ? this.states[customer] : undefined;
    if (present && (typeof state !== 'object' || state === null || Array.isArray(state)))
      throw new RateInputError(`states.${customer}`, 'must be an object');
    const layout = encodeStates(this.book, [customer], this.states, types);
    entry = {
      types,
      bytes: layout.bytes,
      // As Kernel.rate: a customer absent from the states, or without a period, has no period check.
      period: present
        ? { start: instant(state?.period?.start, I64_MIN), end: instant(state?.period?.end, I64_MAX) }
        : undefined,
      grants: layout.grants[0].map(({ grant }) => ({
        effective: instant(grant.effective_at, I64_MIN),
        expires: instant(grant.expires_at, I64_MAX),
        balance: money(grant.balance, 'balance'),
      })),
    };
    this.encoded.set(customer, entry);
    return entry;
  }
}

/** An event carrying a quote, as POST /v1/events takes it. */
export function withQuote<E extends UsageEvent>(event: E, quote: Pick<Quote, 'quote'> | string): E & { quote: string } {
  return { ...event, quote: typeof quote === 'string' ? quote : quote.quote };
}

function infoOf(snapshot: PricingSnapshot, now: number): SnapshotInfo {
  return {
    customerId: snapshot.customer_id,
    etag: snapshot.etag,
    token: snapshot.token,
    claims: readClaims(snapshot.token),
    expiresAt: snapshot.expires_at,
    watermark: snapshot.watermark,
    confirmedAt: new Date(now).toISOString(),
    validUntil: snapshot.valid_until,
    creditBalance: snapshot.credit_balance,
    budget: snapshot.budget,
    period: snapshot.period,
    priceBook: snapshot.price_book,
  };
}

/** A compact JWT's claims (base64url JSON), without the Node Buffer: the entry runs in browsers and workers. */
function readClaims(token: string): SnapshotToken {
  const part = token.split('.')[1] ?? '';
  const base64 = part
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as SnapshotToken;
}

const ERROR_FIELDS: Record<string, string> = {
  no_price_version: 'timestamp',
  no_rate_card: 'properties',
  outside_period: 'timestamp',
};
const ERROR_MESSAGES: Record<string, string> = {
  no_price_version: 'no price-book version is in force at the event timestamp',
  no_rate_card: 'the matching rate card does not exist in the version in force at the event timestamp',
  outside_period: "the event timestamp is outside the customer's current period",
  overflow: 'an amount or quantity does not fit the 64-bit range',
  credits_exhausted: 'credits do not cover this event and the customer blocks on depletion',
};

/** The kernel's error as Kernel.rate reports it (same code and field). */
function kernelError(book: CompiledBook, status: number, detail: number): EventError {
  const code = L.STATUS_NAMES[status];
  if (code === 'negative_quantity') {
    const dimension = book.names[detail];
    return { code, message: `dimension ${dimension} came out negative`, field: `dimensions.${dimension}` };
  }
  const field = ERROR_FIELDS[code];
  return field ? { code, message: ERROR_MESSAGES[code], field } : { code, message: ERROR_MESSAGES[code] };
}

/** Net of the negotiated discount, before commitment and credits: the subtotal less the receipt's discount step. */
function netOf(result: RatedEvent): bigint {
  const discount = result.receipt?.find((step) => step.step === 'discount');
  return money(result.subtotal!, 'subtotal') - (discount ? money(discount.amount, 'discount') : 0n);
}

function onBlockOf(value: unknown, path: string): OnBlock {
  if (value === undefined) return 'accept';
  if (value === 'accept' || value === 'refuse') return value;
  throw new TypeError(`${path} must be "accept" or "refuse"`);
}

function money(value: unknown, path: string): bigint {
  const parsed = parseScaled(value as string, 9, { allowNegative: true });
  if (!parsed.ok) throw new RateInputError(path, `must be a decimal amount with at most 9 decimals (${parsed.reason})`);
  return parsed.value;
}

/** States were validated by encodeStates, so an instant here is present and valid, or absent. */
function instant(value: string | undefined, fallback: bigint): bigint {
  return value === undefined ? fallback : (parseInstant(value) ?? fallback);
}

function checkWasm(wasm: unknown): WebAssembly.Module | BufferSource {
  // A Node Buffer or any typed array is a view on the bytes; Kernel.create takes it as is.
  if (wasm instanceof WebAssembly.Module || wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm))
    return wasm as WebAssembly.Module | BufferSource;
  throw new TypeError('wasm must be a WebAssembly.Module, the .wasm bytes (ArrayBuffer or Uint8Array) or a Kernel');
}
