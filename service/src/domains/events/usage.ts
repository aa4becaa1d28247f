// Usage reads: a customer's rated usage in a period, by meter, group and day, from the aggregates ingestion keeps.
import { formatMoney } from '@tariff/core-wasm';
import { Decimal } from 'decimal.js';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { toNano as nano } from '../../platform/money.ts';
import { requireCustomer } from '../customers/service.ts';
import * as holdsRepo from '../holds/repo.ts';
import * as metersRepo from '../meters/repo.ts';
import type { Meter } from '../meters/repo.ts';
import type { Aggregation } from '@tariff/openapi/schemas/meters';
import { matchesFilters, numericValue, timeWeighted, type Level, type TimeWeighted } from './aggregate.ts';
import * as periodsRepo from '../periods/index.ts';
import * as repo from './repo.ts';
import { billingPeriodOf } from './service.ts';

/** The period's rated usage by meter, group and day. Everything acknowledged before `watermark` is included. */
export async function getUsage(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: { at?: string },
): Promise<ApiSchemas['Usage']> {
  requirePermission(actor, 'usage.read');
  const watermark = deps.clock.now();
  const at = input.at ? new Date(input.at) : watermark;
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const period = await periodsRepo.findPeriodAt(scope, customer.id, at);
    const bounds = period ?? billingPeriodOf(at);
    const rows = period ? await repo.listAggregates(scope, customer.id, period.start) : [];
    // Open holds: spend set aside for requests under way, not yet usage.
    const held = await holdsRepo.sumOpenHolds(scope, customer.id, watermark);
    const uniques = period ? await repo.countUniqueValues(scope, customer.id, period.start) : new Map<string, bigint>();
    const carried = await repo.findCarriedLevels(scope, customer.id, bounds.start);
    const meters = await metersRepo.findMetersByIds(scope, [
      ...new Set([...rows.map((r) => r.meterId), ...carried.map((c) => c.meterId)]),
    ]);
    // Gauges are integrated up to now, or to the period's end once it is over.
    const until = new Date(Math.min(watermark.getTime(), bounds.end.getTime()));
    const integrated = new Map<
      string,
      Map<string, { groupKey: Record<string, string | null>; result: TimeWeighted }>
    >();
    for (const meter of meters.filter((m) => m.aggregation === 'time_weighted_sum')) {
      const readings = await repo.listReadings(scope, customer.id, meter.eventType, bounds.start, until);
      integrated.set(
        meter.id,
        integrateGauge(
          meter,
          readings,
          carried.filter((c) => c.meterId === meter.id),
          bounds.start,
          until,
        ),
      );
    }
    return {
      customer_id: externalId,
      period: { start: bounds.start.toISOString(), end: bounds.end.toISOString(), status: period?.status ?? 'open' },
      amount: period ? formatMoney(nano(period.amount)) : formatMoney(0n),
      held: formatMoney(nano(held)),
      event_count: String(period?.eventCount ?? 0n),
      watermark: watermark.toISOString(),
      meters: meters.map((meter) => {
        const groups = new Map<string, repo.AggregateRow[]>();
        for (const row of rows.filter((r) => r.meterId === meter.id)) {
          const key = JSON.stringify(row.groupKey);
          groups.set(key, [...(groups.get(key) ?? []), row]);
        }
        const gauge = integrated.get(meter.id);
        if (gauge)
          return {
            code: meter.code,
            name: meter.name,
            aggregation: meter.aggregation,
            property: meter.property,
            groups: gaugeGroups(gauge, groups),
          };
        return {
          code: meter.code,
          name: meter.name,
          aggregation: meter.aggregation,
          property: meter.property,
          groups: [...groups].map(([key, days]) => ({
            group: days[0].groupKey,
            value: periodValue[meter.aggregation](days, uniques.get(`${meter.id}|${key}`)),
            event_count: String(days.reduce((n, d) => n + d.eventCount, 0n)),
            amount: formatMoney(days.reduce((n, d) => n + nano(d.amount), 0n)),
            gross_amount: formatMoney(days.reduce((n, d) => n + nano(d.grossAmount), 0n)),
            days: days.map((d) => ({
              day: d.day,
              value: dayValue[meter.aggregation](d),
              event_count: String(d.eventCount),
              amount: formatMoney(nano(d.amount)),
              gross_amount: formatMoney(nano(d.grossAmount)),
            })),
          })),
        };
      }),
    };
  });
}

/**
 * A time_weighted_sum meter's groups over [from, until): the readings that pass its filters, each holding its
 * level (the meter's property) until the next reading of the group; a group starts at the level earlier
 * periods left it at. In unit-seconds (a GPU count becomes GPU-seconds), exact.
 */
function integrateGauge(
  meter: Meter,
  readings: { properties: Record<string, unknown>; occurredAt: Date }[],
  carried: { groupKey: Record<string, string | null>; value: string }[],
  from: Date,
  until: Date,
): Map<string, { groupKey: Record<string, string | null>; result: TimeWeighted }> {
  const groups = new Map<
    string,
    { groupKey: Record<string, string | null>; initial: Decimal | null; levels: Level[] }
  >();
  const group = (groupKey: Record<string, string | null>) => {
    const key = JSON.stringify(groupKey);
    let entry = groups.get(key);
    if (!entry) groups.set(key, (entry = { groupKey, initial: null, levels: [] }));
    return entry;
  };
  for (const c of carried) group(c.groupKey).initial = new Decimal(c.value);
  for (const reading of readings) {
    if (!matchesFilters(meter.filters, reading.properties)) continue;
    const value = meter.property === null ? null : numericValue(reading.properties[meter.property]);
    if (value === null) continue;
    const groupKey: Record<string, string | null> = {};
    for (const p of meter.groupBy)
      groupKey[p] =
        reading.properties[p] === undefined || reading.properties[p] === null ? null : String(reading.properties[p]);
    group(groupKey).levels.push({ at: reading.occurredAt.getTime(), value });
  }
  const result = new Map<string, { groupKey: Record<string, string | null>; result: TimeWeighted }>();
  for (const [key, g] of groups)
    result.set(key, {
      groupKey: g.groupKey,
      result: timeWeighted(g.levels, g.initial, from.getTime(), until.getTime()),
    });
  return result;
}

/** A gauge's groups for the usage response: the integral beside the counts and amounts of the events. */
function gaugeGroups(
  gauge: Map<string, { groupKey: Record<string, string | null>; result: TimeWeighted }>,
  rows: Map<string, repo.AggregateRow[]>,
) {
  const keys = [...new Set([...rows.keys(), ...gauge.keys()])].sort();
  return keys.map((key) => {
    const dayRows = rows.get(key) ?? [];
    const integral = gauge.get(key)?.result;
    const days = [...new Set([...dayRows.map((d) => d.day), ...(integral?.days.keys() ?? [])])].sort();
    return {
      group: dayRows[0]?.groupKey ?? gauge.get(key)!.groupKey,
      value: (integral?.total ?? new Decimal(0)).toFixed(),
      event_count: String(dayRows.reduce((n, d) => n + d.eventCount, 0n)),
      amount: formatMoney(dayRows.reduce((n, d) => n + nano(d.amount), 0n)),
      gross_amount: formatMoney(dayRows.reduce((n, d) => n + nano(d.grossAmount), 0n)),
      days: days.map((day) => {
        const row = dayRows.find((d) => d.day === day);
        return {
          day,
          value: (integral?.days.get(day) ?? new Decimal(0)).toFixed(),
          event_count: String(row?.eventCount ?? 0n),
          amount: formatMoney(row ? nano(row.amount) : 0n),
          gross_amount: formatMoney(row ? nano(row.grossAmount) : 0n),
        };
      }),
    };
  });
}

// What a meter's value is, per day row and over the period; a new aggregation does not compile until it is here.
export const dayValue: Record<Aggregation, (row: repo.AggregateRow) => string | null> = {
  sum: (row) => row.valueSum,
  max: (row) => row.valueMax,
  latest: (row) => row.latestValue,
  count: (row) => String(row.eventCount),
  unique_count: (row) => String(row.uniqueCount),
  // Integrated when read (gaugeGroups), never from these rows.
  time_weighted_sum: () => null,
};

const periodValue: Record<Aggregation, (days: repo.AggregateRow[], unique: bigint | undefined) => string | null> = {
  sum: (days) => sumDecimals(days.map((d) => d.valueSum)),
  max: (days) =>
    days.reduce<string | null>(
      (max, d) => (d.valueMax !== null && (max === null || new Decimal(d.valueMax).gt(max)) ? d.valueMax : max),
      null,
    ),
  latest: (days) =>
    days
      .filter((d) => d.latestAt !== null)
      .sort((x, y) => x.latestAt!.getTime() - y.latestAt!.getTime())
      .at(-1)?.latestValue ?? null,
  count: (days) => String(days.reduce((n, d) => n + d.eventCount, 0n)),
  unique_count: (_days, unique) => String(unique ?? 0n),
  time_weighted_sum: () => null,
};

function sumDecimals(values: (string | null)[]): string | null {
  const present = values.filter((v): v is string => v !== null);
  return present.length === 0 ? null : present.reduce((sum, v) => sum.plus(v), new Decimal(0)).toFixed();
}
