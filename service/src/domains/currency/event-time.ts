// Pure: the "rate at the event's time" policy. The contract, stated once (the rest of convert.ts's applies):
// - The rate in force at an instant is findRate's (the pair's latest rate at or before it, its inverse, or a cross
//   through EUR, for at most maxRateAgeDays). It can change only where a leg's rate starts (its as_of) or stops
//   counting (as_of + maxRateAgeDays), so those instants cut time into intervals with one rate each: every event
//   of an interval is converted at that interval's rate, whatever its granularity (daily ECB rates, hourly ones).
// - The period's events are summed per interval (what each event left to bill, its latest rating), in SQL; the
//   events' converted amount is the exact sum over intervals of amount x rate (no rounding there).
// - The invoice's event lines (usage, allowance, discount, commitment, credit: the receipts' steps, which add up to
//   what the events left to bill) are each converted at the events' weighted rate, converted / amount, computed
//   exactly and rounded half-even ONCE per line to the nano-unit: the lines then add up to the events converted
//   one by one, to the rounding of the lines. Lines that no event made (base fee, minimum true-up, SLA credits,
//   adjustments of earlier periods) are converted at the rate of the period's end, as under period_end.
// - With no amount left to bill by the events (all covered by credits), the weighted rate is undefined: the event
//   lines, which then net to zero, use the rate of the interval of the period's last event.
// - Each event line is weighted by the events that make it up: every event's contribution to each line (the
//   invoices domain keys them; for a reseller, the chain levels of its children's events at its level) is summed
//   per interval too, and the line converts at its own converted / amount. The weighted rate of all the events
//   stays for the lines no contribution was keyed to.
import { Decimal } from 'decimal.js';
import { formatMoney } from '../../platform/money.ts';
import { findRate, FxDecimal, maxRateAgeDays, type Conversion, type StoredRate } from './convert.ts';

/** The events of a period whose timestamps fall in one rate interval (slicesOf). */
export interface EventSlice {
  /** Events left to bill in the interval, nano-units of the source currency. */
  amount: bigint;
  events: number;
  firstAt: Date;
  lastAt: Date;
  /** What they contributed to each invoice line, by the line's key (nano-units, source currency). */
  lines?: Map<string, bigint>;
}

/** One event (or one reseller level of it) as the event policy weighs it: when, what it left to bill, by line. */
export interface EventContribution {
  at: Date;
  amount: bigint;
  lines: Map<string, bigint>;
}

/** The interval of `bounds` (sorted instants) that `at` falls in: i, from bounds[i - 1] (inclusive) to bounds[i]. */
export function intervalOf(bounds: readonly Date[], at: Date): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (bounds[middle].getTime() <= at.getTime()) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The contributions summed by the interval of `bounds` (sorted instants) they fall in. */
export function slicesOf(contributions: readonly EventContribution[], bounds: readonly Date[]): EventSlice[] {
  const slices = new Map<number, EventSlice & { lines: Map<string, bigint> }>();
  for (const c of contributions) {
    const interval = intervalOf(bounds, c.at);
    let slice = slices.get(interval);
    if (!slice)
      slices.set(interval, (slice = { amount: 0n, events: 0, firstAt: c.at, lastAt: c.at, lines: new Map() }));
    slice.amount += c.amount;
    slice.events += 1;
    if (c.at.getTime() < slice.firstAt.getTime()) slice.firstAt = c.at;
    if (c.at.getTime() > slice.lastAt.getTime()) slice.lastAt = c.at;
    for (const [key, amount] of c.lines) slice.lines.set(key, (slice.lines.get(key) ?? 0n) + amount);
  }
  return [...slices.values()];
}

/** One rate the events were converted at, as the invoice states it. */
export interface EventRate {
  rate: string;
  source: string;
  as_of: string;
  method: Exclude<Conversion['method'], 'events'>;
  /** The first and last event converted at it. */
  first_event_at: string;
  last_event_at: string;
  events: number;
  /** What those events left to bill (source currency) and its exact conversion (target currency, not rounded). */
  amount: string;
  converted: string;
}

export interface EventConversion {
  /** Every rate used, in time order. */
  rates: EventRate[];
  /** The events' total in the source currency and its exact conversion: the weighted rate is converted / amount. */
  amount: string;
  converted: string;
  /** Each event line's own events: their amount and its exact conversion, by the line's key (EventSlice.lines). */
  lines?: Record<string, { amount: string; converted: string }>;
}

const ageMs = maxRateAgeDays * 86_400_000;

/** The instants where the rate found for a pair may change: each leg's as_of, and the first instant it is too old. */
export function rateChangeInstants(rates: StoredRate[]): Date[] {
  const instants = new Set<number>();
  for (const r of rates) {
    instants.add(r.asOf.getTime());
    instants.add(r.asOf.getTime() + ageMs + 1);
  }
  return [...instants].sort((a, b) => a - b).map((t) => new Date(t));
}

/** A RateLookup over a list of rates: each pair's latest at or before `at`. */
export function latestAmong(rates: StoredRate[], at: Date) {
  return (base: string, quote: string): StoredRate | undefined => {
    let best: StoredRate | undefined;
    for (const r of rates)
      if (r.base === base && r.quote === quote && r.asOf.getTime() <= at.getTime())
        if (!best || r.asOf.getTime() > best.asOf.getTime()) best = r;
    return best;
  };
}

export type EventConversionResult =
  { ok: true; events: EventConversion; lastRate: string | null } | { ok: false; from: string; to: string; at: Date };

/** The events of a period in one rate interval (the bounds' interval index, intervalOf), summed. */
export interface IntervalSum {
  interval: number;
  events: number;
  firstAt: Date;
  lastAt: Date;
  /** What they left to bill, nano-units of the source currency. */
  amount: bigint;
}

/**
 * A period's events summed where they are read (in SQL): by rate interval, and each event line's amount with its
 * exact conversion, every event's share at its interval's rate (the rates of intervalRates), by the line's key.
 */
export interface EventSums {
  intervals: IntervalSum[];
  /** By line key: amount (nano-units, source currency) and converted (exact decimal text as FxDecimal's toFixed writes it, target currency units). */
  lines: Map<string, { amount: bigint; converted: string }>;
}

/**
 * The rate of each interval of `bounds` (index as intervalOf's; undefined: none in force). A rate can change only at
 * a bound (rateChangeInstants), so the rate at an interval's start is the rate of every instant in it: interval 0,
 * before the first bound, has none (no rate of the list starts before it); interval i is found at bounds[i - 1].
 */
export function intervalRates(from: string, to: string, bounds: readonly Date[], rates: StoredRate[]) {
  const result: (Conversion | undefined)[] = [undefined];
  for (const start of bounds) {
    const found = findRate(from, to, start, 'event', latestAmong(rates, start));
    result.push(found.ok ? found.conversion : undefined);
  }
  return result;
}

/** Slices (a period's events, each one interval's) as sums: each line's amount converted at its slice's rate. */
export function sumSlices(
  slices: readonly EventSlice[],
  bounds: readonly Date[],
  rates: readonly (Conversion | undefined)[],
): EventSums {
  const lines = new Map<string, { amount: bigint; converted: Decimal }>();
  const intervals: IntervalSum[] = [];
  for (const slice of slices) {
    if (slice.events === 0) continue;
    const interval = intervalOf(bounds, slice.firstAt);
    intervals.push({
      interval,
      events: slice.events,
      firstAt: slice.firstAt,
      lastAt: slice.lastAt,
      amount: slice.amount,
    });
    const rate = rates[interval];
    for (const [key, amount] of slice.lines ?? []) {
      const line = lines.get(key) ?? { amount: 0n, converted: new FxDecimal(0) };
      line.amount += amount;
      // No rate: the period waits (convertEventSums), this sum is never read.
      if (rate) line.converted = line.converted.plus(new FxDecimal(amount.toString()).times(rate.rate));
      lines.set(key, line);
    }
  }
  return {
    intervals,
    lines: new Map([...lines].map(([key, l]) => [key, { amount: l.amount, converted: nanoText(l.converted) }])),
  };
}

/**
 * A period's events converted at the rates in force at their times, from their sums by interval (each line's
 * conversion already summed at the intervals' rates: `rates`, intervalRates'). An interval with events and no rate
 * is the first missing instant (its first event's time).
 */
export function convertEventSums(
  from: string,
  to: string,
  sums: EventSums,
  rates: readonly (Conversion | undefined)[],
): EventConversionResult {
  const used: (Omit<EventRate, 'amount' | 'converted'> & { amount: bigint; converted: Decimal })[] = [];
  const ordered = sums.intervals.filter((s) => s.events > 0).sort((a, b) => a.firstAt.getTime() - b.firstAt.getTime());
  for (const slice of ordered) {
    const found = rates[slice.interval];
    if (!found) return { ok: false, from, to, at: slice.firstAt };
    const { rate, source, as_of, method } = found;
    const exact = new FxDecimal(slice.amount.toString()).times(rate);
    const last = used[used.length - 1];
    // Another leg's change (or expiry) cut the interval, but this pair's rate is the same: one entry.
    if (last && last.rate === rate && last.source === source && last.as_of === as_of && last.method === method) {
      last.events += slice.events;
      last.amount += slice.amount;
      last.converted = last.converted.plus(exact);
      last.last_event_at = slice.lastAt.toISOString();
      continue;
    }
    used.push({
      rate,
      source,
      as_of,
      method: method as EventRate['method'],
      first_event_at: slice.firstAt.toISOString(),
      last_event_at: slice.lastAt.toISOString(),
      events: slice.events,
      amount: slice.amount,
      converted: exact,
    });
  }
  const amount = used.reduce((sum, r) => sum + r.amount, 0n);
  const converted = used.reduce((sum, r) => sum.plus(r.converted), new FxDecimal(0));
  return {
    ok: true,
    events: {
      rates: used.map((r) => ({ ...r, amount: formatMoney(r.amount), converted: nanoText(r.converted) })),
      amount: formatMoney(amount),
      converted: nanoText(converted),
      ...(sums.lines.size > 0
        ? {
            lines: Object.fromEntries(
              [...sums.lines].map(([key, l]) => [key, { amount: formatMoney(l.amount), converted: l.converted }]),
            ),
          }
        : {}),
    },
    lastRate: used.length > 0 ? used[used.length - 1].rate : null,
  };
}

/** Nano-units as exact decimal text of currency units (no rounding: as many decimals as it has). */
function nanoText(nano: Decimal): string {
  return nano.div(1_000_000_000).toFixed();
}

/** The weighted rate as a fraction (converted / amount, both in currency units), or undefined when nothing was left to bill. */
export function weightedRate(
  events: Pick<EventConversion, 'amount' | 'converted'>,
): { numerator: string; denominator: string } | undefined {
  if (new FxDecimal(events.amount).isZero()) return undefined;
  return { numerator: events.converted, denominator: events.amount };
}

/** An event line converted: amount x numerator / denominator, exactly, rounded half-even once to the nano-unit. */
export function convertNanoByFraction(amount: bigint, fraction: { numerator: string; denominator: string }): bigint {
  return BigInt(
    new FxDecimal(amount.toString())
      .times(fraction.numerator)
      .div(fraction.denominator)
      .toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN)
      .toFixed(),
  );
}

/** The weighted rate shown beside the list of rates (15 significant digits, for reading: lines use the fraction). */
export function displayRate(fraction: { numerator: string; denominator: string }): string {
  return new FxDecimal(fraction.numerator)
    .div(fraction.denominator)
    .toSignificantDigits(15, Decimal.ROUND_HALF_EVEN)
    .toFixed();
}
