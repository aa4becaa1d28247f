// Blocking limits at ingestion, one rule for the service (POST /v1/events) and the SDK's estimator: which limit an
// event takes its customer past (a `block` budget, or the credit of a customer who blocks on depletion), and what
// happens to it under each `on_block` mode.
import type { CustomerState, RatedEvent } from './book.ts';
import { formatMoney, toNano } from './decimal.ts';

/**
 * What ingestion does with an event that takes its customer past a blocking limit. `accept` (the service's default):
 * the usage happened, so it is rated (what credits do not cover as overage), stored and billed, and flagged with the
 * limits it crossed. `refuse`: it is rejected (credits: by the kernel under the block policy; budget: taken out, the
 * rest rated again without it).
 */
export type OnBlock = 'accept' | 'refuse';

/** A limit an event crossed, as POST /v1/events acks it (`blocked`) and the estimator flags it. */
export interface LimitBlock {
  code: 'budget_exceeded' | 'credits_exhausted';
  /** budget: the customer's; api_key_budget, project_budget: a budget of the key that sent it or of its project. */
  limit: 'budget' | 'api_key_budget' | 'project_budget' | 'credits';
  /** The API key id or project of a scoped budget. */
  scope_value?: string;
  message: string;
  /** budget: the budget; credits: the credit this event could draw. */
  limit_amount: string;
  /** budget: the period's spend after this event (left to bill plus credits drawn); credits: the event's charge. */
  spend: string;
  /** budget: spend minus budget; credits: the part of the charge no credit covered (billed). */
  exceeded_by: string;
}

/**
 * The state the kernel rates with under `onBlock`: `accept` rates a customer who blocks on depletion as overage (the
 * uncovered part is billed and flagged by limitsCrossed); `refuse` keeps the policy, so the kernel rejects the event.
 */
export function stateForOnBlock<S extends CustomerState | undefined>(state: S, onBlock: OnBlock): S {
  if (onBlock !== 'accept' || state === undefined || state.on_depletion !== 'block') return state;
  return { ...state, on_depletion: 'overage' };
}

/** Credits the event drew (its receipt's credit steps), in nano-units. */
export function creditsDrawn(result: RatedEvent): bigint {
  let drawn = 0n;
  for (const step of result.receipt ?? [])
    if (step.step === 'credit') drawn += toNano((step as { amount: string }).amount);
  return drawn;
}

export interface LimitContext {
  /** The period's spend before this event as budgets count it (left to bill plus credits drawn), nano-units. */
  spendBefore: bigint;
  /** The customer's blocking budget for the period, nano-units; undefined: none. */
  blockingBudget?: bigint;
  /** The customer's wallet blocks on depletion (its own policy, before stateForOnBlock). */
  blocksOnDepletion: boolean;
  onBlock: OnBlock;
  /** Blocking budgets of the API key that sent the event or of its project, each with its spend before this event. */
  scoped?: ScopedBudget[];
}

export interface ScopedBudget {
  limit: 'api_key_budget' | 'project_budget';
  scope_value: string;
  /** The budget, nano-units. */
  amount: bigint;
  /** The scope's period spend before this event, nano-units. */
  spendBefore: bigint;
}

/**
 * The limits one rated event (rated from stateForOnBlock's state) takes its customer past. `refuse`: the budget
 * refusal under `on_block: "refuse"`, when the event must be taken out (the running spend stays `spendBefore`: a later,
 * smaller event may still fit). Otherwise `blocks` (empty when none) and `spendAfter`, the running spend for the next.
 */
export function limitsCrossed(
  result: RatedEvent,
  context: LimitContext,
): { blocks: LimitBlock[]; refuse?: LimitBlock; spendAfter: bigint; scopedSpendsAfter: bigint[] } {
  const drawn = creditsDrawn(result);
  const left = toNano(result.amount ?? '0');
  const after = context.spendBefore + left + drawn;
  const scoped = context.scoped ?? [];
  const budgetBlocks: LimitBlock[] = [];
  const budget = context.blockingBudget;
  if (budget !== undefined && after > budget) {
    budgetBlocks.push({
      code: 'budget_exceeded',
      limit: 'budget',
      message: `The period's spend (${formatMoney(after)}) exceeds the customer's blocking budget (${formatMoney(budget)}) by ${formatMoney(after - budget)}`,
      limit_amount: formatMoney(budget),
      spend: formatMoney(after),
      exceeded_by: formatMoney(after - budget),
    });
  }
  const scopedSpendsAfter = scoped.map((s) => s.spendBefore + left + drawn);
  scoped.forEach((s, i) => {
    const spend = scopedSpendsAfter[i];
    if (spend <= s.amount) return;
    const scopeName = s.limit === 'api_key_budget' ? `API key ${s.scope_value}` : `project "${s.scope_value}"`;
    budgetBlocks.push({
      code: 'budget_exceeded',
      limit: s.limit,
      scope_value: s.scope_value,
      message: `The period's spend of ${scopeName} (${formatMoney(spend)}) exceeds its blocking budget (${formatMoney(s.amount)}) by ${formatMoney(spend - s.amount)}`,
      limit_amount: formatMoney(s.amount),
      spend: formatMoney(spend),
      exceeded_by: formatMoney(spend - s.amount),
    });
  });
  // Refused events leave the running spends alone: a later, smaller event may still fit.
  if (budgetBlocks.length > 0 && context.onBlock === 'refuse') {
    return {
      blocks: [],
      refuse: budgetBlocks[0],
      spendAfter: context.spendBefore,
      scopedSpendsAfter: scoped.map((s) => s.spendBefore),
    };
  }
  const blocks = budgetBlocks;
  if (context.blocksOnDepletion && context.onBlock === 'accept' && left > 0n) {
    blocks.push({
      code: 'credits_exhausted',
      limit: 'credits',
      message: `Credit in force covered ${formatMoney(drawn)} of this event; ${formatMoney(left)} is billed and the customer blocks on depletion`,
      limit_amount: formatMoney(drawn),
      spend: formatMoney(left + drawn),
      exceeded_by: formatMoney(left),
    });
  }
  return { blocks, spendAfter: after, scopedSpendsAfter };
}
