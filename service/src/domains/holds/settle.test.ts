import { describe, expect, it } from 'vitest';
import type { HoldRow } from './repo.ts';
import { HoldBook } from './settle.ts';

const now = new Date('2026-03-20T00:00:00Z');
const hold = (id: string, amount: string, overrides: Partial<HoldRow> = {}): HoldRow => ({
  id,
  level: 0,
  customerId: 'c1',
  customerExternalId: 'acme',
  currency: 'USD',
  amount,
  captured: '0',
  captureCount: 0,
  status: 'open',
  overrun: 'charge',
  estimate: null,
  card: null,
  requestHash: 'x',
  apiKeyId: null,
  expiresAt: new Date('2026-03-20T00:10:00Z'),
  createdAt: now,
  updatedAt: now,
  closedAt: null,
  ...overrides,
});
const dollars = (n: number) => BigInt(Math.round(n * 100)) * 10_000_000n;

describe('settling events against holds', () => {
  it('draws on the named hold first; the rest is an excess against what the other holds leave', () => {
    const book = new HoldBook(
      [
        hold('a', '4'),
        hold('b', '2'),
        hold('lapsed', '9', { expiresAt: now }),
        hold('other', '5', { customerId: 'c2' }),
      ],
      now,
    );
    // A lapsed hold and another customer's hold set nothing aside for c1.
    expect(book.reserved('c1')).toBe(dollars(6));
    expect(book.assess('c1', 'a', dollars(3))).toEqual({
      hold: { id: 'a', remaining: dollars(4), overrun: 'charge' },
      others: dollars(2),
      excess: 0n,
    });
    expect(book.assess('c1', 'a', dollars(5)).excess).toBe(dollars(1));
    expect(book.assess('c1', undefined, dollars(1))).toEqual({ others: dollars(6), excess: dollars(1) });
    expect(book.assess('c1', 'other', dollars(1))).toMatchObject({ unknown: true });
    expect(book.assess('c1', 'nope', dollars(1))).toMatchObject({ unknown: true });
    expect(book.assess('c1', 'lapsed', dollars(1))).toMatchObject({ closed: 'expired', excess: dollars(1) });
  });

  it('captures several times, and a final capture closes the hold and frees the rest', () => {
    const book = new HoldBook([hold('a', '4'), hold('b', '2')], now);
    expect(book.capture('a', 0, 'e1', dollars(1.5), false)).toEqual({
      captured: dollars(1.5),
      remaining: dollars(2.5),
      status: 'open',
    });
    expect(book.reserved('c1')).toBe(dollars(4.5));
    expect(book.capture('a', 0, 'e2', dollars(0.5), true)).toEqual({
      captured: dollars(2),
      remaining: 0n,
      status: 'captured',
    });
    expect(book.reserved('c1')).toBe(dollars(2));
    // An overrun captured in full: nothing left, never negative.
    expect(book.capture('b', 0, 'e3', dollars(3), false)).toEqual({
      captured: dollars(3),
      remaining: 0n,
      status: 'open',
    });
    const { settlements, captures } = book.settlements();
    expect(settlements).toEqual([
      { id: 'a', level: 0, captured: '2.000000000', captureCount: 2, status: 'captured', closedAt: now },
      { id: 'b', level: 0, captured: '3.000000000', captureCount: 1, status: 'open', closedAt: null },
    ]);
    expect(captures.map((c) => [c.holdId, c.transactionId, c.amount, c.final])).toEqual([
      ['a', 'e1', '1.500000000', false],
      ['a', 'e2', '0.500000000', true],
      ['b', 'e3', '3.000000000', false],
    ]);
  });

  it("captures a hold's reseller levels apart: each its own charge, counted as its reseller's", () => {
    const book = new HoldBook(
      [hold('a', '4'), hold('a', '4', { level: 1, customerId: 'r1' }), hold('mine', '1', { customerId: 'r1' })],
      now,
    );
    // The reseller's own hold and the level row of its customer's hold both set aside its credit.
    expect(book.reserved('r1')).toBe(dollars(5));
    expect(book.reserved('c1')).toBe(dollars(4));
    // Assessing names the hold itself, never a level row of another customer.
    expect(book.assess('r1', 'a', dollars(1))).toMatchObject({ unknown: true });
    book.capture('a', 0, 'e1', dollars(3), true);
    expect(book.capture('a', 1, 'e1', dollars(2), true)).toEqual({
      captured: dollars(2),
      remaining: 0n,
      status: 'captured',
    });
    expect(book.capture('a', 2, 'e1', dollars(1), true)).toBeUndefined();
    expect(book.reserved('r1')).toBe(dollars(1));
    expect(book.settlements().settlements.map((s) => [s.id, s.level, s.captured, s.status])).toEqual([
      ['a', 0, '3.000000000', 'captured'],
      ['a', 1, '2.000000000', 'captured'],
    ]);
  });

  it('writes nothing for holds no event captured', () => {
    expect(new HoldBook([hold('a', '1')], now).settlements()).toEqual({ settlements: [], captures: [] });
  });
});
