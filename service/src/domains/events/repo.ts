// The SQL of ingestion and usage reads. Batch writes go through unnest(): one statement per table per batch.
// JSON goes in as text[] and is cast per element: a jsonb[] parameter would be JSON-encoded a second time.
import type { ReceiptStep } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import type { AggregateDelta } from './aggregate.ts';

export interface CustomerRef {
  id: string;
  externalId: string;
}

export async function findCustomersByExternalIds({ db, tenantId }: TenantScope, externalIds: string[]): Promise<Map<string, CustomerRef>> {
  const rows = await db`select id, external_id from customers where tenant_id = ${tenantId} and external_id = any(${externalIds}::text[])`;
  return new Map(rows.map((r) => [r.external_id, { id: r.id, externalId: r.external_id }]));
}

export interface StoredCharge {
  amount: string | null;
  currency: string | null;
}

/** Events already stored among `transactionIds`, with their latest rated amount. */
export async function findStoredEvents({ db, tenantId }: TenantScope, transactionIds: string[]): Promise<Map<string, StoredCharge>> {
  if (transactionIds.length === 0) return new Map();
  const rows = await db`
    select e.transaction_id, r.amount, r.currency
    from events e
    left join lateral (
      select amount::text, currency from rated_lines r
      where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by revision desc limit 1
    ) r on true
    where e.tenant_id = ${tenantId} and e.transaction_id = any(${transactionIds}::text[])`;
  return new Map(rows.map((r) => [r.transaction_id, { amount: r.amount, currency: r.currency }]));
}

export interface PeriodKey {
  customerId: string;
  start: Date;
  end: Date;
}

export interface PeriodRow extends PeriodKey {
  status: 'open' | 'closed';
  state: Record<string, unknown>;
  amount: string;
  eventCount: bigint;
}

/**
 * Creates missing periods and locks all of them, in key order so that concurrent batches touching the same
 * customers queue instead of deadlocking. The lock serialises rating per customer and period: the state a
 * batch reads is the state the previous batch committed.
 */
export async function lockPeriods({ db, tenantId }: TenantScope, keys: PeriodKey[], now: Date): Promise<Map<string, PeriodRow>> {
  const sorted = [...keys].sort((x, y) => periodKey(x).localeCompare(periodKey(y)));
  await db`
    insert into customer_periods (tenant_id, customer_id, period_start, period_end, created_at, updated_at)
    select ${tenantId}, k.customer_id, k.period_start, k.period_end, ${now}, ${now}
    from unnest(${sorted.map((k) => k.customerId)}::uuid[], ${sorted.map((k) => k.start.toISOString())}::timestamptz[],
                ${sorted.map((k) => k.end.toISOString())}::timestamptz[]) with ordinality as k(customer_id, period_start, period_end, n)
    order by k.n
    on conflict do nothing`;
  const rows = await db`
    select customer_id, period_start, period_end, status, state, amount::text, event_count
    from customer_periods
    where tenant_id = ${tenantId}
      and (customer_id, period_start) in (
        select * from unnest(${sorted.map((k) => k.customerId)}::uuid[], ${sorted.map((k) => k.start.toISOString())}::timestamptz[]))
    order by customer_id, period_start
    for update`;
  const periods = new Map<string, PeriodRow>();
  for (const r of rows) {
    const row: PeriodRow = {
      customerId: r.customer_id,
      start: r.period_start,
      end: r.period_end,
      status: r.status,
      state: r.state,
      amount: r.amount,
      eventCount: r.event_count,
    };
    periods.set(periodKey(row), row);
  }
  return periods;
}

export function periodKey(key: { customerId: string; start: Date }): string {
  return `${key.customerId}|${key.start.toISOString()}`;
}

export interface NewEvent {
  transactionId: string;
  customerId: string;
  eventType: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
}

/** Inserts the events not stored yet and returns the transaction ids it inserted. */
export async function insertEvents({ db, tenantId }: TenantScope, events: NewEvent[], receivedAt: Date): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await db`
    insert into events (tenant_id, transaction_id, customer_id, event_type, occurred_at, properties, received_at)
    select ${tenantId}, e.transaction_id, e.customer_id, e.event_type, e.occurred_at, e.properties::jsonb, ${receivedAt}
    from unnest(${events.map((e) => e.transactionId)}::text[], ${events.map((e) => e.customerId)}::uuid[],
                ${events.map((e) => e.eventType)}::text[], ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[],
                ${events.map((e) => JSON.stringify(e.properties))}::text[]) as e(transaction_id, customer_id, event_type, occurred_at, properties)
    on conflict do nothing
    returning transaction_id`;
  return new Set(rows.map((r) => r.transaction_id));
}

export interface NewRatedLine {
  transactionId: string;
  customerId: string;
  periodStart: Date;
  priceBookId: string;
  bookVersion: string;
  kernelVersion: string;
  card: string;
  currency: string;
  amount: string;
  subtotal: string;
  cost: string | null;
  margin: string | null;
  receipt: ReceiptStep[];
}

export async function insertRatedLines({ db, tenantId }: TenantScope, lines: NewRatedLine[], ratedAt: Date): Promise<void> {
  if (lines.length === 0) return;
  await db`
    insert into rated_lines (tenant_id, transaction_id, customer_id, period_start, price_book_id, book_version, kernel_version,
                             card, currency, amount, subtotal, cost, margin, receipt, rated_at)
    select ${tenantId}, l.transaction_id, l.customer_id, l.period_start, l.price_book_id, l.book_version, l.kernel_version,
           l.card, l.currency, l.amount, l.subtotal, l.cost, l.margin, l.receipt::jsonb, ${ratedAt}
    from unnest(${lines.map((l) => l.transactionId)}::text[], ${lines.map((l) => l.customerId)}::uuid[],
                ${lines.map((l) => l.periodStart.toISOString())}::timestamptz[], ${lines.map((l) => l.priceBookId)}::uuid[],
                ${lines.map((l) => l.bookVersion)}::timestamptz[], ${lines.map((l) => l.kernelVersion)}::text[],
                ${lines.map((l) => l.card)}::text[], ${lines.map((l) => l.currency)}::text[], ${lines.map((l) => l.amount)}::numeric[],
                ${lines.map((l) => l.subtotal)}::numeric[], ${lines.map((l) => l.cost)}::numeric[], ${lines.map((l) => l.margin)}::numeric[],
                ${lines.map((l) => JSON.stringify(l.receipt))}::text[])
      as l(transaction_id, customer_id, period_start, price_book_id, book_version, kernel_version, card, currency, amount, subtotal, cost, margin, receipt)`;
}

export interface PeriodUpdate {
  customerId: string;
  start: Date;
  state: Record<string, unknown>;
  amountDelta: string;
  eventCountDelta: number;
}

export async function updatePeriods({ db, tenantId }: TenantScope, updates: PeriodUpdate[], now: Date): Promise<void> {
  if (updates.length === 0) return;
  await db`
    update customer_periods p set state = u.state::jsonb, amount = p.amount + u.amount, event_count = p.event_count + u.event_count, updated_at = ${now}
    from unnest(${updates.map((u) => u.customerId)}::uuid[], ${updates.map((u) => u.start.toISOString())}::timestamptz[],
                ${updates.map((u) => JSON.stringify(u.state))}::text[], ${updates.map((u) => u.amountDelta)}::numeric[],
                ${updates.map((u) => u.eventCountDelta)}::bigint[]) as u(customer_id, period_start, state, amount, event_count)
    where p.tenant_id = ${tenantId} and p.customer_id = u.customer_id and p.period_start = u.period_start`;
}

export async function upsertAggregates({ db, tenantId }: TenantScope, deltas: AggregateDelta[], formatNano: (n: bigint) => string): Promise<void> {
  if (deltas.length === 0) return;
  await db`
    insert into usage_aggregates as a (tenant_id, customer_id, period_start, meter_id, day, group_key, event_count,
                                       value_sum, value_max, latest_value, latest_at, amount)
    select ${tenantId}, d.customer_id, d.period_start, d.meter_id, d.day, d.group_key::jsonb, d.event_count,
           d.value_sum, d.value_max, d.latest_value, d.latest_at, d.amount
    from unnest(${deltas.map((d) => d.customerId)}::uuid[], ${deltas.map((d) => d.periodStart.toISOString())}::timestamptz[],
                ${deltas.map((d) => d.meterId)}::uuid[], ${deltas.map((d) => d.day)}::date[],
                ${deltas.map((d) => JSON.stringify(d.groupKey))}::text[], ${deltas.map((d) => d.eventCount)}::bigint[],
                ${deltas.map((d) => d.valueSum?.toFixed() ?? null)}::numeric[], ${deltas.map((d) => d.valueMax?.toFixed() ?? null)}::numeric[],
                ${deltas.map((d) => d.latestValue?.toFixed() ?? null)}::numeric[], ${deltas.map((d) => d.latestAt?.toISOString() ?? null)}::timestamptz[],
                ${deltas.map((d) => formatNano(d.amountNano))}::numeric[])
      as d(customer_id, period_start, meter_id, day, group_key, event_count, value_sum, value_max, latest_value, latest_at, amount)
    on conflict (tenant_id, customer_id, period_start, meter_id, day, group_key) do update set
      event_count = a.event_count + excluded.event_count,
      value_sum = case when excluded.value_sum is null then a.value_sum else coalesce(a.value_sum, 0) + excluded.value_sum end,
      value_max = greatest(a.value_max, excluded.value_max),
      latest_value = case when excluded.latest_at is not null and (a.latest_at is null or excluded.latest_at >= a.latest_at)
                          then excluded.latest_value else a.latest_value end,
      latest_at = greatest(a.latest_at, excluded.latest_at),
      amount = a.amount + excluded.amount`;
  const unique = deltas.flatMap((d) => [...d.uniqueValues].map((value) => ({ d, value })));
  if (unique.length === 0) return;
  await db`
    insert into usage_unique_values (tenant_id, customer_id, period_start, meter_id, day, group_key, value)
    select ${tenantId}, v.customer_id, v.period_start, v.meter_id, v.day, v.group_key::jsonb, v.value
    from unnest(${unique.map((u) => u.d.customerId)}::uuid[], ${unique.map((u) => u.d.periodStart.toISOString())}::timestamptz[],
                ${unique.map((u) => u.d.meterId)}::uuid[], ${unique.map((u) => u.d.day)}::date[],
                ${unique.map((u) => JSON.stringify(u.d.groupKey))}::text[], ${unique.map((u) => u.value)}::text[])
      as v(customer_id, period_start, meter_id, day, group_key, value)
    on conflict do nothing`;
}

// ---- reads ----------------------------------------------------------------------------------------------

export async function findPeriod({ db, tenantId }: TenantScope, customerId: string, at: Date): Promise<PeriodRow | undefined> {
  const [r] = await db`
    select customer_id, period_start, period_end, status, state, amount::text, event_count from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start <= ${at} and period_end > ${at}`;
  return r
    ? { customerId: r.customer_id, start: r.period_start, end: r.period_end, status: r.status, state: r.state, amount: r.amount, eventCount: r.event_count }
    : undefined;
}

export interface AggregateRow {
  meterId: string;
  day: string;
  groupKey: Record<string, string | null>;
  eventCount: bigint;
  valueSum: string | null;
  valueMax: string | null;
  latestValue: string | null;
  latestAt: Date | null;
  amount: string;
  uniqueCount: bigint;
}

export async function listAggregates({ db, tenantId }: TenantScope, customerId: string, periodStart: Date): Promise<AggregateRow[]> {
  const rows = await db`
    select a.meter_id, to_char(a.day, 'YYYY-MM-DD') as day, a.group_key, a.event_count, a.value_sum::text, a.value_max::text,
           a.latest_value::text, a.latest_at, a.amount::text,
           (select count(*) from usage_unique_values u
            where u.tenant_id = a.tenant_id and u.customer_id = a.customer_id and u.period_start = a.period_start
              and u.meter_id = a.meter_id and u.day = a.day and u.group_key = a.group_key) as unique_count
    from usage_aggregates a
    where a.tenant_id = ${tenantId} and a.customer_id = ${customerId} and a.period_start = ${periodStart}
    order by a.meter_id, a.group_key, a.day`;
  return rows.map((r) => ({
    meterId: r.meter_id,
    day: r.day,
    groupKey: r.group_key,
    eventCount: r.event_count,
    valueSum: r.value_sum,
    valueMax: r.value_max,
    latestValue: r.latest_value,
    latestAt: r.latest_at,
    amount: r.amount,
    uniqueCount: r.unique_count,
  }));
}

/** Distinct values over the whole period, per meter and group (a unique count does not add up over days). */
export async function countUniqueValues({ db, tenantId }: TenantScope, customerId: string, periodStart: Date): Promise<Map<string, bigint>> {
  const rows = await db`
    select meter_id, group_key, count(distinct value) as n from usage_unique_values
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${periodStart}
    group by meter_id, group_key`;
  return new Map(rows.map((r) => [`${r.meter_id}|${JSON.stringify(r.group_key)}`, r.n]));
}

export interface RatedEventRow {
  transactionId: string;
  customerExternalId: string;
  eventType: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
  receivedAt: Date;
  revision: number;
  periodStart: Date;
  priceBookCode: string;
  bookVersion: Date;
  kernelVersion: string;
  card: string;
  currency: string;
  amount: string;
  subtotal: string;
  cost: string | null;
  margin: string | null;
  receipt: ReceiptStep[];
  ratedAt: Date;
}

export async function findRatedEvent({ db, tenantId }: TenantScope, transactionId: string): Promise<RatedEventRow | undefined> {
  const [r] = await db`
    select e.transaction_id, c.external_id, e.event_type, e.occurred_at, e.properties, e.received_at,
           l.revision, l.period_start, b.code, l.book_version, l.kernel_version, l.card, l.currency, l.amount::text, l.subtotal::text,
           l.cost::text, l.margin::text, l.receipt, l.rated_at
    from events e
    join customers c on c.tenant_id = e.tenant_id and c.id = e.customer_id
    join lateral (select * from rated_lines l where l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id order by revision desc limit 1) l on true
    join price_books b on b.tenant_id = l.tenant_id and b.id = l.price_book_id
    where e.tenant_id = ${tenantId} and e.transaction_id = ${transactionId}`;
  if (!r) return undefined;
  return {
    transactionId: r.transaction_id,
    customerExternalId: r.external_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at,
    properties: r.properties,
    receivedAt: r.received_at,
    revision: r.revision,
    periodStart: r.period_start,
    priceBookCode: r.code,
    bookVersion: r.book_version,
    kernelVersion: r.kernel_version,
    card: r.card,
    currency: r.currency,
    amount: r.amount,
    subtotal: r.subtotal,
    cost: r.cost,
    margin: r.margin,
    receipt: r.receipt,
    ratedAt: r.rated_at,
  };
}
