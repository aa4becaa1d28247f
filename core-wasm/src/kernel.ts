// Loads the wasm kernel (Node, browsers, workerd alike) and rates JSON events through linear memory.
import type {
  ChainEvent,
  ChainRated,
  EventError,
  PriceBook,
  RatedEvent,
  ReceiptStep,
  StateMap,
  UsageEvent,
} from './book.ts';
import { type CardMeta, type CompiledBook, compileBook } from './compile.ts';
import { formatMoney, formatQuantity, formatScaled } from './decimal.ts';
import {
  type EncodedEvent,
  EventTypes,
  type Period,
  RateInputError,
  type StateLayout,
  decodeStates,
  encodeEvent,
  readEvent,
  encodeStates,
  periodOf,
} from './encode.ts';
import * as L from './layout.gen.ts';
import { MODEL_COMPILERS, assertModelsWired, kernelLayer } from './models/index.ts';

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  lastStepCount(): number;
  rate(
    book: number,
    states: number,
    events: number,
    count: number,
    results: number,
    steps: number,
    stepCapacity: number,
    stepsPerEvent: number,
  ): number;
  /** Rates CHAIN records (one event along a reseller chain each); returns how many were rated. */
  rateChain(chains: number, count: number, steps: number, stepCapacity: number): number;
  /** 1 when the kernel prices this MODEL code (its dispatch list answers). */
  modelImplemented(model: number): number;
}

export interface RateOutput {
  results: RatedEvent[];
  states: StateMap;
}

/** Raw kernel output for a batch of already-encoded events (the hot path, no JSON). */
export interface RawBatch {
  results: DataView;
  steps: DataView;
  count: number;
}

/** One event's figures from `Kernel.rateFigures`: its amount (after credits) and cost in nano-units, or its error. */
export type RatedFigures = { amount: bigint; cost: bigint | null; error?: undefined } | { error: EventError };

/** A batch `rate` and `rateFigures` have written into memory. */
interface EncodedBatch {
  book: CompiledBook;
  /** Errors of the events that could not be encoded, at their positions. */
  results: RatedEvent[];
  encoded: EncodedEvent[];
  /** The input position of each encoded event. */
  positions: number[];
  customers: string[];
  eventCustomers: number[];
  layout: StateLayout;
  stateBase: number;
  stride: number;
  eventsBase: number;
  resultsBase: number;
  stepsBase: number;
  stepsPerEvent: number;
}

/** The output of `Kernel.rateChain`: one ChainRated per chain event, and the states after them. */
export interface ChainOutput {
  results: ChainRated[];
  states: StateMap;
}

const STEP_CAPACITY = 1 << 16;

/** Levels of one reseller chain at most (the kernel's undo log is sized for this many levels, see context.ts). */
export const MAX_CHAIN_DEPTH = 12;

/** One book's share of a `rateChain` call: the customers it rates and where its data sits in memory. */
interface ChainBook {
  book: CompiledBook;
  customers: string[];
  slots: Map<string, number>;
  layout?: StateLayout;
  stateAt: number;
  stepsPerEvent: number;
}

/** A chain level the host encoded: the kernel rates it. */
interface ChainLevel {
  book: number;
  slot: number;
  event: UsageEvent;
  encoded: EncodedEvent;
  eventAt: number;
  resultAt: number;
}

export class Kernel {
  private loadedBook: CompiledBook | undefined;
  private bookBase = 0;
  private dataBase = 0;

  /** Refuses a kernel that lacks a price model the compiler knows (a half-wired model), naming it. */
  constructor(private readonly wasm: KernelExports) {
    assertModelsWired(MODEL_COMPILERS, [kernelLayer((code) => wasm.modelImplemented(code))]);
    this.bookBase = align(wasm.heapBase());
  }

  static async create(source: WebAssembly.Module | BufferSource): Promise<Kernel> {
    const instance =
      source instanceof WebAssembly.Module
        ? await WebAssembly.instantiate(source, {})
        : (await WebAssembly.instantiate(source, {})).instance;
    return new Kernel(instance.exports as unknown as KernelExports);
  }

  /** Rates JSON events against a book (JSON or compiled) and the customers' states. */
  rate(bookInput: PriceBook | CompiledBook, states: StateMap, events: UsageEvent[]): RateOutput {
    const batch = this.encodeBatch(toCompiled(bookInput), states, events);
    const { book, encoded, positions, eventCustomers, layout, results } = batch;
    const view = new DataView(this.wasm.memory.buffer);
    this.rateBatch(batch, (i, steps) => {
      results[positions[i]] = decodeResult(
        book,
        events[positions[i]],
        view,
        batch.resultsBase + i * L.RESULT_SIZE,
        steps,
        encoded[i],
        layout.grants[eventCustomers[i]],
      );
    });
    const stateView = new DataView(this.wasm.memory.buffer, batch.stateBase, layout.bytes.length);
    return { results, states: decodeStates(book, batch.customers, layout, stateView, states) };
  }

  /**
   * Rates like `rate` and answers only each event's figures in nano-units (no receipt, no states): for callers that
   * total many events (simulations), which `rate` would make format and parse every amount and step.
   */
  rateFigures(bookInput: PriceBook | CompiledBook, states: StateMap, events: UsageEvent[]): RatedFigures[] {
    const batch = this.encodeBatch(toCompiled(bookInput), states, events);
    const figures: RatedFigures[] = batch.results.map((result) => ({ error: result.error! }));
    const view = new DataView(this.wasm.memory.buffer);
    this.rateBatch(batch, (i) => {
      const at = batch.resultsBase + i * L.RESULT_SIZE;
      const status = view.getInt32(at + L.RESULT_STATUS, true);
      if (status !== L.STATUS_RATED) {
        const position = batch.positions[i];
        figures[position] = { error: errorOf(batch.book, view, at) };
        return;
      }
      const cost = view.getBigInt64(at + L.RESULT_COST, true);
      figures[batch.positions[i]] = {
        amount: view.getBigInt64(at + L.RESULT_AMOUNT, true),
        cost: cost === L.NO_COST ? null : cost,
      };
    });
    return figures;
  }

  /** Encodes a batch into memory after the book: its states, events, result and step space. */
  private encodeBatch(book: CompiledBook, states: StateMap, events: UsageEvent[]): EncodedBatch {
    const types = new EventTypes();
    const results: RatedEvent[] = new Array(events.length);
    const encoded: EncodedEvent[] = [];
    const positions: number[] = [];
    const customers: string[] = [];
    const customerSlots = new Map<string, number>();
    const eventCustomers: number[] = [];
    const slotOf = (customerId: string) => {
      let slot = customerSlots.get(customerId);
      if (slot === undefined) {
        slot = customers.push(customerId) - 1;
        customerSlots.set(customerId, slot);
      }
      return slot;
    };
    const periods = new Map<string, Period>();
    const periodFor = (customerId: unknown) => {
      if (typeof customerId !== 'string' || !Object.hasOwn(states, customerId)) return undefined;
      let period = periods.get(customerId);
      if (!period) periods.set(customerId, (period = periodOf(states[customerId], `states.${customerId}`)));
      return period;
    };
    events.forEach((event, i) => {
      const outcome = encodeEvent(book, event, types, periodFor(event?.customer_id));
      if (!outcome.ok) {
        if (outcome.named) slotOf(event.customer_id);
        results[i] = errorResult(book, event, outcome.error);
        return;
      }
      const slot = slotOf(event.customer_id);
      encoded.push(outcome.event);
      eventCustomers.push(slot);
      positions.push(i);
    });
    const layout = encodeStates(book, customers, states, types);
    const stateBase = this.loadBook(book);
    const stride = L.EVENT_HEADER_SIZE + 8 * book.properties.length;
    const eventsBase = align(stateBase + layout.bytes.length);
    const resultsBase = align(eventsBase + encoded.length * stride);
    const stepsBase = align(resultsBase + encoded.length * L.RESULT_SIZE);
    this.ensureMemory(stepsBase + STEP_CAPACITY * L.STEP_SIZE);
    const memory = new Uint8Array(this.wasm.memory.buffer);
    memory.set(layout.bytes, stateBase);
    const view = new DataView(this.wasm.memory.buffer);
    encoded.forEach((event, i) => writeEvent(view, eventsBase + i * stride, event, eventCustomers[i]));
    const maxGrants = Math.max(0, ...layout.grants.map((g) => g.length));
    return {
      book,
      results,
      encoded,
      positions,
      customers,
      eventCustomers,
      layout,
      stateBase,
      stride,
      eventsBase,
      resultsBase,
      stepsBase,
      stepsPerEvent: book.stepsPerEvent + maxGrants,
    };
  }

  /** Runs the kernel over an encoded batch, as many calls as the step space needs; `rated(i, steps)` after each. */
  private rateBatch(batch: EncodedBatch, rated: (i: number, steps: DataView) => void): void {
    let done = 0;
    while (done < batch.encoded.length) {
      const count = this.wasm.rate(
        this.bookBase,
        batch.stateBase,
        batch.eventsBase + done * batch.stride,
        batch.encoded.length - done,
        batch.resultsBase + done * L.RESULT_SIZE,
        batch.stepsBase,
        STEP_CAPACITY,
        batch.stepsPerEvent,
      );
      const steps = new DataView(this.wasm.memory.buffer, batch.stepsBase, this.wasm.lastStepCount() * L.STEP_SIZE);
      for (let i = done; i < done + count; i++) rated(i, steps);
      done += count;
      if (count === 0) throw new Error('receipt buffer too small for one event');
    }
  }

  /**
   * Rates each event along its reseller chain in one kernel pass (README, "Reseller chains"): level k is
   * `chain[k].customer_id` rated by `books[chain[k].book]`, exactly as `rate` would rate that level alone; if any
   * level refuses the event, no level's state changes and the result names the refusing level. A customer is rated
   * by one book within a call. Malformed chains, books or states throw RateInputError naming the field.
   */
  rateChain(bookInputs: (PriceBook | CompiledBook)[], states: StateMap, events: ChainEvent[]): ChainOutput {
    if (!Array.isArray(bookInputs) || bookInputs.length === 0)
      throw new RateInputError('books', 'must be a non-empty array of price books');
    const books = bookInputs.map((input, b) => {
      try {
        return toCompiled(input);
      } catch (error) {
        if (error instanceof RateInputError) throw new RateInputError(`books[${b}]`, error.message);
        throw error;
      }
    });
    checkChains(books.length, events);
    const runs: ChainBook[] = books.map((book) => ({
      book,
      customers: [],
      slots: new Map(),
      stateAt: 0,
      stepsPerEvent: 0,
    }));
    const slotOf = (run: ChainBook, customerId: string) => {
      let slot = run.slots.get(customerId);
      if (slot === undefined) {
        slot = run.customers.push(customerId) - 1;
        run.slots.set(customerId, slot);
      }
      return slot;
    };
    const periods = new Map<string, Period>();
    const periodFor = (customerId: string) => {
      if (!Object.hasOwn(states, customerId)) return undefined;
      let period = periods.get(customerId);
      if (!period) periods.set(customerId, (period = periodOf(states[customerId], `states.${customerId}`)));
      return period;
    };
    const types = new EventTypes();
    const named: string[] = [];
    const namedSet = new Set<string>();
    const chains = events.map(({ event, chain }) => {
      const levels: ChainLevel[] = [];
      let refusal: { level: number; error: EventError } | undefined;
      // Step 0 does not depend on the customer (checkChains: level 0's is the event's): read once for every
      // level; failing it names no customer, passing it names all.
      const read = readEvent(event);
      if (!read.ok) return { levels, refusal: { level: 0, error: read.error }, chain };
      for (let k = 0; k < chain.length; k++) {
        const run = runs[chain[k].book];
        const levelEvent = levelEventOf(event, chain[k].customer_id);
        const outcome = encodeEvent(run.book, levelEvent, types, periodFor(chain[k].customer_id), read.read);
        if (!outcome.ok) {
          refusal = { level: k, error: outcome.error };
          break;
        }
        levels.push({
          book: chain[k].book,
          slot: 0,
          event: levelEvent,
          encoded: outcome.event,
          eventAt: 0,
          resultAt: 0,
        });
      }
      chain.forEach((link, k) => {
        const slot = slotOf(runs[link.book], link.customer_id);
        if (k < levels.length) levels[k].slot = slot;
        if (!namedSet.has(link.customer_id)) {
          namedSet.add(link.customer_id);
          named.push(link.customer_id);
        }
      });
      return { levels, refusal, chain };
    });

    // Memory: every book, then each book's state table, then events, results, LEVEL and CHAIN records, steps.
    this.loadedBook = undefined;
    let at = this.bookBase;
    const bookAt = runs.map((run) => {
      const base = at;
      at = align(at + run.book.bytes.length);
      return base;
    });
    for (const run of runs) {
      if (run.customers.length === 0) continue;
      run.layout = encodeStates(run.book, run.customers, states, types);
      run.stateAt = at;
      at = align(at + run.layout.bytes.length);
      run.stepsPerEvent = run.book.stepsPerEvent + run.layout.grants.reduce((most, g) => Math.max(most, g.length), 0);
    }
    let levelCount = 0;
    for (const { levels } of chains) {
      for (const level of levels) {
        level.eventAt = at;
        at += L.EVENT_HEADER_SIZE + 8 * runs[level.book].book.properties.length;
        levelCount++;
      }
    }
    at = align(at);
    for (const { levels } of chains) {
      for (const level of levels) {
        level.resultAt = at;
        at += L.RESULT_SIZE;
      }
    }
    const levelsBase = align(at);
    const chainsBase = align(levelsBase + levelCount * L.LEVEL_SIZE);
    const stepsBase = align(chainsBase + chains.length * L.CHAIN_SIZE);
    const chainSteps = chains.map(({ levels }) =>
      levels.reduce((sum, level) => sum + runs[level.book].stepsPerEvent, 0),
    );
    const stepCapacity = chainSteps.reduce((most, steps) => Math.max(most, steps), STEP_CAPACITY);
    this.ensureMemory(stepsBase + stepCapacity * L.STEP_SIZE);

    const memory = new Uint8Array(this.wasm.memory.buffer);
    const view = new DataView(this.wasm.memory.buffer);
    runs.forEach((run, b) => {
      memory.set(run.book.bytes, bookAt[b]);
      if (run.layout) memory.set(run.layout.bytes, run.stateAt);
    });
    let levelAt = levelsBase;
    chains.forEach(({ levels, refusal }, i) => {
      const chainAt = chainsBase + i * L.CHAIN_SIZE;
      L.writeChain(view, chainAt, {
        levelCount: levels.length,
        levels: levelAt,
        steps: chainSteps[i],
        hostRefused: refusal ? 1 : 0,
        refused: -1,
      });
      for (const level of levels) {
        writeEvent(view, level.eventAt, level.encoded, level.slot);
        L.writeLevel(view, levelAt, {
          book: bookAt[level.book],
          states: runs[level.book].stateAt,
          event: level.eventAt,
          result: level.resultAt,
        });
        levelAt += L.LEVEL_SIZE;
      }
    });

    const results: ChainRated[] = new Array(chains.length);
    let done = 0;
    while (done < chains.length) {
      const rated = this.wasm.rateChain(
        chainsBase + done * L.CHAIN_SIZE,
        chains.length - done,
        stepsBase,
        stepCapacity,
      );
      const stepView = new DataView(this.wasm.memory.buffer, stepsBase, this.wasm.lastStepCount() * L.STEP_SIZE);
      for (let i = done; i < done + rated; i++) {
        const { levels, refusal, chain } = chains[i];
        const refused = view.getInt32(chainsBase + i * L.CHAIN_SIZE + L.CHAIN_REFUSED, true);
        const decodeLevel = (level: ChainLevel) => {
          const run = runs[level.book];
          return decodeResult(
            run.book,
            level.event,
            view,
            level.resultAt,
            stepView,
            level.encoded,
            run.layout!.grants[level.slot],
          );
        };
        if (refused < 0) {
          results[i] = { levels: levels.map(decodeLevel) };
          continue;
        }
        const event = events[i].event;
        results[i] = {
          levels: chain.map((link, k) => {
            const book = runs[link.book].book;
            const levelEvent = k < levels.length ? levels[k].event : levelEventOf(event, link.customer_id);
            if (k !== refused) {
              return errorResult(book, levelEvent, {
                code: 'chain_refused',
                message: `level ${refused} of the chain (customer ${chain[refused].customer_id}) refused the event`,
              });
            }
            return k < levels.length ? decodeLevel(levels[k]) : errorResult(book, levelEvent, refusal!.error);
          }),
          refused_level: refused,
        };
      }
      done += rated;
      if (rated === 0) throw new Error('receipt buffer too small for one chain');
    }

    // New customers follow the input's, in order of first appearance (event by event, level by level).
    const output: StateMap = { ...states };
    for (const customerId of named) if (!Object.hasOwn(output, customerId)) output[customerId] = {};
    // Into the one output: a customer is in one run, so each run reads its customers' states as they came in.
    for (const run of runs) {
      if (!run.layout) continue;
      const stateView = new DataView(this.wasm.memory.buffer, run.stateAt, run.layout.bytes.length);
      decodeStates(run.book, run.customers, run.layout, stateView, output, output);
    }
    return { results, states: output };
  }

  /**
   * Rates pre-encoded events (see encodeEvent/encodeStates) already written at `eventsBase` for the benchmark
   * and the service's hot path; returns how many were rated and where the raw results are.
   */
  rateEncoded(
    book: CompiledBook,
    stateBytes: Uint8Array,
    eventBytes: Uint8Array,
    count: number,
    stepsPerEvent: number,
  ): RawBatch {
    const stateBase = this.loadBook(book);
    const eventsBase = align(stateBase + stateBytes.length);
    const resultsBase = align(eventsBase + eventBytes.length);
    const stepsBase = align(resultsBase + count * L.RESULT_SIZE);
    const stepCapacity = Math.max(STEP_CAPACITY, count * stepsPerEvent);
    this.ensureMemory(stepsBase + stepCapacity * L.STEP_SIZE);
    const memory = new Uint8Array(this.wasm.memory.buffer);
    memory.set(stateBytes, stateBase);
    memory.set(eventBytes, eventsBase);
    const rated = this.wasm.rate(
      this.bookBase,
      stateBase,
      eventsBase,
      count,
      resultsBase,
      stepsBase,
      stepCapacity,
      stepsPerEvent,
    );
    return {
      count: rated,
      results: new DataView(this.wasm.memory.buffer, resultsBase, count * L.RESULT_SIZE),
      steps: new DataView(this.wasm.memory.buffer, stepsBase, this.wasm.lastStepCount() * L.STEP_SIZE),
    };
  }

  /** Copies the compiled book into memory once per book; returns where per-call data may start. */
  private loadBook(book: CompiledBook): number {
    if (this.loadedBook !== book) {
      this.ensureMemory(this.bookBase + book.bytes.length);
      new Uint8Array(this.wasm.memory.buffer).set(book.bytes, this.bookBase);
      this.loadedBook = book;
      this.dataBase = align(this.bookBase + book.bytes.length);
    }
    return this.dataBase;
  }

  private ensureMemory(bytes: number): void {
    const memory = this.wasm.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  }
}

/** Level k's event: the chain event's own for level 0, else the same event under the ancestor's customer id. */
function levelEventOf(event: UsageEvent, customerId: string): UsageEvent {
  return event.customer_id === customerId ? event : { ...event, customer_id: customerId };
}

const isRecord = (value: unknown): value is Record<string, any> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The chains' shape: 1..MAX_CHAIN_DEPTH levels, known books, no customer twice in a chain or under two books. */
export function checkChains(bookCount: number, events: ChainEvent[]): void {
  if (!Array.isArray(events)) throw new RateInputError('events', 'must be an array of { event, chain }');
  const bookOf = new Map<string, number>();
  events.forEach((item, i) => {
    const path = `events[${i}]`;
    if (!isRecord(item)) throw new RateInputError(path, 'must be an object { event, chain }');
    const chain: unknown = item.chain;
    if (!Array.isArray(chain) || chain.length === 0 || chain.length > MAX_CHAIN_DEPTH)
      throw new RateInputError(`${path}.chain`, `must list 1 to ${MAX_CHAIN_DEPTH} levels`);
    const seen = new Set<string>();
    chain.forEach((link: unknown, k) => {
      const at = `${path}.chain[${k}]`;
      if (!isRecord(link)) throw new RateInputError(at, 'must be an object { customer_id, book }');
      const { customer_id: customerId, book } = link;
      if (typeof customerId !== 'string' || customerId === '')
        throw new RateInputError(`${at}.customer_id`, 'must be a non-empty string');
      if (!Number.isInteger(book) || book < 0 || book >= bookCount)
        throw new RateInputError(`${at}.book`, `must be the index of one of the ${bookCount} books`);
      if (seen.has(customerId))
        throw new RateInputError(`${at}.customer_id`, `customer "${customerId}" appears twice in one chain`);
      seen.add(customerId);
      const other = bookOf.get(customerId);
      if (other !== undefined && other !== book)
        throw new RateInputError(
          `${at}.book`,
          `customer "${customerId}" is rated by book ${other} elsewhere in this call: a customer has one book`,
        );
      bookOf.set(customerId, book);
    });
    const eventCustomer: unknown = isRecord(item.event) ? item.event.customer_id : undefined;
    if (eventCustomer !== chain[0].customer_id)
      throw new RateInputError(`${path}.chain[0].customer_id`, "must equal the event's customer_id");
  });
}

function align(offset: number): number {
  return (offset + 15) & ~15;
}

const compiledCache = new WeakMap<object, CompiledBook>();

/** Compiles (once per object) or passes through an already compiled book; throws listing every problem. */
export function toCompiled(book: PriceBook | CompiledBook): CompiledBook {
  if ((book as CompiledBook).kind === 'tariff.compiled-book') return book as CompiledBook;
  const cached = compiledCache.get(book);
  if (cached) return cached;
  const result = compileBook(book);
  if (!result.ok)
    throw new RateInputError('book', result.errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; '));
  compiledCache.set(book, result.book);
  return result.book;
}

export function writeEvent(view: DataView, at: number, event: EncodedEvent, customer: number): void {
  L.writeEvent(view, at, {
    timestamp: event.timestamp,
    customer,
    product: event.product,
    costProduct: event.costProduct,
    serviceTier: event.serviceTier,
    outcome: event.outcome,
    type: event.eventType,
  });
  event.properties.forEach((value, i) => view.setBigInt64(at + L.EVENT_PROPERTIES + i * 8, value, true));
}

function errorResult(book: CompiledBook, event: UsageEvent, error: EventError): RatedEvent {
  return {
    transaction_id: typeof event?.transaction_id === 'string' ? event.transaction_id : '',
    customer_id: typeof event?.customer_id === 'string' ? event.customer_id : '',
    status: 'error',
    error,
    currency: book.currency,
  };
}

const ERROR_MESSAGES: Record<string, string> = {
  no_price_version: 'no price-book version is in force at the event timestamp',
  no_rate_card: 'the matching rate card does not exist in the version in force at the event timestamp',
  outside_period: "the event timestamp is outside the customer's current period",
  negative_quantity: 'a derived dimension came out negative',
  overflow: 'an amount or quantity does not fit the 64-bit range',
  credits_exhausted: 'credits do not cover this event and the customer blocks on depletion',
};

const ERROR_FIELDS: Record<string, string> = {
  no_price_version: 'timestamp',
  no_rate_card: 'properties',
  outside_period: 'timestamp',
};

/** The error of a result the kernel did not rate. */
function errorOf(book: CompiledBook, view: DataView, at: number): EventError {
  const code = L.STATUS_NAMES[view.getInt32(at + L.RESULT_STATUS, true)];
  const dimension = code === 'negative_quantity' ? book.names[view.getInt32(at + L.RESULT_DETAIL, true)] : undefined;
  const field = dimension !== undefined ? `dimensions.${dimension}` : ERROR_FIELDS[code];
  const message = dimension !== undefined ? `dimension ${dimension} came out negative` : ERROR_MESSAGES[code];
  return field ? { code, message, field } : { code, message };
}

function decodeResult(
  book: CompiledBook,
  event: UsageEvent,
  view: DataView,
  at: number,
  steps: DataView,
  encoded: EncodedEvent,
  grants: { grant: { id: string; kind: 'promotional' | 'prepaid' } }[],
): RatedEvent {
  if (view.getInt32(at + L.RESULT_STATUS, true) !== L.STATUS_RATED)
    return errorResult(book, event, errorOf(book, view, at));
  const version = view.getInt32(at + L.RESULT_VERSION, true);
  const card = book.price.cards[encoded.product][version]!;
  const net = view.getBigInt64(at + L.RESULT_NET, true);
  const cost = view.getBigInt64(at + L.RESULT_COST, true);
  const result: RatedEvent = {
    transaction_id: event.transaction_id,
    customer_id: event.customer_id,
    status: 'rated',
    currency: book.currency,
    amount: formatMoney(view.getBigInt64(at + L.RESULT_AMOUNT, true)),
    subtotal: formatMoney(view.getBigInt64(at + L.RESULT_SUBTOTAL, true)),
  };
  if (cost !== L.NO_COST) {
    result.cost = formatMoney(cost);
    result.margin = formatMoney(net - cost);
  }
  result.book_version = book.price.versions[version].iso;
  result.card = card.id;
  result.receipt = decodeSteps(
    book,
    card,
    steps,
    view.getInt32(at + L.RESULT_STEPS_START, true),
    view.getInt32(at + L.RESULT_STEP_COUNT, true),
    grants,
  );
  return result;
}

export function decodeSteps(
  book: CompiledBook,
  card: CardMeta,
  steps: DataView,
  start: number,
  count: number,
  grants: { grant: { id: string; kind: 'promotional' | 'prepaid' } }[],
): ReceiptStep[] {
  const receipt: ReceiptStep[] = [];
  let charges = card.chargeLists[0];
  for (let s = start; s < start + count; s++) {
    const at = s * L.STEP_SIZE;
    const kind = steps.getUint8(at + L.STEP_KIND);
    const charge = steps.getUint16(at + L.STEP_CHARGE, true);
    const ref = steps.getInt32(at + L.STEP_REF, true);
    const a = steps.getBigInt64(at + L.STEP_A, true);
    const b = steps.getBigInt64(at + L.STEP_B, true);
    const c = steps.getBigInt64(at + L.STEP_C, true);
    switch (kind) {
      case L.STEP.outcome:
        receipt.push({ step: 'outcome', outcome: L.OUTCOMES[ref], note: 'no_charge' });
        break;
      case L.STEP.variant:
        charges = card.chargeLists[ref + 1];
        receipt.push({ step: 'variant', variant: ref });
        break;
      case L.STEP.quantity:
        receipt.push({ step: 'quantity', charge, dimension: book.names[ref], quantity: formatQuantity(a) });
        break;
      case L.STEP.minimum:
        receipt.push({ step: 'minimum', charge, minimum: formatQuantity(a) });
        break;
      case L.STEP.modifier:
        receipt.push({ step: 'modifier', charge, source: card.modifierSources[ref], multiplier: formatMoney(a) });
        break;
      case L.STEP.allowance:
        receipt.push({
          step: 'allowance',
          charge,
          pool: book.pools[ref],
          covered: formatQuantity(a),
          remaining: formatQuantity(b),
        });
        break;
      case L.STEP.tier:
        receipt.push({ step: 'tier', charge, tier: ref, quantity: formatQuantity(a), rate: formatMoney(b) });
        break;
      case L.STEP.price: {
        const meta = charges[charge];
        receipt.push({
          step: 'price',
          charge,
          model: L.MODEL_NAMES[ref],
          quantity: formatQuantity(a),
          rate: formatMoney(b),
          per: formatQuantity(meta.per),
          amount: formatMoney(c),
        });
        break;
      }
      case L.STEP.discount:
        receipt.push({ step: 'discount', percent: formatScaled(a, 7), amount: formatMoney(b) });
        break;
      case L.STEP.commitment:
        receipt.push(
          ref === L.COMMITMENT_PREPAID
            ? { step: 'commitment', mode: 'prepaid', amount: formatMoney(a), remaining: formatMoney(b) }
            : { step: 'commitment', mode: 'postpaid', amount: formatMoney(a), consumed: formatMoney(b) },
        );
        break;
      case L.STEP.credit: {
        const { grant } = grants[ref];
        receipt.push({
          step: 'credit',
          grant: grant.id,
          kind: grant.kind,
          amount: formatMoney(a),
          balance: formatMoney(b),
        });
        break;
      }
    }
  }
  return receipt;
}
