// SLA credits' SQL: the credited job as it was rated, the credits, and those of a period (for its invoice).
import { isUniqueViolation, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';
import { periodKey } from '../periods/index.ts';

export interface SlaCredit {
  id: string;
  customerId: string;
  transactionId: string;
  periodStart: Date;
  percent: string;
  charge: string;
  amount: string;
  reason: string;
  createdAt: Date;
  createdBy: string;
}

export interface RatedJob {
  customerId: string;
  periodStart: Date;
  outcome: string | null;
  subtotal: string;
  /** The negotiated discount of its receipt. */
  discount: string;
}

/** The event's latest rated line, with its outcome property. */
export async function findRatedJob(
  { db, tenantId }: TenantScope,
  transactionId: string,
): Promise<RatedJob | undefined> {
  const [row] = await db`
    select e.customer_id, l.period_start, e.properties->>'outcome' as outcome, l.subtotal::text,
           coalesce((select sum((s->>'amount')::numeric) from json_array_elements(l.receipt) s where s->>'step' = 'discount'), 0)::text as discount
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id
    where e.tenant_id = ${tenantId} and e.transaction_id = ${transactionId}
    order by l.revision desc limit 1`;
  return row
    ? {
        customerId: row.customer_id,
        periodStart: row.period_start,
        outcome: row.outcome,
        subtotal: row.subtotal,
        discount: row.discount,
      }
    : undefined;
}

export async function insertCredit({ db, tenantId }: TenantScope, credit: SlaCredit): Promise<void> {
  try {
    await db`
      insert into sla_credits (tenant_id, id, customer_id, transaction_id, period_start, percent, charge, amount, reason, created_at, created_by)
      values (${tenantId}, ${credit.id}, ${credit.customerId}, ${credit.transactionId}, ${credit.periodStart}, ${credit.percent}, ${credit.charge},
              ${credit.amount}, ${credit.reason}, ${credit.createdAt}, ${credit.createdBy})`;
  } catch (error) {
    if (isUniqueViolation(error, 'sla_credits_once')) {
      throw conflict('sla_credit_exists', `Event "${credit.transactionId}" already has an SLA credit`, [
        { field: 'transaction_id', reason: 'already credited' },
      ]);
    }
    throw error;
  }
}

export async function listCredits({ db, tenantId }: TenantScope, customerId: string): Promise<SlaCredit[]> {
  const rows = await db`
    select *, percent::text as percent_text, charge::text as charge_text, amount::text as amount_text from sla_credits
    where tenant_id = ${tenantId} and customer_id = ${customerId} order by created_at, id`;
  return rows.map(fromDbCredit);
}

/** A period's SLA credits, for its invoice. */
export async function listCreditsForPeriod(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<SlaCredit[]> {
  const rows = await db`
    select *, percent::text as percent_text, charge::text as charge_text, amount::text as amount_text from sla_credits
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${periodStart} order by created_at, id`;
  return rows.map(fromDbCredit);
}

/** The SLA credits of many periods, by periodKey. */
export async function listCreditsForPeriods(
  { db, tenantId }: TenantScope,
  keys: { customerId: string; start: Date }[],
): Promise<Map<string, SlaCredit[]>> {
  const rows = await db`
    select c.*, c.percent::text as percent_text, c.charge::text as charge_text, c.amount::text as amount_text from sla_credits c
    join unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.start.toISOString())}::timestamptz[]) as k(customer_id, period_start)
      on c.customer_id = k.customer_id and c.period_start = k.period_start
    where c.tenant_id = ${tenantId} order by c.created_at, c.id`;
  const byPeriod = new Map<string, SlaCredit[]>();
  for (const row of rows) {
    const key = periodKey({ customerId: row.customer_id, start: row.period_start });
    byPeriod.set(key, [...(byPeriod.get(key) ?? []), fromDbCredit(row)]);
  }
  return byPeriod;
}

function fromDbCredit(row: Record<string, any>): SlaCredit {
  return {
    id: row.id,
    customerId: row.customer_id,
    transactionId: row.transaction_id,
    periodStart: row.period_start,
    percent: row.percent_text,
    charge: row.charge_text,
    amount: row.amount_text,
    reason: row.reason,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
