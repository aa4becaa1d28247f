import { isUniqueViolation, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';
import type { BillingInterval } from '@tariff/openapi/schemas/plans';

export interface Plan {
  id: string;
  code: string;
  name: string;
  currency: string;
  priceBookId: string;
  /** Joined for output. */
  priceBookCode: string;
  baseFee: string;
  interval: BillingInterval;
  allowances: Record<string, string>;
  minimumSpend: string | null;
  invoiceGraceSeconds: number;
  /** Ascending amounts (numeric text). */
  progressiveThresholds: string[];
  /** Minimum over `periods` consecutive periods (numeric text), or null. */
  termCommitment: { minimumSpend: string; periods: number } | null;
  createdAt: Date;
  createdBy: string;
  archivedAt: Date | null;
}

export async function insertPlan({ db, tenantId }: TenantScope, plan: Omit<Plan, 'priceBookCode'>): Promise<void> {
  try {
    await db`
      insert into plans (tenant_id, id, code, name, currency, price_book_id, base_fee, billing_interval, allowances, minimum_spend,
                         invoice_grace_seconds, progressive_thresholds, term_minimum_spend, term_periods, created_at, created_by)
      values (${tenantId}, ${plan.id}, ${plan.code}, ${plan.name}, ${plan.currency}, ${plan.priceBookId}, ${plan.baseFee}, ${plan.interval},
              ${db.json(plan.allowances)}, ${plan.minimumSpend}, ${plan.invoiceGraceSeconds}, ${plan.progressiveThresholds}::numeric[],
              ${plan.termCommitment?.minimumSpend ?? null}, ${plan.termCommitment?.periods ?? null}, ${plan.createdAt}, ${plan.createdBy})`;
  } catch (error) {
    if (isUniqueViolation(error, 'plans_code_unique'))
      throw conflict('plan_exists', `A plan with code "${plan.code}" already exists`, [
        { field: 'code', reason: 'already in use' },
      ]);
    throw error;
  }
}

const selectPlan = (db: TenantScope['db'], tenantId: string) => db`
  select p.*, p.progressive_thresholds::text[] as thresholds, p.term_minimum_spend::text as term_minimum, b.code as price_book_code from plans p join price_books b on b.tenant_id = p.tenant_id and b.id = p.price_book_id
  where p.tenant_id = ${tenantId}`;

export async function findPlanByCode({ db, tenantId }: TenantScope, code: string): Promise<Plan | undefined> {
  const [row] = await db`${selectPlan(db, tenantId)} and p.code = ${code}`;
  return row ? fromDbPlan(row) : undefined;
}

export async function findPlanById({ db, tenantId }: TenantScope, id: string): Promise<Plan | undefined> {
  const [row] = await db`${selectPlan(db, tenantId)} and p.id = ${id}`;
  return row ? fromDbPlan(row) : undefined;
}

export async function listPlans(
  { db, tenantId }: TenantScope,
  page: { limit: number; startingAfter?: string },
): Promise<Plan[]> {
  const rows = await db`
    ${selectPlan(db, tenantId)}
    ${page.startingAfter !== undefined ? db`and p.code > ${page.startingAfter}` : db``}
    order by p.code collate "C" limit ${page.limit}`;
  return rows.map(fromDbPlan);
}

function fromDbPlan(row: Record<string, any>): Plan {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currency,
    priceBookId: row.price_book_id,
    priceBookCode: row.price_book_code,
    baseFee: row.base_fee,
    interval: row.billing_interval,
    allowances: row.allowances,
    minimumSpend: row.minimum_spend,
    invoiceGraceSeconds: row.invoice_grace_seconds,
    progressiveThresholds: row.thresholds,
    termCommitment: row.term_minimum === null ? null : { minimumSpend: row.term_minimum, periods: row.term_periods },
    createdAt: row.created_at,
    createdBy: row.created_by,
    archivedAt: row.archived_at,
  };
}
