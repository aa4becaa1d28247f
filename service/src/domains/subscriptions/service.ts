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
import { formatPercent } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import * as notify from '../notifications/service.ts';
import * as customersRepo from '../customers/repo.ts';
import { requireCustomer, requireRatingCurrency } from '../customers/service.ts';
import * as plansRepo from '../plans/repo.ts';
import { nextPeriod, periodAt, type Period, type SubscriptionTerms } from '../periods/calendar.ts';
import * as periodsRepo from '../periods/index.ts';
import * as repo from './repo.ts';
import { poolsDrawnBy } from '../plans/service.ts';
import { loadPriceBook, requireBookForCustomer } from '../pricing/service.ts';
import { formatQuantity, parseScaled } from '@tariff/core-wasm';
import type { AmendSubscriptionInput, CreateSubscriptionInput } from '@tariff/openapi/schemas/subscriptions';

export function termsOf(
  row: Pick<repo.SubscriptionTermsRow, 'startedAt' | 'interval' | 'anchorDay' | 'anchorMonth'>,
): SubscriptionTerms {
  return {
    startedAt: row.startedAt,
    cadence: {
      interval: row.interval,
      anchorDay: row.anchorDay,
      ...(row.anchorMonth ? { anchorMonth: row.anchorMonth } : {}),
    },
  };
}

/**
 * The terms in force at an instant: the subscription's plan and discount, replaced by the latest amendment
 * effective at or before it (its plan, allowances and discount; the cadence never changes).
 */
export function termsAt(
  row: repo.SubscriptionTermsRow,
  amendments: repo.AmendmentRow[],
  at: Date,
): repo.SubscriptionTermsRow {
  const amendment = amendments.filter((a) => a.effectiveAt.getTime() <= at.getTime()).at(-1);
  if (!amendment) return row;
  return {
    ...row,
    planCode: amendment.planCode,
    planName: amendment.planName,
    baseFee: amendment.baseFee,
    minimumSpend: amendment.minimumSpend,
    allowances: amendment.allowances,
    discountPercent: amendment.discountPercent,
    invoiceGraceSeconds: amendment.invoiceGraceSeconds,
  };
}

/** The instants at which amendments split billing periods. */
export function cutsOf(amendments: repo.AmendmentRow[] | undefined): Date[] {
  return (amendments ?? []).map((a) => a.effectiveAt);
}

/** The customer's subscription terms in force at `at` (amendments applied), with the amendments. */
export async function findTermsAt(
  scope: TenantScope,
  customerId: string,
  at: Date,
): Promise<{ terms: repo.SubscriptionTermsRow; amendments: repo.AmendmentRow[] } | undefined> {
  const [base, amendments] = await Promise.all([
    repo.findTermsByCustomerId(scope, customerId),
    repo.findAmendments(scope, [customerId]),
  ]);
  if (!base) return undefined;
  const list = amendments.get(customerId) ?? [];
  return { terms: termsAt(base, list, at), amendments: list };
}

export async function subscribe(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: CreateSubscriptionInput,
): Promise<ApiSchemas['Subscription']> {
  requirePermission(actor, 'subscriptions.write');
  const now = deps.clock.now();
  const startedAt = new Date(
    Math.floor((input.started_at ? Date.parse(input.started_at) : now.getTime()) / 1000) * 1000,
  );
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const plan = await plansRepo.findPlanByCode(scope, input.plan);
    if (!plan) throw invalid('plan_not_found', `No plan "${input.plan}"`, [{ field: 'plan', reason: 'no such plan' }]);
    if (plan.archivedAt)
      throw precondition('plan_archived', `Plan "${plan.code}" is archived`, [{ field: 'plan', reason: 'archived' }]);
    await requireRatingCurrency(scope, customer, plan.currency, 'plan');
    await requireBookForCustomer(scope, { id: plan.priceBookId, code: plan.code }, customer.id, 'plan');
    if (await repo.findSubscription(scope, customer.id))
      throw conflict('subscription_exists', `Customer "${externalId}" already has a subscription`);
    // Periods never overlap: billing on the plan starts where the customer's existing periods end.
    const latestEnd = await periodsRepo.findLatestPeriodEnd(scope, customer.id);
    if (latestEnd && latestEnd.getTime() > startedAt.getTime()) {
      throw precondition(
        'period_overlap',
        "A subscription starts at or after the end of the customer's latest billing period",
        [{ field: 'started_at', reason: `must be at or after ${latestEnd.toISOString()}` }],
      );
    }
    const assignments = await customersRepo.listAssignments(scope, customer.id);
    const latest = assignments.at(-1);
    const alreadyRated =
      latest && latest.priceBookId === plan.priceBookId && latest.effectiveFrom.getTime() <= startedAt.getTime();
    if (!alreadyRated) {
      if (latest && latest.effectiveFrom.getTime() >= startedAt.getTime()) {
        throw precondition(
          'assignment_not_after_latest',
          "The plan's price book must take effect after the customer's latest assignment",
          [{ field: 'started_at', reason: `must be after ${latest.effectiveFrom.toISOString()}` }],
        );
      }
      await customersRepo.insertAssignment(scope, {
        customerId: customer.id,
        priceBookId: plan.priceBookId,
        effectiveFrom: startedAt,
        createdAt: now,
        createdBy: `${actor.type}:${actor.id}`,
      });
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
    await periodsRepo.openPeriods(scope, [{ customerId: customer.id, ...first }], now);
    const result = toApiSubscription(
      subscription,
      externalId,
      plan,
      periodAt(terms, now.getTime() < startedAt.getTime() ? startedAt : now),
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'subscription.created',
      entityType: 'subscription',
      entityId: subscription.id,
      after: result,
    });
    await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'subscription.created',
      customerId: customer.id,
      subjectId: subscription.id,
      payload: result,
      createdAt: now,
    });
    return result;
  });
}

export async function getSubscription(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['Subscription']> {
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const subscription = await repo.findSubscription(scope, customer.id);
    if (!subscription) throw notFound('subscription_not_found', `Customer "${externalId}" has no subscription`);
    // The plan and discount in force now: the latest amendment's, if any.
    const at = now.getTime() < subscription.startedAt.getTime() ? subscription.startedAt : now;
    const amendments = (await repo.findAmendments(scope, [customer.id])).get(customer.id) ?? [];
    const inForce = amendments.filter((a) => a.effectiveAt.getTime() <= at.getTime()).at(-1);
    const plan = (await plansRepo.findPlanById(scope, inForce?.planId ?? subscription.planId))!;
    const terms = termsOf({ ...subscription, interval: plan.interval });
    return toApiSubscription(
      { ...subscription, discountPercent: inForce?.discountPercent ?? subscription.discountPercent },
      externalId,
      plan,
      periodAt(terms, at, cutsOf(amendments)),
    );
  });
}

/** After a period closes, the subscription's next period is opened so it closes in turn, with or without usage. */
export async function openNextPeriod(
  scope: TenantScope,
  customerId: string,
  closed: Period,
  now: Date,
): Promise<Period | undefined> {
  const found = await findTermsAt(scope, customerId, closed.end);
  const next = nextPeriod(found && termsOf(found.terms), closed, cutsOf(found?.amendments));
  if (next) await periodsRepo.openPeriods(scope, [{ customerId, ...next }], now);
  return next;
}

/**
 * Amends the subscription from an instant inside the customer's current period (not before now): the period is
 * split there, so events before it are rated and invoiced on the old terms and events from it on the new ones,
 * each part's base fee (and minimum) prorated by the second against the whole period. A plan with another price
 * book assigns that book from the instant. The new plan bills in the same currency and at the same interval.
 */
export async function amendSubscription(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: AmendSubscriptionInput,
): Promise<ApiSchemas['SubscriptionAmendment']> {
  requirePermission(actor, 'subscriptions.write');
  const now = deps.clock.now();
  const effectiveAt = new Date(Math.floor(Date.parse(input.effective_at) / 1000) * 1000);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const subscription = await repo.findSubscription(scope, customer.id);
    if (!subscription) throw notFound('subscription_not_found', `Customer "${externalId}" has no subscription`);
    const found = (await findTermsAt(scope, customer.id, effectiveAt))!;
    const inForce = found.terms;
    const planCode = input.plan ?? inForce.planCode;
    const plan = await plansRepo.findPlanByCode(scope, planCode);
    if (!plan) throw invalid('plan_not_found', `No plan "${planCode}"`, [{ field: 'plan', reason: 'no such plan' }]);
    if (plan.archivedAt)
      throw precondition('plan_archived', `Plan "${plan.code}" is archived`, [{ field: 'plan', reason: 'archived' }]);
    await requireRatingCurrency(scope, customer, plan.currency, 'plan');
    if (plan.interval !== inForce.interval)
      throw precondition('interval_mismatch', `Plan "${plan.code}" bills per ${plan.interval}`, [
        { field: 'plan', reason: `bills per ${plan.interval}, the subscription per ${inForce.interval}` },
      ]);
    let allowances: Record<string, string> | null = null;
    if (input.allowances) {
      const drawn = poolsDrawnBy((await loadPriceBook(scope, plan.priceBookId))!);
      const problems = Object.keys(input.allowances)
        .filter((pool) => !drawn.has(pool))
        .map((pool) => ({
          field: `allowances.${pool}`,
          reason: `no charge of the plan's price book draws this pool (it draws: ${[...drawn].join(', ') || 'none'})`,
        }));
      if (problems.length > 0)
        throw invalid('allowance_not_drawn', 'An included allowance must be a pool the price book draws', problems);
      allowances = Object.fromEntries(
        Object.entries(input.allowances).map(([pool, q]) => [
          pool,
          formatQuantity((parseScaled(q, 6) as { ok: true; value: bigint }).value),
        ]),
      );
    }
    if (effectiveAt.getTime() < Math.floor(now.getTime() / 1000) * 1000) {
      throw precondition(
        'amendment_in_past',
        'An amendment takes effect now or later; a change of what was already rated is a re-rating',
        [{ field: 'effective_at', reason: `is before now (${now.toISOString()})` }],
      );
    }
    const cadence = termsOf(inForce);
    const cuts = cutsOf(found.amendments);
    const current = periodAt(
      cadence,
      now.getTime() < subscription.startedAt.getTime() ? subscription.startedAt : now,
      cuts,
    );
    if (effectiveAt.getTime() <= current.start.getTime() || effectiveAt.getTime() >= current.end.getTime()) {
      throw precondition('amendment_outside_period', 'An amendment takes effect inside the current billing period', [
        {
          field: 'effective_at',
          reason: `must be after ${current.start.toISOString()} and before ${current.end.toISOString()}`,
        },
      ]);
    }
    // The period row is locked (created if missing) as ingestion locks it: no event lands in it while it is split.
    const locked = await periodsRepo.lockPeriods(scope, [{ customerId: customer.id, ...current }], { now });
    const period = locked.get(periodsRepo.periodKey({ customerId: customer.id, start: current.start }))!;
    if (period.status !== 'open')
      throw conflict('period_closed', `The billing period starting ${current.start.toISOString()} is closed`);
    const later = await repo.countEventsFrom(scope, customer.id, current.start, effectiveAt);
    if (later > 0) {
      throw conflict(
        'events_after_amendment',
        `${later} event(s) stamped at or after the amendment are already rated on the current terms`,
        [{ field: 'effective_at', reason: 'must be after the latest rated event of the period' }],
      );
    }
    const assignments = await customersRepo.listAssignments(scope, customer.id);
    const bookAt = assignments.filter((a) => a.effectiveFrom.getTime() <= effectiveAt.getTime()).at(-1);
    if (bookAt?.priceBookId !== plan.priceBookId) {
      await requireBookForCustomer(scope, { id: plan.priceBookId }, customer.id, 'plan');
      const latest = assignments.at(-1);
      if (latest && latest.effectiveFrom.getTime() >= effectiveAt.getTime()) {
        throw precondition(
          'assignment_not_after_latest',
          "The plan's price book must take effect after the customer's latest assignment",
          [{ field: 'effective_at', reason: `must be after ${latest.effectiveFrom.toISOString()}` }],
        );
      }
      await customersRepo.insertAssignment(scope, {
        customerId: customer.id,
        priceBookId: plan.priceBookId,
        effectiveFrom: effectiveAt,
        createdAt: now,
        createdBy: `${actor.type}:${actor.id}`,
      });
    }
    await periodsRepo.splitPeriod(scope, { customerId: customer.id, ...current }, effectiveAt, now);
    const amendment = {
      id: crypto.randomUUID(),
      subscriptionId: subscription.id,
      customerId: customer.id,
      effectiveAt,
      planId: plan.id,
      allowances,
      discountPercent: input.discount_percent ?? inForce.discountPercent,
      createdAt: now,
      createdBy: `${actor.type}:${actor.id}`,
    };
    await repo.insertAmendment(scope, amendment);
    const row = (await repo.findAmendments(scope, [customer.id])).get(customer.id)!.find((a) => a.id === amendment.id)!;
    const result = toApiAmendment(
      row,
      externalId,
      { start: current.start, end: effectiveAt },
      { start: effectiveAt, end: current.end },
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'subscription.amended',
      entityType: 'subscription',
      entityId: subscription.id,
      after: result,
    });
    await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'subscription.amended',
      customerId: customer.id,
      subjectId: amendment.id,
      payload: { subscription_id: subscription.id, ...result },
      createdAt: now,
    });
    return result;
  });
}

export async function listAmendments(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['SubscriptionAmendmentList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const found = await findTermsAt(scope, customer.id, new Date(0));
    if (!found) throw notFound('subscription_not_found', `Customer "${externalId}" has no subscription`);
    const cuts = cutsOf(found.amendments);
    const cadence = termsOf(found.terms);
    return {
      data: found.amendments.map((a) => {
        const after = periodAt(cadence, a.effectiveAt, cuts);
        const before = periodAt(cadence, new Date(a.effectiveAt.getTime() - 1000), cuts);
        return toApiAmendment(a, externalId, before, after);
      }),
    };
  });
}

function toApiAmendment(
  a: repo.AmendmentRow,
  customerExternalId: string,
  before: Period,
  after: Period,
): ApiSchemas['SubscriptionAmendment'] {
  return {
    id: a.id,
    customer_id: customerExternalId,
    effective_at: a.effectiveAt.toISOString(),
    plan: a.planCode,
    allowances: a.allowances,
    allowances_overridden: a.allowancesOverridden,
    discount_percent: formatPercent(a.discountPercent),
    periods: {
      before: { start: before.start.toISOString(), end: before.end.toISOString() },
      after: { start: after.start.toISOString(), end: after.end.toISOString() },
    },
    created_at: a.createdAt.toISOString(),
    created_by: a.createdBy,
  };
}

function toApiSubscription(
  s: repo.Subscription,
  customerExternalId: string,
  plan: plansRepo.Plan,
  current: Period,
): ApiSchemas['Subscription'] {
  return {
    id: s.id,
    customer_id: customerExternalId,
    plan: plan.code,
    interval: plan.interval,
    started_at: s.startedAt.toISOString(),
    anchor_day: s.anchorDay,
    anchor_month: s.anchorMonth,
    discount_percent: formatPercent(s.discountPercent),
    status: s.status,
    current_period: { start: current.start.toISOString(), end: current.end.toISOString() },
    created_at: s.createdAt.toISOString(),
    created_by: s.createdBy,
  };
}
