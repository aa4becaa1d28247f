// Loads the wasm kernel (Node, browsers, workerd alike) and rates JSON events through linear memory.
import type { EventError, PriceBook, RatedEvent, ReceiptStep, StateMap, UsageEvent } from './book.ts';
import { type CardMeta, type CompiledBook, compileBook } from './compile.ts';
import { formatMoney, formatQuantity, formatScaled } from './decimal.ts';
import {
  type EncodedEvent,
  EventTypes,
  type Period,
  RateInputError,
  decodeStates,
  encodeEvent,
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

const STEP_CAPACITY = 1 << 16;

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
    const book = toCompiled(bookInput);
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
    const stepsPerEvent = book.stepsPerEvent + maxGrants;
    let done = 0;
    while (done < encoded.length) {
      const rated = this.wasm.rate(
        this.bookBase,
        stateBase,
        eventsBase + done * stride,
        encoded.length - done,
        resultsBase + done * L.RESULT_SIZE,
        stepsBase,
        STEP_CAPACITY,
        stepsPerEvent,
      );
      const stepView = new DataView(this.wasm.memory.buffer, stepsBase, this.wasm.lastStepCount() * L.STEP_SIZE);
      for (let i = done; i < done + rated; i++) {
        const event = events[positions[i]];
        results[positions[i]] = decodeResult(
          book,
          event,
          view,
          resultsBase + i * L.RESULT_SIZE,
          stepView,
          encoded[i],
          layout.grants[eventCustomers[i]],
        );
      }
      done += rated;
      if (rated === 0) throw new Error('receipt buffer too small for one event');
    }
    const stateView = new DataView(this.wasm.memory.buffer, stateBase, layout.bytes.length);
    return { results, states: decodeStates(book, customers, layout, stateView, states) };
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

function decodeResult(
  book: CompiledBook,
  event: UsageEvent,
  view: DataView,
  at: number,
  steps: DataView,
  encoded: EncodedEvent,
  grants: { grant: { id: string; kind: 'promotional' | 'prepaid' } }[],
): RatedEvent {
  const status = view.getInt32(at + L.RESULT_STATUS, true);
  if (status !== L.STATUS_RATED) {
    const code = L.STATUS_NAMES[status];
    const dimension = code === 'negative_quantity' ? book.names[view.getInt32(at + L.RESULT_DETAIL, true)] : undefined;
    const field = dimension !== undefined ? `dimensions.${dimension}` : ERROR_FIELDS[code];
    const message = dimension !== undefined ? `dimension ${dimension} came out negative` : ERROR_MESSAGES[code];
    return errorResult(book, event, field ? { code, message, field } : { code, message });
  }
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
