import { describe, expect, it } from 'vitest';
import { boundaryAfter, boundaryAtOrBefore, fullPeriodOf, periodAt, prorate, type Cadence } from './calendar.ts';

const d = (iso: string) => new Date(iso);
const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];
const monthly = (anchorDay: number): Cadence => ({ interval: 'month', anchorDay });

describe('billing periods', () => {
  it.each([
    // given cadence, instant -> then the boundary at or before it and the one after it
    [monthly(1), '2026-03-15T12:00:00Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    [monthly(1), '2026-03-01T00:00:00Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    [monthly(15), '2026-03-10T00:00:00Z', '2026-02-15T00:00:00.000Z', '2026-03-15T00:00:00.000Z'],
    [monthly(15), '2026-12-20T00:00:00Z', '2026-12-15T00:00:00.000Z', '2027-01-15T00:00:00.000Z'],
    [monthly(15), '2026-01-10T00:00:00Z', '2025-12-15T00:00:00.000Z', '2026-01-15T00:00:00.000Z'],
    // Day 31 clamps to the month's last day, and comes back to 31 when the month has one.
    [monthly(31), '2026-02-28T10:00:00Z', '2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z'],
    [monthly(31), '2026-02-27T10:00:00Z', '2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z'],
    [monthly(31), '2026-04-30T00:00:00Z', '2026-04-30T00:00:00.000Z', '2026-05-31T00:00:00.000Z'],
    [monthly(29), '2028-02-29T00:00:01Z', '2028-02-29T00:00:00.000Z', '2028-03-29T00:00:00.000Z'],
    [
      { interval: 'year', anchorDay: 1, anchorMonth: 7 } as Cadence,
      '2026-03-15T00:00:00Z',
      '2025-07-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z',
    ],
    [
      { interval: 'year', anchorDay: 29, anchorMonth: 2 } as Cadence,
      '2027-06-01T00:00:00Z',
      '2027-02-28T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ],
  ])('given %o at %s, the period runs %s to %s', (cadence, at, start, end) => {
    expect(boundaryAtOrBefore(cadence, d(at)).toISOString()).toBe(start);
    expect(boundaryAfter(cadence, d(at)).toISOString()).toBe(end);
  });

  it('given a subscription from mid-month, the first period is partial, later ones are whole, and earlier usage gets a cut calendar month', () => {
    const subscription = { startedAt: d('2026-03-15T12:00:00Z'), cadence: monthly(1) };
    expect(iso(periodAt(subscription, d('2026-03-20T00:00:00Z')))).toEqual([
      '2026-03-15T12:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-03-15T12:00:00Z')))).toEqual([
      '2026-03-15T12:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-04-01T00:00:00Z')))).toEqual([
      '2026-04-01T00:00:00.000Z',
      '2026-05-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-03-15T11:59:59Z')))).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-15T12:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-02-10T00:00:00Z')))).toEqual([
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(undefined, d('2026-02-10T00:00:00Z')))).toEqual([
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
  });

  it('given an amendment inside a period, splits it there; one on a boundary or in another period changes nothing', () => {
    const subscription = { startedAt: d('2026-01-01T00:00:00Z'), cadence: monthly(1) };
    const cuts = [d('2026-03-16T00:00:00Z'), d('2026-05-01T00:00:00Z')];
    expect(iso(periodAt(subscription, d('2026-03-15T23:59:59Z'), cuts))).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-16T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-03-16T00:00:00Z'), cuts))).toEqual([
      '2026-03-16T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-04-10T00:00:00Z'), cuts))).toEqual([
      '2026-04-01T00:00:00.000Z',
      '2026-05-01T00:00:00.000Z',
    ]);
    expect(iso(periodAt(subscription, d('2026-05-10T00:00:00Z'), cuts))).toEqual([
      '2026-05-01T00:00:00.000Z',
      '2026-06-01T00:00:00.000Z',
    ]);
    // Both parts of a split period prorate against the whole month.
    const before = periodAt(subscription, d('2026-03-02T00:00:00Z'), cuts);
    const after = periodAt(subscription, d('2026-03-20T00:00:00Z'), cuts);
    expect(iso(fullPeriodOf(monthly(1), before))).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    expect(iso(fullPeriodOf(monthly(1), after))).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    // $100 for 15 of 31 days, $300 for the other 16: 48.387096774 + 154.838709677.
    expect(prorate(100_000_000_000n, before, fullPeriodOf(monthly(1), before)).amount).toBe(48_387_096_774n);
    expect(prorate(300_000_000_000n, after, fullPeriodOf(monthly(1), after)).amount).toBe(154_838_709_677n);
  });

  it('prorates by the second against the full period, half-even at the nano-unit', () => {
    const cadence = monthly(1);
    const partial = { start: d('2026-03-15T12:00:00Z'), end: d('2026-04-01T00:00:00Z') };
    const full = fullPeriodOf(cadence, partial);
    expect(iso(full)).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    // $100 x 1,425,600 s / 2,678,400 s = 53.225806451612903...
    expect(prorate(100_000_000_000n, partial, full)).toEqual({
      amount: 53_225_806_452n,
      seconds: 1_425_600n,
      fullSeconds: 2_678_400n,
    });
    // A whole period is the amount exactly; one second of a 28-day February is 100 / 2,419,200.
    expect(prorate(100_000_000_000n, full, full).amount).toBe(100_000_000_000n);
    const feb = { start: d('2026-02-01T00:00:00Z'), end: d('2026-03-01T00:00:00Z') };
    expect(prorate(100_000_000_000n, { start: d('2026-02-28T23:59:59Z'), end: feb.end }, feb).amount).toBe(41_336n);
    // Half-even: 5 x 1 / 2 = 2.5 -> 2; 3 x 1 / 2 = 1.5 -> 2.
    expect(
      prorate(
        5n,
        { start: d('2026-01-01T00:00:00Z'), end: d('2026-01-01T00:00:01Z') },
        { start: d('2026-01-01T00:00:00Z'), end: d('2026-01-01T00:00:02Z') },
      ).amount,
    ).toBe(2n);
    expect(
      prorate(
        3n,
        { start: d('2026-01-01T00:00:00Z'), end: d('2026-01-01T00:00:01Z') },
        { start: d('2026-01-01T00:00:00Z'), end: d('2026-01-01T00:00:02Z') },
      ).amount,
    ).toBe(2n);
  });
});
