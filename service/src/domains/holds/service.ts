// Spend holds (issue 18): place, read, extend, release and expire. A hold sets aside part of a customer's credit
// and budget for a request under way, under the same locks as ingestion (the customer's grants, then its
// period), so that holds and events of one customer are decided one after the other: fifty agents that each
// get a hold can together spend no more than the balance. Events carrying the hold's id capture it at ingestion
// (settle.ts, events/service.ts); the scheduler expires what nobody captured or released (jobs.ts).
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { isUniqueViolation, withTenant, withTenantPipelined, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { findRatingCurrency, requireCustomer } from '../customers/service.ts';
import * as periodsRepo from '../periods/index.ts';
import { compiledBook, rateEvents } from '../events/rating.ts';
import * as notify from '../notifications/service.ts';
import * as billing from '../events/billing.ts';
import type { Customer } from '../customers/repo.ts';
import { loadRatingContext, type RatingContext } from '../snapshots/service.ts';
import * as budgetsRepo from '../budgets/repo.ts';
import { heldAt } from '../budgets/service.ts';
import { grantInForce } from '../wallets/service.ts';
import * as repo from './repo.ts';
import { currentBalanceKey, publicBalanceKeys, signBalanceToken, type BalanceClaims } from './token.ts';
import type { ExtendHoldInput, HoldEstimate, ListHoldsQuery, PlaceHoldInput } from '@tariff/openapi/schemas/holds';

type Hold = ApiSchemas['Hold'];
type RefusalCode = 'insufficient_balance' | 'budget_exceeded' | 'blocked';

/** What the customer may still set aside: null where no limit applies (overage wallet, no blocking budget). */
interface Availability {
  creditBalance: bigint;
  held: bigint;
  balance: bigint | null;
  budget: bigint | null;
  blocked: string | null;
}

export async function placeHold(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: PlaceHoldInput,
): Promise<{ created: boolean; hold: Hold }> {
  requirePermission(actor, 'events.write');
  const now = deps.clock.now();
  const requestHash = hashRequest(externalId, input);
  // Pipelined (platform/db.ts): BEGIN goes out with the first statements and COMMIT right behind the insert, so the
  // customer's locks are held for two round trips: the one that takes the period lock, and the insert's.
  return withTenantPipelined(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // The replay's read goes out with the locks' first statements (one round trip); a replay takes the locks too.
    const [existing, locked] = await Promise.all([
      repo.findHold(scope, input.id),
      lockCustomer(scope, externalId, now, { withBook: input.estimate !== undefined }),
    ]);
    if (existing)
      return { result: { created: false, hold: await answerReplay(scope, existing, requestHash, now) }, writes: [] };
    const priced = input.estimate
      ? await priceEstimate(actor.tenantId, locked.context!, input.estimate, now)
      : { amount: toNano(input.amount!), card: null };
    const availability = availabilityOf(locked, now);
    refuseUnlessAvailable(availability, priced.amount);
    const { customer } = locked;
    const hold = {
      id: input.id,
      customerId: customer.id,
      currency: locked.ratingCurrency,
      amount: formatMoney(priced.amount),
      status: 'open' as const,
      overrun: input.overrun,
      estimate: input.estimate ?? null,
      card: priced.card,
      requestHash,
      apiKeyId: actor.type === 'api_key' ? actor.id : null,
      expiresAt: new Date(now.getTime() + input.expires_in * 1000),
      createdAt: now,
      updatedAt: now,
    };
    const writes = [
      repo.insertHold(scope, hold),
      notifyLowBalance(scope, customer, locked.ratingCurrency, availability, priced.amount, locked.period.start, now),
    ];
    return {
      result: {
        created: true,
        hold: toApiHold(
          { ...hold, customerExternalId: customer.externalId, captured: '0', captureCount: 0, closedAt: null },
          now,
        ),
      },
      writes,
    };
  }).catch(async (error: unknown) => {
    // Two requests placing the same id at once: the loser answers as a replay of the winner.
    if (!isUniqueViolation(error, 'holds_pkey')) throw error;
    return withTenant(deps.db, actor.tenantId, async (tx) => {
      const scope = { db: tx, tenantId: actor.tenantId };
      return {
        created: false,
        hold: await answerReplay(scope, (await repo.findHold(scope, input.id))!, requestHash, now),
      };
    });
  });
}

async function answerReplay(scope: TenantScope, existing: repo.HoldRow, requestHash: string, now: Date): Promise<Hold> {
  if (existing.requestHash !== requestHash) {
    throw conflict('hold_id_reused', `Hold "${existing.id}" was placed with another request; choose a new id`, [
      { field: 'id', reason: 'already names a different hold' },
    ]);
  }
  return toApiHold(existing, now, await repo.listCaptures(scope, existing.id));
}

function hashRequest(externalId: string, input: PlaceHoldInput): string {
  const canonical = JSON.stringify([
    externalId,
    input.amount === undefined ? null : formatMoney(toNano(input.amount)),
    input.estimate ?? null,
    input.expires_in,
    input.overrun,
  ]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
}

/** One customer under ingestion's locks, with what its open holds set aside read under them. */
interface LockedCustomer {
  customer: Customer;
  billing: billing.CustomerBilling | undefined;
  period: periodsRepo.PeriodRow;
  held: bigint;
  /** What holds and the check count in: the customer's price books' currency (customers/rating-currency.ts). */
  ratingCurrency: string;
  /** The book and state to price an estimate with, when asked for. */
  context?: RatingContext;
}

/**
 * Takes the customer's locks in ingestion's order: its active grants (loadBilling), then its current period row
 * (lockPeriods); the open holds are summed by the next statement on the connection, so under both locks.
 */
async function lockCustomer(
  scope: TenantScope,
  externalId: string,
  now: Date,
  options: { withBook: boolean; exceptHold?: string },
): Promise<LockedCustomer> {
  let customer: Customer;
  let customerBilling: billing.CustomerBilling | undefined;
  let context: RatingContext | undefined;
  if (options.withBook) {
    context = await loadRatingContext(scope, externalId, now);
    ({ customer, billing: customerBilling } = context);
  } else {
    const [found, billings] = await Promise.all([
      requireCustomer(scope, externalId),
      billing.loadBilling(scope, [externalId]),
    ]);
    customer = found;
    // A path naming the customer by Tariff's id: its billing is under its external id.
    customerBilling =
      billings.get(customer.externalId) ??
      (customer.externalId === externalId
        ? undefined
        : (await billing.loadBilling(scope, [customer.externalId])).get(customer.externalId));
  }
  const bounds = context?.period ?? billing.periodFor(customerBilling, now);
  const [periods, held, ratingCurrency] = await Promise.all([
    periodsRepo.lockPeriods(scope, [{ customerId: customer.id, start: bounds.start, end: bounds.end }], { now }),
    repo.sumOpenHolds(scope, customer.id, now, options.exceptHold),
    findRatingCurrency(scope, customer.id),
  ]);
  const period = periods.get(periodsRepo.periodKey({ customerId: customer.id, start: bounds.start }))!;
  return {
    customer,
    billing: customerBilling,
    period,
    held: toNano(held),
    ratingCurrency,
    ...(context ? { context } : {}),
  };
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

/** Under the locks: the credit in force, what open holds set aside, and what is left of each blocking limit. */
function availabilityOf({ billing: customerBilling, period, held }: LockedCustomer, now: Date): Availability {
  let creditBalance = 0n;
  for (const grant of customerBilling?.wallet.grants ?? [])
    if (grantInForce(grant, now)) creditBalance += customerBilling!.balances.get(grant.id) ?? 0n;
  const blocks = customerBilling?.wallet.onDepletion === 'block';
  const spend = toNano(period.amount) + toNano(period.creditsApplied);
  const budget = customerBilling?.blockingBudget;
  let blocked: string | null = null;
  // Already past a blocking limit this period (an event accepted beyond it under on_block "accept").
  if (blocks && toNano(period.amount) > 0n)
    blocked = `usage this period went past the credit (${formatMoney(toNano(period.amount))} billed beyond it) and the customer blocks on depletion`;
  if (budget !== undefined && spend >= budget)
    blocked = `the period's spend (${formatMoney(spend)}) has reached the blocking budget (${formatMoney(budget)})`;
  return {
    creditBalance,
    held,
    balance: blocks ? creditBalance - held : null,
    budget: budget === undefined ? null : budget - spend - held,
    blocked,
  };
}

function refuseUnlessAvailable(a: Availability, amount: bigint): void {
  const details = [
    {
      field: 'available.balance',
      reason: a.balance === null ? 'no limit (the customer does not block on depletion)' : formatMoney(a.balance),
    },
    { field: 'available.budget', reason: a.budget === null ? 'no limit (no blocking budget)' : formatMoney(a.budget) },
    { field: 'available.held', reason: formatMoney(a.held) },
  ];
  const refuse = (code: RefusalCode, message: string) =>
    precondition(code, message, [{ field: 'amount', reason: message }, ...details]);
  if (a.blocked) throw refuse('blocked', `The customer is blocked: ${a.blocked}`);
  if (a.balance !== null && amount > a.balance) {
    throw refuse(
      'insufficient_balance',
      `The hold (${formatMoney(amount)}) exceeds the available balance (${formatMoney(a.balance)}: credit ${formatMoney(a.creditBalance)} minus ${formatMoney(a.held)} held)`,
    );
  }
  if (a.budget !== null && amount > a.budget)
    throw refuse(
      'budget_exceeded',
      `The hold (${formatMoney(amount)}) exceeds what the blocking budget leaves (${formatMoney(a.budget)})`,
    );
}

/**
 * The outbox's `balance.low`, once per customer and period: a hold left the available balance (credit minus open
 * holds) below the hold's own amount, so the next request of its size would be refused.
 */
async function notifyLowBalance(
  scope: TenantScope,
  customer: Customer,
  currency: string,
  before: Availability,
  amount: bigint,
  periodStart: Date,
  now: Date,
): Promise<void> {
  if (before.balance === null) return;
  const available = before.balance - amount;
  if (available >= amount) return;
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'balance.low',
    customerId: customer.id,
    subjectId: `${customer.id}:${periodStart.toISOString()}`,
    payload: {
      customer_id: customer.externalId,
      currency,
      credit_balance: formatMoney(before.creditBalance),
      held: formatMoney(before.held + amount),
      available_balance: formatMoney(available),
      period_start: periodStart.toISOString(),
    },
    createdAt: now,
  });
}

export async function getHold(deps: Deps, actor: Actor, externalId: string, holdId: string): Promise<Hold> {
  requirePermission(actor, 'usage.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const hold = await requireHold(scope, externalId, holdId);
    return toApiHold(hold, now, await repo.listCaptures(scope, hold.id));
  });
}

export async function listHolds(
  deps: Deps,
  actor: Actor,
  externalId: string,
  query: ListHoldsQuery,
): Promise<ApiSchemas['HoldList']> {
  requirePermission(actor, 'usage.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const rows = await repo.listHolds(scope, customer.id, query);
    return {
      data: rows.map((r) => toApiHold(r, now)),
      held: formatMoney(
        heldNow(
          rows.filter((r) => r.status === 'open'),
          now,
        ),
      ),
    };
  });
}

/** Sum of what open holds still set aside at `now`. */
function heldNow(rows: repo.HoldRow[], now: Date): bigint {
  let held = 0n;
  for (const r of rows) if (r.status === 'open' && r.expiresAt.getTime() > now.getTime()) held += remainingOf(r);
  return held;
}

function remainingOf(r: Pick<repo.HoldRow, 'amount' | 'captured'>): bigint {
  const left = toNano(r.amount) - toNano(r.captured);
  return left > 0n ? left : 0n;
}

async function requireHold(
  scope: TenantScope,
  externalId: string,
  holdId: string,
  lock = false,
): Promise<repo.HoldRow> {
  const customer = await requireCustomer(scope, externalId);
  const hold = await repo.findHold(scope, holdId, lock);
  if (!hold || hold.customerId !== customer.id)
    throw notFound('hold_not_found', `Customer "${externalId}" has no hold "${holdId}"`);
  return hold;
}

/**
 * Extends an open hold: a later expiry, a larger amount, or both. A larger amount is decided like a new hold
 * (under the same locks, against what the other holds leave). Idempotent: extending to what the hold already
 * states changes nothing.
 */
export async function extendHold(
  deps: Deps,
  actor: Actor,
  externalId: string,
  holdId: string,
  input: ExtendHoldInput,
): Promise<Hold> {
  requirePermission(actor, 'events.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const locked = await lockCustomer(scope, externalId, now, { withBook: false, exceptHold: holdId });
    const hold = await requireHold(scope, externalId, holdId, true);
    if (hold.status !== 'open' || hold.expiresAt.getTime() <= now.getTime()) {
      throw precondition(
        'hold_closed',
        `Hold "${holdId}" is ${hold.status === 'open' ? 'expired' : hold.status}: place a new one`,
        [{ field: 'hold_id', reason: `is ${hold.status}` }],
      );
    }
    const change: { amount?: string; expiresAt?: Date } = {};
    if (input.amount !== undefined) {
      const amount = toNano(input.amount);
      if (amount < toNano(hold.amount))
        throw invalid('hold_amount_decreased', 'An extension cannot hold less than the hold does; release it instead', [
          { field: 'amount', reason: `is below the held ${formatMoney(toNano(hold.amount))}` },
        ]);
      if (amount > toNano(hold.amount)) {
        const availability = availabilityOf(locked, now);
        refuseUnlessAvailable(availability, amount - toNano(hold.captured));
        change.amount = formatMoney(amount);
      }
    }
    if (input.expires_in !== undefined) change.expiresAt = new Date(now.getTime() + input.expires_in * 1000);
    await repo.updateHold(scope, hold.id, change, now);
    const updated = {
      ...hold,
      ...(change.amount ? { amount: change.amount } : {}),
      ...(change.expiresAt ? { expiresAt: change.expiresAt } : {}),
      updatedAt: now,
    };
    return toApiHold(updated, now, await repo.listCaptures(scope, hold.id));
  });
}

/** Releases an open hold (what it still holds is free again). Idempotent: a closed hold answers as it stands. */
export async function releaseHold(deps: Deps, actor: Actor, externalId: string, holdId: string): Promise<Hold> {
  requirePermission(actor, 'events.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const hold = await requireHold(scope, externalId, holdId, true);
    if (hold.status !== 'open') return toApiHold(hold, now, await repo.listCaptures(scope, hold.id));
    await repo.updateHold(scope, hold.id, { status: 'released', closedAt: now }, now);
    return toApiHold(
      { ...hold, status: 'released', closedAt: now, updatedAt: now },
      now,
      await repo.listCaptures(scope, hold.id),
    );
  });
}

/** The scheduler's expiry of one hold: closed, and `hold.expired` recorded, once. A hold extended meanwhile stays. */
export async function expireHold(deps: Deps, tenantId: string, holdId: string): Promise<boolean> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const hold = await repo.findHold(scope, holdId, true);
    if (!hold || hold.status !== 'open' || hold.expiresAt.getTime() > now.getTime()) return false;
    await repo.updateHold(scope, hold.id, { status: 'expired', closedAt: now }, now);
    await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'hold.expired',
      customerId: hold.customerId,
      subjectId: hold.id,
      payload: {
        customer_id: hold.customerExternalId,
        hold_id: hold.id,
        currency: hold.currency,
        amount: formatMoney(toNano(hold.amount)),
        captured: formatMoney(toNano(hold.captured)),
        released: formatMoney(remainingOf(hold)),
        expires_at: hold.expiresAt.toISOString(),
      },
      createdAt: now,
    });
    return true;
  });
}

export function toApiHold(
  r: Omit<repo.HoldRow, 'requestHash' | 'apiKeyId'>,
  now: Date,
  captures?: Awaited<ReturnType<typeof repo.listCaptures>>,
): Hold {
  const open = r.status === 'open' && r.expiresAt.getTime() > now.getTime();
  return {
    id: r.id,
    customer_id: r.customerExternalId,
    currency: r.currency,
    status: r.status,
    amount: formatMoney(toNano(r.amount)),
    captured: formatMoney(toNano(r.captured)),
    held: formatMoney(open ? remainingOf(r) : 0n),
    capture_count: r.captureCount,
    overrun: r.overrun,
    estimate: r.estimate as Hold['estimate'],
    card: r.card,
    expires_at: r.expiresAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    closed_at: r.closedAt?.toISOString() ?? null,
    ...(captures
      ? {
          captures: captures.map((c) => ({
            transaction_id: c.transactionId,
            amount: formatMoney(toNano(c.amount)),
            final: c.final,
            captured_at: c.capturedAt.toISOString(),
          })),
        }
      : {}),
  };
}

/** How long a balance token holds: a gateway refetches it often, since every event and hold moves the balance. */
export const balanceTokenSeconds = 60;

/**
 * A signed statement of the customer's balance and open holds now (token.ts), for a gateway to refuse locally
 * what the server would refuse. Read from the database: what every commit before it left.
 */
export async function getBalanceToken(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['BalanceToken']> {
  requirePermission(actor, 'entitlements.check');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const state = await budgetsRepo.readCheckState(scope, externalId, now);
    if (!state) throw notFound('customer_not_found', `No customer "${externalId}"`);
    let credit = 0n;
    for (const g of state.grants.values())
      if (grantInForce({ status: 'active', effectiveAt: g.effectiveAt, expiresAt: g.expiresAt }, now))
        credit += g.balance;
    const held = heldAt(state, now);
    const spend = state.period?.spend ?? 0n;
    const iat = Math.floor(now.getTime() / 1000);
    const claims: BalanceClaims = {
      typ: 'tariff.balance',
      tid: actor.tenantId,
      sub: externalId,
      cur: state.currency,
      bal: formatMoney(credit),
      held: formatMoney(held),
      avl: formatMoney(credit - held),
      bud: state.budget?.enforcement === 'block' ? formatMoney(state.budget.amount - spend - held) : null,
      dep: state.onDepletion,
      holds: [...state.holds]
        .filter(([, h]) => h.expiresAt > now.getTime())
        .map(([id, h]) => ({ id, held: formatMoney(h.remaining), exp: Math.floor(h.expiresAt / 1000) }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      iat,
      exp: iat + balanceTokenSeconds,
    };
    const token = signBalanceToken(await currentBalanceKey(scope, now), claims);
    return { token, expires_at: new Date(claims.exp * 1000).toISOString(), claims };
  });
}

/** The tenant's published verification keys (JWKS); the first call creates the key pair. Publishable keys may read it. */
export async function getBalanceTokenKeys(deps: Deps, actor: Actor): Promise<ApiSchemas['BalanceTokenKeys']> {
  requirePermission(actor, 'estimates.create');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    await currentBalanceKey(scope, deps.clock.now());
    return publicBalanceKeys(scope);
  });
}
