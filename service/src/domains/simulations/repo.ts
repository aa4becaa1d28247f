// Simulations' SQL: the periods a simulation replays and their events with what they were rated at. Reads only.
import type { ReceiptStep } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { creditsInReceipt } from '../events/aggregate.ts';
import { decodeReceipt } from '../events/receipt-codec.ts';

export interface SimulatedPeriod {
  customerId: string;
  externalId: string;
  start: Date;
  end: Date;
}

/** Periods starting in [from, until), of these customers (internal ids) or of all, in key order. */
export async function findPeriods(
  { db, tenantId }: TenantScope,
  range: { from: Date; until: Date; customerIds?: string[] },
): Promise<SimulatedPeriod[]> {
  const rows = await db`
    select p.customer_id, c.external_id, p.period_start, p.period_end
    from customer_periods p join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
    where p.tenant_id = ${tenantId} and p.period_start >= ${range.from} and p.period_start < ${range.until} and p.event_count > 0
      ${range.customerIds ? db`and p.customer_id = any(${range.customerIds}::uuid[])` : db``}
    order by p.customer_id, p.period_start`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    externalId: r.external_id,
    start: r.period_start,
    end: r.period_end,
  }));
}

export interface PastEvent {
  customerId: string;
  periodStart: Date;
  transactionId: string;
  eventType: string;
  /** Its instant as the ISO text the kernel reads (millisecond precision, as stored). */
  timestamp: string;
  properties: Record<string, unknown>;
  priceBookId: string;
  /** The latest rating's amount before credits (what it charged, whoever paid) and its cost, in nano-units. */
  charged: bigint;
  cost: bigint | null;
}

/** What a simulation reads of a past event: its input to the kernel and its latest rating's figures. */
interface PastEventColumns {
  transactionId: string;
  eventType: string;
  /** Its instant as the ISO text the kernel reads (millisecond precision, as stored). */
  timestamp: string;
  properties: Record<string, unknown>;
  priceBookId: string;
  /** The latest rating's amount before credits (what it charged, whoever paid) and its cost, in nano-units. */
  charged: bigint;
  cost: bigint | null;
}

export interface PastEvent extends PastEventColumns {
  customerId: string;
  periodStart: Date;
}

/**
 * The columns of an event with its latest rating (the event's own row unless a re-rating appended a revision `r`),
 * amounts in nano-units. The credit an event drew comes from its receipt, whose text is sent only when it has a
 * credit step (compact "g" or whole) and decoded here rather than by the database's receipt_json (a millisecond each).
 */
const pastEventColumns = `e.transaction_id, e.event_type,
  to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as timestamp, e.properties,
  coalesce(r.price_book_id, e.price_book_id) as price_book_id,
  (coalesce(r.cost, e.cost) * 1000000000)::int8 as cost_nano, (coalesce(r.amount, e.amount) * 1000000000)::int8 as amount_nano,
  case when strpos(coalesce(r.receipt, e.receipt)::text, '"g"') > 0 or strpos(coalesce(r.receipt, e.receipt)::text, '"credit"') > 0
       then coalesce(r.receipt, e.receipt)::text end as credit_receipt`;

const toPastEvent = (r: Record<string, any>): PastEventColumns => ({
  transactionId: r.transaction_id,
  eventType: r.event_type,
  timestamp: r.timestamp,
  properties: r.properties,
  priceBookId: r.price_book_id,
  charged:
    r.amount_nano + (r.credit_receipt === null ? 0n : creditsInReceipt(decodeReceipt(JSON.parse(r.credit_receipt)))),
  cost: r.cost_nano,
});

/** The periods as arrays (customer, start, end) for `unnest ... with ordinality`: ordinality n is the period's index + 1. */
const periodArrays = (periods: { customerId: string; start: Date; end: Date }[]) => [
  periods.map((p) => p.customerId),
  periods.map((p) => p.start.toISOString()),
  periods.map((p) => p.end.toISOString()),
];

/**
 * The periods' events with their latest rating, in acknowledgement order within each period (the order the kernel
 * saw them, as re-rating replays them). An event belongs to the period its latest rating names, and an event's
 * period is the one its instant falls in, so the events index's range is the period's. For one period or a few.
 */
export async function listPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
): Promise<PastEvent[]> {
  if (periods.length === 0) return [];
  const [customers, starts, ends] = periodArrays(periods);
  const rows = await db`
    select e.customer_id, p.period_start, ${db.unsafe(pastEventColumns)}
    from unnest(${customers}::uuid[], ${starts}::timestamptz[], ${ends}::timestamptz[]) as p(customer_id, period_start, period_end)
    join events e on e.tenant_id = ${tenantId} and e.customer_id = p.customer_id and e.occurred_at >= p.period_start and e.occurred_at < p.period_end
    left join lateral (select period_start, price_book_id, amount, cost, receipt from event_revisions r
                       where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by r.revision desc limit 1) r on true
    where coalesce(r.period_start, e.period_start) = p.period_start
    order by e.customer_id, p.period_start, e.received_at, e.occurred_at, e.transaction_id`;
  return rows.map((r) => ({ customerId: r.customer_id, periodStart: r.period_start, ...toPastEvent(r) }));
}

/**
 * Every event of many periods (a simulation's month of every customer) in one read, handed to `onRows` in batches
 * of about `batchRows`, in period order (the periods' own, as given) and acknowledgement order within each: `period`
 * is the event's period's index. The events are read by time (migration 112's BRIN index over the table's
 * insertion order: one sequential range for the month) rather than customer by customer through the (customer,
 * time) index, which in a table written in time order reads about one page at random per event. `onRows` must not
 * query on this connection (the read holds it until the last batch).
 */
export async function streamPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
  batchRows: number,
  onRows: (rows: (PastEventColumns & { period: number })[]) => void | Promise<void>,
): Promise<void> {
  if (periods.length === 0) return;
  const [customers, starts, ends] = periodArrays(periods);
  const from = new Date(Math.min(...periods.map((p) => p.start.getTime())));
  const until = new Date(Math.max(...periods.map((p) => p.end.getTime())));
  // The tenant's latest revisions are few beside its events (re-ratings are rare): hashed once, not probed per event.
  await db`
    select p.n::int4 - 1 as period, ${db.unsafe(pastEventColumns)}
    from events e
    join unnest(${customers}::uuid[], ${starts}::timestamptz[], ${ends}::timestamptz[]) with ordinality as p(customer_id, period_start, period_end, n)
      on p.customer_id = e.customer_id and e.occurred_at >= p.period_start and e.occurred_at < p.period_end
    left join (select distinct on (transaction_id) transaction_id, period_start, price_book_id, amount, cost, receipt from event_revisions
               where tenant_id = ${tenantId} order by transaction_id, revision desc) r on r.transaction_id = e.transaction_id
    where e.tenant_id = ${tenantId} and e.occurred_at >= ${from} and e.occurred_at < ${until}
      and coalesce(r.period_start, e.period_start) = p.period_start
    order by p.n, e.received_at, e.occurred_at, e.transaction_id`.cursor(batchRows, (rows) =>
    onRows(rows.map((r) => ({ period: r.period, ...toPastEvent(r) }))),
  );
}

/** The customer and period of one event (its latest rating's). */
export async function findEventPeriod(
  { db, tenantId }: TenantScope,
  transactionId: string,
): Promise<(SimulatedPeriod & { priceBookId: string }) | undefined> {
  const [row] = await db`
    select l.customer_id, c.external_id, p.period_start, p.period_end, l.price_book_id
    from event_ratings l
    join customer_periods p on p.tenant_id = l.tenant_id and p.customer_id = l.customer_id and p.period_start = l.period_start
    join customers c on c.tenant_id = l.tenant_id and c.id = l.customer_id
    where l.tenant_id = ${tenantId} and l.transaction_id = ${transactionId}
    order by l.revision desc limit 1`;
  return row
    ? {
        customerId: row.customer_id,
        externalId: row.external_id,
        start: row.period_start,
        end: row.period_end,
        priceBookId: row.price_book_id,
      }
    : undefined;
}

/** One event's latest rating in full (the receipt the simulated one is shown beside). */
export async function findLatestRating(
  { db, tenantId }: TenantScope,
  transactionId: string,
): Promise<{ amount: string; cost: string | null; card: string; receipt: ReceiptStep[] } | undefined> {
  const [row] = await db`
    select amount::text, cost::text, card, receipt from event_ratings where tenant_id = ${tenantId} and transaction_id = ${transactionId}
    order by revision desc limit 1`;
  return row ? { amount: row.amount, cost: row.cost, card: row.card, receipt: row.receipt } : undefined;
}
