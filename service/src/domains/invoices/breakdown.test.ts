import { describe, expect, it } from 'vitest';
import { itemiseByChild } from './breakdown.ts';

const n = (text: string) => BigInt(text.replace('.', ''));

describe('itemiseByChild', () => {
  it('gives each child its charge, the reseller the rest, and splits the rounded subtotal by largest remainder', () => {
    // given: usage 10.004 + 5.0031 exact (rounded lines 10.00 and 5.01 after the invoice's own rounding), a discount,
    // a credit (not part of the usage subtotal) and a base fee (neither)
    const lines = [
      { kind: 'usage' as const, amount: n('10.000000000'), amountExact: n('10.004000000') },
      { kind: 'usage' as const, amount: n('5.010000000'), amountExact: n('5.003100000') },
      { kind: 'discount' as const, amount: n('-1.000000000'), amountExact: n('-1.000000000') },
      { kind: 'credit' as const, amount: n('-2.000000000'), amountExact: n('-2.000000000') },
      { kind: 'base_fee' as const, amount: n('20.000000000'), amountExact: n('20.000000000') },
    ];
    const children = [
      { externalId: 'a', name: 'A', events: 3n, charge: n('6.335000000') },
      { externalId: 'b', name: null, events: 1n, charge: n('4.335000000') },
    ];
    // when
    const breakdown = itemiseByChild('USD', 2, lines, children);
    // then: exact amounts reconcile to the nano-unit; rounded ones to the cent, with the usage lines' rounded sum
    expect(breakdown.usage_subtotal).toEqual({ amount: '14.010000000', amount_exact: '14.007100000' });
    expect(breakdown.own_usage.amount_exact).toBe('3.337100000');
    expect(breakdown.children.map((c) => [c.customer_id, c.events, c.amount_exact])).toEqual([
      ['a', '3', '6.335000000'],
      ['b', '1', '4.335000000'],
    ]);
    const rounded = [...breakdown.children.map((c) => n(c.amount)), n(breakdown.own_usage.amount)];
    expect(rounded.reduce((a, b) => a + b, 0n)).toBe(n('14.010000000'));
    // floors 6.33 + 4.33 + 3.33 = 13.99; the two missing cents go to the largest remainders: own (.0071), then a
    // (.005, before b on a tie)
    expect(rounded).toEqual([n('6.340000000'), n('4.330000000'), n('3.340000000')]);
  });

  it('has no children and the whole usage as own for a reseller without chain rows', () => {
    const breakdown = itemiseByChild(
      'JPY',
      0,
      [{ kind: 'usage', amount: n('12.000000000'), amountExact: n('12.400000000') }],
      [],
    );
    expect(breakdown.children).toEqual([]);
    expect(breakdown.own_usage).toEqual({ amount: '12.000000000', amount_exact: '12.400000000' });
  });
});
