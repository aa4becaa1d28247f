import { describe, expect, it } from 'vitest';
import type { CustomerState, RatedEvent } from './book.ts';
import { creditsDrawn, limitsCrossed, stateForOnBlock } from './limits.ts';

const rated = (amount: string, credits: string[] = []): RatedEvent => ({
  transaction_id: 't',
  customer_id: 'c',
  status: 'rated',
  currency: 'USD',
  amount,
  receipt: credits.map((credit, i) => ({
    step: 'credit',
    grant: `g${i}`,
    kind: 'prepaid',
    amount: credit,
    balance: '0',
  })),
});

describe('stateForOnBlock', () => {
  it('rates a blocking customer as overage under accept only, without touching the state it was given', () => {
    const state: CustomerState = { on_depletion: 'block', discount_percent: '10' };
    expect(stateForOnBlock(state, 'accept')).toEqual({ on_depletion: 'overage', discount_percent: '10' });
    expect(state.on_depletion).toBe('block');
    expect(stateForOnBlock(state, 'refuse')).toBe(state);
    const overage: CustomerState = { on_depletion: 'overage' };
    expect(stateForOnBlock(overage, 'accept')).toBe(overage);
    expect(stateForOnBlock(undefined, 'accept')).toBeUndefined();
  });
});

describe('limitsCrossed', () => {
  it('counts spend as what is left to bill plus credits drawn', () => {
    expect(creditsDrawn(rated('0.1', ['0.25', '0.05']))).toBe(300_000_000n);
    expect(
      limitsCrossed(rated('0.1', ['0.25']), {
        spendBefore: 1_000_000_000n,
        blocksOnDepletion: false,
        onBlock: 'accept',
      }),
    ).toEqual({ blocks: [], spendAfter: 1_350_000_000n, scopedSpendsAfter: [] });
  });

  it('flags a budget crossed and a blocking wallet billed past its credit under accept', () => {
    const { blocks, spendAfter } = limitsCrossed(rated('0.4', ['0.2']), {
      spendBefore: 500_000_000n,
      blockingBudget: 1_000_000_000n,
      blocksOnDepletion: true,
      onBlock: 'accept',
    });
    expect(spendAfter).toBe(1_100_000_000n);
    expect(blocks.map((b) => [b.code, b.limit, b.limit_amount, b.spend, b.exceeded_by])).toEqual([
      ['budget_exceeded', 'budget', '1.000000000', '1.100000000', '0.100000000'],
      ['credits_exhausted', 'credits', '0.200000000', '0.600000000', '0.400000000'],
    ]);
    // Exactly at the budget, and fully covered by credit: nothing crossed.
    expect(
      limitsCrossed(rated('0', ['0.5']), {
        spendBefore: 500_000_000n,
        blockingBudget: 1_000_000_000n,
        blocksOnDepletion: true,
        onBlock: 'accept',
      }).blocks,
    ).toEqual([]);
  });

  it("counts the event for its key's and project's budgets, each with its own spend", () => {
    const scoped = [
      { limit: 'api_key_budget' as const, scope_value: 'key-1', amount: 2_000_000_000n, spendBefore: 1_800_000_000n },
      { limit: 'project_budget' as const, scope_value: 'search', amount: 1_000_000_000n, spendBefore: 100_000_000n },
    ];
    const accepted = limitsCrossed(rated('0.3'), {
      spendBefore: 0n,
      blocksOnDepletion: false,
      onBlock: 'accept',
      scoped,
    });
    expect(accepted.scopedSpendsAfter).toEqual([2_100_000_000n, 400_000_000n]);
    expect(accepted.blocks.map((b) => [b.limit, b.scope_value, b.spend, b.exceeded_by])).toEqual([
      ['api_key_budget', 'key-1', '2.100000000', '0.100000000'],
    ]);
    const refused = limitsCrossed(rated('0.3'), {
      spendBefore: 0n,
      blocksOnDepletion: false,
      onBlock: 'refuse',
      scoped,
    });
    expect(refused.refuse).toMatchObject({ code: 'budget_exceeded', limit: 'api_key_budget', scope_value: 'key-1' });
    expect(refused.scopedSpendsAfter).toEqual([1_800_000_000n, 100_000_000n]);
  });

  it('refuses a budget crossing under refuse, leaving the running spend where it was', () => {
    const crossed = limitsCrossed(rated('0.6'), {
      spendBefore: 500_000_000n,
      blockingBudget: 1_000_000_000n,
      blocksOnDepletion: true,
      onBlock: 'refuse',
    });
    expect(crossed.refuse).toMatchObject({ code: 'budget_exceeded', exceeded_by: '0.100000000' });
    expect(crossed.spendAfter).toBe(500_000_000n);
    expect(crossed.blocks).toEqual([]);
  });
});
