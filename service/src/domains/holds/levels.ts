// What a hold is decided against at each level of its customer's reseller chain: level 0 is the customer, levels
// 1..n the resellers above it (its parent while that parent resells, and so on). Each level is locked in
// ingestion's order (grants, then periods; the holds are summed under both) and its availability is the same rule
// at every level: credit in force minus open holds when it blocks on depletion, and what its blocking budget
// leaves after the period's spend and open holds. What a hold sets aside at each level is priced by place.ts
// (an amount at every level, or the estimate by each level's own book); ingestion charges each level its real
// cost at capture, and the kernel still refuses what a level's credit cannot cover.
import type { TenantScope } from '../../platform/db.ts';
import { precondition, type AppError } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { maxChainDepth } from '../customers/chain.ts';
import * as billing from '../events/billing.ts';
import * as periodsRepo from '../periods/index.ts';
import { grantInForce } from '../wallets/service.ts';
import * as repo from './repo.ts';

export type RefusalCode = 'insufficient_balance' | 'budget_exceeded' | 'blocked';

/** One customer of some level, locked; `held` counts the holds decided so far in this transaction too. */
export interface LevelState {
  customerId: string;
  externalId: string;
  billing: billing.CustomerBilling | undefined;
  period: periodsRepo.PeriodRow;
  held: bigint;
}

/** What a customer may still set aside: null where no limit applies (overage wallet, no blocking budget). */
export interface Availability {
  creditBalance: bigint;
  held: bigint;
  balance: bigint | null;
  budget: bigint | null;
  blocked: string | null;
}

/** The resellers a hold of `holder` is also decided at, nearest first; an error when the chain cannot be held. */
export function chainOf(holder: repo.Holder): repo.Holder['ancestors'] | AppError {
  const chain: repo.Holder['ancestors'] = [];
  for (const ancestor of holder.ancestors) {
    if (!ancestor.isReseller) break;
    if (chain.length === maxChainDepth)
      return precondition(
        'chain_too_deep',
        `Customer "${holder.externalId}" has more than ${maxChainDepth} resellers above it`,
        [{ field: 'customer_id', reason: 'its reseller chain is too deep to hold' }],
      );
    if (ancestor.currency !== holder.currency)
      return precondition(
        'chain_currency_mismatch',
        `Customer "${holder.externalId}" is rated in ${holder.currency} but its reseller "${ancestor.externalId}" (level ${chain.length + 1}) in ${ancestor.currency}: a reseller chain rates in one currency`,
        [{ field: 'customer_id', reason: 'its chain mixes currencies' }],
      );
    chain.push(ancestor);
  }
  return chain;
}

/**
 * Locks the customers (every level of every chain) in ingestion's order and reads what their open holds set aside
 * under the locks. `billings` holds what the caller already loaded (and locked); the rest is loaded here.
 * `exceptHold`: a hold whose own rows are left out of the sums (an extension is decided afresh). `knownPeriods`:
 * the periods known to exist (periods/repo.ts knownPeriodsOf), which need no insert before their lock.
 */
export async function lockLevels(
  scope: TenantScope,
  customers: { customerId: string; externalId: string }[],
  billings: Map<string, billing.CustomerBilling>,
  now: Date,
  exceptHold?: string,
  knownPeriods?: ReadonlySet<string>,
): Promise<Map<string, LevelState>> {
  const missing = [...new Set(customers.map((c) => c.externalId))].filter((id) => !billings.has(id));
  if (missing.length > 0) for (const [id, b] of await billing.loadBilling(scope, missing)) billings.set(id, b);
  const bounds = [...new Map(customers.map((c) => [c.customerId, c])).values()].map((c) => ({
    customerId: c.customerId,
    ...billing.periodFor(billings.get(c.externalId), now),
  }));
  return levelStates(customers, billings, await lockPeriodsAndHolds(scope, bounds, now, exceptHold, knownPeriods));
}

/** Periods locked (one per customer, after its grants) and what the customers' open holds set aside under them. */
export interface LockedPeriods {
  periods: Map<string, periodsRepo.PeriodRow>;
  held: Map<string, string>;
  bounds: periodsRepo.PeriodBounds[];
}

/**
 * lockLevels' statements for periods whose bounds the caller knows, sent at once: a caller that has locked the
 * customers' grants may send them in the same round trip (holds/place.ts, when it knows each customer's period).
 */
export async function lockPeriodsAndHolds(
  scope: TenantScope,
  bounds: periodsRepo.PeriodBounds[],
  now: Date,
  exceptHold?: string,
  knownPeriods?: ReadonlySet<string>,
): Promise<LockedPeriods> {
  const [periods, held] = await Promise.all([
    periodsRepo.lockPeriods(scope, bounds, { now, known: knownPeriods }),
    repo.sumOpenHoldsByCustomer(
      scope,
      bounds.map((b) => b.customerId),
      now,
      exceptHold,
    ),
  ]);
  return { periods, held, bounds };
}

/** Each customer's state from its billing and its period locked (by lockPeriodsAndHolds). */
export function levelStates(
  customers: { customerId: string; externalId: string }[],
  billings: Map<string, billing.CustomerBilling>,
  { periods, held, bounds }: LockedPeriods,
): Map<string, LevelState> {
  const externalIds = new Map(customers.map((c) => [c.customerId, c.externalId]));
  const levels = new Map<string, LevelState>();
  for (const b of bounds) {
    const externalId = externalIds.get(b.customerId);
    if (externalId === undefined) continue;
    levels.set(b.customerId, {
      customerId: b.customerId,
      externalId,
      billing: billings.get(externalId),
      period: periods.get(periodsRepo.periodKey(b))!,
      held: toNano(held.get(b.customerId) ?? '0'),
    });
  }
  return levels;
}

/** Under the locks: the credit in force, what open holds set aside, and what is left of each blocking limit. */
export function availabilityOf({ billing: customerBilling, period, held }: LevelState, now: Date): Availability {
  let creditBalance = 0n;
  for (const grant of customerBilling?.wallet.grants ?? [])
    if (grantInForce(grant, now)) creditBalance += customerBilling!.balances.get(grant.id) ?? 0n;
  const blocks = customerBilling?.wallet.onDepletion === 'block';
  const spend = toNano(period.amount) + toNano(period.creditsApplied);
  const budget = customerBilling?.blockingBudget;
  let blocked: string | null = null;
  if (customerBilling?.blocked) blocked = "an invoice is unpaid past the dunning policy's delay";
  // Already past the blocking budget this period (an event accepted beyond it under on_block "accept"). Usage
  // billed beyond a credit is not such a limit: as for the check and the kernel, the credit in force decides, so a
  // new grant lets the customer spend (and hold) again.
  else if (budget !== undefined && spend >= budget)
    blocked = `the period's spend (${formatMoney(spend)}) has reached the blocking budget (${formatMoney(budget)})`;
  return {
    creditBalance,
    held,
    balance: blocks ? creditBalance - held : null,
    budget: budget === undefined ? null : budget - spend - held,
    blocked,
  };
}

/** Why `level` cannot set aside `amount`, or undefined when it can. Level k >= 1 is named (`level`, `reseller_id`). */
export function refusalAt(state: LevelState, level: number, amount: bigint, now: Date): AppError | undefined {
  const a = availabilityOf(state, now);
  const who = level === 0 ? 'the customer' : `reseller "${state.externalId}" (level ${level} of the chain)`;
  // The details are built for a refusal only: every hold placed is decided here, at each level.
  const refuse = (code: RefusalCode, message: string) =>
    precondition(code, message, [
      { field: 'amount', reason: message },
      ...(level === 0
        ? []
        : [
            { field: 'level', reason: String(level) },
            { field: 'reseller_id', reason: state.externalId },
          ]),
      {
        field: 'available.balance',
        reason: a.balance === null ? 'no limit (it does not block on depletion)' : formatMoney(a.balance),
      },
      {
        field: 'available.budget',
        reason: a.budget === null ? 'no limit (no blocking budget)' : formatMoney(a.budget),
      },
      { field: 'available.held', reason: formatMoney(a.held) },
    ]);
  if (a.blocked) return refuse('blocked', `${who[0].toUpperCase()}${who.slice(1)} is blocked: ${a.blocked}`);
  if (a.balance !== null && amount > a.balance)
    return refuse(
      'insufficient_balance',
      `The hold (${formatMoney(amount)}) exceeds the available balance of ${who} (${formatMoney(a.balance)}: credit ${formatMoney(a.creditBalance)} minus ${formatMoney(a.held)} held)`,
    );
  if (a.budget !== null && amount > a.budget)
    return refuse(
      'budget_exceeded',
      `The hold (${formatMoney(amount)}) exceeds what the blocking budget of ${who} leaves (${formatMoney(a.budget)})`,
    );
  return undefined;
}

/**
 * Decides `amounts[k]` at each level k of `levels` (0 first): the first level that refuses refuses the hold
 * everywhere; otherwise every level's `held` grows by its amount, so later decisions in the same transaction
 * count it.
 */
export function decideLevels(levels: LevelState[], amounts: bigint[], now: Date): AppError | undefined {
  for (let k = 0; k < levels.length; k++) {
    const refusal = refusalAt(levels[k], k, amounts[k], now);
    if (refusal) return refusal;
  }
  levels.forEach((state, k) => (state.held += amounts[k]));
  return undefined;
}
