// Placing holds with group commit: concurrent placements of one tenant share a transaction (events/coalesce.ts,
// as one-event ingestion requests do), so the customers' locks are taken and their state read once per group,
// and one insert and one COMMIT carry every hold of it. Each placement is still decided alone, in arrival order,
// against what the holds before it in the group set aside, and answered with its own outcome after the COMMIT:
// nothing is acknowledged before it is durable.
import type { ApiSchemas } from '../../platform/api.ts';
import { isConnectionFailure, withinSubtree, withTenantPipelined, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, conflict, invalid, notFound } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { uuidPattern } from '../customers/service.ts';
import * as billing from '../events/billing.ts';
import { Coalescer } from '../events/coalesce.ts';
import { compiledBook, rateEvents } from '../events/rating.ts';
import * as notify from '../notifications/service.ts';
import * as periodsRepo from '../periods/index.ts';
import { loadRatingContext, type RatingContext } from '../snapshots/service.ts';
import {
  availabilityOf,
  chainOf,
  decideLevels,
  levelStates,
  lockLevels,
  lockPeriodsAndHolds,
  type Availability,
} from './levels.ts';
import * as repo from './repo.ts';
import type { HoldEstimate, PlaceHoldInput } from '@tariff/openapi/schemas/holds';
import crypto from 'node:crypto';

type Hold = ApiSchemas['Hold'];

/** One request to place a hold, as authenticated and parsed. */
export interface Placement {
  /** The customer as the path names it (external id, or Tariff's id). */
  ref: string;
  input: PlaceHoldInput;
  requestHash: string;
  apiKeyId: string | null;
}

export type PlacementOutcome = { ok: true; created: boolean; hold: Hold } | { ok: false; error: AppError };

const coalescers = new WeakMap<Deps['db'], Coalescer<Placement, PlacementOutcome>>();

/**
 * Places the hold in a transaction shared with the tenant's other waiting placements. Run tenant-wide: a
 * subtree-scoped caller's customer was admitted before, and the resellers above it are locked and held too.
 */
export async function submitPlacement(deps: Deps, tenantId: string, placement: Placement): Promise<PlacementOutcome> {
  let coalescer = coalescers.get(deps.db);
  if (!coalescer) {
    coalescer = new Coalescer(
      (tenant, placements) => withinSubtree({ tenantId: tenant }, () => placeHolds(deps, tenant, placements)),
      // Two groups at once (one waits on the locks or the COMMIT while the next one's reads go out), the second only
      // once a few placements wait: smaller groups would each pay the transaction's round trips (BENCHMARKS.md).
      // A group waits for the placements measured to be on their way, at most a group's duration (linger.ts).
      {
        maxRunning: 2,
        maxItems: 500,
        minItemsToOverlap: 4,
        isIsolable: (error) => !isConnectionFailure(error),
        linger: true,
      },
    );
    coalescers.set(deps.db, coalescer);
  }
  return (await coalescer.submit(tenantId, [placement])).get(placement)!;
}

/**
 * The period each customer was last decided in, per pool, by tenant and the ref its placements named it by: for a
 * customer without a reseller above it whose grants the group's first statement locks (named by its external id).
 * A group whose every customer is here sends their period locks and holds' sums behind the grant locks, in its first
 * round trip, and checks them against the billing read there: a round trip fewer while a customer stays in its period.
 * Bounded: past `maxLastPeriods`, it starts over.
 */
const lastPeriods = new WeakMap<Deps['db'], Map<string, periodsRepo.PeriodBounds>>();
const maxLastPeriods = 100_000;
const lastPeriodKey = (tenantId: string, ref: string) => `${tenantId}|${ref}`;

/** The group was decided against periods that are no longer its customers' (rolled back; run again without them). */
const stalePeriods = new Error("a placement group locked periods that are no longer its customers'");

/**
 * One group's transaction: reads and locks, then each placement decided in order, then one insert and COMMIT. With
 * the periods of every customer of the group known from before, those are locked in the first round trip; when one
 * of them turns out to be wrong, the transaction is rolled back and run again the long way.
 */
export async function placeHolds(
  deps: Deps,
  tenantId: string,
  placements: Placement[],
): Promise<Map<Placement, PlacementOutcome>> {
  let known = lastPeriods.get(deps.db);
  if (!known) lastPeriods.set(deps.db, (known = new Map()));
  const refs = [...new Set(placements.map((p) => p.ref))];
  const expected = refs.map((ref) => known.get(lastPeriodKey(tenantId, ref)));
  if (expected.every((period) => period !== undefined)) {
    try {
      return await placeGroup(deps, tenantId, placements, new Map(refs.map((ref, k) => [ref, expected[k]!])));
    } catch (error) {
      if (error !== stalePeriods) throw error;
      for (const ref of refs) known.delete(lastPeriodKey(tenantId, ref));
    }
  }
  return placeGroup(deps, tenantId, placements);
}

async function placeGroup(
  deps: Deps,
  tenantId: string,
  placements: Placement[],
  expected?: Map<string, periodsRepo.PeriodBounds>,
): Promise<Map<Placement, PlacementOutcome>> {
  const now = deps.clock.now();
  const outcomes = new Map<Placement, PlacementOutcome>();
  const fail = (p: Placement, error: unknown) => {
    if (!(error instanceof AppError)) throw error;
    outcomes.set(p, { ok: false, error });
  };
  const knownPeriods = periodsRepo.knownPeriodsOf(deps.db);
  let locked: string[] = [];
  let learnt: [ref: string, period: periodsRepo.PeriodBounds][] = [];
  const result = await withTenantPipelined(
    deps.db,
    tenantId,
    async (tx) => {
      const scope = { db: tx, tenantId };
      const refs = [...new Set(placements.map((p) => p.ref))];
      // One round trip: the customers with their ancestors and which ids are placed already, (locked) the billing of
      // the customers named by external id, and behind those locks the expected periods (locked) with their holds'
      // sums; the rest (resellers above, customers named by Tariff's id, periods not expected) come next.
      const billings = new Map<string, billing.CustomerBilling>();
      const [{ holders, placed }, , expectedLocks] = await Promise.all([
        repo.findHoldersAndPlaced(
          scope,
          refs.map((ref) => ({ ref, uuid: uuidPattern.test(ref) ? ref.toLowerCase() : null })),
          placements.map((p) => p.input.id),
        ),
        billing.loadBilling(scope, refs).then((found) => found.forEach((b, id) => billings.set(id, b))),
        expected && lockPeriodsAndHolds(scope, [...expected.values()], now, undefined, knownPeriods),
      ]);
      // The refs whose grants that round trip locked, with their period now: what the next group may expect.
      const periodsNow = new Map<string, periodsRepo.PeriodBounds>();
      for (const ref of refs) {
        const holder = holders.get(ref);
        const found = holder && billings.get(ref);
        const chain = holder && chainOf(holder);
        if (!found || found.wallet.customerId !== holder.customerId || !Array.isArray(chain) || chain.length > 0)
          continue;
        periodsNow.set(ref, { customerId: holder.customerId, ...billing.periodFor(found, now) });
      }
      if (expected) {
        const same = (a?: periodsRepo.PeriodBounds, b?: periodsRepo.PeriodBounds) =>
          a !== undefined &&
          b !== undefined &&
          a.customerId === b.customerId &&
          a.start.getTime() === b.start.getTime() &&
          a.end.getTime() === b.end.getTime();
        if (refs.some((ref) => !same(expected.get(ref), periodsNow.get(ref)))) throw stalePeriods;
      }
      const chains = new Map<Placement, { holder: repo.Holder; chain: repo.Holder['ancestors'] }>();
      const fresh = placements.filter((p) => !placed.has(p.input.id));
      for (const p of fresh) {
        const holder = holders.get(p.ref);
        if (!holder) {
          fail(p, notFound('customer_not_found', `No customer "${p.ref}"`));
          continue;
        }
        const chain = chainOf(holder);
        if (chain instanceof AppError) fail(p, chain);
        else chains.set(p, { holder, chain });
      }
      const customers = [...chains.values()].flatMap(({ holder, chain }) => [holder, ...chain]);
      // The replays' holds as they stand, with their captures, after the locks (a replay is answered from them).
      const replays = async () => {
        if (placed.size === 0) return { existing: new Map<string, repo.HoldRow>(), captures: new Map() };
        const existing = await repo.findHolds(scope, [...placed]);
        const found = await Promise.all(
          [...existing.values()].map(async (h) => [h.id, await repo.listCaptures(scope, h.id)] as const),
        );
        return { existing, captures: new Map(found) };
      };
      const [levels, priced, { existing, captures }] = await Promise.all([
        expectedLocks
          ? levelStates(customers, billings, expectedLocks)
          : lockLevels(scope, customers, billings, now, undefined, knownPeriods),
        pricePlacements(scope, tenantId, chains, now),
        replays(),
      ]);
      locked = [...levels.values()].map((l) =>
        periodsRepo.periodKey({ customerId: l.customerId, start: l.period.start }),
      );
      learnt = [...periodsNow];

      const rows: repo.NewHold[] = [];
      const decided = new Map<string, Placement>();
      const notices = new Map<string, Omit<notify.Notification, 'customerExternalId'>>();
      for (const p of placements) {
        if (outcomes.has(p)) continue;
        const stored = existing.get(p.input.id);
        const earlier = decided.get(p.input.id);
        if (stored || earlier) {
          // A replay (of a hold placed before, or earlier in this group) answers it as it stands.
          if ((stored?.requestHash ?? earlier!.requestHash) !== p.requestHash) fail(p, reused(p.input.id));
          else if (stored)
            outcomes.set(p, { ok: true, created: false, hold: toApiHold(stored, now, captures.get(stored.id)) });
          else {
            const first = outcomes.get(earlier!)!;
            outcomes.set(p, first.ok ? { ...first, created: false } : first);
          }
          continue;
        }
        decided.set(p.input.id, p);
        const price = priced.get(p)!;
        if (price instanceof AppError) {
          fail(p, price);
          continue;
        }
        const { holder, chain } = chains.get(p)!;
        const at = [holder, ...chain].map((c) => levels.get(c.customerId)!);
        const before = availabilityOf(at[0], now);
        const refusal = decideLevels(at, price.amounts, now);
        if (refusal) {
          fail(p, refusal);
          continue;
        }
        const hold = newHold(p, holder, price, now);
        const above = chain.map((c, k) => ({
          ...hold,
          level: k + 1,
          customerId: c.customerId,
          amount: formatMoney(price.amounts[k + 1]),
        }));
        rows.push(hold, ...above);
        const notice = lowBalanceNotice(holder, at[0].period.start, before, price.amounts[0], now);
        if (notice && !notices.has(notice.subjectId)) notices.set(notice.subjectId, notice);
        outcomes.set(p, {
          ok: true,
          created: true,
          hold: toApiHold(
            {
              ...hold,
              customerExternalId: holder.externalId,
              captured: '0',
              captureCount: 0,
              closedAt: null,
              levels: above.map((row, k) => ({
                level: row.level,
                customerExternalId: chain[k].externalId,
                amount: row.amount,
                captured: '0',
              })),
            },
            now,
          ),
        });
      }
      const writes = rows.length > 0 ? [repo.insertHolds(scope, rows)] : [];
      if (notices.size > 0) writes.push(notify.recordManyOnce(scope, [...notices.values()]));
      // The customers' locks go as soon as the COMMIT is written, not after the disk flush every answer still
      // waits for: the next group of the same customers is decided meanwhile. Not when a notice is written: the
      // outbox's deliverer must never send what a crash could still take back.
      return { result: outcomes, writes, releaseBeforeFlush: notices.size === 0 };
    },
    { genericPlans: true, asyncCommit: true },
  );
  // Committed: the periods it locked exist, and are its customers' until their billing says otherwise.
  periodsRepo.rememberPeriods(deps.db, locked);
  const known = lastPeriods.get(deps.db)!;
  if (known.size + learnt.length > maxLastPeriods) known.clear();
  for (const [ref, period] of learnt) known.set(lastPeriodKey(tenantId, ref), period);
  return result;
}

function reused(id: string): AppError {
  return conflict('hold_id_reused', `Hold "${id}" was placed with another request; choose a new id`, [
    { field: 'id', reason: 'already names a different hold' },
  ]);
}

function newHold(p: Placement, holder: repo.Holder, price: Price, now: Date): repo.NewHold {
  return {
    id: p.input.id,
    level: 0,
    customerId: holder.customerId,
    currency: holder.currency,
    amount: formatMoney(price.amounts[0]),
    status: 'open',
    overrun: p.input.overrun,
    estimate: p.input.estimate ?? null,
    card: price.card,
    requestHash: p.requestHash,
    apiKeyId: p.apiKeyId,
    expiresAt: new Date(now.getTime() + p.input.expires_in * 1000),
    createdAt: now,
    updatedAt: now,
  };
}

/** What a hold sets aside at each level of its chain (0: its customer), and the card that priced level 0. */
export interface Price {
  amounts: bigint[];
  card: string | null;
}

/**
 * Each placement's amounts: as given (the same at every level: an upper bound of each reseller's cost), or its
 * estimate priced at every level by that level's own book (a failure is that placement's).
 */
async function pricePlacements(
  scope: TenantScope,
  tenantId: string,
  placements: Map<Placement, { holder: repo.Holder; chain: repo.Holder['ancestors'] }>,
  now: Date,
): Promise<Map<Placement, Price | AppError>> {
  const prices = new Map<Placement, Price | AppError>();
  await Promise.all(
    [...placements].map(async ([p, { chain }]) => {
      if (!p.input.estimate) {
        const amount = toNano(p.input.amount!);
        return prices.set(p, { amounts: [amount, ...chain.map(() => amount)], card: null });
      }
      try {
        prices.set(
          p,
          await priceLevels(scope, tenantId, [p.ref, ...chain.map((c) => c.externalId)], p.input.estimate, now),
        );
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        prices.set(p, error);
      }
    }),
  );
  return prices;
}

/**
 * An estimate priced at each level by its own book, as ingestion rates the event at each level of the chain:
 * `refs[0]` the customer, `refs[k]` the reseller at level k (what its parent's book charges it). A level that
 * cannot price it fails the whole, named.
 */
export async function priceLevels(
  scope: TenantScope,
  tenantId: string,
  refs: string[],
  estimate: HoldEstimate,
  now: Date,
): Promise<Price> {
  const prices = await Promise.all(
    refs.map(async (ref, level) => {
      try {
        return await priceEstimate(tenantId, await loadRatingContext(scope, ref, now), estimate, now);
      } catch (error) {
        if (!(error instanceof AppError) || level === 0) throw error;
        throw new AppError(error.kind, error.code, `At reseller "${ref}" (level ${level}): ${error.message}`, [
          ...error.details,
          { field: 'level', reason: String(level) },
          { field: 'reseller_id', reason: ref },
        ]);
      }
    }),
  );
  return { amounts: prices.map((p) => p.amount), card: prices[0].card };
}

/**
 * The worst case of the request at the price in force: the kernel rates the estimate as ingestion would rate the
 * event now, without credits (a hold sets aside the charge, whoever pays it) and never refusing for depletion.
 */
async function priceEstimate(
  tenantId: string,
  context: RatingContext,
  estimate: HoldEstimate,
  now: Date,
): Promise<{ amount: bigint; card: string | null }> {
  const { id, versions, book } = context.priceBook;
  const compiled = await compiledBook(`${tenantId}:${id}:${versions}`, async () => book);
  const state = { ...context.state, grants: [], on_depletion: 'overage' as const };
  const event = {
    transaction_id: 'hold-estimate',
    customer_id: context.customer.externalId,
    event_type: estimate.event_type,
    timestamp: now.toISOString(),
    properties: estimate.properties,
  };
  const [rated] = (await rateEvents(compiled, { [event.customer_id]: state }, [event])).results;
  if (rated.status !== 'rated') {
    const field = rated.error?.field ? `estimate.${rated.error.field}` : 'estimate';
    throw invalid(
      rated.error?.code ?? 'rating_failed',
      rated.error?.message ?? 'The kernel could not price this estimate',
      [{ field, reason: rated.error?.message ?? 'cannot be rated' }],
    );
  }
  const amount = toNano(rated.amount!);
  if (amount <= 0n)
    throw invalid('estimate_free', 'The estimate prices at nothing: there is nothing to hold', [
      { field: 'estimate', reason: `prices at ${rated.amount} (card ${rated.card})` },
    ]);
  return { amount, card: rated.card ?? null };
}

/**
 * The outbox's `balance.low` (recorded once per customer and period): a hold left the available balance (credit minus open
 * holds) below the hold's own amount, so the next request of its size would be refused.
 */
function lowBalanceNotice(
  holder: repo.Holder,
  periodStart: Date,
  before: Availability,
  amount: bigint,
  now: Date,
): Omit<notify.Notification, 'customerExternalId'> | undefined {
  if (before.balance === null) return undefined;
  const available = before.balance - amount;
  if (available >= amount) return undefined;
  return {
    id: crypto.randomUUID(),
    type: 'balance.low',
    customerId: holder.customerId,
    subjectId: `${holder.customerId}:${periodStart.toISOString()}`,
    payload: {
      customer_id: holder.externalId,
      currency: holder.currency,
      credit_balance: formatMoney(before.creditBalance),
      held: formatMoney(before.held + amount),
      available_balance: formatMoney(available),
      period_start: periodStart.toISOString(),
    },
    createdAt: now,
  };
}

export function toApiHold(
  r: Omit<repo.HoldRow, 'requestHash' | 'apiKeyId' | 'level'>,
  now: Date,
  captures?: Awaited<ReturnType<typeof repo.listCaptures>>,
): Hold {
  const open = r.status === 'open' && r.expiresAt.getTime() > now.getTime();
  const [amount, captured] = [toNano(r.amount), toNano(r.captured)];
  return {
    id: r.id,
    customer_id: r.customerExternalId,
    currency: r.currency,
    status: r.status,
    amount: formatMoney(amount),
    captured: formatMoney(captured),
    held: formatMoney(open ? remaining(amount, captured) : 0n),
    capture_count: r.captureCount,
    overrun: r.overrun,
    estimate: r.estimate as Hold['estimate'],
    card: r.card,
    expires_at: r.expiresAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    closed_at: r.closedAt?.toISOString() ?? null,
    levels: (r.levels ?? []).map((l) => {
      const [amount, captured] = [toNano(l.amount), toNano(l.captured)];
      return {
        level: l.level,
        reseller_id: l.customerExternalId,
        amount: formatMoney(amount),
        captured: formatMoney(captured),
        held: formatMoney(open ? remaining(amount, captured) : 0n),
      };
    }),
    ...(captures
      ? {
          captures: captures
            .filter((c) => c.level === 0)
            .map((c) => ({
              transaction_id: c.transactionId,
              amount: formatMoney(toNano(c.amount)),
              final: c.final,
              captured_at: c.capturedAt.toISOString(),
            })),
        }
      : {}),
  };
}

export function remainingOf(r: Pick<repo.HoldRow, 'amount' | 'captured'>): bigint {
  return remaining(toNano(r.amount), toNano(r.captured));
}

function remaining(amount: bigint, captured: bigint): bigint {
  return amount > captured ? amount - captured : 0n;
}
