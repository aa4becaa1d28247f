// Budgets per customer, the alerts they fire (once per threshold and period, at ingestion: events/billing.ts),
// and the entitlement check: may a request of estimated cost X proceed, given the customer's credit in force,
// its depletion policy and its budget? The check answers from the customer's state held in memory
// (check-cache.ts), read from the database when it is not held.
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withinSubtree, withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { notFound } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import * as notify from '../notifications/service.ts';
import { maxChainDepth } from '../customers/chain.ts';
import * as customersRepo from '../customers/repo.ts';
import { requireCustomer } from '../customers/service.ts';
import * as keysRepo from '../keys/repo.ts';
import { grantInForce } from '../wallets/service.ts';
import { cachedCheckState, keepCheckState, loadStarted, type CheckState } from './check-cache.ts';
import * as repo from './repo.ts';
import type {
  CheckInput,
  ListAlertsInput,
  ScopedBudgetPath,
  ScopeKind,
  SetBudgetInput,
} from '@tariff/openapi/schemas/budgets';

export async function setBudget(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: SetBudgetInput,
): Promise<ApiSchemas['Budget']> {
  requirePermission(actor, 'budgets.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const before = await repo.findBudget(scope, customer.id);
    await repo.upsertBudget(scope, {
      customerId: customer.id,
      amount: formatMoney(toNano(input.amount)),
      enforcement: input.enforcement,
      thresholds: input.thresholds,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    });
    const result = await readBudget(scope, customer, now);
    await notifyUnblocked(scope, customer, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'budget.set',
      entityType: 'customer',
      entityId: customer.id,
      before: before ? { amount: before.amount, enforcement: before.enforcement, thresholds: before.thresholds } : null,
      after: { amount: result.amount, enforcement: result.enforcement, thresholds: result.thresholds },
    });
    return result;
  });
}

export async function getBudget(deps: Deps, actor: Actor, externalId: string): Promise<ApiSchemas['Budget']> {
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    return readBudget(scope, await requireCustomer(scope, externalId), now);
  });
}

export async function deleteBudget(deps: Deps, actor: Actor, externalId: string): Promise<ApiSchemas['Deleted']> {
  requirePermission(actor, 'budgets.write');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const before = await repo.findBudget(scope, customer.id);
    if (!before || !(await repo.deleteBudget(scope, customer.id)))
      throw notFound('budget_not_found', `Customer "${externalId}" has no budget`);
    await notifyUnblocked(scope, customer, deps.clock.now());
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'budget.deleted',
      entityType: 'customer',
      entityId: customer.id,
      before: { amount: before.amount, enforcement: before.enforcement, thresholds: before.thresholds },
    });
    return { deleted: true };
  });
}

/**
 * budget.unblocked: after a change of the customer's budget, the budget.blocked of its current period (the same
 * subject, ingestion's: events/billing.ts notifyBlocks) no longer holds: the budget was removed, set to alert,
 * or raised above the period's spend. Once per period, like the block. A new period starts unblocked without one.
 */
async function notifyUnblocked(scope: TenantScope, customer: customersRepo.Customer, now: Date): Promise<void> {
  const period = await repo.findPeriodSpend(scope, customer.id, now);
  if (!period) return;
  const subjectId = `${customer.id}:${period.start.toISOString()}`;
  if (!(await notify.isRecorded(scope, 'budget.blocked', subjectId))) return;
  const budget = await repo.findBudget(scope, customer.id);
  const spend = toNano(period.spend);
  if (budget?.enforcement === 'block' && spend >= toNano(budget.amount)) return;
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'budget.unblocked',
    customerId: customer.id,
    subjectId,
    payload: {
      customer_id: customer.externalId,
      currency: await customersRepo.findRatingCurrency(scope, customer.id),
      period_start: period.start.toISOString(),
      spend: formatMoney(spend),
      budget: budget ? { amount: formatMoney(toNano(budget.amount)), enforcement: budget.enforcement } : null,
      reason: !budget ? 'budget_removed' : budget.enforcement === 'alert' ? 'enforcement_alert' : 'budget_raised',
    },
    createdAt: now,
  });
}

export async function listAlerts(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: ListAlertsInput,
): Promise<ApiSchemas['BudgetAlertList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    let periodStart: Date | undefined;
    if (input.at) {
      const period = await repo.findPeriodSpend(scope, customer.id, new Date(input.at));
      if (!period) return { data: [] };
      periodStart = period.start;
    }
    return { data: (await repo.listAlerts(scope, customer.id, periodStart)).map(toApiAlert) };
  });
}

type CheckReason = ApiSchemas['EntitlementCheck']['reasons'][number];

/**
 * Pure: whether a request of `cost` may proceed. Under `block` the credit in force must cover the whole cost
 * (the kernel rejects an event whose remainder is not covered); a blocking budget must not be exceeded.
 */
export function decideEntitlement(input: {
  cost: bigint;
  onDepletion: 'overage' | 'block';
  creditBalance: bigint;
  budget?: { amount: bigint; enforcement: 'alert' | 'block'; spend: bigint };
  /** Budgets of the request's API key and project tag. */
  scoped?: { kind: ScopeKind; value: string; amount: bigint; enforcement: 'alert' | 'block'; spend: bigint }[];
}): CheckReason[] {
  const reasons: CheckReason[] = [];
  if (input.onDepletion === 'block' && input.cost > input.creditBalance) {
    reasons.push({
      code: 'credits_exhausted',
      message: `Credit in force (${formatMoney(input.creditBalance)}) does not cover the estimated cost and the customer blocks on depletion`,
    });
  }
  if (input.budget?.enforcement === 'block' && input.budget.spend + input.cost > input.budget.amount) {
    reasons.push({
      code: 'budget_exceeded',
      message: `The period's spend (${formatMoney(input.budget.spend)}) plus the estimated cost would exceed the budget (${formatMoney(input.budget.amount)})`,
    });
  }
  for (const b of input.scoped ?? []) {
    if (b.enforcement === 'block' && b.spend + input.cost > b.amount) {
      reasons.push({
        code: 'budget_exceeded',
        message: `The ${b.kind === 'api_key' ? 'API key' : 'project'} ${b.value}'s spend this period (${formatMoney(b.spend)}) plus the estimated cost would exceed its budget (${formatMoney(b.amount)})`,
      });
    }
  }
  return reasons;
}

export async function checkEntitlement(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: CheckInput,
): Promise<ApiSchemas['EntitlementCheck']> {
  requirePermission(actor, 'entitlements.check');
  const now = deps.clock.now();
  const state =
    cachedCheckState(deps.db, deps.logger, actor.tenantId, externalId, now) ??
    (await loadCheckState(deps, actor.tenantId, externalId, now));
  if (!state) throw notFound('customer_not_found', `No customer "${externalId}"`);
  // The request's scopes: its API key (the calling key unless named) and its project tag.
  const answer = answerCheck(
    state,
    externalId,
    input,
    input.api_key_id ?? (actor.type === 'api_key' ? actor.id : undefined),
    now,
  );
  // Every reseller up the chain must let it through too (ingestion refuses an event any level refuses).
  const cost = toNano(input.estimated_cost);
  let child = state;
  for (let level = 1; child.parentExternalId !== null && level <= maxChainDepth; level++) {
    const parentId = child.parentExternalId;
    // Read tenant-wide: a reseller-scoped caller cannot see the resellers above it, but their limits bind its
    // subtree (ingestion refuses what they refuse, naming them), so the check asks them too.
    const parent =
      cachedCheckState(deps.db, deps.logger, actor.tenantId, parentId, now) ??
      (await withinSubtree({ tenantId: actor.tenantId }, () => loadCheckState(deps, actor.tenantId, parentId, now)));
    if (!parent?.isReseller) break;
    answer.reasons.push(...resellerReasons(parent, cost, now).map((r) => ({ ...r, level, reseller_id: parentId })));
    child = parent;
  }
  answer.allowed = answer.reasons.length === 0;
  return answer;
}

/** Why a reseller up the chain refuses a request of `cost` (its own customers' and budgets aside: those are its children's). */
function resellerReasons(state: CheckState, cost: bigint, now: Date): CheckReason[] {
  const level = (message: string) => `Reseller up the customer's chain: ${message}`;
  const reasons: CheckReason[] = [];
  if (state.blocked)
    reasons.push({
      code: 'customer_blocked',
      message: level("blocked: an invoice is unpaid past the dunning policy's delay"),
    });
  if (state.onDepletion === 'block') {
    const credit = creditInForce(state, {}, now);
    const available = credit - heldAt(state, now);
    if (cost > available)
      reasons.push({
        code: 'credits_exhausted',
        message: level(
          `its credit in force (${formatMoney(available)}) does not cover the estimated cost and it blocks on depletion`,
        ),
      });
  }
  const spend = (state.period?.spend ?? 0n) + heldAt(state, now);
  if (state.budget?.enforcement === 'block' && spend + cost > state.budget.amount)
    reasons.push({
      code: 'budget_exceeded',
      message: level(
        `its period's spend (${formatMoney(spend)}) plus the estimated cost would exceed its budget (${formatMoney(state.budget.amount)})`,
      ),
    });
  return reasons;
}

/** Pure: the check's answer from the customer's state at `now`, for a request sent with `apiKeyId` (if any). */
export function answerCheck(
  state: CheckState,
  externalId: string,
  input: CheckInput,
  apiKeyId: string | undefined,
  now: Date,
): ApiSchemas['EntitlementCheck'] {
  const scoped = state.scopedBudgets
    .filter(
      (b) => (b.kind === 'api_key' && b.value === apiKeyId) || (b.kind === 'project' && b.value === input.project),
    )
    .map((b) => ({ ...b, spend: state.scopedSpend.get(`${b.kind}:${b.value}`) ?? 0n }));
  // Scoped credit counts only when the request says what it is; an unnamed request could be anything.
  const creditBalance = creditInForce(state, input, now);
  const cost = toNano(input.estimated_cost);
  const spend = state.period?.spend ?? 0n;
  // Open holds set aside credit and budget for requests under way: what they hold is not available to this one.
  const held = heldAt(state, now);
  const reasons = decideEntitlement({
    cost,
    onDepletion: state.onDepletion,
    creditBalance: creditBalance - held,
    budget: state.budget
      ? { amount: state.budget.amount, enforcement: state.budget.enforcement, spend: spend + held }
      : undefined,
    scoped,
  });
  if (state.blocked)
    reasons.unshift({
      code: 'customer_blocked',
      message: "The customer is blocked: an invoice is unpaid past the dunning policy's delay",
    });
  return {
    customer_id: externalId,
    allowed: reasons.length === 0,
    reasons,
    estimated_cost: formatMoney(cost),
    currency: state.currency,
    on_depletion: state.onDepletion,
    credit_balance: formatMoney(creditBalance),
    held: formatMoney(held),
    available_balance: formatMoney(creditBalance - held),
    budget: state.budget
      ? {
          amount: formatMoney(state.budget.amount),
          enforcement: state.budget.enforcement,
          spend: formatMoney(spend),
          remaining: formatMoney(state.budget.amount - spend - held),
        }
      : null,
    scoped_budgets: scoped.map((b) => ({
      kind: b.kind,
      value: b.value,
      amount: formatMoney(b.amount),
      enforcement: b.enforcement,
      spend: formatMoney(b.spend),
      remaining: formatMoney(b.amount - b.spend),
    })),
    as_of: now.toISOString(),
  };
}

/**
 * Credit in force at `now` that would pay for a request of this card and event type: scoped credit counts only when
 * the request says what it is (an unnamed request could be anything).
 */
function creditInForce(state: CheckState, request: Pick<CheckInput, 'card' | 'event_type'>, now: Date): bigint {
  let credit = 0n;
  for (const g of state.grants.values())
    if (
      grantInForce({ status: 'active', effectiveAt: g.effectiveAt, expiresAt: g.expiresAt }, now) &&
      (!g.scopeCards || (request.card !== undefined && g.scopeCards.includes(request.card))) &&
      (!g.scopeEventTypes || (request.event_type !== undefined && g.scopeEventTypes.includes(request.event_type)))
    )
      credit += g.balance;
  return credit;
}

/** What the customer's open holds set aside at `now` (a hold past its expiry no longer counts, expired or not yet). */
export function heldAt(state: Pick<CheckState, 'holds'>, now: Date): bigint {
  let held = 0n;
  for (const hold of state.holds.values()) if (hold.expiresAt > now.getTime()) held += hold.remaining;
  return held;
}

/** The check's state from the database (one statement), kept in memory for the next checks when nothing raced it. */
async function loadCheckState(
  deps: Deps,
  tenantId: string,
  externalId: string,
  now: Date,
): Promise<CheckState | undefined> {
  const since = loadStarted();
  let state: CheckState | undefined;
  try {
    state = await withTenant(deps.db, tenantId, (tx) => repo.readCheckState({ db: tx, tenantId }, externalId, now));
    return state;
  } finally {
    keepCheckState(deps.db, externalId, state, since);
  }
}

/**
 * Sets the budget of one API key (its id) or one project tag of the customer. Spend is attributed at ingestion
 * to the key that sent each event and to its `project` property; a customer's first scoped budget recovers the
 * period's spend by project from its rated lines (not by key: events do not record it).
 */
export async function setScopedBudget(
  deps: Deps,
  actor: Actor,
  path: ScopedBudgetPath,
  input: SetBudgetInput,
): Promise<ApiSchemas['ScopedBudget']> {
  requirePermission(actor, 'budgets.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, path.id);
    if (path.kind === 'api_key' && !(await keysRepo.findApiKey(scope, path.value))) {
      throw notFound('api_key_not_found', `No API key "${path.value}"`);
    }
    const [before] = await repo.listScopedBudgets(scope, customer.id, [{ kind: path.kind, value: path.value }]);
    const first = !before && !(await repo.hasScopedBudgets(scope, customer.id));
    await repo.upsertScopedBudget(scope, {
      id: before?.id ?? crypto.randomUUID(),
      customerId: customer.id,
      kind: path.kind,
      value: path.value,
      amount: formatMoney(toNano(input.amount)),
      enforcement: input.enforcement,
      thresholds: input.thresholds,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    });
    const period = await repo.findPeriodSpend(scope, customer.id, now);
    if (first && period) await repo.backfillProjectSpend(scope, customer.id, period.start, now);
    const [result] = await readScopedBudgets(scope, customer, now, [{ kind: path.kind, value: path.value }]);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'scoped_budget.set',
      entityType: 'customer',
      entityId: customer.id,
      before: before
        ? {
            kind: before.kind,
            value: before.value,
            amount: before.amount,
            enforcement: before.enforcement,
            thresholds: before.thresholds,
          }
        : null,
      after: {
        kind: result.kind,
        value: result.value,
        amount: result.amount,
        enforcement: result.enforcement,
        thresholds: result.thresholds,
      },
    });
    return result;
  });
}

export async function listScopedBudgets(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['ScopedBudgetList']> {
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    return { data: await readScopedBudgets(scope, await requireCustomer(scope, externalId), now) };
  });
}

export async function deleteScopedBudget(
  deps: Deps,
  actor: Actor,
  path: ScopedBudgetPath,
): Promise<ApiSchemas['Deleted']> {
  requirePermission(actor, 'budgets.write');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, path.id);
    const deleted = await repo.deleteScopedBudget(scope, customer.id, path.kind, path.value);
    if (!deleted)
      throw notFound('budget_not_found', `Customer "${path.id}" has no budget for ${path.kind} "${path.value}"`);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'scoped_budget.deleted',
      entityType: 'customer',
      entityId: customer.id,
      before: {
        kind: deleted.kind,
        value: deleted.value,
        amount: deleted.amount,
        enforcement: deleted.enforcement,
        thresholds: deleted.thresholds,
      },
    });
    return { deleted: true };
  });
}

async function readScopedBudgets(
  scope: TenantScope,
  customer: customersRepo.Customer,
  now: Date,
  only?: { kind: ScopeKind; value: string }[],
): Promise<ApiSchemas['ScopedBudget'][]> {
  const budgets = await repo.listScopedBudgets(scope, customer.id, only);
  const period = await repo.findPeriodSpend(scope, customer.id, now);
  const [spend, alerts, currency] = await Promise.all([
    repo.findScopedSpend(
      scope,
      customer.id,
      now,
      budgets.map((b) => ({ kind: b.kind, value: b.value })),
    ),
    period ? repo.listScopedAlerts(scope, customer.id, period.start) : Promise.resolve([]),
    customersRepo.findRatingCurrency(scope, customer.id),
  ]);
  return budgets.map((b) => {
    const amount = toNano(b.amount);
    const used = toNano(spend.get(`${b.kind}:${b.value}`) ?? '0');
    return {
      customer_id: customer.externalId,
      kind: b.kind,
      value: b.value,
      currency,
      amount: formatMoney(amount),
      enforcement: b.enforcement,
      thresholds: b.thresholds,
      updated_at: b.updatedAt.toISOString(),
      current_period: period
        ? {
            start: period.start.toISOString(),
            end: period.end.toISOString(),
            spend: formatMoney(used),
            remaining: formatMoney(amount - used),
            alerts: alerts
              .filter((a) => a.kind === b.kind && a.value === b.value)
              .map((a) => ({
                period_start: a.periodStart.toISOString(),
                threshold: a.threshold,
                budget_amount: formatMoney(toNano(a.budgetAmount)),
                spend: formatMoney(toNano(a.spend)),
                fired_at: a.firedAt.toISOString(),
              })),
          }
        : null,
    };
  });
}

async function readBudget(
  scope: TenantScope,
  customer: customersRepo.Customer,
  now: Date,
): Promise<ApiSchemas['Budget']> {
  const budget = await repo.findBudget(scope, customer.id);
  if (!budget) throw notFound('budget_not_found', `Customer "${customer.externalId}" has no budget`);
  const [period, currency] = await Promise.all([
    repo.findPeriodSpend(scope, customer.id, now),
    customersRepo.findRatingCurrency(scope, customer.id),
  ]);
  const alerts = period ? await repo.listAlerts(scope, customer.id, period.start) : [];
  const amount = toNano(budget.amount);
  const spend = period ? toNano(period.spend) : 0n;
  return {
    customer_id: customer.externalId,
    // Spend is what the kernel rated, in the customer's price books' currency; invoices convert it at close.
    currency,
    amount: formatMoney(amount),
    enforcement: budget.enforcement,
    thresholds: budget.thresholds,
    updated_at: budget.updatedAt.toISOString(),
    current_period: period
      ? {
          start: period.start.toISOString(),
          end: period.end.toISOString(),
          spend: formatMoney(spend),
          remaining: formatMoney(amount - spend),
          alerts: alerts.map(toApiAlert),
        }
      : null,
  };
}

function toApiAlert(alert: repo.Alert): ApiSchemas['BudgetAlert'] {
  return {
    period_start: alert.periodStart.toISOString(),
    threshold: alert.threshold,
    budget_amount: formatMoney(toNano(alert.budgetAmount)),
    spend: formatMoney(toNano(alert.spend)),
    fired_at: alert.firedAt.toISOString(),
  };
}
