// Billing period boundaries, pure: from a subscription's start and anchor, which period contains an instant,
// the period that follows a closed one, and the base-fee proration rule. Instants are UTC; boundaries are
// 00:00:00 UTC on the anchor day.
import { divideHalfEven } from '../../platform/money.ts';
import type { BillingInterval } from '@tariff/openapi/schemas/plans';

export type { BillingInterval };

export interface Cadence {
  interval: BillingInterval;
  /** 1-31; a month without that day uses its last day. */
  anchorDay: number;
  /** 1-12, yearly plans only. */
  anchorMonth?: number;
}

export interface Period {
  start: Date;
  end: Date;
}

export interface SubscriptionTerms {
  startedAt: Date;
  cadence: Cadence;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The boundary in a given month (0-based), for monthly cadences; in a given year for yearly ones. */
function boundary(cadence: Cadence, year: number, month: number): Date {
  const m = cadence.interval === 'year' ? (cadence.anchorMonth ?? 1) - 1 : month;
  return new Date(Date.UTC(year, m, Math.min(cadence.anchorDay, daysInMonth(year, m))));
}

/** The latest boundary at or before `t`. */
export function boundaryAtOrBefore(cadence: Cadence, t: Date): Date {
  const year = t.getUTCFullYear();
  const month = t.getUTCMonth();
  if (cadence.interval === 'year') {
    const b = boundary(cadence, year, 0);
    return b.getTime() <= t.getTime() ? b : boundary(cadence, year - 1, 0);
  }
  const b = boundary(cadence, year, month);
  return b.getTime() <= t.getTime() ? b : boundary(cadence, month === 0 ? year - 1 : year, (month + 11) % 12);
}

/** The earliest boundary strictly after `t`. */
export function boundaryAfter(cadence: Cadence, t: Date): Date {
  const year = t.getUTCFullYear();
  const month = t.getUTCMonth();
  if (cadence.interval === 'year') {
    const b = boundary(cadence, year, 0);
    return b.getTime() > t.getTime() ? b : boundary(cadence, year + 1, 0);
  }
  const b = boundary(cadence, year, month);
  return b.getTime() > t.getTime() ? b : boundary(cadence, month === 11 ? year + 1 : year, (month + 1) % 12);
}

export function calendarMonthOf(t: Date): Period {
  return {
    start: new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1)),
    end: new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1)),
  };
}

/**
 * The billing period containing `t`. Without a subscription: the calendar month (UTC). Before the
 * subscription starts: the calendar month, cut at the start. From the start: anchor boundary to anchor
 * boundary, except the first period, which begins at the start itself. An amendment's instant (`cuts`) splits
 * the period it falls in: the part before it and the part from it are periods of their own.
 */
export function periodAt(subscription: SubscriptionTerms | undefined, t: Date, cuts: Date[] = []): Period {
  const period = uncutPeriodAt(subscription, t);
  for (const cut of cuts) {
    if (cut.getTime() <= period.start.getTime() || cut.getTime() >= period.end.getTime()) continue;
    if (cut.getTime() <= t.getTime()) period.start = cut;
    else period.end = cut;
  }
  return period;
}

/**
 * The period that follows `closed` on the subscription's cadence (cut by the amendments' instants), opened when
 * `closed` is closed so that it closes in turn, with or without usage. None without a subscription, or when the
 * subscription starts after `closed` ends: such periods open with their first event.
 */
export function nextPeriod(
  subscription: SubscriptionTerms | undefined,
  closed: Period,
  cuts: Date[] = [],
): Period | undefined {
  if (!subscription || closed.end.getTime() < subscription.startedAt.getTime()) return undefined;
  return periodAt(subscription, closed.end, cuts);
}

function uncutPeriodAt(subscription: SubscriptionTerms | undefined, t: Date): Period {
  if (!subscription) return calendarMonthOf(t);
  const { startedAt, cadence } = subscription;
  if (t.getTime() < startedAt.getTime()) {
    const month = calendarMonthOf(t);
    return { start: month.start, end: month.end.getTime() < startedAt.getTime() ? month.end : startedAt };
  }
  const start = boundaryAtOrBefore(cadence, t);
  return { start: start.getTime() < startedAt.getTime() ? startedAt : start, end: boundaryAfter(cadence, t) };
}

/**
 * The full period a (possibly partial) subscription period belongs to: the anchor boundaries around its start
 * (a first period after a mid-period start, or either part of a period an amendment split).
 */
export function fullPeriodOf(cadence: Cadence, period: Period): Period {
  return { start: boundaryAtOrBefore(cadence, period.start), end: boundaryAfter(cadence, period.start) };
}

/**
 * Proration by the second: amount x (seconds in the period) / (seconds in its full period), rounded half-even to
 * the nano-unit. A full period is charged the amount exactly.
 */
export function prorate(
  amount: bigint,
  period: Period,
  full: Period,
): { amount: bigint; seconds: bigint; fullSeconds: bigint } {
  const seconds = BigInt(Math.floor((period.end.getTime() - period.start.getTime()) / 1000));
  const fullSeconds = BigInt(Math.floor((full.end.getTime() - full.start.getTime()) / 1000));
  if (seconds >= fullSeconds) return { amount, seconds, fullSeconds };
  return { amount: divideHalfEven(amount * seconds, fullSeconds), seconds, fullSeconds };
}
