// Re-ratings' SQL: the re-rating rows, the periods and events a replay reads, and what applying it writes
// (rated-line revisions, period totals, aggregate amounts, invoice adjustments).
import type { ReceiptStep } from '@tariff/core-wasm';
import { chainJsonSql, decodeChain, encodeChain, type ChainLevelCharge } from '../events/chain-codec.ts';
import { encodeReceipt } from '../../platform/receipt-codec.ts';
import type { Db, TenantScope } from '../../platform/db.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';

export type ReratingStatus = 'pending' | 'previewed' | 'approved' | 'applied' | 'failed';

export interface Rerating {
  id: string;
  priceBookId: string;
  priceBookCode: string;
  effectiveFrom: Date;
  bookVersions: number;
  status: ReratingStatus;
  preview: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  createdBy: string;
  previewedAt: Date | null;
  approvedAt: Date | null;
  approvedBy: string | null;
  appliedAt: Date | null;
}

export async function insertRerating(
  { db, tenantId }: TenantScope,
  r: { id: string; priceBookId: string; effectiveFrom: Date; bookVersions: number; createdAt: Date; createdBy: string },
): Promise<void> {
  await db`
    insert into reratings (tenant_id, id, price_book_id, effective_from, book_versions, status, created_at, created_by, updated_at)
    values (${tenantId}, ${r.id}, ${r.priceBookId}, ${r.effectiveFrom}, ${r.bookVersions}, 'pending', ${r.createdAt}, ${r.createdBy}, ${r.createdAt})`;
}

const selectRerating = (db: TenantScope['db'], tenantId: string) => db`
  select r.*, b.code as price_book_code from reratings r join price_books b on b.tenant_id = r.tenant_id and b.id = r.price_book_id
  where r.tenant_id = ${tenantId}`;

export async function findRerating(
  { db, tenantId }: TenantScope,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Rerating | undefined> {
  const [row] = await db`${selectRerating(db, tenantId)} and r.id = ${id} ${options.lock ? db`for update of r` : db``}`;
  return row ? fromDbRerating(row) : undefined;
}

export async function listReratings(
  { db, tenantId }: TenantScope,
  filter: { priceBookId?: string; status?: ReratingStatus; limit: number; startingAfter?: string },
): Promise<Rerating[]> {
  const rows = await db`
    ${selectRerating(db, tenantId)}
    ${filter.priceBookId ? db`and r.price_book_id = ${filter.priceBookId}` : db``}
    ${filter.status ? db`and r.status = ${filter.status}` : db``}
    ${filter.startingAfter ? db`and (r.created_at, r.id) < (select created_at, id from reratings where tenant_id = ${tenantId} and id = ${filter.startingAfter})` : db``}
    order by r.created_at desc, r.id desc limit ${filter.limit}`;
  return rows.map(fromDbRerating);
}

export async function updateRerating(
  { db, tenantId }: TenantScope,
  id: string,
  fields: Partial<
    Pick<
      Rerating,
      'status' | 'preview' | 'result' | 'error' | 'previewedAt' | 'approvedAt' | 'approvedBy' | 'appliedAt'
    >
  >,
  now: Date,
): Promise<void> {
  const set: Record<string, unknown> = { updated_at: now };
  if (fields.status !== undefined) set.status = fields.status;
  if (fields.preview !== undefined) set.preview = fields.preview === null ? null : db.json(fields.preview as never);
  if (fields.result !== undefined) set.result = fields.result === null ? null : db.json(fields.result as never);
  if (fields.error !== undefined) set.error = fields.error;
  if (fields.previewedAt !== undefined) set.previewed_at = fields.previewedAt;
  if (fields.approvedAt !== undefined) set.approved_at = fields.approvedAt;
  if (fields.approvedBy !== undefined) set.approved_by = fields.approvedBy;
  if (fields.appliedAt !== undefined) set.applied_at = fields.appliedAt;
  await db`update reratings set ${db(set)} where tenant_id = ${tenantId} and id = ${id}`;
}

/** Re-ratings waiting for a job, across tenants (billing_due_reratings, SECURITY DEFINER): the tick's scan. */
export async function findDueReratings(
  db: Db,
  limit: number,
): Promise<{ tenantId: string; reratingId: string; status: 'pending' | 'approved' }[]> {
  const rows = await db`select tenant_id, rerating_id, status from billing_due_reratings(${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, reratingId: r.rerating_id, status: r.status }));
}

export interface AffectedPeriod {
  customerId: string;
  customerExternalId: string;
  /** The customer's rating currency (its price books'): what its rated amounts, grants and adjustments are in. */
  currency: string;
  start: Date;
  end: Date;
  status: 'open' | 'closed';
  /** The customer resells or its parent does, or its events were rated through a reseller chain (migration 082). */
  inChain: boolean;
}

/**
 * Periods in which the book rated an event stamped at or after `from`: the periods a re-rating replays. Found
 * through the events index (customer, time): ratings have no index but their primary keys.
 */
export async function findAffectedPeriods(
  { db, tenantId }: TenantScope,
  priceBookId: string,
  from: Date,
): Promise<AffectedPeriod[]> {
  const rows = await db`
    select p.customer_id, c.external_id, ${db.unsafe(ratingCurrencySql)} as currency, p.period_start, p.period_end, p.status,
           c.is_reseller or exists (select 1 from customers r where r.tenant_id = c.tenant_id and r.id = c.parent_id and r.is_reseller)
             or exists (select 1 from events e where e.tenant_id = p.tenant_id and e.customer_id = p.customer_id
                          and e.occurred_at >= p.period_start and e.occurred_at < p.period_end and e.chain is not null) as in_chain
    from customer_periods p
    join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
    where p.tenant_id = ${tenantId} and p.period_end > ${from}
      and exists (select 1 from events e
                  join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id and l.period_start = p.period_start
                  where e.tenant_id = p.tenant_id and e.customer_id = p.customer_id and e.occurred_at >= greatest(p.period_start, ${from}::timestamptz)
                    and e.occurred_at < p.period_end and l.price_book_id = ${priceBookId})
    order by p.customer_id, p.period_start`;
  return rows.map((r) => fromDbAffectedPeriod(r, r.in_chain));
}

function fromDbAffectedPeriod(r: Record<string, any>, inChain: boolean): AffectedPeriod {
  return {
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    currency: r.currency,
    start: r.period_start,
    end: r.period_end,
    status: r.status,
    inChain,
  };
}

/** The latest rating of each event: no later revision exists. */
const latestRating = (db: TenantScope['db']) =>
  db`not exists (select 1 from event_ratings n where n.tenant_id = l.tenant_id and n.transaction_id = l.transaction_id and n.revision > l.revision)`;

/**
 * Every period (own or reseller level) of the events rated through a chain whose latest rating used the book, at
 * any level, and that happened at or after `from`: where a chain's re-rating starts.
 */
export async function findChainSeeds(
  { db, tenantId }: TenantScope,
  priceBookId: string,
  from: Date,
): Promise<{ customerId: string; start: Date }[]> {
  const rows = await db`
    select distinct k.customer_id, k.period_start
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id
    cross join lateral (
      select l.customer_id, l.period_start
      union all
      select (x->>'customer_id')::uuid, (x->>'period_start')::timestamptz from json_array_elements(chain_json(l.chain)) x
    ) k
    where e.tenant_id = ${tenantId} and e.occurred_at >= ${from} and l.chain is not null and ${latestRating(db)}
      and (l.price_book_id = ${priceBookId}
           or exists (select 1 from json_array_elements(chain_json(l.chain)) y where (y->>'price_book_id')::uuid = ${priceBookId}))`;
  return rows.map((r) => ({ customerId: r.customer_id, start: r.period_start }));
}

/** The periods themselves, as findAffectedPeriods describes them (all of them in a chain). */
export async function findPeriods(
  { db, tenantId }: TenantScope,
  keys: { customerId: string; start: Date }[],
): Promise<AffectedPeriod[]> {
  if (keys.length === 0) return [];
  const rows = await db`
    select p.customer_id, c.external_id, ${db.unsafe(ratingCurrencySql)} as currency, p.period_start, p.period_end, p.status
    from customer_periods p
    join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
    where p.tenant_id = ${tenantId}
      and (p.customer_id, p.period_start) in (select * from unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.start.toISOString())}::timestamptz[]))
    order by p.customer_id, p.period_start`;
  return rows.map((r) => fromDbAffectedPeriod(r, true));
}

/** An event rated through a chain, with its own customer's period and its reseller levels as last rated. */
export interface ChainReplayEvent extends ReplayEvent {
  customerId: string;
  periodStart: Date;
  chain: ChainLevelCharge[];
}

/**
 * Every event whose latest rating lands in one of the periods, at its own level or a reseller level, in the
 * order they were acknowledged (as listPeriodEvents).
 */
export async function listChainEvents(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
): Promise<ChainReplayEvent[]> {
  if (periods.length === 0) return [];
  const from = new Date(Math.min(...periods.map((p) => p.start.getTime())));
  const to = new Date(Math.max(...periods.map((p) => p.end.getTime())));
  const rows = await db`
    with p as (
      select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[])
        as p(customer_id, period_start)
    )
    select e.transaction_id, e.event_type, e.occurred_at, e.properties, l.revision, l.customer_id, l.period_start, l.price_book_id,
           l.book_version, l.card, l.amount::text, l.subtotal::text, l.cost::text, l.margin::text, l.receipt,
           ${db.unsafe(chainJsonSql('l.chain'))} as chain
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id
    where e.tenant_id = ${tenantId} and e.occurred_at >= ${from} and e.occurred_at < ${to} and ${latestRating(db)}
      and (exists (select 1 from p where p.customer_id = l.customer_id and p.period_start = l.period_start)
           or exists (select 1 from json_array_elements(chain_json(l.chain)) x
                      join p on p.customer_id = (x->>'customer_id')::uuid and p.period_start = (x->>'period_start')::timestamptz))
    order by e.received_at, e.occurred_at, e.transaction_id`;
  return rows.map((r) => ({
    transactionId: r.transaction_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at,
    properties: r.properties,
    revision: r.revision,
    customerId: r.customer_id,
    periodStart: r.period_start,
    priceBookId: r.price_book_id,
    bookVersion: r.book_version,
    card: r.card,
    amount: r.amount,
    subtotal: r.subtotal,
    cost: r.cost,
    margin: r.margin,
    receipt: r.receipt,
    chain: decodeChain(r.chain),
  }));
}

/** Locks every grant of the customers in id order: the order ingestion locks active grants in. */
export async function lockGrantsOf({ db, tenantId }: TenantScope, customerIds: string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await db`select 1 from credit_grants where tenant_id = ${tenantId} and customer_id = any(${customerIds}::uuid[]) order by id for update`;
}

export interface ReplayEvent {
  transactionId: string;
  eventType: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
  revision: number;
  priceBookId: string;
  bookVersion: Date;
  card: string;
  amount: string;
  subtotal: string;
  cost: string | null;
  margin: string | null;
  receipt: ReceiptStep[];
}

/**
 * A period's events with their latest rated line, in the order they were acknowledged: by the acknowledging
 * transaction's time, then (within one transaction, whose order is not stored) by timestamp and id.
 */
export async function listPeriodEvents(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<ReplayEvent[]> {
  const rows = await db`
    select e.transaction_id, e.event_type, e.occurred_at, e.properties, l.revision, l.price_book_id, l.book_version, l.card,
           l.amount::text, l.subtotal::text, l.cost::text, l.margin::text, l.receipt
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id and l.period_start = ${periodStart}
    where e.tenant_id = ${tenantId} and e.customer_id = ${customerId} and e.occurred_at >= ${periodStart}
      and ${latestRating(db)}
    order by e.received_at, e.occurred_at, e.transaction_id`;
  return rows.map((r) => ({
    transactionId: r.transaction_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at,
    properties: r.properties,
    revision: r.revision,
    priceBookId: r.price_book_id,
    bookVersion: r.book_version,
    card: r.card,
    amount: r.amount,
    subtotal: r.subtotal,
    cost: r.cost,
    margin: r.margin,
    receipt: r.receipt,
  }));
}

export interface Revision {
  transactionId: string;
  revision: number;
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
  /** The reseller levels as re-rated, for an event rated through a chain. */
  chain?: ChainLevelCharge[];
}

/** Appends rated-line revisions to event_revisions (append-only: the event's first rating and earlier revisions stay). */
export async function insertRevisions({ db, tenantId }: TenantScope, lines: Revision[], ratedAt: Date): Promise<void> {
  if (lines.length === 0) return;
  const rows = lines.map((l) => ({
    transaction_id: l.transactionId,
    revision: l.revision,
    customer_id: l.customerId,
    period_start: l.periodStart,
    price_book_id: l.priceBookId,
    book_version: l.bookVersion,
    kernel_version: l.kernelVersion,
    card: l.card,
    currency: l.currency,
    amount: l.amount,
    subtotal: l.subtotal,
    cost: l.cost,
    margin: l.margin,
    receipt: encodeReceipt(l.receipt),
    chain: l.chain ? encodeChain(l.chain, { ownReceipt: l.receipt }) : null,
  }));
  await db`
    insert into event_revisions (tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version,
                             card, currency, amount, subtotal, cost, margin, receipt, rated_at, chain)
    select ${tenantId}, l.transaction_id, l.revision, l.customer_id, l.period_start, l.price_book_id, l.book_version, l.kernel_version,
           l.card, l.currency, l.amount, l.subtotal, l.cost, l.margin, l.receipt, ${ratedAt}, l.chain
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as l(transaction_id text, revision int, customer_id uuid, period_start timestamptz, price_book_id uuid, book_version timestamptz, kernel_version text,
           card text, currency text, amount numeric, subtotal numeric, cost numeric, margin numeric, receipt json, chain json)`;
}

/** Moves the rated amount (net and gross of credits) of existing usage aggregates (counts and values do not change on re-rating). */
export async function correctAggregateAmounts(
  { db, tenantId }: TenantScope,
  deltas: {
    customerId: string;
    periodStart: Date;
    meterId: string;
    day: string;
    groupKey: Record<string, string | null>;
    amount: string;
    grossAmount: string;
  }[],
): Promise<void> {
  if (deltas.length === 0) return;
  const rows = deltas.map((d) => ({
    customer_id: d.customerId,
    period_start: d.periodStart,
    meter_id: d.meterId,
    day: d.day,
    group_key: d.groupKey,
    amount: d.amount,
    gross_amount: d.grossAmount,
  }));
  await db`
    update usage_aggregates a set amount = a.amount + d.amount, gross_amount = a.gross_amount + d.gross_amount
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as d(customer_id uuid, period_start timestamptz, meter_id uuid, day date, group_key jsonb, amount numeric, gross_amount numeric)
    where a.tenant_id = ${tenantId} and a.customer_id = d.customer_id and a.period_start = d.period_start and a.meter_id = d.meter_id
      and a.day = d.day and a.group_key = d.group_key`;
}

export interface EventRevisionRow {
  revision: number;
  bookVersion: Date;
  kernelVersion: string;
  card: string;
  currency: string;
  amount: string;
  subtotal: string;
  receipt: ReceiptStep[];
  ratedAt: Date;
  periodStart: Date;
}

export async function listEventRevisions(
  { db, tenantId }: TenantScope,
  transactionId: string,
): Promise<EventRevisionRow[]> {
  const rows = await db`
    select revision, book_version, kernel_version, card, currency, amount::text, subtotal::text, receipt, rated_at, period_start
    from event_ratings where tenant_id = ${tenantId} and transaction_id = ${transactionId} order by revision`;
  return rows.map((r) => ({
    revision: r.revision,
    bookVersion: r.book_version,
    kernelVersion: r.kernel_version,
    card: r.card,
    currency: r.currency,
    amount: r.amount,
    subtotal: r.subtotal,
    receipt: r.receipt,
    ratedAt: r.rated_at,
    periodStart: r.period_start,
  }));
}

function fromDbRerating(row: Record<string, any>): Rerating {
  return {
    id: row.id,
    priceBookId: row.price_book_id,
    priceBookCode: row.price_book_code,
    effectiveFrom: row.effective_from,
    bookVersions: row.book_versions,
    status: row.status,
    preview: row.preview,
    result: row.result,
    error: row.error,
    createdAt: row.created_at,
    createdBy: row.created_by,
    previewedAt: row.previewed_at,
    approvedAt: row.approved_at,
    approvedBy: row.approved_by,
    appliedAt: row.applied_at,
  };
}

/**
 * Which of the events were billed to the customer as late-event adjustments (their periods' invoices leave them
 * out); a chain's event is late at each reseller level whose period had closed, under that level's customer.
 */
export async function findLateEvents(
  { db, tenantId }: TenantScope,
  customerId: string,
  transactionIds: string[],
): Promise<Set<string>> {
  if (transactionIds.length === 0) return new Set();
  const rows = await db`
    select reference from invoice_adjustments
    where tenant_id = ${tenantId} and customer_id = ${customerId} and source = 'late_event' and reference = any(${transactionIds}::text[])`;
  return new Set(rows.map((r) => r.reference as string));
}

/** Locks the periods' invoices before the periods themselves, the order finalization takes them in. */
export async function lockInvoicesOf(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date }[],
): Promise<void> {
  if (periods.length === 0) return;
  await db`
    select 1 from invoices
    where tenant_id = ${tenantId}
      and (customer_id, period_start) in (select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[]))
    order by id for update`;
}
