// Budgets per customer, the alerts they fire (once per threshold and period, at ingestion: events/billing.ts),
// and the entitlement check: may a request of estimated cost X proceed, given the customer's credit in force,
// its depletion policy and its budget?
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { notFound } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import * as customersRepo from '../customers/repo.ts';
import * as walletsRepo from '../wallets/repo.ts';
import { grantInForce } from '../wallets/service.ts';
import * as repo from './repo.ts';
import type { CheckInput, ListAlertsInput, SetBudgetInput } from './schema.ts';

export async function setBudget(deps: Deps, actor: Actor, externalId: string, input: SetBudgetInput): Promise<ApiSchemas['Budget']> {
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
    if (!before || !(await repo.deleteBudget(scope, customer.id))) throw notFound('budget_not_found', `Customer "${externalId}" has no budget`);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'budget.deleted',
      entityType: 'customer',
      entityId: customer.id,
      before: { amount: before.amount, enforcement: before.enforcement, thresholds: before.thresholds },
    });
    return { deleted: true };
  });
}

export async function listAlerts(deps: Deps, actor: Actor, externalId: string, input: ListAlertsInput): Promise<ApiSchemas['BudgetAlertList']> {
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
}): CheckReason[] {
  const reasons: CheckReason[] = [];
  if (input.onDepletion === 'block' && input.cost > input.creditBalance) {
    reasons.push({ code: 'credits_exhausted', message: `Credit in force (${formatMoney(input.creditBalance)}) does not cover the estimated cost and the customer blocks on depletion` });
  }
  if (input.budget?.enforcement === 'block' && input.budget.spend + input.cost > input.budget.amount) {
    reasons.push({ code: 'budget_exceeded', message: `The period's spend (${formatMoney(input.budget.spend)}) plus the estimated cost would exceed the budget (${formatMoney(input.budget.amount)})` });
  }
  return reasons;
}

export async function checkEntitlement(deps: Deps, actor: Actor, externalId: string, input: CheckInput): Promise<ApiSchemas['EntitlementCheck']> {
  requirePermission(actor, 'entitlements.check');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const [policy, grants, budget, period] = await Promise.all([
      walletsRepo.findWalletPolicy(scope, customer.id),
      walletsRepo.listGrants(scope, customer.id, 'active'),
      repo.findBudget(scope, customer.id),
      repo.findPeriodSpend(scope, customer.id, now),
    ]);
    // Scoped credit counts only when the request says what it is; an unnamed request could be anything.
    const eligible = grants.filter(
      (g) =>
        grantInForce(g, now) &&
        (!g.scopeCards || (input.card !== undefined && g.scopeCards.includes(input.card))) &&
        (!g.scopeEventTypes || (input.event_type !== undefined && g.scopeEventTypes.includes(input.event_type))),
    );
    const creditBalance = eligible.reduce((sum, g) => sum + toNano(g.balance), 0n);
    const cost = toNano(input.estimated_cost);
    const spend = period ? toNano(period.spend) : 0n;
    const budgetAmount = budget ? toNano(budget.amount) : 0n;
    const reasons = decideEntitlement({
      cost,
      onDepletion: policy,
      creditBalance,
      budget: budget ? { amount: budgetAmount, enforcement: budget.enforcement, spend } : undefined,
    });
    return {
      customer_id: externalId,
      allowed: reasons.length === 0,
      reasons,
      estimated_cost: formatMoney(cost),
      currency: customer.currency,
      on_depletion: policy,
      credit_balance: formatMoney(creditBalance),
      budget: budget
        ? {
            amount: formatMoney(budgetAmount),
            enforcement: budget.enforcement,
            spend: formatMoney(spend),
            remaining: formatMoney(budgetAmount - spend),
          }
        : null,
      as_of: now.toISOString(),
    };
  });
}

async function readBudget(scope: TenantScope, customer: customersRepo.Customer, now: Date): Promise<ApiSchemas['Budget']> {
  const budget = await repo.findBudget(scope, customer.id);
  if (!budget) throw notFound('budget_not_found', `Customer "${customer.externalId}" has no budget`);
  const period = await repo.findPeriodSpend(scope, customer.id, now);
  const alerts = period ? await repo.listAlerts(scope, customer.id, period.start) : [];
  const amount = toNano(budget.amount);
  const spend = period ? toNano(period.spend) : 0n;
  return {
    customer_id: customer.externalId,
    currency: customer.currency,
    amount: formatMoney(amount),
    enforcement: budget.enforcement,
    thresholds: budget.thresholds,
    updated_at: budget.updatedAt.toISOString(),
    current_period: period
      ? { start: period.start.toISOString(), end: period.end.toISOString(), spend: formatMoney(spend), remaining: formatMoney(amount - spend), alerts: alerts.map(toApiAlert) }
      : null,
  };
}

async function requireCustomer(scope: TenantScope, externalId: string) {
  const customer = await customersRepo.findCustomerByExternalId(scope, externalId);
  if (!customer) throw notFound('customer_not_found', `No customer "${externalId}"`);
  return customer;
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
