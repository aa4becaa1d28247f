import type { TenantScope } from '../../platform/db.ts';
import type { Enforcement } from './schema.ts';

export interface Budget {
  customerId: string;
  amount: string;
  enforcement: Enforcement;
  thresholds: number[];
  createdAt: Date;
  updatedAt: Date;
}

export async function upsertBudget({ db, tenantId }: TenantScope, budget: Budget): Promise<void> {
  await db`
    insert into budgets (tenant_id, customer_id, amount, enforcement, thresholds, created_at, updated_at)
    values (${tenantId}, ${budget.customerId}, ${budget.amount}, ${budget.enforcement}, ${budget.thresholds}::int[], ${budget.createdAt}, ${budget.updatedAt})
    on conflict (tenant_id, customer_id) do update
      set amount = excluded.amount, enforcement = excluded.enforcement, thresholds = excluded.thresholds, updated_at = excluded.updated_at`;
}

export async function findBudget({ db, tenantId }: TenantScope, customerId: string): Promise<Budget | undefined> {
  const [row] = await db`select * from budgets where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return row ? fromDbBudget(row) : undefined;
}

export async function deleteBudget({ db, tenantId }: TenantScope, customerId: string): Promise<boolean> {
  const result = await db`delete from budgets where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return result.count > 0;
}

export interface PeriodSpend {
  start: Date;
  end: Date;
  /** What is left to bill plus what credits paid: the period's usage net of discounts. */
  spend: string;
}

export async function findPeriodSpend({ db, tenantId }: TenantScope, customerId: string, at: Date): Promise<PeriodSpend | undefined> {
  const [row] = await db`
    select period_start, period_end, (amount + credits_applied)::text as spend from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start <= ${at} and period_end > ${at}`;
  return row ? { start: row.period_start, end: row.period_end, spend: row.spend } : undefined;
}

export interface Alert {
  periodStart: Date;
  threshold: number;
  budgetAmount: string;
  spend: string;
  firedAt: Date;
}

export async function listAlerts({ db, tenantId }: TenantScope, customerId: string, periodStart?: Date): Promise<Alert[]> {
  const rows = await db`
    select period_start, threshold, budget_amount::text, spend::text, fired_at from budget_alerts
    where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${periodStart ? db`and period_start = ${periodStart}` : db``}
    order by period_start desc, threshold`;
  return rows.map((r) => ({ periodStart: r.period_start, threshold: r.threshold, budgetAmount: r.budget_amount, spend: r.spend, firedAt: r.fired_at }));
}

/**
 * Fires the thresholds the given periods' spend has reached, each once per period (the primary key). Reads
 * the periods as the same transaction left them, so it goes after the statements that update them.
 */
export async function fireAlerts({ db, tenantId }: TenantScope, periods: { customerId: string; start: Date }[], now: Date): Promise<void> {
  if (periods.length === 0) return;
  await db`
    insert into budget_alerts (tenant_id, customer_id, period_start, threshold, budget_amount, spend, fired_at)
    select p.tenant_id, p.customer_id, p.period_start, t.threshold, b.amount, p.amount + p.credits_applied, ${now}
    from customer_periods p
    join budgets b on b.tenant_id = p.tenant_id and b.customer_id = p.customer_id
    cross join unnest(b.thresholds) as t(threshold)
    where p.tenant_id = ${tenantId}
      and (p.customer_id, p.period_start) in (
        select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[]))
      and (p.amount + p.credits_applied) * 100 >= b.amount * t.threshold
    on conflict do nothing`;
}

function fromDbBudget(row: Record<string, any>): Budget {
  return { customerId: row.customer_id, amount: row.amount, enforcement: row.enforcement, thresholds: row.thresholds, createdAt: row.created_at, updatedAt: row.updated_at };
}
