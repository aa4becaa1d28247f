import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  attemptIdempotencyKey,
  defaultRetryAfterSeconds,
  fromMinorUnits,
  toMinorUnits,
} from './dunning.ts';

const day = 86_400_000;

describe('toMinorUnits', () => {
  it.each([
    // given nano-units and the ISO exponent, then the minor units Stripe is sent
    [12_340_000_000n, 2, 1234n],
    [1_000_000_000n, 0, 1n],
    [1_234_000_000n, 3, 1234n],
    [1_234_500_000n, 4, 12345n],
    [0n, 2, 0n],
  ])('%s nano at exponent %s is %s minor units', (nano, exponent, minor) => {
    expect(toMinorUnits(nano, exponent)).toEqual({ ok: true, amount: minor });
    expect(fromMinorUnits(minor, exponent)).toBe(nano);
  });

  it.each([
    [12_345_000_000n + 1n, 2],
    [1_500_000_000n, 0],
    [1_000_000n, 2],
  ])('refuses %s nano at exponent %s rather than rounding', (nano, exponent) => {
    expect(toMinorUnits(nano, exponent).ok).toBe(false);
  });
});

describe('afterFailure', () => {
  const policy = { retryAfterSeconds: defaultRetryAfterSeconds, blockAfterSeconds: 2 * 86_400 };
  const first = new Date('2026-03-01T00:00:00Z');

  it('schedules retries 1, 3, 5 and 7 days after the first failure, then gives up', () => {
    const at = (attempt: number, now: Date) => afterFailure(policy, attempt, attempt === 1 ? null : first, now);
    const one = at(1, first);
    expect(one).toEqual({
      kind: 'retry',
      at: new Date(first.getTime() + day),
      firstFailedAt: first,
      blockAt: new Date(first.getTime() + 2 * day),
    });
    expect(at(2, new Date(first.getTime() + day))).toMatchObject({
      kind: 'retry',
      at: new Date(first.getTime() + 3 * day),
    });
    expect(at(3, new Date(first.getTime() + 3 * day))).toMatchObject({
      kind: 'retry',
      at: new Date(first.getTime() + 5 * day),
    });
    expect(at(4, new Date(first.getTime() + 5 * day))).toMatchObject({
      kind: 'retry',
      at: new Date(first.getTime() + 7 * day),
    });
    expect(at(5, new Date(first.getTime() + 7 * day))).toEqual({
      kind: 'exhausted',
      firstFailedAt: first,
      blockAt: new Date(first.getTime() + 2 * day),
    });
  });

  it('runs an overdue retry now, and never blocks without a delay', () => {
    const late = new Date(first.getTime() + 4 * day);
    expect(afterFailure({ retryAfterSeconds: [86_400, 3 * 86_400], blockAfterSeconds: null }, 2, first, late)).toEqual({
      kind: 'retry',
      at: late,
      firstFailedAt: first,
      blockAt: null,
    });
    expect(afterFailure({ retryAfterSeconds: [], blockAfterSeconds: null }, 1, null, first)).toMatchObject({
      kind: 'exhausted',
    });
  });
});

describe('attemptIdempotencyKey', () => {
  it('is the same for every send of one attempt and differs between attempts and invoices', () => {
    const key = attemptIdempotencyKey('t1', 'inv1', 1);
    expect(attemptIdempotencyKey('t1', 'inv1', 1)).toBe(key);
    expect(
      new Set([
        key,
        attemptIdempotencyKey('t1', 'inv1', 2),
        attemptIdempotencyKey('t1', 'inv2', 1),
        attemptIdempotencyKey('t2', 'inv1', 1),
      ]).size,
    ).toBe(4);
  });
});
