// The SQL the pricing snapshot needs beyond other domains' repos: the stored period row, read by its key.
import type { TenantScope } from '../../platform/db.ts';

export interface StoredPeriod {
  status: 'open' | 'closed';
  state: Record<string, unknown>;
  /** What rating left to bill so far. */
  amount: string;
  /** amount + credits applied: the period's usage net of discounts, as budgets count it. */
  spend: string;
}

export async function findPeriodByStart(
  { db, tenantId }: TenantScope,
  customerId: string,
  start: Date,
): Promise<StoredPeriod | undefined> {
  const [r] = await db`
    select status, state, amount::text, (amount + credits_applied)::text as spend from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start = ${start}`;
  return r ? { status: r.status, state: r.state, amount: r.amount, spend: r.spend } : undefined;
}
