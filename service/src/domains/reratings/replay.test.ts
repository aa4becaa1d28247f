import { describe, expect, it } from 'vitest';
import type { ReceiptStep } from '@tariff/core-wasm';
import { canonicalJson, capCredits, usageLinesOf } from './replay.ts';

const credit = (grant: string, amount: string, balance: string): ReceiptStep => ({
  step: 'credit',
  grant,
  kind: 'prepaid',
  amount,
  balance,
});

describe('credit kept by a re-rated event', () => {
  const drew = [credit('g1', '3.000000000', '0.000000000'), credit('g2', '5.000000000', '15.000000000')];
  it.each([
    // given the new amount before credits -> then the steps kept, the credit kept, and what goes back per grant
    [
      '8',
      [
        ['g1', '3.000000000', '0.000000000'],
        ['g2', '5.000000000', '15.000000000'],
      ],
      8_000_000_000n,
      [],
    ],
    [
      '10',
      [
        ['g1', '3.000000000', '0.000000000'],
        ['g2', '5.000000000', '15.000000000'],
      ],
      8_000_000_000n,
      [],
    ],
    [
      '4',
      [
        ['g1', '3.000000000', '0.000000000'],
        ['g2', '1.000000000', '19.000000000'],
      ],
      4_000_000_000n,
      [['g2', 4_000_000_000n]],
    ],
    [
      '2',
      [['g1', '2.000000000', '1.000000000']],
      2_000_000_000n,
      [
        ['g1', 1_000_000_000n],
        ['g2', 5_000_000_000n],
      ],
    ],
    [
      '0',
      [],
      0n,
      [
        ['g1', 3_000_000_000n],
        ['g2', 5_000_000_000n],
      ],
    ],
  ])('given a new pre-credit amount of %s, keeps the earlier draws first', (amount, steps, kept, returned) => {
    const result = capCredits(drew, BigInt(amount) * 1_000_000_000n);
    expect(result.steps.map((s) => [s.grant, s.amount, s.balance])).toEqual(steps);
    expect(result.kept).toBe(kept);
    expect(result.returned.map((r) => [r.grantId, r.amount])).toEqual(returned);
  });
});

describe('preview lines and receipt comparison', () => {
  it('itemises price steps by card, dimension and grouping properties', () => {
    const receipt: ReceiptStep[] = [
      { step: 'quantity', charge: 0, dimension: 'input_tokens', quantity: '1000.000000' },
      {
        step: 'price',
        charge: 0,
        model: 'per_unit',
        quantity: '1000.000000',
        rate: '2.500000000',
        per: '1000000.000000',
        amount: '0.002500000',
      },
      { step: 'quantity', charge: 1, dimension: 'output_tokens', quantity: '10.000000' },
      {
        step: 'price',
        charge: 1,
        model: 'per_unit',
        quantity: '10.000000',
        rate: '10.000000000',
        per: '1000000.000000',
        amount: '0.000100000',
      },
    ];
    const lines = usageLinesOf('openai/gpt-4o', receipt, { model: 'gpt-4o', region: 'eu', user: 'u1', gpu_type: 3 });
    expect(lines.map((l) => [l.dimension, l.group, l.amount])).toEqual([
      ['input_tokens', { model: 'gpt-4o', region: 'eu' }, 2_500_000n],
      ['output_tokens', { model: 'gpt-4o', region: 'eu' }, 100_000n],
    ]);
  });

  it('compares receipts whatever the key order a jsonb round trip left', () => {
    expect(canonicalJson([{ step: 'price', amount: '1', charge: 0 }])).toBe(
      canonicalJson([{ charge: 0, amount: '1', step: 'price' }]),
    );
    expect(canonicalJson([{ a: 1 }])).not.toBe(canonicalJson([{ a: 2 }]));
  });
});
