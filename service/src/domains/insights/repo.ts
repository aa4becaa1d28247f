// The dashboard's read models' SQL: the customer directory (migration 054's indexes) and usage over time.
import type { ReceiptStep } from '@tariff/core-wasm';
import type { TenantScope } from '../../platform/db.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import { decodeReceipt } from '../../platform/receipt-codec.ts';

export interface DirectoryRow {
  id: string;
  externalId: string;
  name: string | null;
  email: string | null;
  currency: string;
  /** Its price books' currency, which spend and budget are in. */
  ratingCurrency: string;
  parentExternalId: string | null;
  isReseller: boolean;
  children: bigint;
  periodStart: Date | null;
  periodEnd: Date | null;
  /** This period's spend (budgets' rule: what is left to bill plus what credits paid), or null with no period yet. */
  spend: string | null;
  budget: string | null;
  enforcement: 'alert' | 'block' | null;
  /** Balances of the grants in force now, by currency. */
  credits: { currency: string; balance: string }[];
}

/** LIKE's wildcards taken literally. */
const likePrefix = (value: string) => `${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * A page of customers in byte order of external id, after `cursor`. Each matching branch is an index range of
 * migration 054 (external id, lower(name), lower(email), all COLLATE "C"); the page's figures are joined on
 * its rows only.
 */
export async function searchCustomers(
  { db, tenantId }: TenantScope,
  page: { query?: string; parentId?: string; cursor?: string; limit: number; now: Date; customerId?: string },
): Promise<DirectoryRow[]> {
  const query = page.query ? page.query : undefined;
  const rows = await db`
    with page as (
      select c.* from customers c
      where c.tenant_id = ${tenantId}
        ${page.customerId !== undefined ? db`and c.id = ${page.customerId}` : db``}
        ${page.parentId !== undefined ? db`and c.parent_id = ${page.parentId}` : db``}
        ${page.cursor !== undefined ? db`and c.external_id collate "C" > ${page.cursor}` : db``}
        ${
          query === undefined
            ? db``
            : db`and (c.external_id collate "C" like ${likePrefix(query)}
                      or lower(c.name) collate "C" like ${likePrefix(query.toLowerCase())}
                      or lower(c.email) collate "C" like ${likePrefix(query.toLowerCase())})`
        }
      order by c.external_id collate "C" limit ${page.limit}
    )
    select page.id, page.external_id, page.name, page.email, page.currency, page.is_reseller, parent.external_id as parent_external_id,
           (select ${db.unsafe(ratingCurrencySql)} from customers c where c.tenant_id = page.tenant_id and c.id = page.id) as rating_currency,
           (select count(*) from customers k where k.tenant_id = page.tenant_id and k.parent_id = page.id) as children,
           p.period_start, p.period_end, (p.amount + p.credits_applied)::text as spend,
           b.amount::text as budget, b.enforcement,
           coalesce((select json_agg(json_build_object('currency', g.currency, 'balance', g.balance::text) order by g.currency)
                     from (select currency, sum(balance) as balance from credit_grants g
                           where g.tenant_id = page.tenant_id and g.customer_id = page.id and g.status = 'active'
                             and (g.effective_at is null or g.effective_at <= ${page.now}) and (g.expires_at is null or g.expires_at > ${page.now})
                           group by currency) g), '[]') as credits
    from page
    left join customers parent on parent.tenant_id = page.tenant_id and parent.id = page.parent_id
    left join customer_periods p on p.tenant_id = page.tenant_id and p.customer_id = page.id and p.period_start <= ${page.now} and p.period_end > ${page.now}
    left join budgets b on b.tenant_id = page.tenant_id and b.customer_id = page.id
    order by page.external_id collate "C"`;
  return rows.map((r) => ({
    id: r.id,
    externalId: r.external_id,
    name: r.name,
    email: r.email,
    currency: r.currency,
    ratingCurrency: r.rating_currency,
    parentExternalId: r.parent_external_id,
    isReseller: r.is_reseller,
    children: r.children,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    spend: r.spend,
    budget: r.budget,
    enforcement: r.enforcement,
    credits: r.credits,
  }));
}

/** The customer's ancestors, nearest first. */
export async function listAncestors(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<{ id: string; externalId: string; name: string | null; isReseller: boolean }[]> {
  const rows = await db`
    with recursive chain(id, parent_id, depth) as (
      select id, parent_id, 0 from customers where tenant_id = ${tenantId} and id = ${customerId}
      union all
      select c.id, c.parent_id, chain.depth + 1 from customers c join chain on c.id = chain.parent_id
      where c.tenant_id = ${tenantId} and chain.depth < 100
    )
    select c.id, c.external_id, c.name, c.is_reseller from chain join customers c on c.tenant_id = ${tenantId} and c.id = chain.id
    where chain.depth > 0 order by chain.depth`;
  return rows.map((r) => ({ id: r.id, externalId: r.external_id, name: r.name, isReseller: r.is_reseller }));
}

export interface DailyUsageRow {
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

/** Depth guard of the walk down a customer's subtree (parent_id has no cycles, but a walk must end anyway). */
const maxDepth = 100;

/**
 * `with recursive subtree(id)`: the customer and every customer below it, to any depth. A reseller has no usage of
 * its own (its end users' events are aggregated at theirs), so its usage over time is its subtree's; a customer
 * without children is its own subtree. Walks customers_parent_idx.
 */
function subtreeOf({ db, tenantId }: TenantScope, customerId: string) {
  return db`with recursive subtree(id, depth) as (
      select ${customerId}::uuid, 0
      union all
      select c.id, s.depth + 1 from customers c join subtree s on c.parent_id = s.id
      where c.tenant_id = ${tenantId} and s.depth < ${maxDepth}
    )`;
}

/**
 * Usage aggregates by meter, group and UTC day in [fromDay, untilDay), across the periods those days fall in, summed
 * over the customer's subtree: counts, sums and amounts add up, max is the largest, `latest` is the sum of each
 * customer's latest (a reseller's seats are its end users' seats together), unique values are counted once across
 * the subtree.
 */
export async function listDailyUsage(
  scope: TenantScope,
  customerId: string,
  range: { fromDay: string; untilDay: string; meterId?: string },
): Promise<DailyUsageRow[]> {
  const { db, tenantId } = scope;
  // Distinct values of unique_count meters, counted per day in one pass (a day's rows of several periods share them).
  const rows = await db`
    ${subtreeOf(scope, customerId)}, own as (
      select a.customer_id, a.meter_id, a.day, a.group_key, sum(a.event_count) as event_count, sum(a.value_sum) as value_sum, max(a.value_max) as value_max,
             (array_agg(a.latest_value order by a.latest_at desc nulls last))[1] as latest_value, max(a.latest_at) as latest_at,
             sum(a.amount) as amount, sum(a.gross_amount) as gross_amount
      from usage_aggregates a
      where a.tenant_id = ${tenantId} and a.customer_id in (select id from subtree)
        and a.day >= ${range.fromDay}::date and a.day < ${range.untilDay}::date
        ${range.meterId !== undefined ? db`and a.meter_id = ${range.meterId}` : db``}
      group by a.customer_id, a.meter_id, a.day, a.group_key
    ), days as (
      select meter_id, day, group_key, sum(event_count) as event_count, sum(value_sum) as value_sum, max(value_max) as value_max,
             sum(latest_value) as latest_value, max(latest_at) as latest_at, sum(amount) as amount, sum(gross_amount) as gross_amount
      from own group by meter_id, day, group_key
    ), uniques as (
      select u.meter_id, u.day, u.group_key, count(distinct u.value) as n from usage_unique_values u
      where u.tenant_id = ${tenantId} and u.customer_id in (select id from subtree)
        and u.day >= ${range.fromDay}::date and u.day < ${range.untilDay}::date
      group by u.meter_id, u.day, u.group_key
    )
    select d.meter_id, to_char(d.day, 'YYYY-MM-DD') as day, d.group_key, d.event_count, d.value_sum::text, d.value_max::text, d.latest_value::text,
           d.latest_at, d.amount::text, d.gross_amount::text, coalesce(u.n, 0) as unique_count
    from days d left join uniques u on u.meter_id = d.meter_id and u.day = d.day and u.group_key = d.group_key
    order by d.meter_id, d.group_key, d.day`;
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

export interface RatedEventRow {
  customerId: string;
  eventType: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
  periodStart: Date;
  amount: string;
  receipt: ReceiptStep[];
}

/**
 * The events of these types in [from, until) of the customer's subtree (listDailyUsage's) with their latest rating: the events index, each event's
 * own row (its first rating) unless a re-rating appended a revision. Receipts are decoded here, not by the
 * database's receipt_json, which costs about a millisecond per receipt.
 */
export async function listRatedEvents(
  scope: TenantScope,
  customerId: string,
  eventTypes: string[],
  from: Date,
  until: Date,
): Promise<RatedEventRow[]> {
  if (eventTypes.length === 0) return [];
  const { db, tenantId } = scope;
  const rows = await db`
    ${subtreeOf(scope, customerId)}
    select e.customer_id, e.event_type, e.occurred_at, e.properties, coalesce(r.period_start, e.period_start) as period_start,
           coalesce(r.amount, e.amount)::text as amount, coalesce(r.receipt, e.receipt) as receipt
    from events e
    left join lateral (select period_start, amount, receipt from event_revisions r
                       where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id order by r.revision desc limit 1) r on true
    where e.tenant_id = ${tenantId} and e.customer_id in (select id from subtree) and e.occurred_at >= ${from} and e.occurred_at < ${until}
      and e.event_type = any(${eventTypes}::text[])`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at,
    properties: r.properties,
    periodStart: r.period_start,
    amount: r.amount,
    receipt: decodeReceipt(r.receipt),
  }));
}
