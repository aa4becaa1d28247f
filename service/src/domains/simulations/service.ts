// Price-book simulation (Orb's "Simulations"): replays past billing periods under a draft version, on the same
// kernel and from the same starting state as a re-rating does (events/billing.ts kernelState, acknowledgement
// order, no credits), and reports revenue and margin per customer and in total, old beside new, exact to the
// nano-unit. Nothing is published or written; the draft's receipt of any event can be opened.
//
// Why not reratings' replayPeriod itself: it also rebuilds every receipt with its credits and compares it with the
// stored one (what applying needs), which a simulation over every customer would pay for on every event. The
// pieces it is made of are shared: kernelState, compiledBook, rateEvents, the period's events in order.
import {
  compileBook,
  type CompiledBook,
  type CustomerState,
  type RatedEvent,
  type RatedFigures,
  type UsageEvent,
} from '@tariff/core-wasm';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { requireCustomer } from '../customers/service.ts';
import { kernelState, type CustomerBilling } from '../events/billing.ts';
import * as eventsRepo from '../events/repo.ts';
import { compiledBook, rateEventFigures, rateEvents } from '../events/rating.ts';
import * as pricingRepo from '../pricing/repo.ts';
import { loadPriceBook } from '../pricing/service.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import * as repo from './repo.ts';
import type { SimulateInput, SimulatedReceiptInput } from './schema.ts';

/** How a simulation batches its work: periods rated per kernel call, rows per read of the events. */
export interface SimulationBatches {
  periodsPerCall: number;
  rowsPerRead: number;
}

// Small enough that the events held between the read and the kernel (a call's, a read's) stay few: held longer,
// they outlive the young generation and cost the collector more than the calls and reads they save.
const defaultBatches: SimulationBatches = { periodsPerCall: 100, rowsPerRead: 5_000 };

interface Draft {
  priceBookId: string;
  code: string;
  currency: string;
  book: CompiledBook;
}

/** The stored book with the draft as its only price version (from the epoch: it prices every replayed period). */
async function compileDraft(scope: TenantScope, code: string, draft: Record<string, unknown>): Promise<Draft> {
  const row = await pricingRepo.findPriceBookByCode(scope, code);
  if (!row) throw notFound('price_book_not_found', `No price book "${code}"`);
  const stored = (await loadPriceBook(scope, row.id))!;
  const result = compileBook({ ...stored, versions: [{ ...draft, effective_from: '1970-01-01T00:00:00Z' }] });
  if (!result.ok) {
    // The compiler's paths are into the book: versions.0.x is the draft's x.
    const details = result.errors.map((e) => ({
      field: `draft${e.path.replace(/\[(\d+)\]/g, '.$1').replace(/^versions\.0/, '')}`,
      reason: e.message,
    }));
    throw invalid(
      'price_book_invalid',
      `The draft does not compile: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`,
      details,
    );
  }
  return { priceBookId: row.id, code: row.code, currency: row.currency, book: result.book };
}

interface Totals {
  events: number;
  oldRevenue: bigint;
  newRevenue: bigint;
  oldCost: bigint;
  newCost: bigint;
}

const emptyTotals = (): Totals => ({ events: 0, oldRevenue: 0n, newRevenue: 0n, oldCost: 0n, newCost: 0n });

interface Unratable {
  transaction_id: string;
  customer_id: string;
  code: string;
  message: string;
}

/** Billing without grants (the kernel rates what is owed before credits) and the subscription's terms. */
async function billingOf(scope: TenantScope, externalIds: string[]): Promise<Map<string, CustomerBilling>> {
  const [contexts, amendments] = await Promise.all([
    eventsRepo.findBillingContexts(scope, externalIds),
    subscriptionsRepo.findAmendmentsByExternalIds(scope, externalIds),
  ]);
  const billing = new Map<string, CustomerBilling>();
  for (const [externalId, context] of contexts) {
    billing.set(externalId, {
      wallet: { customerId: context.customerId, onDepletion: 'overage', lowBalanceThreshold: null, grants: [] },
      balances: new Map(),
      subscription: context.subscription,
      amendments: amendments.get(context.customerId),
      hasBudget: false,
    });
  }
  return billing;
}

/**
 * Replays one period's events: the draft's book for the events the simulated book rated, the stored books for
 * the others (so tiers and allowances shared across books count as they did). Calls `onEvent` with each
 * event of the simulated book, old beside new.
 */
async function replayPeriod(
  scope: TenantScope,
  draft: Draft,
  period: repo.SimulatedPeriod,
  events: repo.PastEvent[],
  billing: CustomerBilling | undefined,
  onEvent: (old: repo.PastEvent, rated: RatedEvent) => void,
  unratable: Unratable[],
): Promise<void> {
  const customer = period.externalId;
  let state: CustomerState = kernelState(billing, {}, period, draft.currency);
  for (let i = 0; i < events.length;) {
    let j = i + 1;
    while (j < events.length && events[j].priceBookId === events[i].priceBookId) j++;
    const run = events.slice(i, j);
    const book = run[0].priceBookId === draft.priceBookId ? draft.book : await storedBook(scope, run[0].priceBookId);
    const input = run.map((e) => e.event);
    const output = await rateEvents(book, { [customer]: state }, input);
    state = (output.states[customer] as CustomerState) ?? state;
    if (book === draft.book) {
      output.results.forEach((result, k) => {
        if (result.status === 'rated') onEvent(run[k], result);
        else
          unratable.push({
            transaction_id: run[k].event.transaction_id,
            customer_id: customer,
            code: result.error?.code ?? 'rating_failed',
            message: result.error?.message ?? 'The draft cannot rate this event',
          });
      });
    }
    i = j;
  }
}

/** What a simulation totals of an event the draft rated: its amount and cost in nano-units. */
type Figures = Extract<RatedFigures, { amount: bigint }>;

const figuresOf = (rated: RatedEvent): Figures => ({
  amount: toNano(rated.amount!),
  cost: rated.cost ? toNano(rated.cost) : null,
});

/** Adds an event's old figures and the draft's to totals. */
function add(totals: Totals, old: repo.PastEvent, rated: Figures): void {
  totals.events += 1;
  totals.oldRevenue += old.charged;
  totals.newRevenue += rated.amount;
  totals.oldCost += old.cost ?? 0n;
  totals.newCost += rated.cost ?? 0n;
}

/** Several customers' periods, each rated by the draft alone, in one kernel call; each period's figures into its totals. */
async function rateTogether(
  draft: Draft,
  periods: { period: repo.SimulatedPeriod; events: repo.PastEvent[]; totals: Totals }[],
  billing: Map<string, CustomerBilling>,
  unratable: Unratable[],
): Promise<void> {
  if (periods.length === 0) return;
  const states: Record<string, CustomerState> = {};
  const input: UsageEvent[] = [];
  for (const { period, events } of periods) {
    states[period.externalId] = kernelState(billing.get(period.externalId), {}, period, draft.currency);
    for (const old of events) input.push(old.event);
  }
  const output = await rateEventFigures(draft.book, states, input);
  let i = 0;
  for (const { period, events, totals } of periods) {
    for (const old of events) {
      const result = output[i++];
      if (result.error === undefined) add(totals, old, result);
      else
        unratable.push({
          transaction_id: old.event.transaction_id,
          customer_id: period.externalId,
          code: result.error.code,
          message: result.error.message,
        });
    }
  }
}

async function storedBook(scope: TenantScope, priceBookId: string): Promise<CompiledBook> {
  const versions = (await pricingRepo.countVersions(scope, [priceBookId])).get(priceBookId);
  return compiledBook(
    `${scope.tenantId}:${priceBookId}:${versions}`,
    async () => (await loadPriceBook(scope, priceBookId))!,
  );
}

const money = formatMoney;

function toApiFigures(t: Totals) {
  return {
    events: t.events,
    old_revenue: money(t.oldRevenue),
    new_revenue: money(t.newRevenue),
    revenue_change: money(t.newRevenue - t.oldRevenue),
    old_cost: money(t.oldCost),
    new_cost: money(t.newCost),
    old_margin: money(t.oldRevenue - t.oldCost),
    new_margin: money(t.newRevenue - t.newCost),
    margin_change: money(t.newRevenue - t.newCost - (t.oldRevenue - t.oldCost)),
  };
}

/** `batches`: tests make them small, so that a few customers span several reads and kernel calls. */
export async function simulate(
  deps: Deps,
  actor: Actor,
  input: SimulateInput,
  { periodsPerCall, rowsPerRead }: SimulationBatches = defaultBatches,
) {
  requirePermission(actor, 'price_books.read');
  requirePermission(actor, 'billing.read');
  const from = new Date(input.from);
  const until = new Date(input.until);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const draft = await compileDraft(scope, input.price_book, input.draft);
    const customerIds = input.customers
      ? await Promise.all(input.customers.map(async (id) => (await requireCustomer(scope, id)).id))
      : undefined;
    const periods = await repo.findPeriods(scope, { from, until, customerIds });
    const byCustomer = new Map<string, Totals>();
    const unratable: Unratable[] = [];
    const started = performance.now();
    // A customer's totals (of all its periods in the range); the whole's are added up from them at the end.
    const totalsOf = (period: repo.SimulatedPeriod) => {
      let totals = byCustomer.get(period.externalId);
      if (!totals) byCustomer.set(period.externalId, (totals = emptyTotals()));
      return totals;
    };
    // Every customer's billing first: the events' read holds the transaction's connection until it ends.
    const billing = await billingOf(scope, [...new Set(periods.map((p) => p.externalId))]);
    // Periods whose every event the simulated book rated go through the kernel together (one call, a state per
    // customer: the kernel keeps each customer's events in order); a period that mixes books is replayed alone,
    // after the read (replaying loads the other books).
    const mixed: { period: repo.SimulatedPeriod; events: repo.PastEvent[] }[] = [];
    let together: { period: repo.SimulatedPeriod; events: repo.PastEvent[]; totals: Totals }[] = [];
    const inCall = new Set<string>();
    const rateCall = async () => {
      await rateTogether(draft, together, billing, unratable);
      together = [];
      inCall.clear();
    };
    const finish = async (period: repo.SimulatedPeriod, own: repo.PastEvent[]) => {
      if (own.some((event) => event.priceBookId !== draft.priceBookId)) {
        mixed.push({ period, events: own });
        return;
      }
      // A customer's next period starts from its own state: in the next call.
      if (inCall.has(period.externalId) || together.length >= periodsPerCall) await rateCall();
      inCall.add(period.externalId);
      together.push({ period, events: own, totals: totalsOf(period) });
    };
    await repo.streamPeriodEvents(scope, periods, { batchRows: rowsPerRead, customerIds }, (i, events) =>
      finish(periods[i], events),
    );
    await rateCall();
    for (const { period, events } of mixed) {
      const totals = totalsOf(period);
      await replayPeriod(
        scope,
        draft,
        period,
        events,
        billing.get(period.externalId),
        (old, rated) => add(totals, old, figuresOf(rated)),
        unratable,
      );
    }
    const total = emptyTotals();
    for (const [customer, t] of byCustomer) {
      // Customers the draft rated nothing of (every event unratable) are not listed.
      if (t.events === 0) byCustomer.delete(customer);
      total.events += t.events;
      total.oldRevenue += t.oldRevenue;
      total.newRevenue += t.newRevenue;
      total.oldCost += t.oldCost;
      total.newCost += t.newCost;
    }
    return {
      price_book: draft.code,
      currency: draft.currency,
      from: from.toISOString(),
      until: until.toISOString(),
      periods: periods.length,
      total: { customers: byCustomer.size, ...toApiFigures(total) },
      /** By revenue change, largest rise first. */
      customers: [...byCustomer]
        .map(([customerId, t]) => ({ customer_id: customerId, ...toApiFigures(t) }))
        .sort((a, b) => {
          const difference = toNano(b.revenue_change) - toNano(a.revenue_change);
          return difference > 0n ? 1 : difference < 0n ? -1 : a.customer_id < b.customer_id ? -1 : 1;
        }),
      unratable: unratable.slice(0, 100),
      unratable_count: unratable.length,
      elapsed_ms: Math.round(performance.now() - started),
    };
  });
}

/** One event rated by the draft, its receipt step by step, beside the stored rating. */
export async function simulateReceipt(deps: Deps, actor: Actor, input: SimulatedReceiptInput) {
  requirePermission(actor, 'price_books.read');
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const draft = await compileDraft(scope, input.price_book, input.draft);
    const period = await repo.findEventPeriod(scope, input.transaction_id);
    if (!period) throw notFound('event_not_found', `No rated event "${input.transaction_id}"`);
    if (period.priceBookId !== draft.priceBookId) {
      throw invalid(
        'event_not_rated_by_book',
        `Event "${input.transaction_id}" was not rated by price book "${draft.code}"`,
        [{ field: 'transaction_id', reason: `not rated by "${draft.code}"` }],
      );
    }
    const events = await repo.listPeriodEvents(scope, [period]);
    let simulated: RatedEvent | undefined;
    const unratable: Unratable[] = [];
    await replayPeriod(
      scope,
      draft,
      period,
      events,
      (await billingOf(scope, [period.externalId])).get(period.externalId),
      (old, rated) => {
        if (old.event.transaction_id === input.transaction_id) simulated = rated;
      },
      unratable,
    );
    const stored = (await repo.findLatestRating(scope, input.transaction_id))!;
    const failed = unratable.find((u) => u.transaction_id === input.transaction_id);
    return {
      transaction_id: input.transaction_id,
      customer_id: period.externalId,
      period: { start: period.start.toISOString(), end: period.end.toISOString() },
      old: {
        card: stored.card,
        amount: money(toNano(stored.amount)),
        cost: stored.cost === null ? null : money(toNano(stored.cost)),
        receipt: stored.receipt,
      },
      new: simulated
        ? {
            card: simulated.card ?? null,
            amount: simulated.amount!,
            cost: simulated.cost ?? null,
            receipt: simulated.receipt ?? [],
            error: null,
          }
        : {
            card: null,
            amount: null,
            cost: null,
            receipt: [],
            error: failed ? { code: failed.code, message: failed.message } : null,
          },
    };
  });
}
