// Replaying the periods a re-rating affects through the kernel, nothing written. A direct customer's period is
// replayed alone (rateEvents); a reseller chain's periods are replayed together (rateChains, the kernel's chain
// rating, as ingestion rates them): every event that landed in one of them at any level, in acknowledgement order,
// every level's period from its starting state, so each level's tiers and allowances see its whole subtree again.
import { formatMoney, type CustomerState, type RatedEvent, type ReceiptStep, type UsageEvent } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { toNano } from '../../platform/money.ts';
import { absorbRating, kernelState, type CustomerBilling } from '../events/billing.ts';
import { rateChains, type ChainJob } from '../events/chain.ts';
import { compiledBook, rateEvents } from '../events/rating.ts';
import * as periodsRepo from '../periods/index.ts';
import * as pricingRepo from '../pricing/repo.ts';
import { loadPriceBook } from '../pricing/service.ts';
import type * as subscriptionsRepo from '../subscriptions/repo.ts';
import { findTermsAt } from '../subscriptions/service.ts';
import { capCredits, canonicalJson, usageLinesOf } from './replay.ts';
import * as repo from './repo.ts';

/** One event at one level (0: its own customer; 1..n: its reseller levels), as stored and as replayed. */
export interface EventReplay {
  level: number;
  old: repo.ReplayEvent;
  result: RatedEvent;
  /** Left to bill after the credit the event keeps. */
  amount: bigint;
  receipt: ReceiptStep[];
  changed: boolean;
  returned: { grantId: string; amount: bigint }[];
}

export interface PeriodReplay {
  period: repo.AffectedPeriod;
  events: EventReplay[];
  /** The period's state after the replay, as ingestion stores it. */
  state: Record<string, unknown>;
  oldAmount: bigint;
  newAmount: bigint;
  lines: Map<
    string,
    { card: string; dimension: string | null; group: Record<string, string>; old: bigint; new: bigint }
  >;
}

/** An event rated through a chain: its stored rating and every level's replay (index = level). */
export interface ChainEventReplay {
  event: repo.ChainReplayEvent;
  levels: EventReplay[];
}

export interface Replay {
  periods: PeriodReplay[];
  /** The events replayed through their chains (each also in its levels' periods). */
  chains: ChainEventReplay[];
  unratable: { transaction_id: string; customer_id: string; code: string; message: string }[];
}

/** The periods a re-rating replays: direct customers' periods, and chains' periods closed over (closeOverChains). */
export interface ReplayPlan {
  direct: repo.AffectedPeriod[];
  chain: { periods: repo.AffectedPeriod[]; events: repo.ChainReplayEvent[] };
}

/** Every period the re-rating of the book from `from` replays. */
export async function planReplay(scope: TenantScope, priceBookId: string, from: Date): Promise<ReplayPlan> {
  const affected = await repo.findAffectedPeriods(scope, priceBookId, from);
  const seeds = [...affected.filter((p) => p.inChain), ...(await repo.findChainSeeds(scope, priceBookId, from))];
  const chain = await closeOverChains(scope, seeds);
  const inChain = new Set(chain.periods.map(periodsRepo.periodKey));
  return { direct: affected.filter((p) => !inChain.has(periodsRepo.periodKey(p))), chain };
}

/**
 * The chain periods to replay together: the seeds, then every period that an event landing in one of them
 * landed in at another level, until none is added. Their events are those of the last round.
 */
export async function closeOverChains(
  scope: TenantScope,
  seeds: periodsRepo.PeriodKey[],
): Promise<ReplayPlan['chain']> {
  const known = new Map<string, repo.AffectedPeriod>();
  const asked = new Set<string>();
  let wanted = seeds;
  for (;;) {
    const missing = new Map<string, periodsRepo.PeriodKey>();
    for (const k of wanted) {
      const key = periodsRepo.periodKey(k);
      if (!asked.has(key)) missing.set(key, { customerId: k.customerId, start: k.start });
    }
    if (missing.size === 0 && known.size > 0) break;
    for (const key of missing.keys()) asked.add(key);
    for (const p of await repo.findPeriods(scope, [...missing.values()])) known.set(periodsRepo.periodKey(p), p);
    if (known.size === 0) return { periods: [], events: [] };
    const events = await repo.listChainEvents(scope, [...known.values()]);
    wanted = events.flatMap((e) => [
      { customerId: e.customerId, start: e.periodStart },
      ...e.chain.map((l) => ({ customerId: l.customerId, start: l.periodStart })),
    ]);
    if (wanted.every((k) => asked.has(periodsRepo.periodKey(k)))) return { periods: [...known.values()], events };
  }
  return { periods: [...known.values()], events: await repo.listChainEvents(scope, [...known.values()]) };
}

/** Replays the plan's periods; nothing is written. */
export async function replayAll(scope: TenantScope, plan: ReplayPlan): Promise<Replay> {
  const replay: Replay = { periods: [], chains: [], unratable: [] };
  for (const period of plan.direct) {
    // The terms the period was rated on: the subscription's, or an amendment's in force at its start.
    const terms = (await findTermsAt(scope, period.customerId, period.start))?.terms;
    const replayed = await replayPeriod(scope, period, terms, replay.unratable);
    if (replayed) replay.periods.push(replayed);
  }
  if (plan.chain.events.length > 0) {
    const chains = await replayChains(scope, plan.chain, replay.unratable);
    replay.periods.push(...chains.periods);
    replay.chains = chains.events;
  }
  return replay;
}

type Books = Map<string, Awaited<ReturnType<typeof compiledBook>>>;

/** The books by id, each with all its stored versions (the new one included). */
async function compileBooks(scope: TenantScope, bookIds: string[]): Promise<Books> {
  const ids = [...new Set(bookIds)];
  const counts = await pricingRepo.countVersions(scope, ids);
  const books: Books = new Map();
  for (const id of ids)
    books.set(
      id,
      await compiledBook(`${scope.tenantId}:${id}:${counts.get(id)}`, async () => (await loadPriceBook(scope, id))!),
    );
  return books;
}

/** The replay's billing: the plan's terms on an untouched state, no credit, overage (see replayPeriod). */
function replayBilling(customerId: string, subscription: subscriptionsRepo.SubscriptionTermsRow | undefined) {
  return {
    wallet: { customerId, onDepletion: 'overage', lowBalanceThreshold: null, grants: [] },
    balances: new Map(),
    subscription,
    hasBudget: false,
  } satisfies CustomerBilling;
}

/**
 * One event at one level rated again: the credit it drew is kept up to its new pre-credit amount (capCredits),
 * and it changed if anything billed or shown differs.
 */
function replayedEvent(level: number, old: repo.ReplayEvent, result: RatedEvent): EventReplay {
  const credit = capCredits(old.receipt, toNano(result.amount!));
  const receipt = [...(result.receipt ?? []), ...credit.steps];
  const amount = toNano(result.amount!) - credit.kept;
  const changed =
    amount !== toNano(old.amount) ||
    toNano(result.subtotal!) !== toNano(old.subtotal) ||
    (result.cost ?? null) !== (old.cost === null ? null : formatMoney(toNano(old.cost))) ||
    result.book_version !== new Date(old.bookVersion).toISOString() ||
    result.card !== old.card ||
    canonicalJson(receipt) !== canonicalJson(old.receipt);
  return { level, old, result, amount, receipt, changed, returned: credit.returned };
}

/** A period's replayed events summed: its totals and its usage lines, old beside new. */
function periodReplayOf(
  period: repo.AffectedPeriod,
  events: EventReplay[],
  state: Record<string, unknown>,
): PeriodReplay {
  const lines: PeriodReplay['lines'] = new Map();
  const add = (card: string, receipt: ReceiptStep[], properties: Record<string, unknown>, side: 'old' | 'new') => {
    for (const l of usageLinesOf(card, receipt, properties)) {
      const entry = lines.get(l.key) ?? { card: l.card, dimension: l.dimension, group: l.group, old: 0n, new: 0n };
      entry[side] += l.amount;
      lines.set(l.key, entry);
    }
  };
  for (const e of events) {
    add(e.old.card, e.old.receipt, e.old.properties, 'old');
    add(e.result.card!, e.receipt, e.old.properties, 'new');
  }
  return {
    period,
    events,
    state,
    oldAmount: events.reduce((sum, e) => sum + toNano(e.old.amount), 0n),
    newAmount: events.reduce((sum, e) => sum + e.amount, 0n),
    lines,
  };
}

function usageEvent(e: repo.ReplayEvent, customer: string): UsageEvent {
  return {
    transaction_id: e.transactionId,
    customer_id: customer,
    event_type: e.eventType,
    timestamp: e.occurredAt.toISOString(),
    properties: e.properties,
  } as UsageEvent;
}

/**
 * One period, from its starting state: the plan's terms on an untouched state, no credit (the kernel rates
 * what is left before credits, and the credit each event drew is then kept up to that: capCredits), overage
 * (a blocked event was never stored). Consecutive events rated by the same book go into one kernel call.
 */
async function replayPeriod(
  scope: TenantScope,
  period: repo.AffectedPeriod,
  subscription: subscriptionsRepo.SubscriptionTermsRow | undefined,
  unratable: Replay['unratable'],
): Promise<PeriodReplay | undefined> {
  const events = await repo.listPeriodEvents(scope, period.customerId, period.start);
  if (events.length === 0) return undefined;
  const books = await compileBooks(
    scope,
    events.map((e) => e.priceBookId),
  );
  const billing = replayBilling(period.customerId, subscription);
  let state: CustomerState = kernelState(billing, {}, period, books.get(events[0].priceBookId)!.currency);
  const replayed: EventReplay[] = [];
  const customer = period.customerExternalId;
  for (let i = 0; i < events.length;) {
    let j = i + 1;
    while (j < events.length && events[j].priceBookId === events[i].priceBookId) j++;
    const run = events.slice(i, j);
    const output = await rateEvents(
      books.get(run[0].priceBookId)!,
      { [customer]: state },
      run.map((e) => usageEvent(e, customer)),
    );
    state = (output.states[customer] as CustomerState) ?? state;
    output.results.forEach((result, k) => {
      const old = run[k];
      if (result.status !== 'rated')
        unratable.push({
          transaction_id: old.transactionId,
          customer_id: customer,
          code: result.error?.code ?? 'rating_failed',
          message: result.error?.message ?? 'The kernel could not rate this event',
        });
      else replayed.push(replayedEvent(0, old, result));
    });
    i = j;
  }
  return periodReplayOf(
    period,
    replayed,
    absorbRating(undefined, state as CustomerState & Record<string, unknown>, [], new Map()),
  );
}

/** A level of a stored chain as the ReplayEvent replayedEvent compares with. */
function levelAsStored(event: repo.ChainReplayEvent, level: repo.ChainReplayEvent['chain'][number]): repo.ReplayEvent {
  return {
    ...event,
    priceBookId: level.priceBookId,
    bookVersion: new Date(level.bookVersion),
    card: level.card,
    amount: level.amount,
    subtotal: level.subtotal,
    cost: level.cost,
    margin: null,
    receipt: level.receipt,
  };
}

/**
 * The chain periods' events through rateChains, in acknowledgement order, each level on the book that rated it
 * (the stored chain: a customer moved since keeps the chain its events were billed through). The kernel sees one
 * period per customer per call, and each call its periods' terms: the events go in runs where no customer
 * changes period.
 */
async function replayChains(
  scope: TenantScope,
  plan: ReplayPlan['chain'],
  unratable: Replay['unratable'],
): Promise<{ periods: PeriodReplay[]; events: ChainEventReplay[] }> {
  const periods = new Map(plan.periods.map((p) => [periodsRepo.periodKey(p), p]));
  const externalIds = new Map(plan.periods.map((p) => [p.customerId, p.customerExternalId]));
  const books = await compileBooks(scope, [
    ...plan.events.map((e) => e.priceBookId),
    ...plan.events.flatMap((e) => e.chain.map((l) => l.priceBookId)),
  ]);
  const terms = new Map<string, subscriptionsRepo.SubscriptionTermsRow | undefined>();
  for (const [key, p] of periods) terms.set(key, (await findTermsAt(scope, p.customerId, p.start))?.terms);
  const states = new Map([...periods.keys()].map((key) => [key, {} as Record<string, unknown>]));
  const jobs: ChainJob[] = plan.events.map((e) => ({
    event: usageEvent(e, externalIds.get(e.customerId)!),
    occurredAt: e.occurredAt,
    onBlock: 'accept',
    levels: [
      { customerId: e.customerId, start: e.periodStart, priceBookId: e.priceBookId },
      ...e.chain.map((l) => ({ customerId: l.customerId, start: l.periodStart, priceBookId: l.priceBookId })),
    ].map((l) => {
      const key = periodsRepo.periodKey({ customerId: l.customerId, start: l.start });
      const p = periods.get(key)!;
      return {
        externalId: p.customerExternalId,
        periodKey: key,
        period: { start: p.start, end: p.end },
        bookKey: l.priceBookId,
      };
    }),
  }));
  const outcomes: Awaited<ReturnType<typeof rateChains>> = [];
  for (let i = 0; i < jobs.length;) {
    // The longest run in which each customer stays in one period: its billing carries that period's terms.
    const periodOf = new Map<string, string>();
    let j = i;
    for (; j < jobs.length; j++) {
      const clash = jobs[j].levels.some((l) => (periodOf.get(l.externalId) ?? l.periodKey) !== l.periodKey);
      if (clash) break;
      for (const l of jobs[j].levels) periodOf.set(l.externalId, l.periodKey);
    }
    const billings = new Map<string, CustomerBilling>();
    for (const [externalId, key] of periodOf)
      billings.set(externalId, replayBilling(periods.get(key)!.customerId, terms.get(key)));
    outcomes.push(...(await rateChains(jobs.slice(i, j), books, states, billings, new Map())));
    i = j;
  }

  const byPeriod = new Map<string, EventReplay[]>();
  const events: ChainEventReplay[] = [];
  outcomes.forEach((outcome, i) => {
    const event = plan.events[i];
    const job = jobs[i];
    if (outcome.status === 'refused') {
      const at = job.levels[outcome.level];
      unratable.push({
        transaction_id: event.transactionId,
        customer_id: job.levels[0].externalId,
        code: outcome.error.code,
        message:
          outcome.level === 0
            ? outcome.error.message
            : `Refused by reseller "${at.externalId}" (level ${outcome.level} of the chain): ${outcome.error.message}`,
      });
      return;
    }
    const olds = [event, ...event.chain.map((l) => levelAsStored(event, l))];
    const levels = outcome.levels.map((result, k) => replayedEvent(k, olds[k], result));
    levels.forEach((e, k) => {
      const list = byPeriod.get(job.levels[k].periodKey) ?? [];
      list.push(e);
      byPeriod.set(job.levels[k].periodKey, list);
    });
    events.push({ event, levels });
  });
  return {
    periods: [...byPeriod].map(([key, list]) => periodReplayOf(periods.get(key)!, list, states.get(key)!)),
    events,
  };
}
