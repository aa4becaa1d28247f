// What ingestion needs from billing, kept apart from the ingestion pipeline: the billing period of an event
// (from the customer's subscription), the customer state the kernel sees (the plan's allowances, minimum and
// discount, credit grants and the depletion policy on top of the period's own state), and what rating wrote
// back (drawdowns posted to the ledger with the rated lines, grant balances, the balance after each event,
// budget alerts).
import { stateForOnBlock, type CustomerState, type RatedEvent, type ReceiptStep } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import * as budgetsRepo from '../budgets/repo.ts';
import * as notificationsRepo from '../notifications/repo.ts';
import { accounts, postTransactions, type Posting } from '../ledger/service.ts';
import { periodAt, type Period } from '../periods/calendar.ts';
import * as periodsRepo from '../periods/index.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import { cutsOf, termsAt, termsOf } from '../subscriptions/service.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { lateTrueUpShrink, recordLateEvents } from '../invoices/service.ts';
import * as walletsRepo from '../wallets/repo.ts';
import { grantInForce, kernelGrant } from '../wallets/service.ts';
import * as repo from './repo.ts';

/** One customer's billing terms for the transaction, with the live balance of each of its locked grants. */
export interface CustomerBilling {
  wallet: {
    customerId: string;
    onDepletion: 'overage' | 'block';
    lowBalanceThreshold: bigint | null;
    grants: walletsRepo.Grant[];
  };
  balances: Map<string, bigint>;
  subscription?: subscriptionsRepo.SubscriptionTermsRow;
  /** The subscription's amendments: they split periods and bring new terms (subscriptions/service.ts). */
  amendments?: subscriptionsRepo.AmendmentRow[];
  /** Only customers with a budget have alerts to fire. */
  hasBudget: boolean;
  /** Blocked by dunning (an unpaid invoice past the policy's delay): ingestion refuses its events. */
  blocked?: boolean;
  /** The budget's amount when it blocks (events/service.ts findBlocks). */
  blockingBudget?: bigint;
  /** Only customers with a budget per API key or project tag have spend attributed to scopes. */
  hasScopedBudget?: boolean;
  /** Whether one of those budgets blocks: ingestion then reads them with their spend (events/service.ts findBlocks). */
  hasBlockingScopedBudget?: boolean;
}

/** A blocking budget per API key or project tag in one period: its amount and the scope's spend before the batch. */
export interface ScopedLimit {
  kind: 'api_key' | 'project';
  value: string;
  amount: bigint;
  spend: bigint;
}

/** Scoped limits by `${periodKey}|${kind}|${value}`: the blocking scoped budgets of the locked periods of customers who have one. */
export async function loadScopedLimits(
  scope: TenantScope,
  periods: { customerId: string; start: Date }[],
): Promise<Map<string, ScopedLimit>> {
  const rows = await budgetsRepo.findBlockingScopedBudgets(scope, periods);
  return new Map(
    rows.map((r) => [
      `${periodsRepo.periodKey({ customerId: r.customerId, start: r.periodStart })}|${r.kind}|${r.value}`,
      { kind: r.kind, value: r.value, amount: toNano(r.amount), spend: toNano(r.spend) },
    ]),
  );
}

export interface EventCredits {
  /** Credits this event drew, all grants together. */
  applied: bigint;
  /** The customer's credit in force at the event's instant, after it. */
  balanceAfter: bigint;
  draws: { grantId: string; amount: bigint }[];
}

/** Keys of the state that billing supplies on every call and never stores with the period. */
const injectedKeys = ['grants', 'on_depletion', 'discount_percent'] as const;

/**
 * Reads the batch's billing terms and locks its grants, in one statement (events/repo.ts lockBillingContexts: in
 * ingestion's first round trip). Keyed by external id.
 */
export async function loadBilling(scope: TenantScope, externalIds: string[]): Promise<Map<string, CustomerBilling>> {
  const contexts = await repo.lockBillingContexts(scope, externalIds);
  const billing = new Map<string, CustomerBilling>();
  for (const [externalId, context] of contexts) {
    const customerGrants = context.grants;
    billing.set(externalId, {
      wallet: {
        customerId: context.customerId,
        onDepletion: context.onDepletion,
        lowBalanceThreshold: context.lowBalanceThreshold === null ? null : toNano(context.lowBalanceThreshold),
        grants: customerGrants,
      },
      balances: new Map(customerGrants.map((g) => [g.id, toNano(g.balance)])),
      subscription: context.subscription,
      amendments: context.amendments.length > 0 ? context.amendments : undefined,
      hasBudget: context.hasBudget,
      blocked: context.blocked,
      ...(context.blockingBudget !== null ? { blockingBudget: toNano(context.blockingBudget) } : {}),
      hasScopedBudget: context.hasScopedBudget,
      hasBlockingScopedBudget: context.hasBlockingScopedBudget,
    });
  }
  return billing;
}

/** The billing period an event lands in: the subscription's, or the calendar month without one. */
export function periodFor(billing: CustomerBilling | undefined, instant: Date): Period {
  return periodAt(
    billing?.subscription ? termsOf(billing.subscription) : undefined,
    instant,
    cutsOf(billing?.amendments),
  );
}

/**
 * The state for one kernel call: the period's stored state, plus the grants as they stand now (a top-up made
 * a moment ago is there, and so is what an earlier call in this transaction drew) and the depletion policy.
 * Grants in another currency than the book's are left out: the kernel does not convert (a grant given in the
 * billing currency of a customer rated in another was converted when issued: wallets/service.ts createGrant).
 */
export function kernelState(
  billing: CustomerBilling | undefined,
  stored: Record<string, unknown>,
  period: { start: Date; end: Date },
  bookCurrency: string,
  /** Ingestion that accepts usage past a limit rates a blocking customer as overage, and flags the remainder. */
  onBlock: 'accept' | 'refuse' = 'refuse',
): CustomerState {
  let state: CustomerState = {
    ...(stored as CustomerState),
    period: { start: period.start.toISOString(), end: period.end.toISOString() },
  };
  if (!billing) return state;
  const plan = billing.subscription;
  if (plan && period.start.getTime() >= plan.startedAt.getTime())
    state = withPlanTerms(state, termsAt(plan, billing.amendments ?? [], period.start));
  const grants = billing.wallet.grants.filter((g) => g.currency === bookCurrency && billing.balances.get(g.id)! > 0n);
  return stateForOnBlock(
    {
      ...state,
      grants: grants.map((g) => kernelGrant(g, billing.balances.get(g.id)!)),
      on_depletion: billing.wallet.onDepletion,
    },
    onBlock,
  );
}

/**
 * A subscribed period's terms: included allowances seed the pools the period has not touched yet (a pool
 * absent from the state is untouched), the minimum spend counts usage as a postpaid commitment, and the
 * negotiated discount applies to every event.
 */
function withPlanTerms(state: CustomerState, plan: subscriptionsRepo.SubscriptionTermsRow): CustomerState {
  const allowances = { ...(state.allowances ?? {}) };
  for (const [pool, included] of Object.entries(plan.allowances)) allowances[pool] ??= included;
  return {
    ...state,
    ...(Object.keys(allowances).length > 0 ? { allowances } : {}),
    ...(plan.minimumSpend !== null ? { commitment: state.commitment ?? { mode: 'postpaid', consumed: '0' } } : {}),
    ...(toNano(plan.discountPercent) !== 0n ? { discount_percent: plan.discountPercent } : {}),
  };
}

/**
 * Whether the customer's ratings can draw credits (it has grants): for one that cannot, absorbRating records
 * nothing in `credits`, where an event with no entry reads as none applied and no balance.
 */
export function drawsCredits(billing: CustomerBilling | undefined): billing is CustomerBilling {
  return billing !== undefined && billing.wallet.grants.length > 0;
}

/**
 * Takes one kernel call's results for a customer, in the order the kernel rated them: moves the live grant
 * balances, works out each rated event's credits and balance after, and returns the state to store with the
 * period (without what kernelState injected).
 */
export function absorbRating(
  billing: CustomerBilling | undefined,
  output: (CustomerState & Record<string, unknown>) | undefined,
  rated: { transactionId: string; occurredAt: Date; result: RatedEvent }[],
  credits: Map<string, EventCredits>,
): Record<string, unknown> {
  const { period: _period, ...rest } = output ?? {};
  const state: Record<string, unknown> = { ...rest };
  for (const key of injectedKeys) delete state[key];
  if (!drawsCredits(billing)) return state;
  for (const { transactionId, occurredAt, result } of rated) {
    if (result.status !== 'rated') continue;
    const draws: EventCredits['draws'] = [];
    for (const step of result.receipt ?? []) {
      if (step.step !== 'credit') continue;
      const credit = step as Extract<ReceiptStep, { step: 'credit' }>;
      draws.push({ grantId: credit.grant, amount: toNano(credit.amount) });
      billing.balances.set(credit.grant, toNano(credit.balance));
    }
    credits.set(transactionId, {
      applied: draws.reduce((sum, d) => sum + d.amount, 0n),
      balanceAfter: balanceAt(billing, occurredAt),
      draws,
    });
  }
  return state;
}

function balanceAt(billing: CustomerBilling, at: Date): bigint {
  let total = 0n;
  for (const grant of billing.wallet.grants) if (grantInForce(grant, at)) total += billing.balances.get(grant.id)!;
  return total;
}

/**
 * The outbox's word that a customer crossed a blocking limit: `budget.blocked` and `credits.exhausted`, each once
 * per customer and period (the first event that crossed it), and `budget.blocked` once per scope and period for a
 * budget per API key or project tag, for webhooks to deliver.
 */
export function notifyBlocks(
  scope: TenantScope,
  crossings: {
    customerId: string;
    customerExternalId: string;
    periodStart: Date;
    transactionId: string;
    blocks: ApiSchemas['EventBlock'][];
  }[],
  now: Date,
): Promise<unknown> {
  const notifications: Parameters<typeof notificationsRepo.recordManyOnce>[1] = [];
  const seen = new Set<string>();
  for (const crossing of crossings) {
    for (const block of crossing.blocks) {
      const type = block.code === 'budget_exceeded' ? 'budget.blocked' : 'credits.exhausted';
      // A budget per API key or project tag is its own subject: each scope's crossing is told once per period.
      const subjectId = `${crossing.customerId}:${crossing.periodStart.toISOString()}${block.scope_value === undefined ? '' : `:${block.limit}:${block.scope_value}`}`;
      if (seen.has(`${type}|${subjectId}`)) continue;
      seen.add(`${type}|${subjectId}`);
      notifications.push({
        id: crypto.randomUUID(),
        type,
        customerId: crossing.customerId,
        subjectId,
        payload: {
          customer_id: crossing.customerExternalId,
          period_start: crossing.periodStart.toISOString(),
          transaction_id: crossing.transactionId,
          ...block,
        },
        createdAt: now,
      });
    }
  }
  return notifications.length === 0 ? Promise.resolve() : notificationsRepo.recordManyOnce(scope, notifications);
}

/**
 * For late events into closed periods, in rating order: how much of the period's billed minimum true-up each
 * fills (invoices/service.ts lateTrueUpShrink), from its receipt's postpaid commitment step (amount counted,
 * consumed after). One read, and only when late events arrive.
 */
export async function lateTrueUpShrinks(
  scope: TenantScope,
  events: { transactionId: string; customerId: string; periodStart: Date; receipt: RatedEvent['receipt'] }[],
): Promise<Map<string, bigint>> {
  const shrinks = new Map<string, bigint>();
  const counted = events.flatMap((e) => {
    const step = (e.receipt ?? []).find((s) => s.step === 'commitment') as
      { amount?: string; consumed?: string } | undefined;
    return step?.consumed !== undefined && step.amount !== undefined
      ? [{ ...e, counted: toNano(step.amount), consumedAfter: toNano(step.consumed) }]
      : [];
  });
  if (counted.length === 0) return shrinks;
  const minimums = await invoicesRepo.findBilledMinimums(
    scope,
    counted.map((e) => ({ customerId: e.customerId, start: e.periodStart })),
  );
  for (const e of counted) {
    const minimum = minimums.get(periodsRepo.periodKey({ customerId: e.customerId, start: e.periodStart }));
    if (minimum === undefined) continue;
    const shrink = lateTrueUpShrink(toNano(minimum), e.consumedAfter - e.counted, e.counted);
    if (shrink > 0n) shrinks.set(e.transactionId, shrink);
  }
  return shrinks;
}

/** Events rated into closed periods (their invoice final): billed as adjustments on the next invoice. */
export function billLateEvents(...args: Parameters<typeof recordLateEvents>): Promise<void> {
  return recordLateEvents(...args);
}

/** The key of an event's credits at a reseller level of its chain (level 0, its own customer: the transaction id). */
export function creditKey(transactionId: string, level: number): string {
  return level === 0 ? transactionId : `${transactionId}\u0000${level}`;
}

export interface AcceptedCharge {
  transactionId: string;
  /** The reseller level the charge is for (events/chain.ts); 0 or absent: the event's own customer. */
  level?: number;
  customerExternalId: string;
  customerId: string;
  periodStart: Date;
  occurredAt: Date;
  /** What rating left to bill (decimal), the sending key and the event's project tag: for scoped budgets. */
  amount: string;
  apiKeyId: string | null;
  project: string | null;
}

/**
 * The credits the charges drew, per period (periodKey) of the customer or reseller level charged: they go into the
 * periods with the usage (periods' addUsage), in the one write of each period.
 */
export function creditsByPeriod(accepted: AcceptedCharge[], credits: Map<string, EventCredits>): Map<string, bigint> {
  const perPeriod = new Map<string, bigint>();
  for (const event of accepted) {
    const applied = credits.get(creditKey(event.transactionId, event.level ?? 0))?.applied ?? 0n;
    if (applied === 0n) continue;
    const key = periodsRepo.periodKey({ customerId: event.customerId, start: event.periodStart });
    perPeriod.set(key, (perPeriod.get(key) ?? 0n) + applied);
  }
  return perPeriod;
}

/**
 * The writes of the acknowledging transaction besides the periods' (creditsByPeriod): one ledger transaction per
 * event that drew credit (debit each grant, credit usage revenue), the grants' new balances, then the budget
 * alerts the periods' new spend fires. Issued at once, after the ingestion's own period updates, and awaited
 * with them.
 */
export function writeBilling(
  scope: TenantScope,
  billing: Map<string, CustomerBilling>,
  accepted: AcceptedCharge[],
  credits: Map<string, EventCredits>,
  now: Date,
): Promise<unknown>[] {
  const touched = new Map<string, { customerId: string; start: Date }>();
  for (const event of accepted) {
    if (billing.get(event.customerExternalId)?.hasBudget)
      touched.set(periodsRepo.periodKey({ customerId: event.customerId, start: event.periodStart }), {
        customerId: event.customerId,
        start: event.periodStart,
      });
  }
  const alerts = () => budgetsRepo.fireAlerts(scope, [...touched.values()], now);
  // Spend per API key and project tag, as the customer budget counts it (what is left to bill plus credits).
  const scoped: budgetsRepo.ScopedCharge[] = [];
  for (const event of accepted) {
    if (!billing.get(event.customerExternalId)?.hasScopedBudget) continue;
    const spend = formatMoney(
      toNano(event.amount) + (credits.get(creditKey(event.transactionId, event.level ?? 0))?.applied ?? 0n),
    );
    if (event.apiKeyId)
      scoped.push({
        customerId: event.customerId,
        periodStart: event.periodStart,
        kind: 'api_key',
        value: event.apiKeyId,
        spend,
      });
    if (event.project)
      scoped.push({
        customerId: event.customerId,
        periodStart: event.periodStart,
        kind: 'project',
        value: event.project,
        spend,
      });
  }
  const scopedSpend = () => budgetsRepo.recordScopedSpend(scope, scoped, now);
  const postings: Posting[] = [];
  for (const event of accepted) {
    const credit = credits.get(creditKey(event.transactionId, event.level ?? 0));
    if (!credit || credit.applied === 0n) continue;
    const { wallet } = billing.get(event.customerExternalId)!;
    // The grants drawn are in the currency of the book that rated the event (kernelState).
    const currency = wallet.grants.find((g) => g.id === credit.draws[0].grantId)!.currency;
    postings.push({
      kind: 'usage_drawdown',
      customerId: wallet.customerId,
      currency,
      reference: event.transactionId,
      description: event.level
        ? `credit drawn by event ${event.transactionId} (reseller level ${event.level})`
        : `credit drawn by event ${event.transactionId}`,
      occurredAt: event.occurredAt,
      lines: [
        ...credit.draws.map((d) => ({
          account: accounts.grant(d.grantId, currency, wallet.customerId),
          amount: d.amount,
        })),
        { account: accounts.revenue('usage', currency), amount: -credit.applied },
      ],
    });
  }
  if (postings.length === 0) return [alerts(), scopedSpend()];
  const creditNotices = notifyCreditLevels(scope, billing, accepted, credits, now);
  const balances: { id: string; balance: string }[] = [];
  for (const { wallet, balances: live } of billing.values()) {
    for (const grant of wallet.grants) {
      const balance = live.get(grant.id)!;
      if (balance !== toNano(grant.balance)) balances.push({ id: grant.id, balance: formatMoney(balance) });
    }
  }
  return [
    postTransactions(scope, postings, now),
    walletsRepo.updateGrantBalances(scope, balances),
    alerts(),
    scopedSpend(),
    creditNotices,
  ];
}

/**
 * credits.low and credits.depleted: the batch's draws took a customer's credit in force (now) from above its
 * wallet's low-balance threshold to at or below it, or from something to zero. The subject is the customer and
 * the last event that drew, so each crossing is told once (a top-up and a new crossing is a new notification;
 * a retried batch draws nothing and crosses nothing). One statement for the batch, only when one crossed.
 */
function notifyCreditLevels(
  scope: TenantScope,
  billing: Map<string, CustomerBilling>,
  accepted: AcceptedCharge[],
  credits: Map<string, EventCredits>,
  now: Date,
): Promise<unknown> {
  const lastDraw = new Map<string, AcceptedCharge>();
  for (const event of accepted)
    if ((credits.get(creditKey(event.transactionId, event.level ?? 0))?.applied ?? 0n) > 0n)
      lastDraw.set(event.customerExternalId, event);
  const notifications: Parameters<typeof notificationsRepo.recordManyOnce>[1] = [];
  for (const [externalId, event] of lastDraw) {
    const { wallet, balances } = billing.get(externalId)!;
    // Grants are held in the rating currency (the book that rated the event), not the customer's billing one.
    const currency = wallet.grants.find(
      (g) => g.id === credits.get(creditKey(event.transactionId, event.level ?? 0))!.draws[0].grantId,
    )!.currency;
    let before = 0n;
    let after = 0n;
    for (const grant of wallet.grants) {
      if (!grantInForce(grant, now)) continue;
      before += toNano(grant.balance);
      after += balances.get(grant.id)!;
    }
    const notice = (type: 'credits.low' | 'credits.depleted', extra: Record<string, unknown>) =>
      notifications.push({
        id: crypto.randomUUID(),
        type,
        customerId: wallet.customerId,
        subjectId: `${wallet.customerId}:${event.transactionId}`,
        payload: {
          customer_id: externalId,
          currency,
          balance: formatMoney(after),
          previous_balance: formatMoney(before),
          transaction_id: event.transactionId,
          ...extra,
        },
        createdAt: now,
      });
    const threshold = wallet.lowBalanceThreshold;
    if (threshold !== null && before > threshold && after <= threshold)
      notice('credits.low', { threshold: formatMoney(threshold) });
    if (before > 0n && after === 0n) notice('credits.depleted', {});
  }
  return notifications.length === 0 ? Promise.resolve() : notificationsRepo.recordManyOnce(scope, notifications);
}
