// Subscriptions tie a customer to a plan from an instant: the plan's price book rates the customer's usage
// from then on, the plan's terms (allowances, minimum, discount) go into the kernel state (events/billing.ts),
// and periods follow the subscription's anchor (periods.ts). Period close runs as a job (jobs.ts).
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, invalid, notFound, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as customersRepo from '../customers/repo.ts';
import * as eventsRepo from '../events/repo.ts';
import * as plansRepo from '../plans/repo.ts';
import { periodAt, type Period, type SubscriptionTerms } from './periods.ts';
import * as repo from './repo.ts';
import type { CreateSubscriptionInput } from './schema.ts';

export function termsOf(row: Pick<repo.SubscriptionTermsRow, 'startedAt' | 'interval' | 'anchorDay' | 'anchorMonth'>): SubscriptionTerms {
  return { startedAt: row.startedAt, cadence: { interval: row.interval, anchorDay: row.anchorDay, ...(row.anchorMonth ? { anchorMonth: row.anchorMonth } : {}) } };
}

export async function subscribe(deps: Deps, actor: Actor, externalId: string, input: CreateSubscriptionInput): Promise<ApiSchemas['Subscription']> {
  requirePermission(actor, 'subscriptions.write');
  const now = deps.clock.now();
  const startedAt = new Date(Math.floor((input.started_at ? Date.parse(input.started_at) : now.getTime()) / 1000) * 1000);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await customersRepo.findCustomerByExternalId(scope, externalId);
    if (!customer) throw notFound('customer_not_found', `No customer "${externalId}"`);
    const plan = await plansRepo.findPlanByCode(scope, input.plan);
    if (!plan) throw invalid('plan_not_found', `No plan "${input.plan}"`, [{ field: 'plan', reason: 'no such plan' }]);
    if (plan.archivedAt) throw precondition('plan_archived', `Plan "${plan.code}" is archived`, [{ field: 'plan', reason: 'archived' }]);
    if (plan.currency !== customer.currency) {
      throw precondition('currency_mismatch', `Plan "${plan.code}" bills in ${plan.currency}, the customer in ${customer.currency}`, [
        { field: 'plan', reason: `bills in ${plan.currency}, not the customer's ${customer.currency}` },
      ]);
    }
    if (await repo.findSubscription(scope, customer.id)) throw conflict('subscription_exists', `Customer "${externalId}" already has a subscription`);
    // Periods never overlap: billing on the plan starts where the customer's existing periods end.
    const latestEnd = await repo.findLatestPeriodEnd(scope, customer.id);
    if (latestEnd && latestEnd.getTime() > startedAt.getTime()) {
      throw precondition('period_overlap', 'A subscription starts at or after the end of the customer\'s latest billing period', [
        { field: 'started_at', reason: `must be at or after ${latestEnd.toISOString()}` },
      ]);
    }
    const assignments = await customersRepo.listAssignments(scope, customer.id);
    const latest = assignments.at(-1);
    const alreadyRated = latest && latest.priceBookId === plan.priceBookId && latest.effectiveFrom.getTime() <= startedAt.getTime();
    if (!alreadyRated) {
      if (latest && latest.effectiveFrom.getTime() >= startedAt.getTime()) {
        throw precondition('assignment_not_after_latest', "The plan's price book must take effect after the customer's latest assignment", [
          { field: 'started_at', reason: `must be after ${latest.effectiveFrom.toISOString()}` },
        ]);
      }
      await customersRepo.insertAssignment(scope, { customerId: customer.id, priceBookId: plan.priceBookId, effectiveFrom: startedAt, createdAt: now, createdBy: `${actor.type}:${actor.id}` });
    }
    const subscription: repo.Subscription = {
      id: crypto.randomUUID(),
      customerId: customer.id,
      planId: plan.id,
      startedAt,
      anchorDay: input.anchor_day ?? startedAt.getUTCDate(),
      anchorMonth: plan.interval === 'year' ? startedAt.getUTCMonth() + 1 : null,
      discountPercent: input.discount_percent ?? '0',
      status: 'active',
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
    };
    await repo.insertSubscription(scope, subscription);
    // The first period exists from the start, so it closes (and bills its base fee) even without usage.
    const terms = termsOf({ ...subscription, interval: plan.interval });
    const first = periodAt(terms, startedAt);
    await eventsRepo.lockPeriods(scope, [{ customerId: customer.id, ...first }], now);
    const result = toApiSubscription(subscription, externalId, plan, periodAt(terms, now.getTime() < startedAt.getTime() ? startedAt : now));
    await recordChange(tx, deps.clock, actor, actor.tenantId, { action: 'subscription.created', entityType: 'subscription', entityId: subscription.id, after: result });
    return result;
  });
}

export async function getSubscription(deps: Deps, actor: Actor, externalId: string): Promise<ApiSchemas['Subscription']> {
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await customersRepo.findCustomerByExternalId(scope, externalId);
    if (!customer) throw notFound('customer_not_found', `No customer "${externalId}"`);
    const subscription = await repo.findSubscription(scope, customer.id);
    if (!subscription) throw notFound('subscription_not_found', `Customer "${externalId}" has no subscription`);
    const plan = (await plansRepo.findPlanById(scope, subscription.planId))!;
    const terms = termsOf({ ...subscription, interval: plan.interval });
    return toApiSubscription(subscription, externalId, plan, periodAt(terms, now.getTime() < subscription.startedAt.getTime() ? subscription.startedAt : now));
  });
}

/** After a period closes, the subscription's next period is opened so it closes in turn, with or without usage. */
export async function openNextPeriod(scope: TenantScope, customerId: string, closed: Period, now: Date): Promise<Period | undefined> {
  const terms = await repo.findTermsByCustomerId(scope, customerId);
  if (!terms || closed.end.getTime() < terms.startedAt.getTime()) return undefined;
  const next = periodAt(termsOf(terms), closed.end);
  await eventsRepo.lockPeriods(scope, [{ customerId, ...next }], now);
  return next;
}

function toApiSubscription(s: repo.Subscription, customerExternalId: string, plan: plansRepo.Plan, current: Period): ApiSchemas['Subscription'] {
  return {
    id: s.id,
    customer_id: customerExternalId,
    plan: plan.code,
    interval: plan.interval,
    started_at: s.startedAt.toISOString(),
    anchor_day: s.anchorDay,
    anchor_month: s.anchorMonth,
    discount_percent: s.discountPercent,
    status: s.status,
    current_period: { start: current.start.toISOString(), end: current.end.toISOString() },
    created_at: s.createdAt.toISOString(),
    created_by: s.createdBy,
  };
}

