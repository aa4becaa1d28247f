// Spend holds (issue 18): place, read, extend, release and expire. A hold sets aside part of a customer's credit
// and budget for a request under way, under the same locks as ingestion (the customer's grants, then its
// period), so that holds and events of one customer are decided one after the other: fifty agents that each
// get a hold can together spend no more than the balance. Events carrying the hold's id capture it at ingestion
// (settle.ts, events/service.ts); the scheduler expires what nobody captured or released (jobs.ts).
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withinSubtree, withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { requireCustomer } from '../customers/service.ts';
import * as notify from '../notifications/service.ts';
import * as budgetsRepo from '../budgets/repo.ts';
import { heldAt } from '../budgets/service.ts';
import { grantInForce } from '../wallets/service.ts';
import { decideLevels, lockLevels } from './levels.ts';
import { priceLevels, remainingOf, submitPlacement, toApiHold, type Price } from './place.ts';
import * as repo from './repo.ts';
import { currentBalanceKey, publicBalanceKeys, signBalanceToken, type BalanceClaims } from './token.ts';
import type { ExtendHoldInput, ListHoldsQuery, PlaceHoldInput } from '@tariff/openapi/schemas/holds';

type Hold = ApiSchemas['Hold'];

export async function placeHold(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: PlaceHoldInput,
): Promise<{ created: boolean; hold: Hold }> {
  requirePermission(actor, 'events.write');
  await admitCustomer(deps, actor, externalId);
  const outcome = await submitPlacement(deps, actor.tenantId, {
    ref: externalId,
    input,
    requestHash: hashRequest(externalId, input),
    apiKeyId: actor.type === 'api_key' ? actor.id : null,
  });
  if (!outcome.ok) throw outcome.error;
  return { created: outcome.created, hold: outcome.hold };
}

/**
 * A reseller-scoped caller may act on its subtree's customers only: checked here under its scope (the database
 * decides what it sees). What follows runs tenant-wide, since the resellers above the customer are held too.
 */
async function admitCustomer(deps: Deps, actor: Actor, externalId: string): Promise<void> {
  if (!actor.subtreeRootId) return;
  await withTenant(deps.db, actor.tenantId, (tx) => requireCustomer({ db: tx, tenantId: actor.tenantId }, externalId));
}

function hashRequest(externalId: string, input: PlaceHoldInput): string {
  const canonical = JSON.stringify([
    externalId,
    input.amount === undefined ? null : formatMoney(toNano(input.amount)),
    input.estimate ?? null,
    input.expires_in,
    input.overrun,
  ]);
  return crypto.hash('sha256', canonical, 'hex');
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
  await admitCustomer(deps, actor, externalId);
  const now = deps.clock.now();
  return withinSubtree({ tenantId: actor.tenantId }, () =>
    withTenant(deps.db, actor.tenantId, async (tx) => {
      const scope = { db: tx, tenantId: actor.tenantId };
      const { hold, levels, rows } = await lockHold(scope, externalId, holdId, now);
      if (hold.status !== 'open' || hold.expiresAt.getTime() <= now.getTime()) {
        throw precondition(
          'hold_closed',
          `Hold "${holdId}" is ${hold.status === 'open' ? 'expired' : hold.status}: place a new one`,
          [{ field: 'hold_id', reason: `is ${hold.status}` }],
        );
      }
      const change: Parameters<typeof repo.updateHold>[2] = {};
      // The new worst case priced at every level as a placement prices it (an estimate by each level's own book).
      let price: Price | undefined;
      if (input.amount !== undefined) price = { amounts: rows.map(() => toNano(input.amount!)), card: null };
      else if (input.estimate !== undefined) {
        const refs = rows.map((r) => r.customerExternalId);
        price = await priceLevels(scope, actor.tenantId, refs, input.estimate, now);
      }
      if (price) {
        if (price.amounts[0] < toNano(hold.amount))
          throw invalid(
            'hold_amount_decreased',
            'An extension cannot hold less than the hold does; release it instead',
            [
              {
                field: input.amount === undefined ? 'estimate' : 'amount',
                reason: `${input.amount === undefined ? `prices at ${formatMoney(price.amounts[0])}, ` : ''}below the held ${formatMoney(toNano(hold.amount))}`,
              },
            ],
          );
        // No level holds less than it did (a reseller's book may price the new worst case below its old amount).
        const amounts = rows.map((r, k) => (price.amounts[k] > toNano(r.amount) ? price.amounts[k] : toNano(r.amount)));
        if (amounts.some((a, k) => a > toNano(rows[k].amount))) {
          // Decided like a new hold at every level, against what the other holds leave.
          const refusal = decideLevels(
            levels,
            rows.map((r, k) => amounts[k] - toNano(r.captured)),
            now,
          );
          if (refusal) throw refusal;
          change.amounts = amounts.map(formatMoney);
        }
        if (input.estimate !== undefined) Object.assign(change, { estimate: input.estimate, card: price.card });
      }
      if (input.expires_in !== undefined) change.expiresAt = new Date(now.getTime() + input.expires_in * 1000);
      await repo.updateHold(scope, hold.id, change, now);
      const amountAt = (k: number) => change.amounts?.[k] ?? rows[k].amount;
      const updated = {
        ...hold,
        amount: amountAt(0),
        ...(change.estimate ? { estimate: change.estimate, card: change.card ?? null } : {}),
        ...(change.expiresAt ? { expiresAt: change.expiresAt } : {}),
        updatedAt: now,
        levels: rows.slice(1).map((r) => ({
          level: r.level,
          customerExternalId: r.customerExternalId,
          amount: amountAt(r.level),
          captured: r.captured,
        })),
      };
      return toApiHold(updated, now, await repo.listCaptures(scope, hold.id));
    }),
  );
}

/**
 * A hold of the customer with each of its levels locked in ingestion's order (grants and periods of every level,
 * then the hold's rows), the other holds summed under the locks.
 */
async function lockHold(scope: TenantScope, externalId: string, holdId: string, now: Date) {
  const hold = await requireHold(scope, externalId, holdId);
  const rows = await repo.lockHoldLevels(scope, holdId, false);
  const customers = rows.map((r) => ({ customerId: r.customerId, externalId: r.customerExternalId }));
  const states = await lockLevels(scope, customers, new Map(), now, holdId);
  const locked = await repo.lockHoldLevels(scope, holdId, true);
  return { hold: locked[0] ?? hold, levels: locked.map((r) => states.get(r.customerId)!), rows: locked };
}

/** Releases an open hold (what it still holds is free again). Idempotent: a closed hold answers as it stands. */
export async function releaseHold(deps: Deps, actor: Actor, externalId: string, holdId: string): Promise<Hold> {
  requirePermission(actor, 'events.write');
  await admitCustomer(deps, actor, externalId);
  const now = deps.clock.now();
  // Tenant-wide: every level of the hold is released, those at resellers above a scoped caller's subtree too.
  return withinSubtree({ tenantId: actor.tenantId }, () =>
    withTenant(deps.db, actor.tenantId, async (tx) => {
      const scope = { db: tx, tenantId: actor.tenantId };
      const hold = await requireHold(scope, externalId, holdId, true);
      if (hold.status !== 'open') return toApiHold(hold, now, await repo.listCaptures(scope, hold.id));
      await repo.updateHold(scope, hold.id, { status: 'released', closedAt: now }, now);
      return toApiHold(
        { ...hold, status: 'released', closedAt: now, updatedAt: now },
        now,
        await repo.listCaptures(scope, hold.id),
      );
    }),
  );
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
