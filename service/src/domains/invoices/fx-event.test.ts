// The event policy against a decimal.js computation made event by event: random rate histories (daily and
// intraday, some gaps longer than a rate's life) and random events; the slices are cut at rateChangeInstants as
// the SQL does, and the converted total and each converted line must equal the per-event reference exactly.
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertLines } from './fx.ts';
import type { DraftLine } from './build.ts';
import { maxRateAgeDays, type Conversion, type StoredRate } from '../currency/convert.ts';
import { findRate } from '../currency/convert.ts';
import {
  convertEventSums,
  convertNanoByFraction,
  intervalOf,
  intervalRates,
  latestAmong,
  rateChangeInstants,
  sumSlices,
  slicesOf as slicesByInterval,
  type EventSlice,
} from '../currency/event-time.ts';

/** The production path for one period's slices: rates per interval of rateChangeInstants, sums, conversion. */
function convertEventSlices(from: string, to: string, slices: EventSlice[], rates: StoredRate[]) {
  const bounds = rateChangeInstants(rates);
  const byInterval = intervalRates(from, to, bounds, rates);
  return convertEventSums(from, to, sumSlices(slices, bounds, byInterval), byInterval);
}

const Reference = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });
const start = Date.parse('2026-03-01T00:00:00Z');
const day = 86_400_000;

/** The rate in force at `at`, found the plain way: the latest USD->EUR rate at or before it, at most 7 days old. */
function referenceRate(rates: StoredRate[], at: number): string | undefined {
  const candidates = rates.filter((r) => r.asOf.getTime() <= at && r.asOf.getTime() >= at - maxRateAgeDays * day);
  candidates.sort((a, b) => b.asOf.getTime() - a.asOf.getTime());
  return candidates[0]?.rate;
}

/** Events grouped as the SQL groups them: by the interval of rateChangeInstants their timestamp falls in. */
function slicesOf(events: { at: number; amount: bigint }[], rates: StoredRate[]): EventSlice[] {
  const bounds = rateChangeInstants(rates).map((d) => d.getTime());
  const byBucket = new Map<number, EventSlice>();
  for (const e of events) {
    const bucket = bounds.filter((b) => b <= e.at).length;
    const slice = byBucket.get(bucket) ?? { amount: 0n, events: 0, firstAt: new Date(e.at), lastAt: new Date(e.at) };
    slice.amount += e.amount;
    slice.events += 1;
    if (e.at < slice.firstAt.getTime()) slice.firstAt = new Date(e.at);
    if (e.at > slice.lastAt.getTime()) slice.lastAt = new Date(e.at);
    byBucket.set(bucket, slice);
  }
  return [...byBucket.values()];
}

const rateHistory = fc
  .array(
    fc.record({
      offset: fc.integer({ min: -8 * day, max: 31 * day }),
      rate: fc.integer({ min: 1, max: 9_999_999 }).map((n) => new Decimal(n).div(1_000_000).toFixed()),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((list) => {
    const byInstant = new Map(list.map((r) => [r.offset, r.rate]));
    return [...byInstant].map(([offset, rate]) => ({
      base: 'USD',
      quote: 'EUR',
      rate,
      asOf: new Date(start + offset),
      source: `bank-${offset}`,
    }));
  });

const eventList = fc.array(
  fc.record({
    at: fc.integer({ min: start, max: start + 31 * day - 1 }),
    amount: fc.bigInt({ min: -5_000_000_000n, max: 90_000_000_000_000n }),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('converting each event at the rate in force at its time', () => {
  it('equals the per-event decimal.js sum exactly, or names the first event without a rate', () => {
    fc.assert(
      fc.property(rateHistory, eventList, (rates, events) => {
        const result = convertEventSlices('USD', 'EUR', slicesOf(events, rates), rates);
        const missing = events.filter((e) => referenceRate(rates, e.at) === undefined);
        if (missing.length > 0) {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(missing.map((e) => e.at)).toContain(result.at.getTime());
          return;
        }
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const exact = events.reduce(
          (sum, e) => sum.plus(new Reference(e.amount.toString()).times(referenceRate(rates, e.at)!)),
          new Reference(0),
        );
        expect(new Reference(result.events.converted).times(1e9).eq(exact)).toBe(true);
        expect(result.events.amount).toBe(
          new Reference(events.reduce((s, e) => s + e.amount, 0n).toString()).div(1e9).toFixed(9),
        );
        // Every rate used is listed once per interval, with the events it converted.
        expect(result.events.rates.reduce((n, r) => n + r.events, 0)).toBe(events.length);
      }),
      { numRuns: 300 },
    );
  });

  it('converts each event line at converted / amount, rounded half-even once per line, and the rest at the period end rate', () => {
    fc.assert(
      fc.property(
        rateHistory,
        eventList,
        fc.array(fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n }), { minLength: 1, maxLength: 6 }),
        (rates, events, lineAmounts) => {
          const result = convertEventSlices('USD', 'EUR', slicesOf(events, rates), rates);
          if (!result.ok) return;
          const total = events.reduce((s, e) => s + e.amount, 0n);
          if (total === 0n) return;
          const conversion: Conversion = {
            from: 'USD',
            to: 'EUR',
            rate: '1',
            source: 's',
            as_of: new Date(start).toISOString(),
            policy: 'event',
            at: new Date(start + 31 * day).toISOString(),
            method: 'events',
            legs: [],
            events: result.events,
            period_end: { ...({} as Conversion), rate: '0.5' },
          };
          const lines = lineAmounts.map(
            (amountExact, i): DraftLine =>
              ({
                kind: i === 0 ? 'base_fee' : 'usage',
                amountExact,
                amount: amountExact,
                unitPrice: null,
                details: {},
              }) as unknown as DraftLine,
          );
          const converted = convertLines(lines, conversion, 2).lines;
          const perEvent = events.reduce(
            (sum, e) => sum.plus(new Reference(e.amount.toString()).times(referenceRate(rates, e.at)!)),
            new Reference(0),
          );
          lines.forEach((line, i) => {
            const expected =
              i === 0
                ? new Reference(line.amountExact.toString()).times('0.5')
                : new Reference(line.amountExact.toString()).times(perEvent).div(total.toString());
            expect(converted[i].amountExact).toBe(
              BigInt(expected.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed()),
            );
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("sums each line's own events per interval: every line's conversion equals its events converted one by one", () => {
    fc.assert(
      fc.property(
        rateHistory,
        fc.array(
          fc.record({
            at: fc.integer({ min: start, max: start + 31 * day - 1 }),
            parts: fc.array(
              fc.record({
                key: fc.constantFrom('a', 'b', 'c'),
                amount: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 13n }),
              }),
              { minLength: 1, maxLength: 3 },
            ),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (rates, events) => {
          const contributions = events.map((e) => {
            const lines = new Map<string, bigint>();
            for (const p of e.parts) lines.set(p.key, (lines.get(p.key) ?? 0n) + p.amount);
            return { at: new Date(e.at), amount: e.parts.reduce((s, p) => s + p.amount, 0n), lines };
          });
          const result = convertEventSlices(
            'USD',
            'EUR',
            slicesByInterval(contributions, rateChangeInstants(rates)),
            rates,
          );
          if (events.some((e) => referenceRate(rates, e.at) === undefined)) {
            expect(result.ok).toBe(false);
            return;
          }
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          for (const key of ['a', 'b', 'c']) {
            const own = contributions.filter((c) => c.lines.has(key));
            const stated = result.events.lines?.[key];
            if (own.length === 0) {
              expect(stated).toBeUndefined();
              continue;
            }
            const amount = own.reduce((s, c) => s + c.lines.get(key)!, 0n);
            const exact = own.reduce(
              (sum, c) =>
                sum.plus(new Reference(c.lines.get(key)!.toString()).times(referenceRate(rates, c.at.getTime())!)),
              new Reference(0),
            );
            expect(new Reference(stated!.amount).times(1e9).eq(amount.toString())).toBe(true);
            expect(new Reference(stated!.converted).times(1e9).eq(exact)).toBe(true);
            // The line converted at its fraction: its events converted one by one, rounded half-even once.
            if (amount !== 0n)
              expect(convertNanoByFraction(amount, { numerator: stated!.converted, denominator: stated!.amount })).toBe(
                BigInt(exact.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed()),
              );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it("finds for each interval the rate in force at each of its events' instants (what the SQL sums convert at)", () => {
    fc.assert(
      fc.property(
        rateHistory,
        fc.array(fc.integer({ min: start, max: start + 31 * day - 1 }), { minLength: 1, maxLength: 60 }),
        (rates, instants) => {
          const bounds = rateChangeInstants(rates);
          const byInterval = intervalRates('USD', 'EUR', bounds, rates);
          // The rate of an interval is the rate found at each of its events' instants, event by event.
          for (const at of instants) {
            const found = findRate('USD', 'EUR', new Date(at), 'event', latestAmong(rates, new Date(at)));
            const own = byInterval[intervalOf(bounds, new Date(at))];
            expect(own ? { ...own, at: '' } : undefined).toEqual(
              found.ok ? { ...found.conversion, at: '' } : undefined,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
