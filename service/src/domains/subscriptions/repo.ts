import type { Db, TenantScope } from '../../platform/db.ts';
import type { BillingInterval } from './periods.ts';

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

export async function findSubscription({ db, tenantId }: TenantScope, customerId: string): Promise<Subscription | undefined> {
  const [row] = await db`select * from subscriptions where tenant_id = ${tenantId} and customer_id = ${customerId} and status = 'active'`;
  return row ? fromDbSubscription(row) : undefined;
}

/** The end of the customer's latest billing period, if it has any. */
export async function findLatestPeriodEnd({ db, tenantId }: TenantScope, customerId: string): Promise<Date | undefined> {
  const [row] = await db`select max(period_end) as period_end from customer_periods where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return row?.period_end ?? undefined;
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

export async function findTermsByCustomerId({ db, tenantId }: TenantScope, customerId: string): Promise<SubscriptionTermsRow | undefined> {
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
  return rows.map((r) => ({ tenantId: r.tenant_id as string, customerId: r.customer_id as string, periodStart: r.period_start as Date }));
}

export interface LockedPeriod {
  customerId: string;
  start: Date;
  end: Date;
  status: 'open' | 'closed';
}

/** Locks one period row (the row ingestion locks before rating into it). */
export async function lockPeriod({ db, tenantId }: TenantScope, customerId: string, start: Date): Promise<LockedPeriod | undefined> {
  const [row] = await db`
    select customer_id, period_start, period_end, status from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${start} for update`;
  return row ? { customerId: row.customer_id, start: row.period_start, end: row.period_end, status: row.status } : undefined;
}

export async function setPeriodStatus({ db, tenantId }: TenantScope, customerId: string, start: Date, status: 'open' | 'closed', now: Date): Promise<void> {
  await db`update customer_periods set status = ${status}, updated_at = ${now} where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${start}`;
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
