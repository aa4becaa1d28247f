import type { TenantScope } from '../../platform/db.ts';
import { toNano } from '../../platform/money.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import type { CheckState } from './check-cache.ts';
import type { Enforcement, ScopeKind } from '@tariff/openapi/schemas/budgets';

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

export async function findPeriodSpend(
  { db, tenantId }: TenantScope,
  customerId: string,
  at: Date,
): Promise<PeriodSpend | undefined> {
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

export async function listAlerts(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart?: Date,
): Promise<Alert[]> {
  const rows = await db`
    select period_start, threshold, budget_amount::text, spend::text, fired_at from budget_alerts
    where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${periodStart ? db`and period_start = ${periodStart}` : db``}
    order by period_start desc, threshold`;
  return rows.map((r) => ({
    periodStart: r.period_start,
    threshold: r.threshold,
    budgetAmount: r.budget_amount,
    spend: r.spend,
    firedAt: r.fired_at,
  }));
}

/**
 * The budget.threshold_crossed notification of each alert a statement's `fired` CTE inserted (the alert's key is
 * its subject, so once per alert): written by the same statement, so firing an alert costs no round trip more.
 */
function notifyFired(db: TenantScope['db'], tenantId: string, scoped: boolean) {
  return db`
    insert into notifications (tenant_id, id, type, customer_id, subject_id, payload, created_at)
    select ${tenantId}, gen_random_uuid(), 'budget.threshold_crossed', f.customer_id,
           concat_ws(':', f.customer_id, f.period_start_text, ${scoped ? db`f.scope_kind, f.scope_value,` : db``} f.threshold),
           jsonb_build_object('customer_id', c.external_id, 'currency', ${db.unsafe(ratingCurrencySql)}, 'period_start', f.period_start_text,
             'threshold_percent', f.threshold, 'budget_amount', f.budget_amount::text, 'spend', f.spend::text,
             'scope', ${scoped ? db`jsonb_build_object('kind', f.scope_kind, 'value', f.scope_value)` : db`null::jsonb`}),
           f.fired_at
    from (select *, to_char(period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as period_start_text from fired) f
    join customers c on c.tenant_id = ${tenantId} and c.id = f.customer_id
    order by f.customer_id, f.period_start, f.threshold
    on conflict do nothing`;
}

/**
 * Fires the thresholds the given periods' spend has reached, each once per period (the primary key), with their
 * notifications. Reads the periods as the same transaction left them, so it goes after the statements that
 * update them.
 */
export async function fireAlerts(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date }[],
  now: Date,
): Promise<void> {
  if (periods.length === 0) return;
  await db`
    with fired as (
      insert into budget_alerts (tenant_id, customer_id, period_start, threshold, budget_amount, spend, fired_at)
      select p.tenant_id, p.customer_id, p.period_start, t.threshold, b.amount, p.amount + p.credits_applied, ${now}
      from customer_periods p
      join budgets b on b.tenant_id = p.tenant_id and b.customer_id = p.customer_id
      cross join unnest(b.thresholds) as t(threshold)
      where p.tenant_id = ${tenantId}
        and (p.customer_id, p.period_start) in (
          select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[]))
        and (p.amount + p.credits_applied) * 100 >= b.amount * t.threshold
      on conflict do nothing
      returning customer_id, period_start, threshold, budget_amount, spend, fired_at
    )
    ${notifyFired(db, tenantId, false)}`;
}

function fromDbBudget(row: Record<string, any>): Budget {
  return {
    customerId: row.customer_id,
    amount: row.amount,
    enforcement: row.enforcement,
    thresholds: row.thresholds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// ---- budgets scoped to an API key or a project tag ------------------------------------------------------

export interface ScopedBudget {
  id: string;
  customerId: string;
  kind: ScopeKind;
  value: string;
  amount: string;
  enforcement: Enforcement;
  thresholds: number[];
  createdAt: Date;
  updatedAt: Date;
}

export async function upsertScopedBudget({ db, tenantId }: TenantScope, b: ScopedBudget): Promise<void> {
  await db`
    insert into scoped_budgets (tenant_id, id, customer_id, scope_kind, scope_value, amount, enforcement, thresholds, created_at, updated_at)
    values (${tenantId}, ${b.id}, ${b.customerId}, ${b.kind}, ${b.value}, ${b.amount}, ${b.enforcement}, ${b.thresholds}::int[], ${b.createdAt}, ${b.updatedAt})
    on conflict (tenant_id, customer_id, scope_kind, scope_value) do update
      set amount = excluded.amount, enforcement = excluded.enforcement, thresholds = excluded.thresholds, updated_at = excluded.updated_at`;
}

export async function listScopedBudgets(
  { db, tenantId }: TenantScope,
  customerId: string,
  scopes?: { kind: ScopeKind; value: string }[],
): Promise<ScopedBudget[]> {
  const rows = await db`
    select * from scoped_budgets where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${scopes ? db`and (scope_kind, scope_value) in (select * from unnest(${scopes.map((s) => s.kind)}::text[], ${scopes.map((s) => s.value)}::text[]))` : db``}
    order by scope_kind, scope_value`;
  return rows.map(fromDbScopedBudget);
}

export async function deleteScopedBudget(
  { db, tenantId }: TenantScope,
  customerId: string,
  kind: ScopeKind,
  value: string,
): Promise<ScopedBudget | undefined> {
  const [row] = await db`
    delete from scoped_budgets where tenant_id = ${tenantId} and customer_id = ${customerId} and scope_kind = ${kind} and scope_value = ${value}
    returning *`;
  return row ? fromDbScopedBudget(row) : undefined;
}

/** Whether the customer has any scoped budget (ingestion attributes spend to scopes only then). */
export async function hasScopedBudgets({ db, tenantId }: TenantScope, customerId: string): Promise<boolean> {
  const [row] =
    await db`select exists (select 1 from scoped_budgets where tenant_id = ${tenantId} and customer_id = ${customerId}) as has`;
  return row.has;
}

/**
 * When a customer gets its first scoped budget: the period's spend by project tag so far, from its rated lines
 * (amount left to bill plus credits drawn). Spend by API key cannot be recovered (events do not record the
 * key); it counts from now.
 */
export async function backfillProjectSpend(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
  now: Date,
): Promise<void> {
  await db`
    insert into scoped_spend (tenant_id, customer_id, period_start, scope_kind, scope_value, spend, updated_at)
    select ${tenantId}, ${customerId}, ${periodStart}, 'project', e.properties->>'project',
           sum(l.amount + coalesce((select sum((s->>'amount')::numeric) from json_array_elements(l.receipt) s where s->>'step' = 'credit'), 0)), ${now}
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id and l.period_start = ${periodStart}
    where e.tenant_id = ${tenantId} and e.customer_id = ${customerId} and e.occurred_at >= ${periodStart}
      and jsonb_typeof(e.properties->'project') = 'string'
      and not exists (select 1 from event_ratings n where n.tenant_id = l.tenant_id and n.transaction_id = l.transaction_id and n.revision > l.revision)
    group by e.properties->>'project'
    on conflict do nothing`;
}

export interface ScopedCharge {
  customerId: string;
  periodStart: Date;
  kind: ScopeKind;
  value: string;
  /** Nano-units as a decimal string. */
  spend: string;
}

/**
 * Adds ingested spend to the scopes (the acknowledging transaction), then fires the thresholds of the scoped
 * budgets it reached, each once per period and scope. Two statements, issued without waiting.
 */
export function recordScopedSpend({ db, tenantId }: TenantScope, charges: ScopedCharge[], now: Date): Promise<unknown> {
  if (charges.length === 0) return Promise.resolve();
  const rows = JSON.stringify(
    charges.map((c) => ({
      customer_id: c.customerId,
      period_start: c.periodStart.toISOString(),
      kind: c.kind,
      value: c.value,
      spend: c.spend,
    })),
  );
  return Promise.all([
    db`
      insert into scoped_spend (tenant_id, customer_id, period_start, scope_kind, scope_value, spend, updated_at)
      select ${tenantId}, c.customer_id, c.period_start, c.kind, c.value, sum(c.spend), ${now}
      from json_to_recordset(${rows}::text::json) as c(customer_id uuid, period_start timestamptz, kind text, value text, spend numeric)
      group by c.customer_id, c.period_start, c.kind, c.value
      order by c.customer_id, c.period_start, c.kind, c.value
      on conflict (tenant_id, customer_id, period_start, scope_kind, scope_value) do update
        set spend = scoped_spend.spend + excluded.spend, updated_at = excluded.updated_at`,
    db`
      with fired as (
        insert into scoped_budget_alerts (tenant_id, customer_id, period_start, scope_kind, scope_value, threshold, budget_amount, spend, fired_at)
      select s.tenant_id, s.customer_id, s.period_start, s.scope_kind, s.scope_value, t.threshold, b.amount, s.spend, ${now}
      from scoped_spend s
      join scoped_budgets b on b.tenant_id = s.tenant_id and b.customer_id = s.customer_id and b.scope_kind = s.scope_kind and b.scope_value = s.scope_value
      cross join unnest(b.thresholds) as t(threshold)
      where s.tenant_id = ${tenantId}
        and (s.customer_id, s.period_start, s.scope_kind, s.scope_value) in (
          select c.customer_id, c.period_start, c.kind, c.value
          from json_to_recordset(${rows}::text::json) as c(customer_id uuid, period_start timestamptz, kind text, value text, spend numeric))
        and s.spend * 100 >= b.amount * t.threshold
      on conflict do nothing
      returning customer_id, period_start, scope_kind, scope_value, threshold, budget_amount, spend, fired_at
      )
      ${notifyFired(db, tenantId, true)}`,
  ]);
}

export interface BlockingScopedBudget {
  customerId: string;
  periodStart: Date;
  kind: ScopeKind;
  value: string;
  amount: string;
  /** The scope's spend in the period so far (0 when none is recorded). */
  spend: string;
}

/**
 * The blocking budgets per API key or project tag of the given customers' periods, with each scope's spend so far:
 * ingestion reads them under the period lock (events/service.ts), so the spend is the committed one.
 */
export async function findBlockingScopedBudgets(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date }[],
): Promise<BlockingScopedBudget[]> {
  if (periods.length === 0) return [];
  const rows = await db`
    select b.customer_id, p.period_start, b.scope_kind, b.scope_value, b.amount::text, coalesce(s.spend, 0)::text as spend
    from scoped_budgets b
    join json_to_recordset(${JSON.stringify(periods.map((p) => ({ customer_id: p.customerId, period_start: p.start.toISOString() })))}::text::json)
      as p(customer_id uuid, period_start timestamptz) on p.customer_id = b.customer_id
    left join scoped_spend s on s.tenant_id = b.tenant_id and s.customer_id = b.customer_id and s.period_start = p.period_start
      and s.scope_kind = b.scope_kind and s.scope_value = b.scope_value
    where b.tenant_id = ${tenantId} and b.enforcement = 'block'`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    periodStart: r.period_start,
    kind: r.scope_kind,
    value: r.scope_value,
    amount: r.amount,
    spend: r.spend,
  }));
}

/** The spend of the given scopes in the customer's period containing `at`, by "kind:value". */
export async function findScopedSpend(
  { db, tenantId }: TenantScope,
  customerId: string,
  at: Date,
  scopes: { kind: ScopeKind; value: string }[],
): Promise<Map<string, string>> {
  if (scopes.length === 0) return new Map();
  const rows = await db`
    select s.scope_kind, s.scope_value, s.spend::text from scoped_spend s
    join customer_periods p on p.tenant_id = s.tenant_id and p.customer_id = s.customer_id and p.period_start = s.period_start
    where s.tenant_id = ${tenantId} and s.customer_id = ${customerId} and p.period_start <= ${at} and p.period_end > ${at}
      and (s.scope_kind, s.scope_value) in (select * from unnest(${scopes.map((s) => s.kind)}::text[], ${scopes.map((s) => s.value)}::text[]))`;
  return new Map(rows.map((r) => [`${r.scope_kind}:${r.scope_value}`, r.spend as string]));
}

export interface ScopedAlert {
  kind: ScopeKind;
  value: string;
  periodStart: Date;
  threshold: number;
  budgetAmount: string;
  spend: string;
  firedAt: Date;
}

export async function listScopedAlerts(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart?: Date,
): Promise<ScopedAlert[]> {
  const rows = await db`
    select scope_kind, scope_value, period_start, threshold, budget_amount::text, spend::text, fired_at from scoped_budget_alerts
    where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${periodStart ? db`and period_start = ${periodStart}` : db``}
    order by period_start desc, scope_kind, scope_value, threshold`;
  return rows.map((r) => ({
    kind: r.scope_kind,
    value: r.scope_value,
    periodStart: r.period_start,
    threshold: r.threshold,
    budgetAmount: r.budget_amount,
    spend: r.spend,
    firedAt: r.fired_at,
  }));
}

function fromDbScopedBudget(row: Record<string, any>): ScopedBudget {
  return {
    id: row.id,
    customerId: row.customer_id,
    kind: row.scope_kind,
    value: row.scope_value,
    amount: row.amount,
    enforcement: row.enforcement,
    thresholds: row.thresholds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Everything the entitlement check reads, in one statement (one round trip with the transaction's settings): the
 * customer, its policy and budget, the period containing `at` (or, when none does, the bounds of the gap between
 * periods it falls in), its active grants, and all its scoped budgets with their spend in that period. Kept in
 * memory by check-cache.ts, so it holds what any request of the customer's may need, not only this one's.
 */
export async function readCheckState(
  { db, tenantId }: TenantScope,
  externalId: string,
  at: Date,
): Promise<CheckState | undefined> {
  const [row] = await db`
    select c.id, ${db.unsafe(ratingCurrencySql)} as currency, c.is_reseller,
      (select pc.external_id from customers pc where pc.tenant_id = c.tenant_id and pc.id = c.parent_id) as parent_external_id,
      coalesce((select w.on_depletion from customer_wallets w where w.tenant_id = c.tenant_id and w.customer_id = c.id), 'overage') as on_depletion,
      exists (select 1 from customer_blocks cb where cb.tenant_id = c.tenant_id and cb.customer_id = c.id) as blocked,
      (select json_build_object('amount', b.amount::text, 'enforcement', b.enforcement) from budgets b
        where b.tenant_id = c.tenant_id and b.customer_id = c.id) as budget,
      p.period_start, p.period_end, (p.amount + p.credits_applied)::text as spend, p.check_version,
      (select max(q.period_end) from customer_periods q where q.tenant_id = c.tenant_id and q.customer_id = c.id and q.period_end <= ${at}) as gap_from,
      (select min(q.period_start) from customer_periods q where q.tenant_id = c.tenant_id and q.customer_id = c.id and q.period_start > ${at}) as gap_until,
      (select coalesce(json_agg(json_build_array(g.id, g.balance::text, g.effective_at, g.expires_at, g.scope_cards, g.scope_event_types, g.check_version)), '[]')
        from credit_grants g where g.tenant_id = c.tenant_id and g.customer_id = c.id and g.status = 'active') as grants,
      -- Ended grants' versions, so that an older image of one (still active) is not taken for news.
      (select coalesce(json_agg(json_build_array(g.id, g.check_version)), '[]')
        from credit_grants g where g.tenant_id = c.tenant_id and g.customer_id = c.id and g.status <> 'active') as ended_grants,
      (select coalesce(json_agg(json_build_array(sb.scope_kind, sb.scope_value, sb.amount::text, sb.enforcement) order by sb.scope_kind, sb.scope_value), '[]')
        from scoped_budgets sb where sb.tenant_id = c.tenant_id and sb.customer_id = c.id) as scoped_budgets,
      (select coalesce(json_agg(json_build_array(s.scope_kind, s.scope_value, s.spend::text, s.check_version)), '[]')
        from scoped_spend s where s.tenant_id = c.tenant_id and s.customer_id = c.id and s.period_start = p.period_start) as scoped_spend,
      (select coalesce(json_agg(json_build_array(h.id, greatest(h.amount - h.captured, 0)::text, h.expires_at, h.check_version)), '[]')
        from holds h where h.tenant_id = c.tenant_id and h.customer_id = c.id and h.status = 'open') as holds,
      -- Recently closed holds' versions, so that an older image of one (still open) is not taken for news.
      (select coalesce(json_agg(json_build_array(h.id, h.check_version)), '[]')
        from holds h where h.tenant_id = c.tenant_id and h.customer_id = c.id and h.status <> 'open' and h.closed_at > ${at}::timestamptz - interval '1 hour') as closed_holds
    from customers c
    left join customer_periods p on p.tenant_id = c.tenant_id and p.customer_id = c.id and p.period_start <= ${at} and p.period_end > ${at}
    where c.tenant_id = ${tenantId} and c.external_id = ${externalId}`;
  if (!row) return undefined;
  const grants = row.grants as [
    string,
    string,
    string | null,
    string | null,
    string[] | null,
    string[] | null,
    number,
  ][];
  const scopedSpend = row.scoped_spend as [ScopeKind, string, string, number][];
  const holds = row.holds as [string, string, string, number][];
  return {
    tenantId,
    customerId: row.id,
    currency: row.currency,
    onDepletion: row.on_depletion,
    blocked: row.blocked,
    isReseller: row.is_reseller,
    parentExternalId: row.parent_external_id,
    budget: row.budget ? { amount: toNano(row.budget.amount), enforcement: row.budget.enforcement } : null,
    scopedBudgets: (row.scoped_budgets as [ScopeKind, string, string, Enforcement][]).map(
      ([kind, value, amount, enforcement]) => ({ kind, value, amount: toNano(amount), enforcement }),
    ),
    from: row.period_start ? row.period_start.getTime() : (row.gap_from?.getTime() ?? -Infinity),
    until: row.period_end ? row.period_end.getTime() : (row.gap_until?.getTime() ?? Infinity),
    period: row.period_start ? { start: row.period_start.getTime(), spend: toNano(row.spend) } : null,
    grants: new Map(
      grants.map(([id, balance, effectiveAt, expiresAt, scopeCards, scopeEventTypes]) => [
        id,
        {
          balance: toNano(balance),
          effectiveAt: effectiveAt ? new Date(effectiveAt) : null,
          expiresAt: expiresAt ? new Date(expiresAt) : null,
          scopeCards,
          scopeEventTypes,
        },
      ]),
    ),
    scopedSpend: new Map(scopedSpend.map(([kind, value, spend]) => [`${kind}:${value}`, toNano(spend)])),
    holds: new Map(
      holds.map(([id, remaining, expiresAt]) => [
        id,
        { remaining: toNano(remaining), expiresAt: Date.parse(expiresAt) },
      ]),
    ),
    versions: new Map([
      ...(row.period_start ? [[`p:${row.period_start.getTime()}`, Number(row.check_version)] as [string, number]] : []),
      ...grants.map(([id, , , , , , version]) => [`g:${id}`, version] as [string, number]),
      ...(row.ended_grants as [string, number][]).map(([id, version]) => [`g:${id}`, version] as [string, number]),
      ...scopedSpend.map(([kind, value, , version]) => [`s:${kind}:${value}`, version] as [string, number]),
      ...holds.map(([id, , , version]) => [`h:${id}`, version] as [string, number]),
      ...(row.closed_holds as [string, number][]).map(([id, version]) => [`h:${id}`, version] as [string, number]),
    ]),
  };
}
