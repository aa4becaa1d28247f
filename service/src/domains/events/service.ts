// Ingestion: validate each event, deduplicate, rate with the kernel and store everything in one transaction; and
// estimates (rating without storing). The reads that explain it: usage.ts (usage per period), receipts.ts (one event's receipt).
import type { ApiSchemas } from '../../platform/api.ts';
import {
  creditsDrawn,
  formatMoney,
  limitsCrossed,
  parseInstant,
  type CustomerState,
  type OnBlock as KernelOnBlock,
  type RatedEvent,
  type ScopedBudget,
  type StateMap,
  type UsageEvent,
} from '@tariff/core-wasm';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import {
  isConnectionFailure,
  isEmbedded,
  isUniqueViolation,
  oneStatement,
  withTenant,
  withTenantPipelined,
  withinSubtree,
  type PipelinedBody,
  type TenantScope,
  type Tx,
} from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { fromZodError, notFound } from '../../platform/errors.ts';
import { toNano as nano } from '../../platform/money.ts';
import { addToInvoiceAggregates } from '../invoices/aggregates.ts';
import * as metersRepo from '../meters/repo.ts';
import { loadPriceBook } from '../pricing/service.ts';
import * as pricingRepo from '../pricing/repo.ts';
import * as quotes from '../quotes/service.ts';
import { aggregateEvents, type CountedEvent } from './aggregate.ts';
import * as billing from './billing.ts';
import { chainResolver, figuresOf, inChain, rateChains, type ChainLevel } from './chain.ts';
import { chainDailyDeltas } from './chain-daily.ts';
import { Coalescer, defaultCoalescerOptions, PartialFailure } from './coalesce.ts';
import { compiledBook, kernelVersion, rateEvents } from './rating.ts';
import * as repo from './repo.ts';
import * as periodsRepo from '../periods/index.ts';
import * as holdsRepo from '../holds/repo.ts';
import { HoldBook } from '../holds/settle.ts';
import { isWellFormedEvent, usageEvent, type EstimateInput } from '@tariff/openapi/schemas/events';

/** How far ahead of the server's clock an event may be stamped (clock skew), in milliseconds. */
const futureTolerance = 5 * 60 * 1000;
const maxAttempts = 5;

type EventOutcome = ApiSchemas['EventOutcome'];
type Block = ApiSchemas['EventBlock'];

/**
 * What ingestion does with an event that takes the customer past a blocking limit (a `block` budget, or the
 * credit of a customer whose policy blocks on depletion). `accept` (the default): the usage happened, so it is
 * stored and billed, its ack says which limit it crossed and by how much, and the customer is blocked from then
 * on (check, quotes, the SDK's snapshot). `refuse`: the event is rejected and nothing is stored, for gateways
 * that send the event before serving the request.
 */
export type OnBlock = KernelOnBlock;

interface Candidate {
  /** Position in the request. */
  index: number;
  /** Position in the shared transaction's list (see coalesce.ts). */
  slot: number;
  event: UsageEvent;
  occurredAt: Date;
  /** The price quote the event carried, and once checked, what it binds (quotes/service.ts). */
  quoteToken?: string;
  quote?: quotes.HonouredQuote;
  /** The API key that sent it (budgets per key count it); null for a dashboard session. */
  apiKeyId: string | null;
  onBlock: OnBlock;
  /** The hold it captures, and whether this capture closes it (holds/settle.ts). */
  holdId?: string;
  holdFinal?: boolean;
}

/** Billing periods are calendar months in UTC until subscriptions (with their anchors) define them. */
export function billingPeriodOf(instant: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), 1));
  const end = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth() + 1, 1));
  return { start, end };
}

const coalescers = new WeakMap<Deps['db'], Coalescer<Candidate, EventOutcome>>();

/**
 * One coalescer per pool: requests share a transaction only on the same database. A shared transaction that
 * fails is run again request by request (by halves), so only the request that caused it fails; a lost
 * connection is nobody's fault, and fails them all.
 */
function coalescerFor(deps: Deps): Coalescer<Candidate, EventOutcome> {
  let coalescer = coalescers.get(deps.db);
  if (!coalescer) {
    // Shared by every caller of the tenant, so tenant-wide (a subtree caller's events were admitted before).
    coalescer = new Coalescer(
      (tenantId, candidates) => withinSubtree({ tenantId }, () => rateShared(deps, tenantId, candidates)),
      {
        ...defaultCoalescerOptions,
        isIsolable: (error) => !isConnectionFailure(error),
        onSplit: (tenantId, requests, error) => {
          deps.metrics.increment('tariff_ingest_shared_failures_total');
          deps.logger.warn('shared ingestion transaction failed: running its requests apart', {
            tenant_id: tenantId,
            requests,
            error,
          });
        },
      },
    );
    coalescers.set(deps.db, coalescer);
  }
  return coalescer;
}

/** Bounds the chains learnt (as periods/repo.ts bounds the periods known to exist). */
const maxLearntChains = 1_000_000;

/**
 * Groups of at least this many events are rated in two transactions, each with the events of half of the
 * customers (by a hash of the customer id). Batches that share customers queue on the same period locks;
 * split by customer, one half is written by PostgreSQL while this process rates the other, instead of one
 * waiting for the other. Each event is still stored, rated and acknowledged in one transaction with the rest of
 * its customer's events.
 */
const splitAtEvents = 200;

/**
 * Per pool, by tenant and customer external id: the resellers up the customer's chain (external ids, its reseller
 * first), learnt from the transactions that rated its events. Two hints, never a rule. Customers under the same
 * reseller lock that reseller's period (chain.ts), so the two halves of a split group would queue on each other:
 * they are split by the chain's top instead (a customer moved under another reseller just shares a lock until it
 * is learnt again). And the resellers' billing is read with the customers', in the same statements, instead of in
 * a second round once the chain is known (one a moved customer's new resellers still need). Bounded by maxLearntChains.
 */
const chainAncestors = new WeakMap<Deps['db'], Map<string, readonly string[]>>();

/**
 * Rates the events of one or more requests. A transaction id seen earlier in the list (same request or another)
 * takes the first occurrence's fate: "duplicate" of an accepted or duplicate event, the same rejection as a
 * rejected one. If one of the two transactions fails after the other committed, the committed events' outcomes
 * stand (PartialFailure) and the coalescer runs only the others again.
 */
async function rateShared(
  deps: Deps,
  tenantId: string,
  candidates: Candidate[],
): Promise<Map<Candidate, EventOutcome>> {
  const first = new Map<string, Candidate>();
  const unique: Candidate[] = [];
  for (const candidate of candidates) {
    if (first.has(candidate.event.transaction_id)) continue;
    first.set(candidate.event.transaction_id, candidate);
    unique.push(candidate);
  }
  const learnt = chainAncestors.get(deps.db);
  const parts =
    unique.length >= splitAtEvents && !isEmbedded(deps.db)
      ? splitByCustomer(unique, (id) => learnt?.get(`${tenantId}\u0000${id}`)?.at(-1) ?? id)
      : [unique];
  const outcomes = new Map<Candidate, EventOutcome>();
  // Both settle before anything is answered or retried: a retry must not race a transaction still writing.
  const settled = await Promise.allSettled(
    parts.map(async (part) => {
      const partOutcomes = await rateAndStoreWithRetries(deps, tenantId, part);
      part.forEach((candidate, i) => outcomes.set(candidate, partOutcomes[i]));
    }),
  );
  const decided = new Map<Candidate, EventOutcome>();
  for (const candidate of candidates) {
    const original = first.get(candidate.event.transaction_id)!;
    const outcome = outcomes.get(original);
    if (!outcome) continue;
    if (original === candidate) decided.set(candidate, outcome);
    else if (outcome.status === 'rejected') decided.set(candidate, { ...outcome, index: candidate.index });
    else
      decided.set(candidate, {
        index: candidate.index,
        transaction_id: candidate.event.transaction_id,
        status: 'duplicate',
        amount: outcome.amount,
        currency: outcome.currency,
      });
  }
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw decided.size > 0 ? new PartialFailure(failed.reason, decided) : failed.reason;
  return decided;
}

/** Two parts by a hash of each event's customer, or of the top of its reseller chain (`rootOf`). */
function splitByCustomer(candidates: Candidate[], rootOf: (customerId: string) => string): Candidate[][] {
  const parts: Candidate[][] = [[], []];
  for (const candidate of candidates) {
    const id = rootOf(candidate.event.customer_id);
    let hash = 0;
    for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0;
    parts[hash & 1].push(candidate);
  }
  return parts.filter((part) => part.length > 0);
}

/** One transaction for the events (in order, each id once), retried when a concurrent request stored one of them. */
async function rateAndStoreWithRetries(deps: Deps, tenantId: string, candidates: Candidate[]): Promise<EventOutcome[]> {
  candidates.forEach((candidate, slot) => (candidate.slot = slot));
  const known = periodsRepo.knownPeriodsOf(deps.db);
  for (let attempt = 1; ; attempt++) {
    try {
      // Plans made for each group's size: generic plans (withTenantPipelined's genericPlans) cost PostgreSQL more
      // in batches of 100 than the planning they save (BENCHMARKS.md).
      const learnt = chainAncestors.get(deps.db);
      const { outcomes, locked, chains } = await withTenantPipelined(deps.db, tenantId, (tx) =>
        rateAndStore(tx, tenantId, candidates, deps.clock.now(), known, (id) => learnt?.get(`${tenantId}\u0000${id}`)),
      );
      // Committed now: the periods it locked exist.
      periodsRepo.rememberPeriods(deps.db, locked);
      if (chains.length > 0) {
        let learnt = chainAncestors.get(deps.db);
        if (!learnt || learnt.size + chains.length > maxLearntChains) chainAncestors.set(deps.db, (learnt = new Map()));
        for (const [customer, ancestors] of chains) learnt.set(`${tenantId}\u0000${customer}`, ancestors);
      }
      return outcomes;
    } catch (error) {
      // An id another request committed after our duplicate check: retry, and find it as a duplicate.
      const concurrentDuplicate = isUniqueViolation(error, 'events_pkey');
      if (!concurrentDuplicate || attempt === maxAttempts) throw error;
    }
  }
}

/** A RatedEvent with status "rated": the kernel fills these fields. */
type RatedLine = Required<Pick<RatedEvent, 'amount' | 'subtotal' | 'book_version' | 'card' | 'receipt' | 'currency'>> &
  Pick<RatedEvent, 'cost' | 'margin'>;

/**
 * Ingests a batch. Every event gets its own outcome; accepted events are stored, rated and aggregated in one
 * transaction, and the outcomes are returned only after it commits. An event another request stored while
 * this one was rating makes the transaction retry, where it is found as a duplicate.
 */
export async function ingestEvents(
  deps: Deps,
  actor: Actor,
  events: unknown[],
  options: { onBlock?: OnBlock } = {},
): Promise<ApiSchemas['IngestResult']> {
  const onBlock = options.onBlock ?? 'accept';
  requirePermission(actor, 'events.write');
  const now = deps.clock.now();
  const outcomes: EventOutcome[] = new Array(events.length);
  const candidates: Candidate[] = [];
  events.forEach((raw, index) => {
    let event: UsageEvent;
    let quoteToken: string | undefined;
    let hold: { holdId?: string; holdFinal?: boolean } = {};
    if (isWellFormedEvent(raw)) event = raw as UsageEvent;
    else {
      const parsed = usageEvent.safeParse(raw);
      if (!parsed.success) {
        const transactionId =
          typeof (raw as { transaction_id?: unknown })?.transaction_id === 'string'
            ? (raw as { transaction_id: string }).transaction_id
            : null;
        const details = fromZodError(parsed.error).details;
        outcomes[index] = {
          index,
          transaction_id: transactionId,
          status: 'rejected',
          error: { code: 'invalid_event', field: details[0].field, message: details[0].reason, details },
        };
        return;
      }
      let holdId: string | undefined;
      let holdFinal: boolean | undefined;
      ({
        quote: quoteToken,
        hold_id: holdId,
        hold_final: holdFinal,
        ...event
      } = parsed.data as UsageEvent & { quote?: string; hold_id?: string; hold_final?: boolean });
      if (holdId !== undefined) hold = { holdId, holdFinal: holdFinal ?? false };
      else if (holdFinal !== undefined) {
        outcomes[index] = reject(
          index,
          event.transaction_id,
          'invalid_event',
          'hold_final',
          'needs hold_id: only a capture of a hold can be final',
        );
        return;
      }
    }
    const ms = parseInstant(event.timestamp);
    if (ms === undefined) {
      outcomes[index] = reject(
        index,
        event.transaction_id,
        'invalid_timestamp',
        'timestamp',
        'must be an ISO 8601 instant with a zone, e.g. "2026-03-01T12:00:00Z"',
      );
      return;
    }
    const occurredAt = new Date(Number(ms));
    if (occurredAt.getTime() > now.getTime() + futureTolerance) {
      outcomes[index] = reject(
        index,
        event.transaction_id,
        'timestamp_in_future',
        'timestamp',
        `is after the server's clock (${now.toISOString()}) by more than 5 minutes`,
      );
      return;
    }
    const timestamp = occurredAt.toISOString();
    const normalized =
      timestamp === event.timestamp
        ? event
        : {
            transaction_id: event.transaction_id,
            customer_id: event.customer_id,
            event_type: event.event_type,
            timestamp,
            properties: event.properties,
          };
    candidates.push({
      index,
      slot: 0,
      event: normalized,
      occurredAt,
      apiKeyId: actor.type === 'api_key' ? actor.id : null,
      onBlock,
      ...(quoteToken === undefined ? {} : { quoteToken }),
      ...hold,
    });
  });
  // A reseller-scoped caller's events must name customers below its reseller: checked here in one subtree-scoped
  // statement (the database decides what the caller sees). Rating then runs tenant-wide, since a chain's levels
  // above the reseller (its own wallet, its parent's) are written too, and coalesces with other callers' batches.
  if (actor.subtreeRootId && candidates.length > 0) {
    const admitted = await withTenant(deps.db, actor.tenantId, (tx) =>
      repo.findCustomersBelow({ db: tx, tenantId: actor.tenantId }, actor.subtreeRootId!, [
        ...new Set(candidates.map((c) => c.event.customer_id)),
      ]),
    );
    for (const candidate of [...candidates]) {
      if (admitted.has(candidate.event.customer_id)) continue;
      outcomes[candidate.index] = reject(
        candidate.index,
        candidate.event.transaction_id,
        'customer_not_found',
        'customer_id',
        `No customer "${candidate.event.customer_id}" below this key's reseller`,
      );
      candidates.splice(candidates.indexOf(candidate), 1);
    }
  }
  // An event whose quote does not hold is rejected alone, before rating.
  for (const { candidate, error } of await quotes.admitQuotes(deps.db, actor.tenantId, candidates, now)) {
    outcomes[candidate.index] = reject(
      candidate.index,
      candidate.event.transaction_id,
      error.code,
      error.field,
      error.message,
    );
    candidates.splice(candidates.indexOf(candidate), 1);
  }

  if (candidates.length > 0) {
    const decided = await coalescerFor(deps).submit(actor.tenantId, candidates);
    for (const candidate of candidates) outcomes[candidate.index] = decided.get(candidate)!;
  }

  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const outcome of outcomes) counts[outcome.status] += 1;
  for (const [status, n] of Object.entries(counts))
    if (n > 0) deps.metrics.increment('tariff_events_total', { status }, n);
  return { ...counts, events: outcomes };
}

function reject(
  index: number,
  transactionId: string | null,
  code: string,
  field: string | undefined,
  message: string,
): EventOutcome {
  return {
    index,
    transaction_id: transactionId,
    status: 'rejected',
    error: { code, message, ...(field ? { field } : {}) },
  };
}

type Located = Candidate & {
  customerId: string;
  period: { start: Date; end: Date };
  priceBookId: string;
  bookVersions: number;
  periodKey: string;
  bookKey: string;
  /** The reseller levels above the customer, when it or its parent resells (chain.ts); empty when it alone resells. */
  chain?: ChainLevel[];
};

/**
 * An accepted event with its rating, and each reseller level's above it. A chain's event carries its amount and
 * net in nano-units, read once from its rating for the totals, the limits and chain_daily.
 */
type Accepted = Located & { result: RatedLine; levels?: AcceptedLevel[]; amountNano?: bigint; netNano?: bigint };

/**
 * A reseller level's rating, with what is left to bill it (its amount), what it pays its parent before its credits
 * (netOf) and the credits it drew, in nano-units.
 */
interface AcceptedLevel {
  level: ChainLevel;
  result: RatedLine;
  amount: bigint;
  net: bigint;
  credits: bigint;
}

/**
 * The body of one pipelined transaction: the reads (customers with their books and billing terms, stored ids,
 * meters), the period locks, the kernel, then every write, handed back unanswered for COMMIT to follow at once,
 * with the outcomes and the keys of the periods locked (created if missing). An id a concurrent request stored
 * after our check fails the event insert: the transaction is abandoned and retried.
 */
async function rateAndStore(
  tx: Tx,
  tenantId: string,
  candidates: Candidate[],
  now: Date,
  knownPeriods: ReadonlySet<string>,
  /** The resellers up a customer's chain when its events were last rated (rateAndStoreWithRetries learns them). */
  ancestorsOf: (externalId: string) => readonly string[] | undefined,
): Promise<PipelinedBody<{ outcomes: EventOutcome[]; locked: string[]; chains: [string, string[]][] }>> {
  const scope: TenantScope = { db: tx, tenantId };
  // By slot: requests sharing the transaction number their events independently.
  const outcomes: EventOutcome[] = new Array(candidates.length);
  const externalIds = [...new Set(candidates.map((c) => c.event.customer_id))];
  const requested = new Set(externalIds);
  const expected = new Set<string>();
  for (const id of externalIds) for (const a of ancestorsOf(id) ?? []) if (!requested.has(a)) expected.add(a);
  const [targets, stored, meters, billings] = await Promise.all([
    repo.findRatingTargets(scope, externalIds),
    repo.findStoredEvents(
      scope,
      candidates.map((c) => c.event.transaction_id),
    ),
    metersRepo.listMetersForEventTypes(scope, [...new Set(candidates.map((c) => c.event.event_type))]),
    billing.loadBilling(scope, expected.size > 0 ? [...externalIds, ...expected] : externalIds),
  ]);
  // The resellers up the batch's chains: their terms and grants too, read above when the chains were learnt (a
  // second statement only for those that were not: every customer has a billing context).
  const ancestors = [...targets.keys()].filter((id) => !requested.has(id) && !billings.has(id));
  if (ancestors.length > 0) for (const [id, b] of await billing.loadBilling(scope, ancestors)) billings.set(id, b);

  // The book comes first: an event that cannot be rated locks and creates no period.
  const located: Located[] = [];
  const resolveChain = chainResolver(targets, billings);
  for (const candidate of candidates) {
    const { index, event } = candidate;
    const previous = stored.get(event.transaction_id);
    const target = targets.get(event.customer_id);
    if (previous) {
      outcomes[candidate.slot] = {
        index,
        transaction_id: event.transaction_id,
        status: 'duplicate',
        amount: previous.amount,
        currency: previous.currency,
      };
      continue;
    }
    if (!target) {
      outcomes[candidate.slot] = reject(
        index,
        event.transaction_id,
        'customer_not_found',
        'customer_id',
        `No customer "${event.customer_id}"`,
      );
      continue;
    }
    if (billings.get(event.customer_id)?.blocked) {
      outcomes[candidate.slot] = reject(
        index,
        event.transaction_id,
        'customer_blocked',
        'customer_id',
        `Customer "${event.customer_id}" is blocked: an invoice is unpaid past the dunning policy's delay`,
      );
      continue;
    }
    const assignment = target.assignments
      .filter((a) => a.effectiveFrom.getTime() <= candidate.occurredAt.getTime())
      .at(-1);
    if (!assignment) {
      outcomes[candidate.slot] = reject(
        index,
        event.transaction_id,
        'no_price_book',
        'customer_id',
        `Customer "${event.customer_id}" has no price book at ${event.timestamp}`,
      );
      continue;
    }
    const period = billing.periodFor(billings.get(event.customer_id), candidate.occurredAt);
    let chain: ChainLevel[] | undefined;
    if (inChain(target)) {
      const resolved = resolveChain(target, candidate.occurredAt);
      if (!('levels' in resolved)) {
        outcomes[candidate.slot] = reject(index, event.transaction_id, resolved.code, 'customer_id', resolved.message);
        continue;
      }
      chain = resolved.levels;
    }
    located.push({
      index,
      slot: candidate.slot,
      event,
      occurredAt: candidate.occurredAt,
      apiKeyId: candidate.apiKeyId,
      onBlock: candidate.onBlock,
      holdId: candidate.holdId,
      holdFinal: candidate.holdFinal,
      customerId: target.id,
      period,
      priceBookId: assignment.priceBookId,
      quote: candidate.quote,
      bookKey: quotes.ratingBookKey(assignment.priceBookId, candidate.quote),
      bookVersions: assignment.bookVersions,
      periodKey: periodsRepo.periodKey({ customerId: target.id, start: period.start }),
      ...(chain ? { chain } : {}),
    });
  }
  // Each chain customer's resellers, for the next split and billing read (rateShared, above).
  const chains: [string, string[]][] = [];
  for (const p of located)
    if (p.chain && p.chain.length > 0) chains.push([p.event.customer_id, p.chain.map((l) => l.externalId)]);
  if (located.length === 0) return { result: { outcomes, locked: [], chains }, writes: [] };

  // A batch's end users share a few resellers: each reseller period is named once, not once per event under it.
  const lockKeys: periodsRepo.PeriodBounds[] = [];
  const levelPeriods = new Set<string>();
  for (const p of located) {
    lockKeys.push({ customerId: p.customerId, ...p.period });
    for (const l of p.chain ?? []) {
      if (levelPeriods.has(l.periodKey)) continue;
      levelPeriods.add(l.periodKey);
      lockKeys.push({ customerId: l.customerId, ...l.period });
    }
  }
  const periods = await periodsRepo.lockPeriods(scope, lockKeys, { now, known: knownPeriods });
  const locked = [...periods.keys()];
  // Blocking budgets per API key or project tag, read under the period lock (one statement, only for customers
  // who have one): their spend is the committed one.
  const scopedPeriods = new Map<string, { customerId: string; start: Date }>();
  for (const p of located)
    if (billings.get(p.event.customer_id)?.hasBlockingScopedBudget)
      scopedPeriods.set(p.periodKey, { customerId: p.customerId, start: p.period.start });
  const scopedLimits =
    scopedPeriods.size > 0
      ? await billing.loadScopedLimits(scope, [...scopedPeriods.values()])
      : new Map<string, billing.ScopedLimit>();
  // Holds, last in the lock order: those the events capture, and the open holds of customers whose limits they
  // count against (a wallet that blocks on depletion, a blocking budget). An event naming no hold of its customer
  // is rejected before rating.
  const holdCustomers = new Set<string>();
  for (const p of located) {
    if (p.holdId !== undefined || hasBlockingLimit(billings.get(p.event.customer_id))) holdCustomers.add(p.customerId);
    // A reseller's limits count its open holds too (its own, and its customers' rows at its level).
    for (const l of p.chain ?? []) if (hasBlockingLimit(billings.get(l.externalId))) holdCustomers.add(l.customerId);
  }
  const holdRows =
    holdCustomers.size > 0
      ? await holdsRepo.lockHoldsForRating(
          scope,
          [...holdCustomers],
          [...new Set(located.flatMap((p) => (p.holdId === undefined ? [] : [p.holdId])))],
        )
      : [];
  const holdOwners = new Map(holdRows.filter((h) => h.level === 0).map((h) => [h.id, h.customerId]));
  for (const p of located) {
    if (p.holdId === undefined || holdOwners.get(p.holdId) === p.customerId) continue;
    outcomes[p.slot] = reject(
      p.index,
      p.event.transaction_id,
      'hold_not_found',
      'hold_id',
      `Customer "${p.event.customer_id}" has no hold "${p.holdId}"`,
    );
  }
  const rateable = located.filter((p) => outcomes[p.slot] === undefined);
  // An event for a closed period (its invoice is final) is rated in it all the same and billed as an
  // adjustment on the customer's next invoice (billing.billLateEvents below).

  const books = new Map<string, Awaited<ReturnType<typeof compiledBook>>>();
  for (const p of located) {
    if (books.has(p.bookKey)) continue;
    const load = async () => (await loadPriceBook(scope, p.priceBookId))!;
    books.set(
      p.bookKey,
      await compiledBook(
        `${tenantId}:${p.bookKey}:${p.bookVersions}`,
        p.quote ? async () => quotes.ratingBook(await load(), p.quote!) : load,
      ),
    );
  }
  for (const l of located.flatMap((p) => p.chain ?? [])) {
    if (books.has(l.bookKey)) continue;
    books.set(
      l.bookKey,
      await compiledBook(
        `${tenantId}:${l.bookKey}:${l.bookVersions}`,
        async () => (await loadPriceBook(scope, l.priceBookId))!,
      ),
    );
  }

  const states = new Map<string, Record<string, unknown>>();
  const credits = new Map<string, billing.EventCredits>();
  const balancesBefore = new Map([...billings].map(([id, b]) => [id, new Map(b.balances)]));
  // Events refused because they would take their customer past a blocking budget (on_block: refuse). Each
  // refusal rates the rest again without it, from the locked state, so that nothing of it is stored or drawn.
  const refused = new Map<number, { p: Located; block: Refusal }>();
  let accepted: Accepted[];
  let blocks: Map<Located, Block[]>;
  let holdBook = new HoldBook([], now);
  let holdOutcomes = new Map<Located, HoldOutcome>();
  for (;;) {
    for (const [key, row] of periods) states.set(key, row.state);
    for (const [id, b] of billings) b.balances = new Map(balancesBefore.get(id)!);
    credits.clear();
    const toRate = rateable.filter((p) => !refused.has(p.slot));
    accepted = [
      ...(await rateInOrder(
        toRate.filter((p) => !p.chain),
        books,
        states,
        outcomes,
        billings,
        credits,
      )),
      ...(await rateThroughChains(
        toRate.filter((p) => p.chain),
        books,
        states,
        outcomes,
        billings,
        credits,
      )),
    ];
    const found = findBlocks(accepted, periods, billings, scopedLimits, credits, new HoldBook(holdRows, now), now);
    blocks = found.blocks;
    holdBook = found.holds;
    holdOutcomes = found.holdOutcomes;
    if (found.refuse.size === 0) break;
    for (const [p, block] of found.refuse) refused.set(p.slot, { p, block });
  }
  for (const { p, block } of refused.values()) {
    const field =
      block.code === 'hold_exceeded'
        ? { field: 'hold_id', reason: 'the hold refuses overruns: the event was not stored' }
        : 'level' in block && block.level !== undefined
          ? {
              field: 'customer_id',
              reason: `a reseller up the chain (level ${block.level}) refuses: the event was not stored`,
            }
          : { field: 'on_block', reason: 'refuse: the event was not stored' };
    outcomes[p.slot] = {
      ...reject(p.index, p.event.transaction_id, block.code, undefined, block.message),
      error: { code: block.code, message: block.message, details: [field] },
    } as EventOutcome;
  }
  if (accepted.length === 0) return { result: { outcomes, locked, chains }, writes: [] };

  const periodJsons = new Map<string, { start: string; end: string }>();
  const periodJson = (key: string, period: { start: Date; end: Date }) => {
    let json = periodJsons.get(key);
    if (!json) periodJsons.set(key, (json = { start: period.start.toISOString(), end: period.end.toISOString() }));
    return json;
  };
  // Running period totals in the order the kernel rated the events (the shared list's, where each request's
  // events follow each other in request order), from the committed total the period lock guarantees.
  const totals = new Map<string, bigint>();
  const deltas = new Map<string, { amount: bigint; count: number }>();
  const counted: CountedEvent[] = [];
  accepted.sort((x, y) => x.slot - y.slot);
  for (const a of accepted) {
    const amount = a.amountNano ?? nano(a.result.amount);
    const total = (totals.get(a.periodKey) ?? nano(periods.get(a.periodKey)!.amount)) + amount;
    totals.set(a.periodKey, total);
    const delta = deltas.get(a.periodKey) ?? { amount: 0n, count: 0 };
    delta.amount += amount;
    delta.count += 1;
    deltas.set(a.periodKey, delta);
    counted.push({
      customerId: a.customerId,
      periodStart: a.period.start,
      occurredAt: a.occurredAt,
      eventType: a.event.event_type,
      properties: a.event.properties,
      amountNano: amount,
      grossNano: amount + (credits.get(a.event.transaction_id)?.applied ?? 0n),
      receipt: a.result.receipt,
    });
    outcomes[a.slot] = {
      index: a.index,
      transaction_id: a.event.transaction_id,
      status: 'accepted',
      customer_id: a.event.customer_id,
      currency: a.result.currency,
      amount: a.result.amount,
      period: periodJson(a.periodKey, a.period),
      period_total: formatMoney(total),
      book_version: a.result.book_version,
      card: a.result.card,
      credits_applied: formatMoney(credits.get(a.event.transaction_id)?.applied ?? 0n),
      credit_balance: formatMoney(credits.get(a.event.transaction_id)?.balanceAfter ?? 0n),
      ...(blocks.has(a) ? { blocked: blocks.get(a)! } : {}),
      ...(holdOutcomes.has(a) ? { hold: holdOutcomes.get(a)! } : {}),
    };
    for (const { level, amount: levelAmount } of a.levels ?? []) {
      const above = deltas.get(level.periodKey) ?? { amount: 0n, count: 0 };
      above.amount += levelAmount;
      above.count += 1;
      deltas.set(level.periodKey, above);
    }
  }
  // Every reseller level of the accepted events, with whether its own period is closed (billed as a late event).
  const levels = accepted.flatMap((a) =>
    (a.levels ?? []).map(({ level, result }) => ({
      a,
      level,
      result,
      closed: periods.get(level.periodKey)!.status === 'closed',
    })),
  );

  // Late events into closed periods: what each fills of a minimum true-up the period's final invoice billed.
  const late = accepted.filter((a) => periods.get(a.periodKey)!.status === 'closed');
  const lateLevels = levels.filter((l) => l.closed);
  const trueUpShrinks =
    late.length + lateLevels.length > 0
      ? await billing.lateTrueUpShrinks(scope, [
          ...late.map((a) => ({
            transactionId: a.event.transaction_id,
            customerId: a.customerId,
            periodStart: a.period.start,
            receipt: a.result.receipt,
          })),
          ...lateLevels.map(({ a, level, result }) => ({
            transactionId: billing.creditKey(a.event.transaction_id, level.level),
            customerId: level.customerId,
            periodStart: level.period.start,
            receipt: result.receipt,
          })),
        ])
      : new Map<string, bigint>();

  const aggregates = aggregateEvents(meters, counted);
  // What each level of each event charged its customer: for the credits applied per period and the billing writes.
  const charges: billing.AcceptedCharge[] = accepted
    .map((a) => ({
      transactionId: a.event.transaction_id,
      customerExternalId: a.event.customer_id,
      customerId: a.customerId,
      periodStart: a.period.start,
      occurredAt: a.occurredAt,
      amount: a.result.amount,
      apiKeyId: a.apiKeyId,
      project: typeof a.event.properties?.project === 'string' ? a.event.properties.project : null,
    }))
    .concat(
      levels.map(({ a, level, result }) => ({
        transactionId: a.event.transaction_id,
        level: level.level,
        customerExternalId: level.externalId,
        customerId: level.customerId,
        periodStart: level.period.start,
        occurredAt: a.occurredAt,
        amount: result.amount,
        apiKeyId: null,
        project: null,
      })),
    );
  const creditsApplied = billing.creditsByPeriod(charges, credits);
  const settled = holdBook.settlements();
  const writes = [
    ...holdsRepo.writeSettlements(scope, settled.settlements, settled.captures, now),
    // The event rows, the periods' totals (credits applied with them) and the usage and invoice aggregates: one statement.
    oneStatement(tx, [
      repo.insertRatedEvents(
        scope,
        accepted.map((a) => ({
          transactionId: a.event.transaction_id,
          customerId: a.customerId,
          eventType: a.event.event_type,
          occurredAt: a.occurredAt,
          properties: a.event.properties,
          periodStart: a.period.start,
          priceBookId: a.priceBookId,
          bookVersion: a.result.book_version,
          card: a.result.card,
          currency: a.result.currency,
          amount: a.result.amount,
          subtotal: a.result.subtotal,
          cost: a.result.cost ?? null,
          margin: a.result.margin ?? null,
          receipt: a.result.receipt,
          ...(a.levels && a.levels.length > 0
            ? {
                chain: a.levels.map(({ level, result, net, credits }) => ({
                  customerId: level.customerId,
                  periodStart: level.period.start,
                  priceBookId: level.priceBookId,
                  bookVersion: result.book_version,
                  card: result.card,
                  currency: result.currency,
                  amount: result.amount,
                  subtotal: result.subtotal,
                  net: formatMoney(net),
                  cost: result.cost ?? null,
                  creditsApplied: formatMoney(credits),
                  receipt: result.receipt,
                })),
              }
            : {}),
        })),
        kernelVersion(),
        now,
      ),
      periodsRepo.addUsage(
        scope,
        [...deltas].map(([key, delta]) => {
          const row = periods.get(key)!;
          return {
            customerId: row.customerId,
            start: row.start,
            end: row.end,
            state: states.get(key)!,
            amountDelta: formatMoney(delta.amount),
            eventCountDelta: delta.count,
            creditsDelta: formatMoney(creditsApplied.get(key) ?? 0n),
          };
        }),
        now,
      ),
      repo.upsertAggregates(scope, aggregates, formatMoney),
      repo.insertUniqueValues(scope, aggregates),
      // Late events (closed periods) are billed as adjustments, not by their period's invoice.
      addToInvoiceAggregates(scope, [
        ...accepted
          .filter((a) => periods.get(a.periodKey)!.status !== 'closed')
          .map((a) => ({
            customerId: a.customerId,
            periodStart: a.period.start,
            occurredAt: a.occurredAt,
            card: a.result.card,
            amount: a.result.amount,
            receipt: a.result.receipt,
            properties: a.event.properties,
          })),
        ...levels
          .filter((l) => !l.closed)
          .map(({ a, level, result }) => ({
            customerId: level.customerId,
            periodStart: level.period.start,
            occurredAt: a.occurredAt,
            card: result.card,
            amount: result.amount,
            receipt: result.receipt,
            properties: a.event.properties,
          })),
      ]),
      repo.upsertChainDaily(scope, chainDaily(accepted)),
    ]),
    // After the statement above: the ledger and the grants (the periods' credits applied are in it).
    ...billing.writeBilling(scope, billings, charges, credits, now),
    billing.notifyBlocks(
      scope,
      [...blocks].map(([a, list]) => ({
        customerId: a.customerId,
        customerExternalId: a.event.customer_id,
        periodStart: a.period.start,
        transactionId: a.event.transaction_id,
        blocks: list,
      })),
      now,
    ),
    billing.billLateEvents(
      scope,
      late
        .map((a) => ({
          transactionId: a.event.transaction_id,
          customerId: a.customerId,
          currency: a.result.currency,
          occurredAt: a.occurredAt,
          periodStart: a.period.start,
          amount: nano(a.result.amount),
          trueUpShrink: trueUpShrinks.get(a.event.transaction_id),
        }))
        .concat(
          lateLevels.map(({ a, level, result }) => ({
            transactionId: a.event.transaction_id,
            customerId: level.customerId,
            currency: result.currency,
            occurredAt: a.occurredAt,
            periodStart: level.period.start,
            amount: nano(result.amount),
            trueUpShrink: trueUpShrinks.get(billing.creditKey(a.event.transaction_id, level.level)),
          })),
        ),
      now,
    ),
  ];
  return { result: { outcomes, locked, chains }, writes };
}

/** A wallet that blocks on depletion or a blocking budget: limits whose checks read the customer's spend and holds. */
function hasBlockingLimit(b: billing.CustomerBilling | undefined): boolean {
  return b?.wallet.onDepletion === 'block' || b?.blockingBudget !== undefined;
}

/**
 * Events whose customer resells or has a reseller parent: rated through their reseller chains (chain.ts) in batch
 * order. A chain rates in one currency: books of different currencies along it refuse the event, naming both.
 */
async function rateThroughChains(
  events: Located[],
  books: Map<string, Awaited<ReturnType<typeof compiledBook>>>,
  states: Map<string, Record<string, unknown>>,
  outcomes: EventOutcome[],
  billings: Map<string, billing.CustomerBilling>,
  credits: Map<string, billing.EventCredits>,
): Promise<Accepted[]> {
  const ordered: Located[] = [];
  for (const p of [...events].sort((x, y) => x.slot - y.slot)) {
    const currency = books.get(p.bookKey)!.currency;
    const other = p.chain!.find((l) => books.get(l.bookKey)!.currency !== currency);
    if (other)
      outcomes[p.slot] = reject(
        p.index,
        p.event.transaction_id,
        'chain_currency_mismatch',
        'customer_id',
        `Customer "${p.event.customer_id}" is rated in ${currency} but its reseller "${other.externalId}" (level ${other.level}) in ${books.get(other.bookKey)!.currency}: a reseller chain rates in one currency`,
      );
    else ordered.push(p);
  }
  const rated = await rateChains(
    ordered.map((p) => ({
      event: p.event,
      occurredAt: p.occurredAt,
      onBlock: p.onBlock,
      // The reseller levels as they are: each names its customer, period and book as a job's level does.
      levels: [
        { externalId: p.event.customer_id, periodKey: p.periodKey, period: p.period, bookKey: p.bookKey },
        ...p.chain!,
      ],
    })),
    books,
    states,
    billings,
    credits,
  );
  const accepted: Accepted[] = [];
  rated.forEach((outcome, i) => {
    const p = ordered[i];
    if (outcome.status === 'refused') {
      const reseller = outcome.level > 0 ? p.chain![outcome.level - 1] : undefined;
      outcomes[p.slot] = reseller
        ? reject(
            p.index,
            p.event.transaction_id,
            outcome.error.code,
            'customer_id',
            `Refused by reseller "${reseller.externalId}" (level ${reseller.level} of customer "${p.event.customer_id}"'s chain): ${outcome.error.message}`,
          )
        : reject(p.index, p.event.transaction_id, outcome.error.code, outcome.error.field, outcome.error.message);
      return;
    }
    const own = outcome.levels[0];
    const result = p.quote ? quotes.honourQuote(own, p.quote) : own;
    const figures = figuresOf(result);
    const levels: AcceptedLevel[] = new Array(outcome.levels.length - 1);
    for (let k = 1; k < outcome.levels.length; k++) {
      const r = outcome.levels[k];
      const { amount, net, credits } = figuresOf(r);
      levels[k - 1] = { level: p.chain![k - 1], result: r as RatedLine, amount, net, credits };
    }
    // Its own fields before the spread (rateInOrder's comment says why).
    accepted.push({ result: result as RatedLine, amountNano: figures.amount, netNano: figures.net, levels, ...p });
  });
  return accepted;
}

/** chain_daily's deltas for the accepted events' reseller levels (chain-daily.ts). */
function chainDaily(accepted: Accepted[]): repo.ChainDailyDelta[] {
  return chainDailyDeltas(
    accepted
      .filter((a) => a.levels && a.levels.length > 0)
      .map((a) => ({
        occurredAt: a.occurredAt,
        own: { customerId: a.customerId, amount: a.result.amount, receipt: a.result.receipt, netNano: a.netNano },
        levels: a.levels!.map(({ level, result, amount, net }) => ({
          customerId: level.customerId,
          periodStart: level.period.start,
          level: level.level,
          card: result.card,
          currency: result.currency,
          amount: result.amount,
          receipt: result.receipt,
          amountNano: amount,
          netNano: net,
        })),
      })),
  );
}

/**
 * The kernel sees one book and one period per customer per call. Each customer-period's events are rated in
 * batch order: a run of events with the same book goes into one call, the next run into a later call. A
 * customer is in at most one call per round, since its credit grants span its periods (billing.ts carries the
 * balances from one call to the next).
 */
async function rateInOrder(
  events: Located[],
  books: Map<string, Awaited<ReturnType<typeof compiledBook>>>,
  states: Map<string, Record<string, unknown>>,
  outcomes: EventOutcome[],
  billings: Map<string, billing.CustomerBilling>,
  credits: Map<string, billing.EventCredits>,
): Promise<(Located & { result: RatedLine })[]> {
  const accepted: (Located & { result: RatedLine })[] = [];
  const queues = new Map<string, Located[]>();
  for (const p of events) {
    const queue = queues.get(p.periodKey);
    if (queue) queue.push(p);
    else queues.set(p.periodKey, [p]);
  }
  while (queues.size > 0) {
    const calls = new Map<string, { bookId: string; onBlock: OnBlock; events: Located[] }>();
    const inRound = new Set<string>();
    for (const [periodKey, queue] of queues) {
      if (inRound.has(queue[0].customerId)) continue;
      inRound.add(queue[0].customerId);
      let run = 1;
      while (run < queue.length && queue[run].bookKey === queue[0].bookKey && queue[run].onBlock === queue[0].onBlock)
        run++;
      const callKey = `${queue[0].bookKey}|${queue[0].period.start.toISOString()}|${queue[0].onBlock}`;
      const call = calls.get(callKey) ?? { bookId: queue[0].bookKey, onBlock: queue[0].onBlock, events: [] };
      for (let i = 0; i < run; i++) call.events.push(queue[i]);
      calls.set(callKey, call);
      if (run === queue.length) queues.delete(periodKey);
      else queues.set(periodKey, queue.slice(run));
    }
    for (const call of calls.values()) {
      const book = books.get(call.bookId)!;
      const input: StateMap = {};
      for (const p of call.events) {
        input[p.event.customer_id] ??= billing.kernelState(
          billings.get(p.event.customer_id),
          states.get(p.periodKey)!,
          p.period,
          book.currency,
          call.onBlock,
        );
      }
      const output = await rateEvents(
        book,
        input,
        call.events.map((p) => p.event),
      );
      const rated = new Map<
        string,
        { periodKey: string; results: { transactionId: string; occurredAt: Date; result: RatedEvent }[] }
      >();
      output.results.forEach((kernelResult, i) => {
        const p = call.events[i];
        const result = p.quote ? quotes.honourQuote(kernelResult, p.quote) : kernelResult;
        const customer = rated.get(p.event.customer_id) ?? { periodKey: p.periodKey, results: [] };
        customer.results.push({ transactionId: p.event.transaction_id, occurredAt: p.occurredAt, result });
        rated.set(p.event.customer_id, customer);
        // Its own field before the spread: `{ ...p, result }` gives every event a hidden class of its own in V8 (a
        // spread's clone followed by an added key), which makes each later read of its fields megamorphic.
        if (result.status === 'rated') accepted.push({ result: result as RatedLine, ...p });
        else
          outcomes[p.slot] = reject(
            p.index,
            p.event.transaction_id,
            result.error?.code ?? 'rating_failed',
            result.error?.field,
            result.error?.message ?? 'The kernel could not rate this event',
          );
      });
      for (const [customer, { periodKey, results }] of rated) {
        states.set(
          periodKey,
          billing.absorbRating(
            billings.get(customer),
            output.states[customer] as CustomerState & Record<string, unknown>,
            results,
            credits,
          ),
        );
      }
    }
  }
  return accepted;
}

/**
 * The blocking limits each accepted event takes its customer past, walking the events in the order they were
 * rated with the period's spend as budgets count it (what is left to bill plus credits drawn): a `block` budget
 * exceeded after the event, the customer's or one of its budgets per API key (the key that sent the event) or
 * project tag (the event's `project` property), and for a customer who blocks on depletion, a remainder credits
 * did not cover (the kernel rated it as overage because the request accepts such events). `refuse` has the events
 * sent with `on_block: "refuse"` that would exceed a budget: they are taken out and the rest rated again.
 * The rule is the kernel host's limitsCrossed, which the SDK's estimator applies too.
 */
function findBlocks(
  accepted: Accepted[],
  periods: Map<string, periodsRepo.PeriodRow>,
  billings: Map<string, billing.CustomerBilling>,
  scopedLimits: Map<string, billing.ScopedLimit>,
  credits: Map<string, billing.EventCredits>,
  holds: HoldBook,
  now: Date,
): {
  blocks: Map<Located, Block[]>;
  refuse: Map<Located, Refusal>;
  holds: HoldBook;
  holdOutcomes: Map<Located, HoldOutcome>;
} {
  const blocks = new Map<Located, Block[]>();
  const refuse = new Map<Located, Refusal>();
  const holdOutcomes = new Map<Located, HoldOutcome>();
  const refusedDraws = new Map<string, bigint>();
  const spends = new Map<string, bigint>();
  const scopedSpends = new Map<string, bigint>();
  for (const a of [...accepted].sort((x, y) => x.slot - y.slot)) {
    const customer = billings.get(a.event.customer_id);
    // Nothing to check: no blocking limit of the customer's own (its running spend is read only by its own
    // limits, here or as a level of a chain below it), none up its chain (a level's spend and holds are read
    // only by its own limits), no hold to capture.
    if (
      a.holdId === undefined &&
      !hasBlockingLimit(customer) &&
      scopedLimits.size === 0 &&
      (a.levels === undefined || a.levels.every(({ level }) => !hasBlockingLimit(billings.get(level.externalId))))
    )
      continue;
    const row = periods.get(a.periodKey)!;
    // The scopes the event counts for, as ingestion attributes spend to them (billing.writeBilling).
    const project = typeof a.event.properties?.project === 'string' ? a.event.properties.project : null;
    const scopes: { key: string; budget: ScopedBudget }[] = [];
    for (const [kind, value] of [
      ['api_key', a.apiKeyId],
      ['project', project],
    ] as const) {
      if (value === null || value === undefined) continue;
      const key = `${a.periodKey}|${kind}|${value}`;
      const limit = scopedLimits.get(key);
      if (!limit) continue;
      const limitKind = kind === 'api_key' ? ('api_key_budget' as const) : ('project_budget' as const);
      scopes.push({
        key,
        budget: {
          limit: limitKind,
          scope_value: value,
          amount: limit.amount,
          spendBefore: scopedSpends.get(key) ?? limit.spend,
        },
      });
    }
    // Holds: the event draws first on what its own hold holds; the rest must fit what the customer's other open
    // holds leave (they count as spend for the budget, as drawn for a wallet that blocks on depletion). Only
    // events of the current period count holds: a hold is for a request under way.
    const drawn = creditsDrawn(a.result as RatedEvent);
    const charge = nano(a.result.amount) + drawn;
    // This pass rated the events it refuses too: what they drew is still the customer's (the next pass rates without them).
    const refuseHere = (refusal: Refusal) => {
      refuse.set(a, refusal);
      refusedDraws.set(a.customerId, (refusedDraws.get(a.customerId) ?? 0n) + drawn);
      for (const { level, result } of a.levels ?? [])
        refusedDraws.set(
          level.customerId,
          (refusedDraws.get(level.customerId) ?? 0n) + creditsDrawn(result as RatedEvent),
        );
    };
    const current = a.period.start.getTime() <= now.getTime() && now.getTime() < a.period.end.getTime();
    // A reseller up the chain with a blocking budget: a hard limit, it refuses the event whatever `on_block` says,
    // as its credits do under `block` (the kernel refuses those). What the reseller's other open holds set aside
    // (its own, its other customers' rows at its level) is not the event's to spend, as at level 0 below.
    const levelSpends: [string, bigint][] = [];
    let overBudget: Refusal | undefined;
    for (const { level, result, net } of a.levels ?? []) {
      const levelBilling = billings.get(level.externalId);
      const others = current ? holds.othersAt(level.customerId, a.holdId, level.level) : 0n;
      const chainName = () =>
        `reseller "${level.externalId}" (level ${level.level} of customer "${a.event.customer_id}"'s chain)`;
      if (levelBilling?.wallet.onDepletion === 'block' && others > 0n) {
        const free =
          (credits.get(billing.creditKey(a.event.transaction_id, level.level))?.balanceAfter ?? 0n) +
          creditsDrawn(result as RatedEvent) +
          (refusedDraws.get(level.customerId) ?? 0n) -
          others;
        if (net > free) {
          overBudget = {
            code: 'credits_exhausted',
            limit: 'credits',
            message: `Refused by ${chainName()}: its credit not set aside by its open holds (${formatMoney(free)}) does not cover its charge (${formatMoney(net)}) and it blocks on depletion`,
            limit_amount: formatMoney(free > 0n ? free : 0n),
            spend: formatMoney(net),
            exceeded_by: formatMoney(net - (free > 0n ? free : 0n)),
            level: level.level,
          };
          break;
        }
      }
      const budget = levelBilling?.blockingBudget;
      if (budget === undefined) continue;
      const levelRow = periods.get(level.periodKey)!;
      const after = (spends.get(level.periodKey) ?? nano(levelRow.amount) + nano(levelRow.creditsApplied)) + net;
      if (after + others > budget) {
        overBudget = {
          code: 'budget_exceeded',
          limit: 'budget',
          message: `Refused by ${chainName()}: its period's spend (${formatMoney(after)}) and its open holds (${formatMoney(others)}) would exceed its blocking budget (${formatMoney(budget)})`,
          limit_amount: formatMoney(budget),
          spend: formatMoney(after),
          exceeded_by: formatMoney(after + others - budget),
          level: level.level,
        };
        break;
      }
      levelSpends.push([level.periodKey, after]);
    }
    if (overBudget) {
      refuseHere(overBudget);
      continue;
    }
    const assessed = holds.assess(a.customerId, a.holdId, charge);
    if (assessed.hold && assessed.excess > 0n && assessed.hold.overrun === 'refuse') {
      refuseHere({
        code: 'hold_exceeded',
        message: `The event's charge (${formatMoney(charge)}) exceeds what hold "${assessed.hold.id}" holds (${formatMoney(assessed.hold.remaining)}) and the hold refuses overruns`,
      });
      continue;
    }
    const others = current ? assessed.others : 0n;
    const spendBefore = spends.get(a.periodKey) ?? nano(row.amount) + nano(row.creditsApplied);
    const blocksOnDepletion = customer?.wallet.onDepletion === 'block';
    const crossed = limitsCrossed(a.result as RatedEvent, {
      spendBefore: spendBefore + others,
      ...(customer?.blockingBudget !== undefined ? { blockingBudget: customer.blockingBudget } : {}),
      blocksOnDepletion,
      onBlock: a.onBlock,
      scoped: scopes.map((s) => s.budget),
    });
    if (crossed.refuse) {
      refuseHere(crossed.refuse);
      continue;
    }
    const found = [...crossed.blocks];
    if (blocksOnDepletion && others > 0n && !found.some((b) => b.code === 'credits_exhausted')) {
      // Credit the kernel could draw, but that other holds set aside.
      const free =
        (credits.get(a.event.transaction_id)?.balanceAfter ?? 0n) +
        drawn +
        (refusedDraws.get(a.customerId) ?? 0n) -
        others;
      if (charge > free) {
        const block: Block = {
          code: 'credits_exhausted',
          limit: 'credits',
          message: `Credit not set aside by the customer's other holds (${formatMoney(free)}) does not cover this event's charge (${formatMoney(charge)}) and the customer blocks on depletion`,
          limit_amount: formatMoney(free > 0n ? free : 0n),
          spend: formatMoney(charge),
          exceeded_by: formatMoney(charge - (free > 0n ? free : 0n)),
        };
        if (a.onBlock === 'refuse') {
          refuseHere(block);
          continue;
        }
        found.push(block);
      }
    }
    spends.set(a.periodKey, crossed.spendAfter - others);
    for (const [key, after] of levelSpends) spends.set(key, after);
    scopes.forEach((s, i) => scopedSpends.set(s.key, crossed.scopedSpendsAfter[i]));
    if (found.length > 0) blocks.set(a, found);
    if (assessed.hold) {
      const after = holds.capture(assessed.hold.id, 0, a.event.transaction_id, charge, a.holdFinal ?? false)!;
      // The hold's rows at the resellers above draw what each level was charged (holds/levels.ts).
      for (const { level, net } of a.levels ?? [])
        holds.capture(assessed.hold.id, level.level, a.event.transaction_id, net, a.holdFinal ?? false);
      holdOutcomes.set(a, {
        id: assessed.hold.id,
        status: after.status,
        captured: formatMoney(charge),
        held: formatMoney(after.remaining),
      });
    } else if (assessed.closed) {
      holdOutcomes.set(a, { id: a.holdId!, status: assessed.closed, captured: formatMoney(0n), held: formatMoney(0n) });
    }
  }
  return { blocks, refuse, holds, holdOutcomes };
}

/** Why an event was taken out under `refuse`: a blocking limit, or an overrun of a hold that refuses them. */
type Refusal = (Block & { level?: number }) | { code: 'hold_exceeded'; message: string };
type HoldOutcome = NonNullable<Extract<EventOutcome, { status: 'accepted' }>['hold']>;

/**
 * Rates events against a book and a state the caller supplies, storing nothing: what an SDK or edge worker
 * computes locally, served for callers without the kernel. Allowed to publishable keys.
 */
export async function estimateCharges(deps: Deps, actor: Actor, input: EstimateInput): Promise<ApiSchemas['Estimate']> {
  requirePermission(actor, 'estimates.create');
  const book = await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const row = await pricingRepo.findPriceBookByCode(scope, input.price_book);
    if (!row) throw notFound('price_book_not_found', `No price book "${input.price_book}"`);
    const counts = await pricingRepo.countVersions(scope, [row.id]);
    return compiledBook(
      `${actor.tenantId}:${row.id}:${counts.get(row.id)}`,
      async () => (await loadPriceBook(scope, row.id))!,
    );
  });
  const output = await rateEvents(book, input.states as StateMap, input.events as unknown as UsageEvent[]);
  // The kernel's RatedEvent and CustomerState are interfaces; the document describes them as open objects.
  return {
    results: output.results as unknown as ApiSchemas['Estimate']['results'],
    states: output.states as unknown as ApiSchemas['Estimate']['states'],
  };
}
