// The SQL of ingestion and usage reads. A batch write is one statement per table: the rows travel as array literals
// built here, one a column (platform/db.ts plainArray, quotedArray, jsonArray), which both sides handle in less time
// than postgres.js escaping arrays or PostgreSQL reading one JSON document of objects (json_to_recordset).
import type { ReceiptStep } from '@tariff/core-wasm';
import {
  jsonArray,
  jsonRows,
  plainArray,
  plansGenerically,
  quotedArray,
  type Statement,
  type TenantScope,
} from '../../platform/db.ts';
import { customerByExternalId, customerById } from '../customers/lookup.ts';
import {
  amendmentsOf,
  fromDbTerms,
  fromJsonAmendments,
  type AmendmentRow,
  type SubscriptionTermsRow,
} from '../subscriptions/repo.ts';
import { activeGrantsLocked, fromJsonGrants, type Grant } from '../wallets/repo.ts';
import type { AggregateDelta } from './aggregate.ts';
import type { ChainLevelCharge } from './chain-codec.ts';
import { encodeChain } from './chain-codec.ts';
import { encodeReceipt } from '../../platform/receipt-codec.ts';

/** Converts instants to ISO text for jsonRows (platform/db.ts), each distinct one once (a batch repeats its periods' starts). */
function isoText(): (instant: Date) => string {
  const seen = new Map<number, string>();
  return (instant) => {
    const ms = instant.getTime();
    let text = seen.get(ms);
    if (text === undefined) seen.set(ms, (text = instant.toISOString()));
    return text;
  };
}

export interface RatingTarget {
  id: string;
  externalId: string;
  isReseller: boolean;
  /** The parent's external id when the parent is a reseller: the next level of the customer's reseller chain. */
  resellerParent: string | null;
  /** Price book assignments in effective order, each with its book's stored version count (the cache key). */
  assignments: { effectiveFrom: Date; priceBookId: string; bookVersions: number }[];
}

/**
 * The batch's customers with what rates them, and every reseller up their chains (a parent that resells, its
 * parent if it resells, ...), in one query: the ancestors are read from each customer's path (migration 080), not
 * walked up recursively. Keyed by external id. The batch's customers are read by their external ids and only the
 * ancestors by id, each by its key (customers/lookup.ts), as are the assignments: joined, with no statistics, they
 * were read tenant-wide, each external id by a walk of the tenant's customers.
 */
export async function findRatingTargets(
  { db, tenantId }: TenantScope,
  externalIds: string[],
): Promise<Map<string, RatingTarget>> {
  const rows = await db`
    with batch as materialized (
      select c.id, c.external_id, c.is_reseller, c.parent_id, c.path
      from unnest(${externalIds}::text[]) as i(external_id)
      cross join lateral ${customerByExternalId(db, tenantId, db`i.external_id`)} c
    ),
    ancestors as (select unnest(path) as id from batch except select id from batch),
    targets as (
      select id, external_id, is_reseller, parent_id from batch
      union all
      select c.id, c.external_id, c.is_reseller, c.parent_id
      from ancestors cross join lateral ${customerById(db, db`${tenantId}::uuid`, db`ancestors.id`)} c
    )
    select c.id, c.external_id, c.is_reseller, c.parent_id, a.effective_from, a.price_book_id,
           (select count(*)::int from price_book_versions v where v.tenant_id = a.tenant_id and v.price_book_id = a.price_book_id) as book_versions
    from targets c
    left join lateral (
      select * from customer_price_books a where a.tenant_id = ${tenantId} and a.customer_id = c.id offset 0) a on true
    order by c.id, a.effective_from`;
  type Row = RatingTarget & { parentId: string | null };
  const byId = new Map<string, Row>();
  for (const r of rows) {
    let target = byId.get(r.id);
    if (!target) {
      target = {
        id: r.id,
        externalId: r.external_id,
        isReseller: r.is_reseller,
        resellerParent: null,
        parentId: r.parent_id,
        assignments: [],
      };
      byId.set(r.id, target);
    }
    if (r.price_book_id)
      target.assignments.push({
        effectiveFrom: r.effective_from,
        priceBookId: r.price_book_id,
        bookVersions: r.book_versions,
      });
  }
  // Each requested customer, then its parent while the parent resells: the other ancestors are no level of a chain.
  const requested = new Set(externalIds);
  const targets = new Map<string, RatingTarget>();
  for (const customer of byId.values()) {
    if (!requested.has(customer.externalId)) continue;
    for (let t: typeof customer | undefined = customer; t && !targets.has(t.externalId);) {
      const { parentId, ...target }: Row = t;
      const parent: Row | undefined = parentId === null ? undefined : byId.get(parentId);
      const next: Row | undefined = parent?.isReseller ? parent : undefined;
      targets.set(target.externalId, { ...target, resellerParent: next?.externalId ?? null });
      t = next;
    }
  }
  return targets;
}

export interface StoredCharge {
  amount: string | null;
  currency: string | null;
}

/** Events already stored among `transactionIds`, with their latest rated amount. */
export async function findStoredEvents(
  { db, tenantId }: TenantScope,
  transactionIds: string[],
): Promise<Map<string, StoredCharge>> {
  if (transactionIds.length === 0) return new Map();
  // Planned for its ids every time (withPlanMode): a generic plan kept from a batch on a nearly empty events table
  // probed events_customer_time_idx by tenant alone, every id reading the tenant's every event (32 ids read 32,224
  // rows after 1,920 events), more with every event stored.
  const rows = await withPlanMode(
    db,
    'force_custom_plan',
    db`
    select e.transaction_id, coalesce(r.amount, e.amount)::text as amount, coalesce(r.currency, e.currency) as currency
    from unnest(${transactionIds}::text[]) as i(transaction_id)
    -- LIMIT keeps each lookup a primary-key probe: flattened into a join, a planner with stale statistics
    -- hashes every event of the tenant instead (measured: 160 ms instead of 8 ms for 1,000 ids).
    cross join lateral (
      select tenant_id, transaction_id, amount, currency from events e where e.tenant_id = ${tenantId} and e.transaction_id = i.transaction_id limit 1
    ) e
    left join lateral (
      select amount, currency from event_revisions r
      where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by revision desc limit 1
    ) r on true`,
  );
  return new Map(rows.map((r) => [r.transaction_id, { amount: r.amount, currency: r.currency }]));
}

/** An accepted event with what the kernel said about it: the raw event row and its first rated line. */
export interface RatedEvent {
  transactionId: string;
  customerId: string;
  eventType: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
  periodStart: Date;
  priceBookId: string;
  bookVersion: string;
  card: string;
  currency: string;
  amount: string;
  subtotal: string;
  cost: string | null;
  margin: string | null;
  receipt: ReceiptStep[];
  /** The reseller levels above the customer (migration 082), none for a customer with no reseller. */
  chain?: ChainLevelCharge[];
}

export type { ChainLevelCharge } from './chain-codec.ts';

/**
 * Inserts events the caller checked are new, each with its first rating, one row per event (migration 070), in one
 * statement, one array a column (unnest; PostgreSQL reads typed arrays in less time than json_to_recordset reads as
 * many objects). Properties become jsonb (meters query them); receipts stay json, compact (receipts.ts). An id that
 * a concurrent request (for another customer, so not serialised by the caller's period locks) stored meanwhile fails
 * the insert on events_pkey, and the caller retries the transaction, where the id is then found stored.
 */
export function insertRatedEvents(
  { db, tenantId }: TenantScope,
  events: RatedEvent[],
  kernelVersion: string,
  now: Date,
): Statement | undefined {
  if (events.length === 0) return undefined;
  const iso = isoText();
  const n = events.length;
  // One pass filling every column (no per-row objects); client-given text (ids, types, cards) is quoted.
  const transactionIds = new Array<string>(n);
  const customerIds = new Array<string>(n);
  const eventTypes = new Array<string>(n);
  const occurredAt = new Array<string>(n);
  const properties = new Array<Record<string, unknown>>(n);
  const periodStarts = new Array<string>(n);
  const priceBookIds = new Array<string>(n);
  const bookVersions = new Array<string>(n);
  const cards = new Array<string>(n);
  const currencies = new Array<string>(n);
  const amounts = new Array<string>(n);
  const subtotals = new Array<string>(n);
  const costs = new Array<string | null>(n);
  const margins = new Array<string | null>(n);
  const receipts = new Array<unknown[]>(n);
  const chains = new Array<unknown[][] | null>(n);
  for (let i = 0; i < n; i++) {
    const e = events[i];
    transactionIds[i] = e.transactionId;
    customerIds[i] = e.customerId;
    eventTypes[i] = e.eventType;
    occurredAt[i] = e.occurredAt.toISOString();
    properties[i] = e.properties;
    periodStarts[i] = iso(e.periodStart);
    priceBookIds[i] = e.priceBookId;
    bookVersions[i] = e.bookVersion;
    cards[i] = e.card;
    currencies[i] = e.currency;
    amounts[i] = e.amount;
    subtotals[i] = e.subtotal;
    costs[i] = e.cost;
    margins[i] = e.margin;
    receipts[i] = encodeReceipt(e.receipt);
    chains[i] = e.chain ? encodeChain(e.chain, { isoText: iso, ownReceipt: e.receipt }) : null;
  }
  return db`
    insert into events (tenant_id, transaction_id, customer_id, event_type, occurred_at, properties, received_at,
                        period_start, price_book_id, book_version, kernel_version, card, currency, amount, subtotal, cost, margin, receipt, chain)
    select ${tenantId}, t, c, e, o, p, ${now}, s, b, v, ${kernelVersion}, d, u, a, st, co, m, r, ch
    from unnest(${quotedArray(transactionIds)}::text[], ${plainArray(customerIds)}::uuid[],
                ${quotedArray(eventTypes)}::text[], ${plainArray(occurredAt)}::timestamptz[],
                ${jsonArray(properties)}::jsonb[], ${plainArray(periodStarts)}::timestamptz[],
                ${plainArray(priceBookIds)}::uuid[], ${plainArray(bookVersions)}::timestamptz[],
                ${quotedArray(cards)}::text[], ${quotedArray(currencies)}::text[], ${plainArray(amounts)}::numeric[],
                ${plainArray(subtotals)}::numeric[], ${plainArray(costs)}::numeric[], ${plainArray(margins)}::numeric[],
                ${jsonArray(receipts)}::json[], ${jsonArray(chains)}::json[])
      as r(t, c, e, o, p, s, b, v, d, u, a, st, co, m, r, ch)`;
}

/** One row of chain_daily's deltas (migration 082): a reseller level's charge and resale for some events of a day. */
export interface ChainDailyDelta {
  customerId: string;
  periodStart: Date;
  day: string;
  childId: string;
  endCustomerId: string;
  level: number;
  card: string;
  currency: string;
  events: number;
  charge: string;
  resale: string;
  billed: string;
}

/**
 * Adds to chain_daily, one statement, one array a column (a batch writes about two rows per chain event: unnest reads
 * them in less time than json_to_recordset); the caller holds the level customers' period locks.
 */
export function upsertChainDaily({ db, tenantId }: TenantScope, deltas: ChainDailyDelta[]): Statement | undefined {
  if (deltas.length === 0) return undefined;
  const iso = isoText();
  const column = <T>(value: (d: ChainDailyDelta) => T) => deltas.map(value);
  return db`
    insert into chain_daily as x (tenant_id, customer_id, period_start, day, child_id, end_customer_id, level, card,
                                  currency, events, charge, resale, billed)
    select ${tenantId}, c, s, d, h, e, l, k, u, n, g, r, b
    from unnest(${plainArray(column((d) => d.customerId))}::uuid[],
                ${plainArray(column((d) => iso(d.periodStart)))}::timestamptz[],
                ${plainArray(column((d) => d.day))}::date[],
                ${plainArray(column((d) => d.childId))}::uuid[],
                ${plainArray(column((d) => d.endCustomerId))}::uuid[],
                ${plainArray(column((d) => d.level))}::smallint[],
                ${quotedArray(column((d) => d.card))}::text[],
                ${quotedArray(column((d) => d.currency))}::text[],
                ${plainArray(column((d) => d.events))}::bigint[],
                ${plainArray(column((d) => d.charge))}::numeric[],
                ${plainArray(column((d) => d.resale))}::numeric[],
                ${plainArray(column((d) => d.billed))}::numeric[])
      as r(c, s, d, h, e, l, k, u, n, g, r, b)
    on conflict (tenant_id, customer_id, period_start, day, child_id, end_customer_id, card) do update
      set events = x.events + excluded.events, charge = x.charge + excluded.charge,
          resale = x.resale + excluded.resale, billed = x.billed + excluded.billed`;
}

/**
 * Adds a batch's aggregate deltas (aggregate.ts: one per customer, period, meter, day and group) to usage_aggregates,
 * one statement. The rows go as one array a column (unnest): a batch writes about as many aggregate rows as events,
 * and PostgreSQL reads typed arrays in less time than json_to_recordset reads as many objects of a dozen fields.
 */
export function upsertAggregates(
  { db, tenantId }: TenantScope,
  deltas: AggregateDelta[],
  formatNano: (n: bigint) => string,
): Statement | undefined {
  if (deltas.length === 0) return undefined;
  const iso = isoText();
  const column = <T>(value: (d: AggregateDelta) => T) => deltas.map(value);
  return db`
    insert into usage_aggregates as a (tenant_id, customer_id, period_start, meter_id, day, group_key, event_count,
                                       value_sum, value_max, latest_value, latest_at, amount, gross_amount)
    select ${tenantId}, d.customer_id, d.period_start, d.meter_id, d.day, d.group_key, d.event_count,
           d.value_sum, d.value_max, d.latest_value, d.latest_at, d.amount, d.gross_amount
    from unnest(${plainArray(column((d) => d.customerId))}::uuid[],
                ${plainArray(column((d) => iso(d.periodStart)))}::timestamptz[],
                ${plainArray(column((d) => d.meterId))}::uuid[],
                ${plainArray(column((d) => d.day))}::date[],
                ${quotedArray(column((d) => JSON.stringify(d.groupKey)))}::jsonb[],
                ${plainArray(column((d) => d.eventCount))}::bigint[],
                ${plainArray(column((d) => d.valueSum?.toFixed() ?? null))}::numeric[],
                ${plainArray(column((d) => d.valueMax?.toFixed() ?? null))}::numeric[],
                ${plainArray(column((d) => d.latestValue?.toFixed() ?? null))}::numeric[],
                ${plainArray(column((d) => (d.latestAt ? iso(d.latestAt) : null)))}::timestamptz[],
                ${plainArray(column((d) => formatNano(d.amountNano)))}::numeric[],
                ${plainArray(column((d) => formatNano(d.grossNano)))}::numeric[])
      as d(customer_id, period_start, meter_id, day, group_key, event_count, value_sum, value_max, latest_value,
           latest_at, amount, gross_amount)
    on conflict (tenant_id, customer_id, period_start, meter_id, day, group_key) do update set
      event_count = a.event_count + excluded.event_count,
      value_sum = case when excluded.value_sum is null then a.value_sum else coalesce(a.value_sum, 0) + excluded.value_sum end,
      value_max = greatest(a.value_max, excluded.value_max),
      latest_value = case when excluded.latest_at is not null and (a.latest_at is null or excluded.latest_at >= a.latest_at)
                          then excluded.latest_value else a.latest_value end,
      latest_at = greatest(a.latest_at, excluded.latest_at),
      amount = a.amount + excluded.amount,
      gross_amount = a.gross_amount + excluded.gross_amount`;
}

/** Values seen by unique_count meters; with or after upsertAggregates (each value row references its aggregate). */
export function insertUniqueValues({ db, tenantId }: TenantScope, deltas: AggregateDelta[]): Statement | undefined {
  const rows = deltas.flatMap((d) =>
    [...d.uniqueValues].map((value) => ({
      customer_id: d.customerId,
      period_start: d.periodStart.toISOString(),
      meter_id: d.meterId,
      day: d.day,
      group_key: d.groupKey,
      value,
    })),
  );
  if (rows.length === 0) return undefined;
  return db`
    insert into usage_unique_values (tenant_id, customer_id, period_start, meter_id, day, group_key, value)
    select ${tenantId}, v.customer_id, v.period_start, v.meter_id, v.day, v.group_key, v.value
    from json_to_recordset(${jsonRows(db, rows)})
      as v(customer_id uuid, period_start timestamptz, meter_id uuid, day date, group_key jsonb, value text)
    on conflict do nothing`;
}

// ---- reads ----------------------------------------------------------------------------------------------

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
  grossAmount: string;
  uniqueCount: bigint;
}

export async function listAggregates(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<AggregateRow[]> {
  const rows = await db`
    select a.meter_id, to_char(a.day, 'YYYY-MM-DD') as day, a.group_key, a.event_count, a.value_sum::text, a.value_max::text,
           a.latest_value::text, a.latest_at, a.amount::text, a.gross_amount::text,
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
    grossAmount: r.gross_amount,
    uniqueCount: r.unique_count,
  }));
}

/** A customer's events of one type in [from, until), in time order, ties in arrival order: a gauge's readings. */
export async function listReadings(
  { db, tenantId }: TenantScope,
  customerId: string,
  eventType: string,
  from: Date,
  until: Date,
): Promise<{ properties: Record<string, unknown>; occurredAt: Date }[]> {
  const rows = await db`
    select properties, occurred_at from events
    where tenant_id = ${tenantId} and customer_id = ${customerId} and occurred_at >= ${from} and occurred_at < ${until} and event_type = ${eventType}
    order by occurred_at, received_at, transaction_id`;
  return rows.map((r) => ({ properties: r.properties, occurredAt: r.occurred_at }));
}

/** The level each group of the customer's time-weighted meters was left at by earlier periods. */
export async function findCarriedLevels(
  { db, tenantId }: TenantScope,
  customerId: string,
  before: Date,
): Promise<{ meterId: string; groupKey: Record<string, string | null>; value: string }[]> {
  const rows = await db`
    select distinct on (a.meter_id, a.group_key) a.meter_id, a.group_key, a.latest_value::text
    from usage_aggregates a
    join meters m on m.tenant_id = a.tenant_id and m.id = a.meter_id and m.aggregation = 'time_weighted_sum'
    where a.tenant_id = ${tenantId} and a.customer_id = ${customerId} and a.period_start < ${before} and a.latest_at is not null
    order by a.meter_id, a.group_key, a.latest_at desc`;
  return rows.map((r) => ({ meterId: r.meter_id, groupKey: r.group_key, value: r.latest_value }));
}

/** Distinct values over the whole period, per meter and group (a unique count does not add up over days). */
export async function countUniqueValues(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<Map<string, bigint>> {
  const rows = await db`
    select meter_id, group_key, count(distinct value) as n from usage_unique_values
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${periodStart}
    group by meter_id, group_key`;
  return new Map(rows.map((r) => [`${r.meter_id}|${JSON.stringify(r.group_key)}`, r.n]));
}

export interface ChainLevelRow {
  level: number;
  customer_id: string;
  price_book: string;
  book_version: string;
  card: string;
  currency: string;
  amount: string;
  net: string;
  credits_applied: string;
  cost: string | null;
  receipt: ReceiptStep[];
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
  /** The reseller levels above the customer, as last rated (migrations 082, 102), receipts decoded. */
  chain: ChainLevelRow[];
}

export async function findRatedEvent(
  { db, tenantId }: TenantScope,
  transactionId: string,
): Promise<RatedEventRow | undefined> {
  const [r] = await db`
    select e.transaction_id, c.external_id, e.event_type, e.occurred_at, e.properties, e.received_at,
           l.revision, l.period_start, b.code, l.book_version, l.kernel_version, l.card, l.currency, l.amount::text, l.subtotal::text,
           l.cost::text, l.margin::text, l.receipt, l.rated_at,
           (select json_agg(json_build_object('level', x.n, 'customer_id', cc.external_id, 'price_book', pb.code,
                                              'book_version', x.c->>'book_version', 'card', x.c->>'card',
                                              'currency', x.c->>'currency', 'amount', x.c->>'amount', 'net', x.c->>'net',
                                              'credits_applied', x.c->>'credits_applied', 'cost', x.c->>'cost',
                                              'receipt', receipt_json(x.c->'receipt')) order by x.n)
            from json_array_elements(chain_json(l.chain)) with ordinality as x(c, n)
            join customers cc on cc.tenant_id = e.tenant_id and cc.id = (x.c->>'customer_id')::uuid
            join price_books pb on pb.tenant_id = e.tenant_id and pb.id = (x.c->>'price_book_id')::uuid) as chain
    from events e
    join customers c on c.tenant_id = e.tenant_id and c.id = e.customer_id
    join lateral (select * from event_ratings l where l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id order by revision desc limit 1) l on true
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
    chain: r.chain ?? [],
  };
}

export interface BillingContextRow {
  customerId: string;
  currency: string;
  onDepletion: 'overage' | 'block';
  /** The wallet's credits.low threshold (numeric text), if any. */
  lowBalanceThreshold: string | null;
  hasBudget: boolean;
  /** Blocked by dunning (payments/collect.ts): its events are refused. */
  blocked: boolean;
  /** The amount of the customer's budget when it blocks. */
  blockingBudget: string | null;
  hasScopedBudget: boolean;
  /** Whether a budget per API key or project tag of the customer blocks (events/service.ts findBlocks). */
  hasBlockingScopedBudget: boolean;
  subscription: SubscriptionTermsRow | undefined;
}

/** What rating needs from billing about a batch's customers, in one statement: policy, budget, subscription terms (billing.ts). */
export async function findBillingContexts(
  scope: TenantScope,
  externalIds: string[],
): Promise<Map<string, BillingContextRow>> {
  return new Map(
    (await selectBillingContexts(scope, [...new Set(externalIds)])).map((r) => [
      r.external_id,
      fromDbBillingContext(r),
    ]),
  );
}

/**
 * findBillingContexts with each customer's active grants locked (wallets/repo.ts activeGrantsLocked) and its
 * subscription's amendments, in one statement (billing.ts loadBilling: ingestion's and placements' first round
 * trip). Customers are read, and their grants locked, in external id order, so that
 * concurrent transactions queue rather than deadlock. `scope.db` must be a transaction (the locks, and the plan
 * cache mode set around the statement, last until its end).
 */
export async function lockBillingContexts(
  scope: TenantScope,
  externalIds: string[],
): Promise<Map<string, BillingContextRow & { grants: Grant[]; amendments: AmendmentRow[] }>> {
  const { db, tenantId } = scope;
  const rows = await withPlanMode(
    db,
    'force_generic_plan',
    selectBillingContexts(
      scope,
      [...new Set(externalIds)].sort(),
      db`, ${activeGrantsLocked(db, tenantId, db`c.id`)} as grants, ${amendmentsOf(db, tenantId, db`c.id`)} as amendments`,
    ),
  );
  return new Map(
    rows.map((r) => [
      r.external_id,
      { ...fromDbBillingContext(r), grants: fromJsonGrants(r.grants), amendments: fromJsonAmendments(r.amendments) },
    ]),
  );
}

/**
 * `statement` under plan_cache_mode `mode`, the transaction's own mode restored behind it; the three statements go
 * out at once, in order, on the transaction's connection.
 * - force_generic_plan: for a statement by keys whose planning (row security on every table it reads, a subquery a
 *   column) costs several times its running, and whose plan does not depend on the values: the server's own choice
 *   keeps planning it again, as the generic plan's row estimates differ from the custom plans'. Only such a
 *   statement: under generic plans others' lookups turn into scans.
 * - force_custom_plan: for a statement whose generic plan, once the server's own choice keeps one (after five
 *   executions on a connection), was made for the table as it was then: made while the table was nearly empty and
 *   had no statistics, it may probe an index by its first column alone and read more rows with every row written.
 */
async function withPlanMode(
  db: TenantScope['db'],
  mode: 'force_generic_plan' | 'force_custom_plan',
  statement: Statement,
) {
  // A transaction under generic plans throughout (a placement group's) needs no switch to them.
  if (mode === 'force_generic_plan' && plansGenerically(db)) return statement.execute();
  const set = db`select set_config('app.plan_cache_mode', current_setting('plan_cache_mode'), true),
                        set_config('plan_cache_mode', ${mode}, true)`.execute();
  const result = statement.execute();
  const restored = db`select set_config('plan_cache_mode', current_setting('app.plan_cache_mode'), true)`.execute();
  return (await Promise.all([set, result, restored]))[1];
}

function selectBillingContexts({ db, tenantId }: TenantScope, externalIds: string[], more = db``) {
  return db`
    select c.id as customer_id, c.external_id, c.currency, w.on_depletion, w.low_balance_threshold::text,
           exists (select 1 from budgets b where b.tenant_id = c.tenant_id and b.customer_id = c.id offset 0) as has_budget,
           exists (select 1 from customer_blocks cb where cb.tenant_id = c.tenant_id and cb.customer_id = c.id offset 0) as blocked,
           (select b.amount::text from budgets b where b.tenant_id = c.tenant_id and b.customer_id = c.id and b.enforcement = 'block') as blocking_budget,
           exists (select 1 from scoped_budgets sb where sb.tenant_id = c.tenant_id and sb.customer_id = c.id offset 0) as has_scoped_budget,
           exists (select 1 from scoped_budgets sb where sb.tenant_id = c.tenant_id and sb.customer_id = c.id and sb.enforcement = 'block' offset 0) as has_blocking_scoped_budget,
           s.started_at, s.anchor_day, s.anchor_month, s.discount_percent::text,
           p.billing_interval, p.allowances, p.minimum_spend::text, p.base_fee::text, p.code as plan_code, p.name as plan_name, p.invoice_grace_seconds
           ${more}
    -- Each customer by its key (lateral: "external_id = any(...)" was planned as a scan of the tenant's customers
    -- while the table has no statistics), in the order of externalIds; its rows in the other tables by key too, one
    -- customer at a time (lateral with limit, exists with offset 0): under a generic plan (lockBillingContexts),
    -- which does not know how many externalIds there are, joins and hashed exists read the tenant's rows whole.
    from unnest(${externalIds}::text[]) with ordinality as k(external_id, o)
    cross join lateral ${customerByExternalId(db, tenantId, db`k.external_id`)} c
    left join lateral (select w.* from customer_wallets w where w.tenant_id = c.tenant_id and w.customer_id = c.id limit 1) w on true
    left join lateral (select s.* from subscriptions s
                       where s.tenant_id = c.tenant_id and s.customer_id = c.id and s.status = 'active' limit 1) s on true
    left join lateral (select p.* from plans p where p.tenant_id = s.tenant_id and p.id = s.plan_id limit 1) p on true
    order by k.o`;
}

function fromDbBillingContext(r: Record<string, any>): BillingContextRow {
  return {
    customerId: r.customer_id,
    currency: r.currency,
    onDepletion: r.on_depletion ?? 'overage',
    lowBalanceThreshold: r.low_balance_threshold,
    hasBudget: r.has_budget,
    blocked: r.blocked,
    blockingBudget: r.blocking_budget,
    hasScopedBudget: r.has_scoped_budget,
    hasBlockingScopedBudget: r.has_blocking_scoped_budget,
    subscription: r.started_at ? fromDbTerms(r) : undefined,
  };
}

/** Of `externalIds`, those of customers strictly below `rootId` (the reseller itself excluded). */
export async function findCustomersBelow(
  { db, tenantId }: TenantScope,
  rootId: string,
  externalIds: string[],
): Promise<Set<string>> {
  const rows = await db`
    select external_id from customers
    where tenant_id = ${tenantId} and external_id = any(${externalIds}::text[]) and path @> array[${rootId}::uuid]
      and id <> ${rootId}`;
  return new Set(rows.map((row) => row.external_id as string));
}
