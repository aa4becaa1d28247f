// The currency domain's SQL: the tenant's currency settings and its dated FX rates.
import type { TenantScope } from '../../platform/db.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import type { FxPolicy, StoredRate } from './convert.ts';

export interface Settings {
  reportingCurrency: string;
  fxPolicy: FxPolicy;
  updatedAt: Date | null;
}

export async function findSettings({ db, tenantId }: TenantScope): Promise<Settings | undefined> {
  const [row] =
    await db`select reporting_currency, fx_policy, updated_at from currency_settings where tenant_id = ${tenantId}`;
  return row
    ? { reportingCurrency: row.reporting_currency, fxPolicy: row.fx_policy, updatedAt: row.updated_at }
    : undefined;
}

export async function upsertSettings({ db, tenantId }: TenantScope, settings: Settings, now: Date): Promise<void> {
  await db`
    insert into currency_settings (tenant_id, reporting_currency, fx_policy, updated_at)
    values (${tenantId}, ${settings.reportingCurrency}, ${settings.fxPolicy}, ${now})
    on conflict (tenant_id) do update set reporting_currency = excluded.reporting_currency, fx_policy = excluded.fx_policy, updated_at = excluded.updated_at`;
}

export interface RateRow extends StoredRate {
  createdAt: Date;
  updatedAt: Date;
}

const fromDbRate = (r: Record<string, any>): RateRow => ({
  base: r.base,
  quote: r.quote,
  rate: r.rate,
  asOf: r.as_of,
  source: r.source,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Inserts the rates in one statement; a rate for a pair and instant already stored is replaced. Returns how many were new. */
export async function upsertRates(
  { db, tenantId }: TenantScope,
  rates: StoredRate[],
  now: Date,
): Promise<{ inserted: number; replaced: number }> {
  let inserted = 0;
  let replaced = 0;
  // Chunks keep one statement's JSON parameter reasonable for a 25-year history file (~200,000 rates).
  for (let i = 0; i < rates.length; i += 20_000) {
    const chunk = rates
      .slice(i, i + 20_000)
      .map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, as_of: r.asOf.toISOString(), source: r.source }));
    const rows = await db`
      insert into fx_rates (tenant_id, base, quote, as_of, rate, source, created_at, updated_at)
      select ${tenantId}, r.base, r.quote, r.as_of, r.rate, r.source, ${now}, ${now}
      from json_to_recordset(${JSON.stringify(chunk)}::text::json) as r(base text, quote text, as_of timestamptz, rate numeric, source text)
      on conflict (tenant_id, base, quote, as_of) do update set rate = excluded.rate, source = excluded.source, updated_at = excluded.updated_at
      returning (xmax = 0) as inserted`;
    for (const row of rows) row.inserted ? inserted++ : replaced++;
  }
  return { inserted, replaced };
}

export async function listRates(
  { db, tenantId }: TenantScope,
  filter: { base?: string; quote?: string; at?: Date; limit: number },
): Promise<RateRow[]> {
  const base = filter.base ?? null;
  const quote = filter.quote ?? null;
  if (filter.at) {
    const rows = await db`
      select distinct on (base, quote) base, quote, rate::text, as_of, source, created_at, updated_at from fx_rates
      where tenant_id = ${tenantId} and (${base}::text is null or base = ${base}) and (${quote}::text is null or quote = ${quote}) and as_of <= ${filter.at}
      order by base, quote, as_of desc limit ${filter.limit}`;
    return rows.map(fromDbRate);
  }
  const rows = await db`
    select base, quote, rate::text, as_of, source, created_at, updated_at from fx_rates
    where tenant_id = ${tenantId} and (${base}::text is null or base = ${base}) and (${quote}::text is null or quote = ${quote})
    order by as_of desc, base, quote limit ${filter.limit}`;
  return rows.map(fromDbRate);
}

/**
 * For each instant asked, the latest rate at or before it of every pair between the given currencies: what
 * findRate (convert.ts) needs for direct, inverse and EUR-crossed conversions. One statement for all instants.
 */
export async function findLatestRates(
  { db, tenantId }: TenantScope,
  currencies: string[],
  instants: Date[],
): Promise<Map<number, StoredRate[]>> {
  const result = new Map<number, StoredRate[]>(instants.map((at) => [at.getTime(), []]));
  if (instants.length === 0) return result;
  const pairs = currencies.flatMap((base) =>
    currencies.filter((quote) => quote !== base).map((quote) => [base, quote]),
  );
  // Each pair's latest rate by the primary key's index (one short backward scan per pair and instant).
  const rows = await db`
    select t.at, p.base, p.quote, r.rate::text, r.as_of, r.source
    from unnest(${instants.map((i) => i.toISOString())}::timestamptz[]) as t(at)
    cross join unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) as p(base, quote)
    cross join lateral (
      select rate, as_of, source from fx_rates
      where tenant_id = ${tenantId} and base = p.base and quote = p.quote and as_of <= t.at
      order by as_of desc limit 1
    ) r`;
  for (const row of rows)
    result
      .get((row.at as Date).getTime())!
      .push({ base: row.base, quote: row.quote, rate: row.rate, asOf: row.as_of, source: row.source });
  return result;
}

export interface ReportedInvoice {
  id: string;
  number: string;
  customerExternalId: string;
  billingReason: string;
  status: string;
  currency: string;
  /** The customer's rating currency now (its books'): what the cost is in. */
  costCurrency: string;
  revenue: string;
  /** COGS of the period's rated events (period-end invoices only; threshold invoices bill usage its period-end invoice counts). */
  cost: string;
  finalizedAt: Date;
  periodStart: Date;
  periodEnd: Date;
}

/**
 * Invoices finalized in [from, to) that stand (finalized or paid; a void one earns nothing), with their revenue
 * (the sum of their lines) and, for period-end invoices, the cost of their period's rated events (latest revisions).
 */
export async function listReportedInvoices(
  { db, tenantId }: TenantScope,
  from: Date,
  to: Date,
): Promise<ReportedInvoice[]> {
  const rows = await db`
    select i.id, i.number, c.external_id, i.billing_reason, i.status, i.currency, i.finalized_at, i.period_start, i.period_end,
      ${db.unsafe(ratingCurrencySql)} as cost_currency,
      (select coalesce(sum(l.amount), 0)::text from invoice_lines l where l.tenant_id = i.tenant_id and l.invoice_id = i.id) as revenue,
      case when i.billing_reason = 'period_end' then
        (select coalesce(sum(r.cost), 0)::text from event_ratings r
         where r.tenant_id = i.tenant_id and r.customer_id = i.customer_id and r.period_start = i.period_start
           and not exists (select 1 from event_ratings n where n.tenant_id = r.tenant_id and n.transaction_id = r.transaction_id and n.revision > r.revision))
      else '0' end as cost
    from invoices i join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id
    where i.tenant_id = ${tenantId} and i.status in ('finalized', 'paid') and i.finalized_at >= ${from} and i.finalized_at < ${to}
    order by i.finalized_at, i.sequence`;
  return rows.map((r) => ({
    id: r.id,
    number: r.number,
    customerExternalId: r.external_id,
    billingReason: r.billing_reason,
    status: r.status,
    currency: r.currency,
    costCurrency: r.cost_currency,
    revenue: r.revenue,
    cost: r.cost,
    finalizedAt: r.finalized_at,
    periodStart: r.period_start,
    periodEnd: r.period_end,
  }));
}

/** Every rate between the given currencies with as_of in [from, to] (the event policy's rate intervals). */
export async function listRatesBetween(
  { db, tenantId }: TenantScope,
  currencies: string[],
  from: Date,
  to: Date,
): Promise<StoredRate[]> {
  const rows = await db`
    select base, quote, rate::text, as_of, source from fx_rates
    where tenant_id = ${tenantId} and base = any(${currencies}::text[]) and quote = any(${currencies}::text[])
      and as_of >= ${from} and as_of <= ${to}
    order by as_of`;
  return rows.map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, asOf: r.as_of, source: r.source }));
}
