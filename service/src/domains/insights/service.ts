// The dashboard's read models: the customer directory (search, keyset pages, hierarchy, spend against budget,
// credits) and a customer's usage per meter over time, daily from the usage aggregates, hourly from the events.
import { Decimal } from 'decimal.js';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { requireCustomer, toApiCustomer } from '../customers/service.ts';
import * as customersRepo from '../customers/repo.ts';
import { aggregateEvents, creditsInReceipt, utcHour, type AggregateDelta } from '../events/aggregate.ts';
import { dayValue } from '../events/usage.ts';
import * as metersRepo from '../meters/repo.ts';
import * as repo from './repo.ts';
import type { SearchCustomersInput, UsageSeriesInput } from './schema.ts';

export interface CustomerSummary {
  id: string;
  external_id: string;
  name: string | null;
  email: string | null;
  /** What its invoices are billed in. */
  currency: string;
  /** What `spend` and `budget` are in: its price books' currency, which the kernel rates in (invoices convert it). */
  rating_currency: string;
  parent_id: string | null;
  is_reseller: boolean;
  /** Direct children. */
  children: number;
  /** The billing period in force now; null until the customer's first event. */
  period: { start: string; end: string } | null;
  /** This period's spend (net of discounts, before credits: what budgets count), in `rating_currency`. */
  spend: string;
  budget: { amount: string; enforcement: 'alert' | 'block'; used_percent: string } | null;
  /** Balances of the credit grants in force now, by currency. */
  credits: { currency: string; balance: string }[];
}

export interface CustomerPage {
  data: CustomerSummary[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

const money = (value: string) => formatMoney(toNano(value));

function toSummary(row: repo.DirectoryRow): CustomerSummary {
  const spend = row.spend === null ? 0n : toNano(row.spend);
  return {
    id: row.id,
    external_id: row.externalId,
    name: row.name,
    email: row.email,
    currency: row.currency,
    rating_currency: row.ratingCurrency,
    parent_id: row.parentExternalId,
    is_reseller: row.isReseller,
    children: Number(row.children),
    period:
      row.periodStart && row.periodEnd
        ? { start: row.periodStart.toISOString(), end: row.periodEnd.toISOString() }
        : null,
    spend: formatMoney(spend),
    budget:
      row.budget === null
        ? null
        : {
            amount: money(row.budget),
            enforcement: row.enforcement!,
            used_percent: new Decimal(spend.toString())
              .div(toNano(row.budget).toString())
              .times(100)
              .toDecimalPlaces(2)
              .toFixed(2),
          },
    credits: row.credits.map((c) => ({ currency: c.currency, balance: money(c.balance) })),
  };
}

async function searchPage(scope: TenantScope, input: SearchCustomersInput, now: Date): Promise<CustomerPage> {
  const parentId = input.parent_id === undefined ? undefined : (await requireCustomer(scope, input.parent_id)).id;
  // One row more than the page says whether another page follows.
  const rows = await repo.searchCustomers(scope, {
    query: input.query || undefined,
    parentId,
    cursor: input.cursor,
    limit: input.limit + 1,
    now,
  });
  const page = rows.slice(0, input.limit).map(toSummary);
  return { data: page, next_cursor: rows.length > input.limit ? page.at(-1)!.external_id : null };
}

export async function searchCustomers(deps: Deps, actor: Actor, input: SearchCustomersInput): Promise<CustomerPage> {
  requirePermission(actor, 'customers.read');
  return withTenant(deps.db, actor.tenantId, (tx) =>
    searchPage({ db: tx, tenantId: actor.tenantId }, input, deps.clock.now()),
  );
}

/** The customer's own summary (repo's page narrowed to it). */
export async function summaryOf(
  scope: TenantScope,
  customer: customersRepo.Customer,
  now: Date,
): Promise<CustomerSummary> {
  const [row] = await repo.searchCustomers(scope, {
    query: undefined,
    parentId: undefined,
    cursor: undefined,
    limit: 1,
    now,
    customerId: customer.id,
  });
  return toSummary(row);
}

export async function getCustomerOverview(deps: Deps, actor: Actor, externalId: string) {
  requirePermission(actor, 'customers.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    return {
      customer: toApiCustomer(customer, await customersRepo.listAssignments(scope, customer.id), now),
      summary: await summaryOf(scope, customer, now),
      /** Nearest first, up to the root. */
      ancestors: (await repo.listAncestors(scope, customer.id)).map((a) => ({
        external_id: a.externalId,
        name: a.name,
        is_reseller: a.isReseller,
      })),
      /** The first page of its children (more with customers.search's parent_id). */
      children: await searchPage(scope, { parent_id: customer.externalId, limit: 50 }, now),
    };
  });
}

/** One series per meter and group, its buckets' points: the contract's (openapi UsageSeries). */
export type UsageSeries = ApiSchemas['UsageSeries'];

const hourMs = 3_600_000;
const dayMs = 86_400_000;

export async function getUsageSeries(deps: Deps, actor: Actor, input: UsageSeriesInput): Promise<UsageSeries> {
  requirePermission(actor, 'usage.read');
  const bucket = input.granularity === 'hour' ? hourMs : dayMs;
  const from = new Date(Math.floor(Date.parse(input.from) / bucket) * bucket);
  const until = new Date(Math.ceil(Date.parse(input.until) / bucket) * bucket);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, input.customer_id);
    let meterFilter: metersRepo.Meter | undefined;
    if (input.meter !== undefined) {
      meterFilter = await metersRepo.findMeterByCode(scope, input.meter);
      if (!meterFilter)
        throw invalid('meter_not_found', `No meter "${input.meter}"`, [{ field: 'meter', reason: 'no such meter' }]);
    }
    const rows =
      input.granularity === 'day'
        ? await repo.listDailyUsage(scope, customer.id, {
            fromDay: from.toISOString().slice(0, 10),
            untilDay: until.toISOString().slice(0, 10),
            meterId: meterFilter?.id,
          })
        : await hourlyUsage(scope, customer.id, from, until, meterFilter);
    const meters = new Map(
      (await metersRepo.findMetersByIds(scope, [...new Set(rows.map((r) => r.meterId))])).map((m) => [m.id, m]),
    );
    const series = new Map<string, UsageSeries['series'][number]>();
    for (const row of rows) {
      const meter = meters.get(row.meterId)!;
      const key = `${meter.code}|${JSON.stringify(row.groupKey)}`;
      let entry = series.get(key);
      if (!entry)
        series.set(
          key,
          (entry = {
            meter: meter.code,
            name: meter.name,
            aggregation: meter.aggregation,
            group: row.groupKey,
            points: [],
          }),
        );
      entry.points.push({
        at: input.granularity === 'day' ? `${row.day}T00:00:00.000Z` : row.day,
        value: dayValue[meter.aggregation](row),
        event_count: String(row.eventCount),
        amount: money(row.amount),
        gross_amount: money(row.grossAmount),
      });
    }
    for (const entry of series.values()) entry.points.sort((a, b) => a.at.localeCompare(b.at));
    return {
      customer_id: customer.externalId,
      granularity: input.granularity,
      from: from.toISOString(),
      until: until.toISOString(),
      series: [...series.values()].sort(
        (a, b) => a.meter.localeCompare(b.meter) || JSON.stringify(a.group).localeCompare(JSON.stringify(b.group)),
      ),
    };
  });
}

/**
 * Hourly buckets from the events themselves, counted by the same pure code as ingestion's daily aggregates
 * (aggregateEvents, bucketed by hour), so an hour's figures add up to its day's exactly. No hourly table is kept:
 * ingestion pays nothing for it, and a 90-day range reads the subtree's events through the (customer, time) index.
 * Combined over the subtree as listDailyUsage combines days: per customer first (an hour may hold parts of two of
 * its periods), then across customers.
 */
async function hourlyUsage(
  scope: TenantScope,
  customerId: string,
  from: Date,
  until: Date,
  meter: metersRepo.Meter | undefined,
): Promise<repo.DailyUsageRow[]> {
  const meters = meter ? [meter] : await metersRepo.listMeters(scope, { limit: 1000, includeArchived: false });
  const events = await repo.listRatedEvents(
    scope,
    customerId,
    [...new Set(meters.map((m) => m.eventType))],
    from,
    until,
  );
  const counted = events.map((e) => {
    const amountNano = toNano(e.amount);
    return {
      customerId: e.customerId,
      periodStart: e.periodStart,
      occurredAt: e.occurredAt,
      eventType: e.eventType,
      properties: e.properties,
      amountNano,
      grossNano: amountNano + creditsInReceipt(e.receipt),
      receipt: e.receipt,
    };
  });
  const bucketKey = (d: AggregateDelta) => `${d.meterId}|${d.day}|${JSON.stringify(d.groupKey)}`;
  const ownHours = new Map<string, AggregateDelta>();
  for (const d of aggregateEvents(meters, counted, utcHour)) {
    const key = `${d.customerId}|${bucketKey(d)}`;
    const previous = ownHours.get(key);
    ownHours.set(key, previous ? combine(previous, d, 'latest') : d);
  }
  const hours = new Map<string, AggregateDelta>();
  for (const d of ownHours.values()) {
    const previous = hours.get(bucketKey(d));
    hours.set(bucketKey(d), previous ? combine(previous, d, 'sum') : d);
  }
  return [...hours.values()].map((d) => ({
    meterId: d.meterId,
    day: d.day,
    groupKey: d.groupKey,
    eventCount: BigInt(d.eventCount),
    valueSum: d.valueSum?.toFixed() ?? null,
    valueMax: d.valueMax?.toFixed() ?? null,
    latestValue: d.latestValue?.toFixed() ?? null,
    latestAt: d.latestAt,
    amount: formatMoney(d.amountNano),
    grossAmount: formatMoney(d.grossNano),
    uniqueCount: BigInt(d.uniqueValues.size),
  }));
}

/**
 * Two rows of one bucket together. `latest` as of one customer (two of its periods: the later reading wins) or
 * summed (two customers: each one's latest counts); unique values are counted once.
 */
function combine(a: AggregateDelta, b: AggregateDelta, latest: 'latest' | 'sum'): AggregateDelta {
  const plus = (x: Decimal | null, y: Decimal | null) => (x === null ? y : y === null ? x : x.plus(y));
  const later = a.latestAt && (!b.latestAt || a.latestAt > b.latestAt) ? a : b;
  return {
    ...a,
    eventCount: a.eventCount + b.eventCount,
    valueSum: plus(a.valueSum, b.valueSum),
    valueMax: a.valueMax === null || (b.valueMax !== null && b.valueMax.gt(a.valueMax)) ? b.valueMax : a.valueMax,
    latestValue: latest === 'latest' ? later.latestValue : plus(a.latestValue, b.latestValue),
    latestAt: later.latestAt,
    amountNano: a.amountNano + b.amountNano,
    grossNano: a.grossNano + b.grossNano,
    uniqueValues: new Set([...a.uniqueValues, ...b.uniqueValues]),
  };
}
