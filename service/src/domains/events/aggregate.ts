// Pure: which meters count an event, under which group and day, and the aggregate deltas of a batch.
import { Decimal } from 'decimal.js';
import { allocateProRata, toNano } from '../../platform/money.ts';
import type { Aggregation, MeterFilter } from '@tariff/openapi/schemas/meters';

export interface MeterDefinition {
  id: string;
  eventType: string;
  aggregation: Aggregation;
  property: string | null;
  groupBy: string[];
  filters: MeterFilter[];
}

export interface CountedEvent {
  customerId: string;
  periodStart: Date;
  occurredAt: Date;
  eventType: string;
  properties: Record<string, unknown>;
  amountNano: bigint;
  /** The event's charge before credits (the amount plus the credit it drew); the amount when absent. */
  grossNano?: bigint;
  /** The receipt's steps: each charge's price by its dimension decides each meter's share of the amount. */
  receipt?: readonly { step: string; charge?: number; dimension?: string; amount?: string }[];
}

/** Nano-units of each dimension's charges in a receipt (price steps, before discount and credits). */
export function chargeByDimension(receipt: CountedEvent['receipt']): Map<string, bigint> {
  const { dimensions, charges } = chargesOf(receipt);
  return new Map(dimensions.map((d, i) => [d, charges[i]]));
}

/**
 * chargeByDimension as two arrays, dimensions in the order first priced: this runs for every counted event, and a
 * receipt has a few steps, so a scan of a few elements beats building two maps.
 */
function chargesOf(receipt: CountedEvent['receipt']): { dimensions: string[]; charges: bigint[] } {
  const dimensions: string[] = [];
  const charges: bigint[] = [];
  if (receipt === undefined) return { dimensions, charges };
  for (let s = 0; s < receipt.length; s++) {
    const step = receipt[s];
    if (step.step !== 'price' || step.charge === undefined || step.amount === undefined) continue;
    // The charge's dimension: the latest quantity step before this price naming the charge.
    let dimension: string | undefined;
    for (let q = s - 1; q >= 0 && dimension === undefined; q--) {
      const earlier = receipt[q];
      if (earlier.step === 'quantity' && earlier.charge === step.charge && earlier.dimension !== undefined)
        dimension = earlier.dimension;
    }
    if (dimension === undefined) continue;
    const at = dimensions.indexOf(dimension);
    if (at < 0) {
      dimensions.push(dimension);
      charges.push(toNano(step.amount));
    } else charges[at] += toNano(step.amount);
  }
  return { dimensions, charges };
}

/** Nano-units of credit an event drew, from its receipt's `credit` steps. */
export function creditsInReceipt(receipt: CountedEvent['receipt']): bigint {
  let total = 0n;
  for (const step of receipt ?? [])
    if (step.step === 'credit' && step.amount !== undefined) total += toNano(step.amount);
  return total;
}

/**
 * Pure: each counting meter's part of an event's amount (net of credits, or `amount` given: the gross). The amount is split over the charged dimensions in
 * proportion to their charges, exactly (largest remainder, platform/money.ts), and each dimension's part goes to the
 * meter measuring that property (a `sum` meter first, else the first such meter; the others show none of it),
 * so two meters on one event type never both show the whole and a meter of input tokens never shows output
 * tokens' money. The parts of the event's meters add up to its amount when its meters measure every charged
 * dimension. When none of them measures a charged dimension (a count meter alone, a flat fee), the amount is
 * split evenly among them, so they still add up to the charge.
 */
export function meterShares(
  meters: readonly MeterDefinition[],
  event: CountedEvent,
  amount: bigint = event.amountNano,
): bigint[] {
  if (meters.length === 0) return [];
  if (amount === 0n) return meters.map(() => 0n);
  const { dimensions, charges } = chargesOf(event.receipt);
  // By dimension, the meter that owns its share (-1: none).
  const owners = dimensions.map(() => -1);
  let owned = false;
  for (let i = 0; i < meters.length; i++) {
    const meter = meters[i];
    const d = meter.property === null ? -1 : dimensions.indexOf(meter.property);
    if (d < 0) continue;
    const owner = owners[d];
    if (owner < 0 || (meters[owner].aggregation !== 'sum' && meter.aggregation === 'sum')) owners[d] = i;
    owned = true;
  }
  let weighted = false;
  for (let d = 0; d < charges.length; d++) {
    if (charges[d] > 0n) weighted = true;
    else charges[d] = 0n;
  }
  if (!owned || !weighted) {
    return allocateProRata(
      amount,
      meters.map(() => 1n),
      1n,
    );
  }
  const parts = allocateProRata(amount, charges, 1n);
  const shares = meters.map(() => 0n);
  for (let d = 0; d < dimensions.length; d++) if (owners[d] >= 0) shares[owners[d]] += parts[d];
  return shares;
}

export interface AggregateDelta {
  customerId: string;
  periodStart: Date;
  meterId: string;
  /** UTC day, YYYY-MM-DD (or the bucket aggregateEvents was given, e.g. utcHour's). */
  day: string;
  groupKey: Record<string, string | null>;
  eventCount: number;
  valueSum: Decimal | null;
  valueMax: Decimal | null;
  latestValue: Decimal | null;
  latestAt: Date | null;
  amountNano: bigint;
  /** The same before credits. */
  grossNano: bigint;
  uniqueValues: Set<string>;
}

const numeric = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A property as a number, or null when absent or not numeric (it then does not count toward the value). */
export function numericValue(value: unknown): Decimal | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Decimal(value);
  if (typeof value === 'string' && numeric.test(value.trim())) return new Decimal(value.trim());
  return null;
}

const dayMs = 86_400_000;
const days = new Map<number, string>();

/** YYYY-MM-DD of an instant in UTC (memoised by day: a batch has a few days and thousands of events). */
function utcDay(instant: Date): string {
  const day = Math.floor(instant.getTime() / dayMs);
  let text = days.get(day);
  if (text === undefined) {
    text = new Date(day * dayMs).toISOString().slice(0, 10);
    if (days.size > 10_000) days.clear();
    days.set(day, text);
  }
  return text;
}

/** The UTC hour of an instant as the ISO instant it starts at, e.g. 2026-03-01T13:00:00.000Z (the dashboard's hourly buckets). */
export function utcHour(instant: Date): string {
  return new Date(Math.floor(instant.getTime() / 3_600_000) * 3_600_000).toISOString();
}

function stringValue(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return String(value);
}

export function matchesFilters(filters: MeterFilter[], properties: Record<string, unknown>): boolean {
  return filters.every((filter) => {
    const value = stringValue(properties[filter.property]);
    switch (filter.op) {
      case 'eq':
        return value === filter.value;
      case 'neq':
        return value !== filter.value;
      case 'in':
        return value !== null && filter.values.includes(value);
      case 'not_in':
        return value === null || !filter.values.includes(value);
      case 'exists':
        return value !== null;
      case 'not_exists':
        return value === null;
    }
  });
}

/**
 * The aggregate deltas of a batch, one per (customer, period, meter, day, group). time_weighted_sum meters
 * get counts, amounts and their latest level here; their value is integrated when read (timeWeighted below),
 * since that needs the events in time order across batches, which ingestion does not guarantee (late events).
 */
export function aggregateEvents(
  meters: MeterDefinition[],
  events: CountedEvent[],
  bucketOf: (instant: Date) => string = utcDay,
): AggregateDelta[] {
  const deltas: AggregateDelta[] = [];
  // By customer, period start, bucket, meter id and group: maps keyed by values the events already hold (the same
  // strings event after event), so that finding a delta builds no key for each event.
  const byCustomer = new Map<string, Map<number, Map<string, Map<string, Map<string, AggregateDelta>>>>>();
  const metersByType = new Map<string, MeterDefinition[]>();
  for (const meter of meters) metersByType.set(meter.eventType, [...(metersByType.get(meter.eventType) ?? []), meter]);
  // The event types with a meter that filters: for the others every meter of the type counts every event.
  const filtered = new Set(meters.filter((meter) => meter.filters.length > 0).map((meter) => meter.eventType));
  const groupsOf = new Map<
    MeterDefinition,
    Map<string | null, { groupKey: Record<string, string | null>; id: string }>
  >();
  for (const event of events) {
    const counting = metersByType.get(event.eventType);
    if (!counting) continue;
    const day = bucketOf(event.occurredAt);
    let byStart = byCustomer.get(event.customerId);
    if (!byStart) byCustomer.set(event.customerId, (byStart = new Map()));
    let byDay = byStart.get(event.periodStart.getTime());
    if (!byDay) byStart.set(event.periodStart.getTime(), (byDay = new Map()));
    let byMeter = byDay.get(day);
    if (!byMeter) byDay.set(day, (byMeter = new Map()));
    const matching = filtered.has(event.eventType)
      ? counting.filter((meter) => matchesFilters(meter.filters, event.properties))
      : counting;
    const shares = meterShares(matching, event);
    // Without credits the gross is the amount, split the same way (meterShares is pure): split once.
    const gross = event.grossNano ?? event.amountNano;
    const grossShares = gross === event.amountNano ? shares : meterShares(matching, event, gross);
    for (let m = 0; m < matching.length; m++) {
      const meter = matching[m];
      const group = groupOf(groupsOf, meter, event.properties);
      let byGroup = byMeter.get(meter.id);
      if (!byGroup) byMeter.set(meter.id, (byGroup = new Map()));
      let delta = byGroup.get(group.id);
      if (!delta) {
        delta = {
          customerId: event.customerId,
          periodStart: event.periodStart,
          meterId: meter.id,
          day,
          groupKey: group.groupKey,
          eventCount: 0,
          valueSum: null,
          valueMax: null,
          latestValue: null,
          latestAt: null,
          amountNano: 0n,
          grossNano: 0n,
          uniqueValues: new Set(),
        };
        byGroup.set(group.id, delta);
        deltas.push(delta);
      }
      delta.eventCount += 1;
      delta.amountNano += shares[m];
      delta.grossNano += grossShares[m];
      const raw = meter.property === null ? undefined : event.properties[meter.property];
      switch (meter.aggregation) {
        case 'sum':
        case 'max':
        case 'latest':
        case 'time_weighted_sum': {
          const value = numericValue(raw);
          if (value === null) break;
          if (meter.aggregation !== 'time_weighted_sum') {
            delta.valueSum = (delta.valueSum ?? new Decimal(0)).plus(value);
            delta.valueMax = delta.valueMax === null || value.gt(delta.valueMax) ? value : delta.valueMax;
          }
          // Ties on time go to the later arrival, as they do across batches.
          if (delta.latestAt === null || event.occurredAt.getTime() >= delta.latestAt.getTime()) {
            delta.latestValue = value;
            delta.latestAt = event.occurredAt;
          }
          break;
        }
        case 'unique_count': {
          const value = stringValue(raw);
          if (value !== null) delta.uniqueValues.add(value);
          break;
        }
        case 'count':
          break;
      }
    }
  }
  return deltas;
}

/**
 * A meter's group for an event's properties, its values by the meter's group_by, and its JSON as the group's id.
 * Memoised per meter by the value of its group_by property, when it has at most one (a batch repeats a few groups): the group's object
 * is then shared by the deltas of that group, which nothing changes.
 */
function groupOf(
  memo: Map<MeterDefinition, Map<string | null, { groupKey: Record<string, string | null>; id: string }>>,
  meter: MeterDefinition,
  properties: Record<string, unknown>,
): { groupKey: Record<string, string | null>; id: string } {
  if (meter.groupBy.length > 1) return buildGroup(meter.groupBy, properties);
  let groups = memo.get(meter);
  if (!groups) memo.set(meter, (groups = new Map()));
  const value = meter.groupBy.length === 0 ? null : stringValue(properties[meter.groupBy[0]]);
  let group = groups.get(value);
  if (!group) groups.set(value, (group = buildGroup(meter.groupBy, properties)));
  return group;
}

function buildGroup(
  groupBy: readonly string[],
  properties: Record<string, unknown>,
): { groupKey: Record<string, string | null>; id: string } {
  const groupKey: Record<string, string | null> = {};
  for (const p of groupBy) groupKey[p] = stringValue(properties[p]);
  return { groupKey, id: JSON.stringify(groupKey) };
}

/** A gauge reading: the level `value` holds from `at` (epoch ms) until the next reading. */
export interface Level {
  at: number;
  value: Decimal;
}

export interface TimeWeighted {
  /** Sum of level x seconds held, over [from, until). */
  total: Decimal;
  /** The same by UTC day (YYYY-MM-DD), for the days with time in range. */
  days: Map<string, Decimal>;
}

/**
 * Integrates a gauge over [from, until): each reading's level holds until the next reading, the last until
 * `until`; `initial` is the level carried in at `from` (null: nothing before the first reading). Readings
 * must be in time order (ties: the later one wins, as it holds from the same instant). Exact: level x
 * milliseconds / 1000, no rounding.
 */
export function timeWeighted(readings: Level[], initial: Decimal | null, from: number, until: number): TimeWeighted {
  const days = new Map<string, Decimal>();
  let total = new Decimal(0);
  let level = initial;
  let since = from;
  const hold = (end: number) => {
    if (level !== null && end > since) {
      for (let start = since; start < end;) {
        const dayEnd = Math.min(end, (Math.floor(start / dayMs) + 1) * dayMs);
        const part = level.times(dayEnd - start).div(1000);
        const day = utcDay(new Date(start));
        days.set(day, (days.get(day) ?? new Decimal(0)).plus(part));
        total = total.plus(part);
        start = dayEnd;
      }
    }
    since = Math.max(since, end);
  };
  for (const reading of readings) {
    if (reading.at >= until) break;
    hold(reading.at);
    level = reading.value;
  }
  hold(until);
  return { total, days };
}
