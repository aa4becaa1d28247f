// Simulations' SQL: the periods a simulation replays and their events with what they were rated at. Reads only.
import type { ReceiptStep, UsageEvent } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { creditsInReceipt } from '../events/aggregate.ts';
import { decodeReceipt } from '../../platform/receipt-codec.ts';

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
  /**
   * The event as the kernel reads it: its customer by external id (the key of the kernel's states), its instant as
   * ISO text (millisecond precision, as stored). Built once per event and handed to the kernel as it is.
   */
  event: UsageEvent;
  priceBookId: string;
  /** The latest rating's amount before credits (what it charged, whoever paid) and its cost, in nano-units. */
  charged: bigint;
  cost: bigint | null;
}

/**
 * The columns of an event with its latest rating (the event's own row unless a re-rating appended a revision `r`):
 * instants in epoch milliseconds (as stored: millisecond precision, so the nearest millisecond of date_part's float
 * is exact, and cheaper to make than extract's numeric), amounts in nano-units. The credit an event drew comes from
 * its receipt, whose text is sent only when it has a credit step (compact "g" or whole) and decoded here rather than
 * by the database's receipt_json (a millisecond each).
 */
const pastEventColumns = `e.customer_id, e.transaction_id, e.event_type, e.properties,
  round(date_part('epoch', e.occurred_at) * 1000) as at_ms,
  round(date_part('epoch', coalesce(r.period_start, e.period_start)) * 1000) as period_ms,
  coalesce(r.price_book_id, e.price_book_id) as price_book_id,
  (coalesce(r.cost, e.cost) * 1000000000)::int8 as cost_nano, (coalesce(r.amount, e.amount) * 1000000000)::int8 as amount_nano,
  case when strpos(coalesce(r.receipt, e.receipt)::text, '"g"') > 0 or strpos(coalesce(r.receipt, e.receipt)::text, '"credit"') > 0
       then coalesce(r.receipt, e.receipt)::text end as credit_receipt`;

const toPastEvent = (r: Record<string, any>, period: SimulatedPeriod): PastEvent => ({
  event: {
    transaction_id: r.transaction_id,
    customer_id: period.externalId,
    event_type: r.event_type,
    timestamp: new Date(r.at_ms).toISOString(),
    properties: r.properties,
  },
  priceBookId: r.price_book_id,
  charged:
    r.amount_nano + (r.credit_receipt === null ? 0n : creditsInReceipt(decodeReceipt(JSON.parse(r.credit_receipt)))),
  cost: r.cost_nano,
});

/**
 * The periods' events with their latest rating, in acknowledgement order within each period (the order the kernel
 * saw them, as re-rating replays them). An event belongs to the period its latest rating names, and an event's
 * period is the one its instant falls in, so the events index's range is the period's. For one period or a few.
 */
export async function listPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: SimulatedPeriod[],
): Promise<PastEvent[]> {
  if (periods.length === 0) return [];
  const rows = await db`
    select p.period_start, ${db.unsafe(pastEventColumns)}
    from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[],
                ${periods.map((p) => p.end.toISOString())}::timestamptz[]) as p(customer_id, period_start, period_end)
    join events e on e.tenant_id = ${tenantId} and e.customer_id = p.customer_id and e.occurred_at >= p.period_start and e.occurred_at < p.period_end
    left join lateral (select period_start, price_book_id, amount, cost, receipt from event_revisions r
                       where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by r.revision desc limit 1) r on true
    where coalesce(r.period_start, e.period_start) = p.period_start
    order by e.customer_id, p.period_start, e.received_at, e.occurred_at, e.transaction_id`;
  const byKey = new Map(periods.map((p) => [`${p.customerId}/${p.start.getTime()}`, p]));
  return rows.map((r) => toPastEvent(r, byKey.get(`${r.customer_id}/${r.period_start.getTime()}`)!));
}

/**
 * Every event of many periods (a simulation's month of every customer) in one read: `onPeriod(i, events)` once
 * for each period with events (`periods[i]`), its events in acknowledgement order; a customer's periods in their
 * order, customers in the read's order. The rule is listPeriodEvents' (the latest rating's period, the instant
 * within it), applied here as the rows come.
 *
 * The events are read by time, the month as one range of the table (migration 112's BRIN index over its insertion
 * order), and sorted by customer in the database, rather than customer by customer through the (customer, time)
 * index, which in a table written in time order reads about one page at random per event. `onPeriod` must not
 * query on this connection: the read holds it until its last row.
 */
export async function streamPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: SimulatedPeriod[],
  options: { batchRows: number; customerIds?: string[] },
  onPeriod: (index: number, events: PastEvent[]) => void | Promise<void>,
): Promise<void> {
  if (periods.length === 0) return;
  const from = new Date(Math.min(...periods.map((p) => p.start.getTime())));
  const until = new Date(Math.max(...periods.map((p) => p.end.getTime())));
  // Each customer's periods by their index; the events of the customer being read, by period.
  const periodsOf = new Map<string, number[]>();
  periods.forEach((p, i) => periodsOf.set(p.customerId, [...(periodsOf.get(p.customerId) ?? []), i]));
  let customer: string | undefined;
  let own = new Map<number, PastEvent[]>();
  let handled: Promise<void> = Promise.resolve();
  const finishCustomer = async () => {
    for (const i of periodsOf.get(customer!) ?? []) {
      const events = own.get(i);
      if (events) await onPeriod(i, events);
    }
    own = new Map();
  };
  // A month of 10,000 customers' 10 million events (3 million rows, about 280 bytes each in the sort) is sorted in
  // memory: with less it goes to disk in runs, about a quarter more of the database's time. JIT compiling this plan
  // costs seconds and saves none.
  await db`set local work_mem = '1GB'`;
  await db`set local jit = off`;
  await db`
    select ${db.unsafe(pastEventColumns)}
    from events e
    -- The tenant's latest revisions are few beside its events (re-ratings are rare): hashed once, not probed per event.
    left join (select distinct on (transaction_id) transaction_id, period_start, price_book_id, amount, cost, receipt from event_revisions
               where tenant_id = ${tenantId} order by transaction_id, revision desc) r on r.transaction_id = e.transaction_id
    where e.tenant_id = ${tenantId} and e.occurred_at >= ${from} and e.occurred_at < ${until}
      ${options.customerIds ? db`and e.customer_id = any(${options.customerIds}::uuid[])` : db``}
    order by e.customer_id, e.received_at, e.occurred_at, e.transaction_id`.cursor(options.batchRows, (rows) => {
    // The database makes the next batch while this one is handled: the cursor asks for it once the callback's
    // promise settles, which is when the batch before this one has been handled, so two batches at most are held.
    const previous = handled;
    handled = previous.then(() => new Promise((next) => setImmediate(next))).then(() => handle(rows));
    // Settled by the end of the read, or by the next batch's callback: not left unhandled if the read fails first.
    handled.catch(() => {});
    return previous;
  });
  await handled;
  if (customer !== undefined) await finishCustomer();
  async function handle(rows: readonly Record<string, any>[]) {
    for (const r of rows) {
      if (r.customer_id !== customer) {
        if (customer !== undefined) await finishCustomer();
        customer = r.customer_id;
      }
      const index = periodsOf
        .get(r.customer_id)
        ?.find(
          (i) =>
            periods[i].start.getTime() === r.period_ms && r.at_ms < periods[i].end.getTime() && r.at_ms >= r.period_ms,
        );
      if (index === undefined) continue;
      let events = own.get(index);
      if (!events) own.set(index, (events = []));
      events.push(toPastEvent(r, periods[index]));
    }
  }
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
