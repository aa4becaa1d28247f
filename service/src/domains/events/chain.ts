// Reseller chains in ingestion: an end user's event is rated in one kernel pass against every book up its chain
// (its own book, set by its reseller; that reseller's book, set by its parent; ... up to the tenant). Level 0 is
// the event's own customer; levels 1..n are its reseller ancestors, each an ordinary customer with its own
// period, credits and invoice. A refusal at any level refuses the event at every level.
import {
  creditsDrawn,
  type CompiledBook,
  type OnBlock,
  type RatedEvent,
  type StateMap,
  type UsageEvent,
} from '@tariff/core-wasm';
import { toNano } from '../../platform/money.ts';
import { maxChainDepth } from '../customers/chain.ts';
import type { Period } from '../periods/calendar.ts';
import * as periodsRepo from '../periods/index.ts';
import * as billing from './billing.ts';
import { rateChainEvents } from './rating.ts';
import type { RatingTarget } from './repo.ts';

/** One reseller level above an event's customer: who is billed and by which book. */
export interface ChainLevel {
  /** 1 for the customer's reseller, 2 for that reseller's, ... */
  level: number;
  customerId: string;
  externalId: string;
  priceBookId: string;
  bookKey: string;
  bookVersions: number;
  period: Period;
  periodKey: string;
}

/** Whether the customer's events go through chain rating: it resells, or its parent does. */
export function inChain(target: RatingTarget): boolean {
  return target.isReseller || target.resellerParent !== null;
}

/** The reseller levels above a customer at an instant, or why the event cannot be rated through them. */
export type ResolvedChain = { levels: ChainLevel[] } | { code: string; message: string };

/**
 * Resolves the reseller levels above a batch's customers: a batch's end users share a few resellers, so the levels
 * above each reseller are resolved once for the span of instants in which none of them changes (every level's
 * period and price-book assignment), and that one list is shared by the events falling in the span.
 */
export function chainResolver(
  targets: Map<string, RatingTarget>,
  billings: Map<string, billing.CustomerBilling>,
): (target: RatingTarget, instant: Date) => ResolvedChain {
  const spans = new Map<string, { from: number; until: number; chain: { levels: ChainLevel[] } }[]>();
  return (target, instant) => {
    if (target.resellerParent === null) return { levels: [] };
    const ms = instant.getTime();
    const known = spans.get(target.resellerParent);
    if (known) for (const span of known) if (span.from <= ms && ms < span.until) return span.chain;
    const resolved = resolveChain(targets, billings, target, instant);
    if (!('levels' in resolved)) return resolved;
    const span = { from: resolved.from, until: resolved.until, chain: { levels: resolved.levels } };
    if (known) known.push(span);
    else spans.set(target.resellerParent, [span]);
    return span.chain;
  };
}

/**
 * The reseller levels above `target` at `instant` and the span of instants they hold for (the intersection of
 * the levels' periods and assignments), or why the event cannot be rated through them.
 */
function resolveChain(
  targets: Map<string, RatingTarget>,
  billings: Map<string, billing.CustomerBilling>,
  target: RatingTarget,
  instant: Date,
): { levels: ChainLevel[]; from: number; until: number } | { code: string; message: string } {
  const levels: ChainLevel[] = [];
  const ms = instant.getTime();
  let from = -Infinity;
  let until = Infinity;
  for (let next = target.resellerParent; next !== null;) {
    const level = levels.length + 1;
    const reseller = targets.get(next);
    if (level > maxChainDepth)
      return {
        code: 'chain_too_deep',
        message: `Customer "${target.externalId}" has more than ${maxChainDepth} resellers above it: the kernel rates ${maxChainDepth + 1} levels at most`,
      };
    if (!reseller)
      return { code: 'chain_invalid', message: `Customer "${target.externalId}"'s reseller chain cannot be followed` };
    const name = () => `reseller "${reseller.externalId}" (level ${level} of customer "${target.externalId}"'s chain)`;
    const customerBilling = billings.get(reseller.externalId);
    if (customerBilling?.blocked)
      return {
        code: 'customer_blocked',
        message: `The ${name()} is blocked: an invoice is unpaid past the dunning policy's delay`,
      };
    // The last assignment in effect at the instant (they come in effective order), and when the next takes over.
    let current = -1;
    while (current + 1 < reseller.assignments.length && reseller.assignments[current + 1].effectiveFrom.getTime() <= ms)
      current++;
    if (current < 0)
      return { code: 'no_price_book', message: `The ${name()} has no price book at ${instant.toISOString()}` };
    const assignment = reseller.assignments[current];
    const period = billing.periodFor(customerBilling, instant);
    from = Math.max(from, assignment.effectiveFrom.getTime(), period.start.getTime());
    until = Math.min(
      until,
      reseller.assignments[current + 1]?.effectiveFrom.getTime() ?? Infinity,
      period.end.getTime(),
    );
    levels.push({
      level,
      customerId: reseller.id,
      externalId: reseller.externalId,
      priceBookId: assignment.priceBookId,
      bookKey: assignment.priceBookId,
      bookVersions: assignment.bookVersions,
      period,
      periodKey: periodsRepo.periodKey({ customerId: reseller.id, start: period.start }),
    });
    next = reseller.resellerParent;
  }
  return { levels, from, until };
}

/** One event to rate through its chain: level 0 (the event's customer) first, then its reseller levels. */
export interface ChainJob {
  event: UsageEvent;
  /** The event's timestamp, parsed once for every level. */
  occurredAt: Date;
  onBlock: OnBlock;
  levels: { externalId: string; periodKey: string; period: Period; bookKey: string }[];
}

/** A chain's outcome: every level's rating, or the level that refused and why. */
export type ChainOutcome =
  | { status: 'rated'; levels: RatedEvent[] }
  | { status: 'refused'; level: number; error: NonNullable<RatedEvent['error']> };

/**
 * Rates chain jobs in their order, as few kernel calls as their customers allow: a customer is in one call with
 * one period, one book and one depletion policy (a reseller's own events are rated as sent, `on_block`, while its
 * subtree's events meet its limits as hard ones: a reseller out of credit under `block` refuses them). Moves the
 * grants' live balances and the periods' states as `rateInOrder` does.
 */
export async function rateChains(
  jobs: ChainJob[],
  books: Map<string, CompiledBook>,
  states: Map<string, Record<string, unknown>>,
  billings: Map<string, billing.CustomerBilling>,
  credits: Map<string, billing.EventCredits>,
): Promise<ChainOutcome[]> {
  const outcomes: ChainOutcome[] = [];
  let start = 0;
  while (start < jobs.length) {
    // The longest run of jobs whose customers agree on their period, book and policy.
    const seen = new Map<string, { periodKey: string; period: Period; bookKey: string; onBlock: OnBlock }>();
    const policy = (job: ChainJob, k: number): OnBlock => (k === 0 ? job.onBlock : 'refuse');
    let end = start;
    for (; end < jobs.length; end++) {
      const job = jobs[end];
      const agrees = job.levels.every((l, k) => {
        const s = seen.get(l.externalId);
        return !s || (s.periodKey === l.periodKey && s.bookKey === l.bookKey && s.onBlock === policy(job, k));
      });
      if (!agrees) break;
      job.levels.forEach((l, k) => {
        if (!seen.has(l.externalId))
          seen.set(l.externalId, {
            periodKey: l.periodKey,
            period: l.period,
            bookKey: l.bookKey,
            onBlock: policy(job, k),
          });
      });
    }
    const run = jobs.slice(start, end);
    const bookKeys = [...new Set([...seen.values()].map((s) => s.bookKey))];
    const bookIndex = new Map(bookKeys.map((key, i) => [key, i]));
    const input: StateMap = {};
    for (const [externalId, s] of seen)
      input[externalId] = billing.kernelState(
        billings.get(externalId),
        states.get(s.periodKey)!,
        s.period,
        books.get(s.bookKey)!.currency,
        s.onBlock,
      );
    const output = await rateChainEvents(
      bookKeys.map((key) => books.get(key)!),
      input,
      run.map((job) => ({
        event: job.event,
        chain: job.levels.map((l) => ({ customer_id: l.externalId, book: bookIndex.get(l.bookKey)! })),
      })),
    );
    const rated = new Map<string, { transactionId: string; occurredAt: Date; result: RatedEvent }[]>();
    output.results.forEach((chain, i) => {
      const job = run[i];
      if (chain.refused_level !== undefined) {
        outcomes.push({
          status: 'refused',
          level: chain.refused_level,
          error: chain.levels[chain.refused_level].error!,
        });
        return;
      }
      outcomes.push({ status: 'rated', levels: chain.levels });
      chain.levels.forEach((result, k) => {
        const externalId = job.levels[k].externalId;
        if (!billing.drawsCredits(billings.get(externalId))) return;
        const list = rated.get(externalId) ?? [];
        list.push({
          transactionId: billing.creditKey(job.event.transaction_id, k),
          occurredAt: job.occurredAt,
          result,
        });
        rated.set(externalId, list);
      });
    });
    for (const [externalId, s] of seen)
      states.set(
        s.periodKey,
        billing.absorbRating(
          billings.get(externalId),
          output.states[externalId] as Parameters<typeof billing.absorbRating>[1],
          rated.get(externalId) ?? [],
          credits,
        ),
      );
    start = end;
  }
  return outcomes;
}

/**
 * A level's rating in nano-units: what is left to bill it (amount), the credit it drew, and before credits what it
 * pays its parent for the event (net: the two together).
 */
export function figuresOf(result: Pick<RatedEvent, 'amount' | 'receipt'>): {
  amount: bigint;
  credits: bigint;
  net: bigint;
} {
  const amount = toNano(result.amount ?? '0');
  const credits = creditsDrawn(result as RatedEvent);
  return { amount, credits, net: amount + credits };
}

/** Before credits: what a level pays its parent for the event (figuresOf's net). */
export function netOf(result: Pick<RatedEvent, 'amount' | 'receipt'>): bigint {
  return figuresOf(result).net;
}
