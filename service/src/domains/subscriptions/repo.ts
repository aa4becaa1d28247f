import type { Db, TenantScope } from '../../platform/db.ts';
import { customerByExternalId } from '../customers/lookup.ts';
import type { BillingInterval } from '../periods/calendar.ts';

export interface Subscription {
  id: string;
  customerId: string;
  planId: string;
  startedAt: Date;
  anchorDay: number;
  anchorMonth: number | null;
  discountPercent: string;
  status: 'active';
  createdAt: Date;
  createdBy: string;
}

export async function insertSubscription({ db, tenantId }: TenantScope, s: Subscription): Promise<void> {
  await db`
    insert into subscriptions (tenant_id, id, customer_id, plan_id, started_at, anchor_day, anchor_month, discount_percent, status, created_at, created_by)
    values (${tenantId}, ${s.id}, ${s.customerId}, ${s.planId}, ${s.startedAt}, ${s.anchorDay}, ${s.anchorMonth}, ${s.discountPercent}, ${s.status},
            ${s.createdAt}, ${s.createdBy})`;
}

export async function findSubscription(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<Subscription | undefined> {
  const [row] =
    await db`select * from subscriptions where tenant_id = ${tenantId} and customer_id = ${customerId} and status = 'active'`;
  return row ? fromDbSubscription(row) : undefined;
}

/** A subscription with the plan terms that rating and period close need. */
export interface SubscriptionTermsRow {
  customerId: string;
  customerExternalId: string;
  startedAt: Date;
  interval: BillingInterval;
  anchorDay: number;
  anchorMonth: number | null;
  discountPercent: string;
  allowances: Record<string, string>;
  minimumSpend: string | null;
  baseFee: string;
  planCode: string;
  planName: string;
  invoiceGraceSeconds: number;
}

export async function findTermsByCustomerId(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<SubscriptionTermsRow | undefined> {
  const [row] = await db`
    select c.id as customer_id, c.external_id, s.started_at, s.anchor_day, s.anchor_month, s.discount_percent::text,
           p.billing_interval, p.allowances, p.minimum_spend::text, p.base_fee::text, p.code as plan_code, p.name as plan_name, p.invoice_grace_seconds
    from subscriptions s
    join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
    join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
    where s.tenant_id = ${tenantId} and s.status = 'active' and s.customer_id = ${customerId}`;
  return row ? fromDbTerms(row) : undefined;
}

/** Open periods whose end has passed, across tenants (billing_due_periods, SECURITY DEFINER): the scheduler's scan. */
export async function findDuePeriods(db: Db, now: Date, limit: number) {
  const rows = await db`select tenant_id, customer_id, period_start from billing_due_periods(${now}, ${limit})`;
  return rows.map((r) => ({
    tenantId: r.tenant_id as string,
    customerId: r.customer_id as string,
    periodStart: r.period_start as Date,
  }));
}

function fromDbSubscription(row: Record<string, any>): Subscription {
  return {
    id: row.id,
    customerId: row.customer_id,
    planId: row.plan_id,
    startedAt: row.started_at,
    anchorDay: row.anchor_day,
    anchorMonth: row.anchor_month,
    discountPercent: row.discount_percent,
    status: row.status,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

/** Maps a row with the subscription and plan columns (also read by events/repo.ts's billing contexts). */
export function fromDbTerms(r: Record<string, any>): SubscriptionTermsRow {
  return {
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    startedAt: r.started_at,
    interval: r.billing_interval,
    anchorDay: r.anchor_day,
    anchorMonth: r.anchor_month,
    discountPercent: r.discount_percent,
    allowances: r.allowances,
    minimumSpend: r.minimum_spend,
    baseFee: r.base_fee,
    planCode: r.plan_code,
    planName: r.plan_name,
    invoiceGraceSeconds: r.invoice_grace_seconds,
  };
}

// ---- amendments: new terms from an instant ----------------------------------------------------------------

/** An amendment with the terms it brings (the plan's, with the amendment's allowances when it names them). */
export interface AmendmentRow {
  id: string;
  customerId: string;
  effectiveAt: Date;
  planId: string;
  planCode: string;
  planName: string;
  priceBookId: string;
  interval: BillingInterval;
  baseFee: string;
  minimumSpend: string | null;
  allowances: Record<string, string>;
  /** Whether the allowances are the amendment's own rather than the plan's. */
  allowancesOverridden: boolean;
  discountPercent: string;
  invoiceGraceSeconds: number;
  createdAt: Date;
  createdBy: string;
}

export async function insertAmendment(
  { db, tenantId }: TenantScope,
  a: {
    id: string;
    subscriptionId: string;
    customerId: string;
    effectiveAt: Date;
    planId: string;
    allowances: Record<string, string> | null;
    discountPercent: string;
    createdAt: Date;
    createdBy: string;
  },
): Promise<void> {
  await db`
    insert into subscription_amendments (tenant_id, id, subscription_id, customer_id, effective_at, plan_id, allowances, discount_percent, created_at, created_by)
    values (${tenantId}, ${a.id}, ${a.subscriptionId}, ${a.customerId}, ${a.effectiveAt}, ${a.planId}, ${a.allowances === null ? null : db.json(a.allowances)},
            ${a.discountPercent}, ${a.createdAt}, ${a.createdBy})`;
}

const selectAmendments = (db: TenantScope['db'], tenantId: string) => db`
  select a.id, a.customer_id, a.effective_at, a.plan_id, p.code as plan_code, p.name as plan_name, p.price_book_id, p.billing_interval, p.base_fee::text,
         p.minimum_spend::text, coalesce(a.allowances, p.allowances) as allowances, a.allowances is not null as allowances_overridden,
         a.discount_percent::text, p.invoice_grace_seconds, a.created_at, a.created_by
  from subscription_amendments a join plans p on p.tenant_id = a.tenant_id and p.id = a.plan_id
  where a.tenant_id = ${tenantId}`;

/**
 * The amendments of the customer `customerId` (an SQL expression of the enclosing statement), in effective order, as
 * a scalar subquery giving one json array for fromJsonAmendments.
 */
export function amendmentsOf(db: TenantScope['db'], tenantId: string, customerId: ReturnType<TenantScope['db']>) {
  return db`(select coalesce(json_agg(a order by a.effective_at), '[]') from (${selectAmendments(db, tenantId)} and a.customer_id = ${customerId} offset 0) a)`;
}

/** The amendments of amendmentsOf's json array (instants as ISO text). */
export function fromJsonAmendments(rows: Record<string, any>[]): AmendmentRow[] {
  return rows.map((r) =>
    fromDbAmendment({ ...r, effective_at: new Date(r.effective_at), created_at: new Date(r.created_at) }),
  );
}

function fromDbAmendment(r: Record<string, any>): AmendmentRow {
  return {
    id: r.id,
    customerId: r.customer_id,
    effectiveAt: r.effective_at,
    planId: r.plan_id,
    planCode: r.plan_code,
    planName: r.plan_name,
    priceBookId: r.price_book_id,
    interval: r.billing_interval,
    baseFee: r.base_fee,
    minimumSpend: r.minimum_spend,
    allowances: r.allowances,
    allowancesOverridden: r.allowances_overridden,
    discountPercent: r.discount_percent,
    invoiceGraceSeconds: r.invoice_grace_seconds,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/** The customers' amendments, each customer's in effective order. */
export async function findAmendments(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Map<string, AmendmentRow[]>> {
  const byCustomer = new Map<string, AmendmentRow[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows =
    await db`${selectAmendments(db, tenantId)} and a.customer_id = any(${customerIds}::uuid[]) order by a.customer_id, a.effective_at`;
  for (const r of rows) byCustomer.set(r.customer_id, [...(byCustomer.get(r.customer_id) ?? []), fromDbAmendment(r)]);
  return byCustomer;
}

/** The same, for a batch of events' customers by external id (ingestion, pipelined with its other reads). */
export async function findAmendmentsByExternalIds(
  { db, tenantId }: TenantScope,
  externalIds: string[],
): Promise<Map<string, AmendmentRow[]>> {
  const byCustomer = new Map<string, AmendmentRow[]>();
  if (externalIds.length === 0) return byCustomer;
  // Each customer by its key, its amendments by the customer (lateral: a semi-join on "external_id = any(...)" was
  // planned as a scan of the tenant's customers while the tables have no statistics).
  const rows = await db`
    select a.* from unnest(${[...new Set(externalIds)]}::text[]) as k(external_id)
    cross join lateral ${customerByExternalId(db, tenantId, db`k.external_id`)} c
    cross join lateral (${selectAmendments(db, tenantId)} and a.customer_id = c.id offset 0) a
    order by a.customer_id, a.effective_at`;
  for (const r of rows) byCustomer.set(r.customer_id, [...(byCustomer.get(r.customer_id) ?? []), fromDbAmendment(r)]);
  return byCustomer;
}

/** Events of the period stamped at or after `at`. */
export async function countEventsFrom(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
  at: Date,
): Promise<number> {
  const [row] = await db`
    select count(*)::int as n from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id and l.period_start = ${periodStart}
    where e.tenant_id = ${tenantId} and e.customer_id = ${customerId} and e.occurred_at >= ${at}`;
  return row.n;
}
