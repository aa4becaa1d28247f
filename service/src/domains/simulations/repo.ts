// Simulations' SQL: the periods a simulation replays and their events with what they were rated at. Reads only.
import type { ReceiptStep } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { toNano } from '../../platform/money.ts';
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

/**
 * The periods' events with their latest rating (the event's own row unless a re-rating appended a revision), in
 * acknowledgement order within each period (the order the kernel saw them, as re-rating replays them). The credit
 * each drew comes from its receipt, decoded here rather than by the database's receipt_json (a millisecond each).
 */
export async function listPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
): Promise<PastEvent[]> {
  if (periods.length === 0) return [];
  // An event's period is the one its instant falls in, so the events index's range is the period's.
  const rows = await db`
    select e.customer_id, coalesce(r.period_start, e.period_start) as period_start, e.transaction_id, e.event_type,
           to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as timestamp, e.properties, coalesce(r.price_book_id, e.price_book_id) as price_book_id,
           coalesce(r.cost, e.cost)::text as cost, coalesce(r.amount, e.amount)::text as amount,
           coalesce(r.receipt, e.receipt)::text as receipt
    from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[], ${periods.map((p) => p.end.toISOString())}::timestamptz[])
      as p(customer_id, period_start, period_end)
    join events e on e.tenant_id = ${tenantId} and e.customer_id = p.customer_id and e.occurred_at >= p.period_start and e.occurred_at < p.period_end
    left join lateral (select period_start, price_book_id, amount, cost, receipt from event_revisions r
                       where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by r.revision desc limit 1) r on true
    where coalesce(r.period_start, e.period_start) = p.period_start
    order by e.customer_id, 2, e.received_at, e.occurred_at, e.transaction_id`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    periodStart: r.period_start,
    transactionId: r.transaction_id,
    eventType: r.event_type,
    timestamp: r.timestamp,
    properties: r.properties,
    priceBookId: r.price_book_id,
    charged: toNano(r.amount) + creditsIn(r.receipt),
    cost: r.cost === null ? null : toNano(r.cost),
  }));
}

/** The credit a stored receipt drew; parsed only when its text has a credit step, compact ("g") or whole. */
function creditsIn(receipt: string): bigint {
  if (!receipt.includes('"g"') && !receipt.includes('"credit"')) return 0n;
  return creditsInReceipt(decodeReceipt(JSON.parse(receipt)));
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
