// Invoices' SQL: the period's receipts aggregated for the lines, invoices and their lines, the per-tenant number.
import type { ReceiptStep } from '@tariff/core-wasm';
import type { Issuer } from '../brands/service.ts';
import { jsonArray, plainArray, quotedArray, type Db, type Statement, type TenantScope } from '../../platform/db.ts';
import type { Conversion } from '../currency/convert.ts';
import type { IntervalSum } from '../currency/event-time.ts';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import { decodeReceipt } from '../../platform/receipt-codec.ts';
import type { MissingRate } from './fx.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import type { TaxRecord } from '../tax/service.ts';
import type { DraftLine, StepAggregate, UsageAggregate } from './build.ts';
import type { Breakdown } from './breakdown.ts';
import { periodKey } from '../periods/index.ts';

export type InvoiceStatus = 'draft' | 'finalized' | 'past_due' | 'uncollectible' | 'paid' | 'void';

// ---- invoice aggregates (migration 018, aggregates.ts): what a period's invoice needs of its receipts ----

export interface AggregateKey {
  customerId: string;
  /** ISO instant. */
  periodStart: string;
  step: 'price' | 'allowance' | 'discount' | 'commitment' | 'credit' | 'total';
  card: string;
  charge: number;
  dimension: string;
  model: string;
  rate: string;
  per: string;
  group: Record<string, string>;
  pool: string;
  grantId: string;
  mode: string;
  percent: string;
}

export interface AggregateDelta extends AggregateKey {
  quantity: string;
  covered: string;
  amount: string;
  events: bigint;
}

/**
 * Adds the deltas to the rows of their groupings (created at the delta when new), in one statement, one array a
 * column (unnest: PostgreSQL reads typed arrays in less time than json_to_recordset reads as many objects).
 */
export function upsertInvoiceAggregates(
  { db, tenantId }: TenantScope,
  deltas: AggregateDelta[],
): Statement | undefined {
  if (deltas.length === 0) return undefined;
  const column = <T>(value: (d: AggregateDelta) => T) => deltas.map(value);
  return db`
    insert into invoice_aggregates as a (tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool,
                                         grant_id, mode, percent, quantity, covered, amount, events)
    select ${tenantId}, c, s, k, d, h, n, m, r, p, g, o, i, e, t, q, v, a, x
    from unnest(${plainArray(column((d) => d.customerId))}::uuid[], ${plainArray(column((d) => d.periodStart))}::timestamptz[],
                ${quotedArray(column((d) => d.step))}::text[], ${quotedArray(column((d) => d.card))}::text[],
                ${plainArray(column((d) => d.charge))}::int[], ${quotedArray(column((d) => d.dimension))}::text[],
                ${quotedArray(column((d) => d.model))}::text[], ${quotedArray(column((d) => d.rate))}::text[],
                ${quotedArray(column((d) => d.per))}::text[], ${jsonArray(column((d) => d.group))}::jsonb[],
                ${quotedArray(column((d) => d.pool))}::text[], ${quotedArray(column((d) => d.grantId))}::text[],
                ${quotedArray(column((d) => d.mode))}::text[], ${quotedArray(column((d) => d.percent))}::text[],
                ${plainArray(column((d) => d.quantity))}::numeric[], ${plainArray(column((d) => d.covered))}::numeric[],
                ${plainArray(column((d) => d.amount))}::numeric[], ${plainArray(column((d) => String(d.events)))}::bigint[])
      as r(c, s, k, d, h, n, m, r, p, g, o, i, e, t, q, v, a, x)
    on conflict (tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent)
    do update set quantity = a.quantity + excluded.quantity, covered = a.covered + excluded.covered, amount = a.amount + excluded.amount,
                  events = a.events + excluded.events`;
}

/** Removes the rows of the deltas' periods that no step is counted in any more (a re-rating moved them all). */
export async function deleteEmptyInvoiceAggregates(
  { db, tenantId }: TenantScope,
  deltas: AggregateKey[],
): Promise<void> {
  const periods = [
    ...new Map(
      deltas.map((d) => [periodKey({ customerId: d.customerId, start: new Date(d.periodStart) }), d]),
    ).values(),
  ];
  if (periods.length === 0) return;
  await db`
    delete from invoice_aggregates
    where tenant_id = ${tenantId}
      and (customer_id, period_start) in (select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.periodStart)}::timestamptz[]))
      and events = 0 and quantity = 0 and covered = 0 and amount = 0`;
}

export interface PeriodAggregates {
  usage: Map<string, UsageAggregate[]>;
  steps: Map<string, StepAggregate[]>;
  /** The rated lines' amounts summed (numeric text). */
  rated: Map<string, string>;
}

/** The periods' invoice aggregates, by periodKey: a few rows per period, one statement. */
export async function readInvoiceAggregates(
  { db, tenantId }: TenantScope,
  keys: { customerId: string; start: Date }[],
): Promise<PeriodAggregates> {
  const result: PeriodAggregates = { usage: new Map(), steps: new Map(), rated: new Map() };
  if (keys.length === 0) return result;
  const rows = await db`
    select customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent,
           quantity::text, covered::text, amount::text, events
    from invoice_aggregates
    where tenant_id = ${tenantId}
      and (customer_id, period_start) in (select * from unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.start.toISOString())}::timestamptz[]))
    order by customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent`;
  const orNull = (text: string) => (text === '' ? null : text);
  for (const r of rows) {
    const key = periodKey({ customerId: r.customer_id, start: r.period_start });
    if (r.step === 'total') result.rated.set(key, r.amount);
    else if (r.step === 'price') {
      const usage = result.usage.get(key) ?? [];
      usage.push({
        card: r.card,
        charge: r.charge,
        dimension: orNull(r.dimension),
        model: r.model,
        rate: r.rate,
        per: r.per,
        group: r.group_key,
        quantity: r.quantity,
        amount: r.amount,
        events: r.events,
      });
      result.usage.set(key, usage);
    } else {
      const steps = result.steps.get(key) ?? [];
      steps.push({
        step: r.step,
        pool: orNull(r.pool),
        grantId: orNull(r.grant_id),
        mode: orNull(r.mode),
        percent: orNull(r.percent),
        covered: r.covered,
        amount: r.amount,
        events: r.events,
      });
      result.steps.set(key, steps);
    }
  }
  return result;
}

export interface Invoice {
  id: string;
  customerId: string;
  customerExternalId: string;
  periodStart: Date;
  periodEnd: Date;
  kind: 'invoice' | 'statement';
  billingReason: 'period_end' | 'threshold';
  /** The plan threshold a threshold invoice was issued for (numeric text). */
  threshold: string | null;
  status: InvoiceStatus;
  currency: string;
  minorUnit: number;
  planCode: string | null;
  /** What is due: the lines net of tax plus the tax. */
  total: string;
  totalExact: string;
  /** The rounded lines summed as priced (gross when prices include tax); the total before tax was added for older invoices. */
  linesTotal: string;
  taxAmount: string;
  /** The tax's record (tax/service.ts TaxRecord), set at finalization; null when the tenant charges no tax. */
  tax: TaxRecord | null;
  /** Per issuer: the tenant's sequence, or the issuing reseller's (numbering.ts). */
  sequence: bigint | null;
  number: string | null;
  /** The reseller that issued it (null: the tenant), and the seller as frozen at finalization. */
  issuerId: string | null;
  issuer: Issuer | null;
  /** The customer resells: its period-end invoices are itemised by child (chain_daily). */
  customerIsReseller: boolean;
  /** A threshold invoice's by-child breakdown, frozen when it was issued (migration 086). */
  breakdown: Breakdown | null;
  finalizeAt: Date;
  createdAt: Date;
  updatedAt: Date;
  finalizedAt: Date | null;
  paidAt: Date | null;
  voidedAt: Date | null;
  voidReason: string | null;
  /** The conversion the lines were converted with (invoices.fx), null when none was needed or is possible yet. */
  fx: Conversion | null;
  /** The rate a due draft waits for. */
  fxBlocked: MissingRate | null;
}

export interface DraftTotals {
  total: string;
  totalExact: string;
  minorUnit: number;
  currency: string;
  fx: Conversion | null;
}

export interface StoredLine {
  line: number;
  kind: DraftLine['kind'];
  description: string;
  card: string | null;
  dimension: string | null;
  group: Record<string, string> | null;
  quantity: string | null;
  unitPrice: string | null;
  per: string | null;
  amountExact: string;
  amount: string;
  grantId: string | null;
  eventCount: bigint | null;
  details: Record<string, unknown> | null;
}

export async function insertInvoice(
  { db, tenantId }: TenantScope,
  invoice: Pick<
    Invoice,
    | 'id'
    | 'customerId'
    | 'periodStart'
    | 'periodEnd'
    | 'currency'
    | 'minorUnit'
    | 'planCode'
    | 'total'
    | 'totalExact'
    | 'finalizeAt'
    | 'fx'
  > &
    Partial<Pick<Invoice, 'billingReason' | 'threshold'>>,
  now: Date,
): Promise<void> {
  await db`
    insert into invoices (tenant_id, id, customer_id, period_start, period_end, status, currency, minor_unit, plan_code, total, total_exact,
                          finalize_at, created_at, updated_at, billing_reason, threshold, fx)
    values (${tenantId}, ${invoice.id}, ${invoice.customerId}, ${invoice.periodStart}, ${invoice.periodEnd}, 'draft', ${invoice.currency},
            ${invoice.minorUnit}, ${invoice.planCode}, ${invoice.total}, ${invoice.totalExact}, ${invoice.finalizeAt}, ${now}, ${now},
            ${invoice.billingReason ?? 'period_end'}, ${invoice.threshold ?? null}, ${invoice.fx === null ? null : db.json(invoice.fx as never)})`;
}

/** The period's threshold invoices that stand (finalized or paid, not void), lowest threshold first. */
export async function listThresholdInvoices(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<Invoice[]> {
  const rows = await db`
    ${selectInvoice(db, tenantId)} and i.customer_id = ${customerId} and i.period_start = ${periodStart}
      and i.billing_reason = 'threshold' and i.status in ('finalized', 'paid')
    order by i.threshold`;
  return rows.map(fromDbInvoice);
}

/** The progressive-billing thresholds of the customer's plan (ascending numeric text) and when its subscription started. */
export async function findPlanThresholds(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<{ startedAt: Date; thresholds: string[] } | undefined> {
  const [row] = await db`
    select s.started_at, p.progressive_thresholds::text[] as thresholds from subscriptions s
    join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
    where s.tenant_id = ${tenantId} and s.customer_id = ${customerId} and s.status = 'active'`;
  return row ? { startedAt: row.started_at, thresholds: row.thresholds } : undefined;
}

/** Running periods past a plan threshold no threshold invoice covers yet, across tenants (billing_due_thresholds, SECURITY DEFINER). */
export async function findDueThresholds(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; customerId: string; periodStart: Date }[]> {
  const rows = await db`select tenant_id, customer_id, period_start from billing_due_thresholds(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, customerId: r.customer_id, periodStart: r.period_start }));
}

/**
 * Inserts invoices' lines, each invoice's numbered from 0 in the order given, in one statement: one array a column
 * (unnest: PostgreSQL reads typed arrays in less time than json_to_recordset reads as many objects, and the
 * column names are not repeated on every line).
 */
export function insertLines(
  { db, tenantId }: TenantScope,
  invoices: { invoiceId: string; lines: Omit<StoredLine, 'line'>[] }[],
): Statement | undefined {
  const rows = invoices.flatMap(({ invoiceId, lines }) => lines.map((l, line) => ({ invoiceId, line, ...l })));
  if (rows.length === 0) return undefined;
  const column = <T>(value: (r: (typeof rows)[number]) => T) => rows.map(value);
  return db`
    insert into invoice_lines (tenant_id, invoice_id, line, kind, description, card, dimension, group_key, quantity, unit_price, per,
                               amount_exact, amount, grant_id, event_count, details)
    select ${tenantId}, l.*
    from unnest(${plainArray(column((r) => r.invoiceId))}::uuid[], ${plainArray(column((r) => r.line))}::int[],
                ${quotedArray(column((r) => r.kind))}::text[], ${quotedArray(column((r) => r.description))}::text[],
                ${quotedArray(column((r) => r.card))}::text[], ${quotedArray(column((r) => r.dimension))}::text[],
                ${jsonArray(column((r) => r.group))}::jsonb[], ${plainArray(column((r) => r.quantity))}::numeric[],
                ${plainArray(column((r) => r.unitPrice))}::numeric[], ${plainArray(column((r) => r.per))}::numeric[],
                ${plainArray(column((r) => r.amountExact))}::numeric[], ${plainArray(column((r) => r.amount))}::numeric[],
                ${plainArray(column((r) => r.grantId))}::uuid[],
                ${plainArray(column((r) => (r.eventCount === null ? null : String(r.eventCount))))}::bigint[],
                ${jsonArray(column((r) => r.details))}::jsonb[])
      as l(invoice_id, line, kind, description, card, dimension, group_key, quantity, unit_price, per, amount_exact, amount, grant_id,
           event_count, details)`;
}

/** Replaces a draft's lines (the guard trigger refuses it for any other status). */
export async function replaceLines(
  scope: TenantScope,
  invoiceId: string,
  lines: Omit<StoredLine, 'line'>[],
): Promise<void> {
  await scope.db`delete from invoice_lines where tenant_id = ${scope.tenantId} and invoice_id = ${invoiceId}`;
  await insertLines(scope, [{ invoiceId, lines }]);
}

/** A draft's tax and totals as it is finalized (the tax step of the pipeline, after FX conversion). */
export async function setFinalTotals(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  totals: { total: string; totalExact: string; linesTotal: string; taxAmount: string; tax: TaxRecord | null },
  now: Date,
): Promise<void> {
  await db`
    update invoices set total = ${totals.total}, total_exact = ${totals.totalExact}, lines_total = ${totals.linesTotal}, tax_amount = ${totals.taxAmount},
      tax = ${totals.tax === null ? null : db.json(totals.tax as never)}, updated_at = ${now}
    where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

/** Freezes a threshold invoice's by-child breakdown as issued. */
export async function setBreakdown(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  breakdown: Breakdown,
): Promise<void> {
  await db`update invoices set breakdown = ${db.json(breakdown as never)} where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

export async function updateDraftTotals(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  totals: DraftTotals,
  now: Date,
): Promise<void> {
  await db`
    update invoices set total = ${totals.total}, total_exact = ${totals.totalExact}, minor_unit = ${totals.minorUnit}, currency = ${totals.currency},
      fx = ${totals.fx === null ? null : db.json(totals.fx as never)}, fx_blocked = null, updated_at = ${now}
    where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

/** A due draft waits for a rate: what it waits for. */
export async function markFxBlocked(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  missing: MissingRate,
  now: Date,
): Promise<void> {
  await db`update invoices set fx_blocked = ${db.json(missing as never)}, updated_at = ${now} where tenant_id = ${tenantId} and id = ${invoiceId} and status = 'draft'`;
}

/**
 * Takes `count` consecutive invoice numbers of the tenant and returns the first, in the caller's transaction (the
 * row lock serialises finalizations; a rollback returns them). Their text is build.ts's documentNumber.
 */
export async function takeInvoiceNumbers({ db, tenantId }: TenantScope, count: number): Promise<bigint> {
  const [row] = await db`
    insert into invoice_sequences (tenant_id, last_number) values (${tenantId}, ${count})
    on conflict (tenant_id) do update set last_number = invoice_sequences.last_number + ${count}
    returning last_number`;
  return (row.last_number as bigint) - BigInt(count) + 1n;
}

export async function markFinalized(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  fields: {
    kind: Invoice['kind'];
    status: 'finalized' | 'paid';
    sequence: bigint;
    number: string;
    issuerId: string | null;
    issuer: Issuer | null;
  },
  now: Date,
): Promise<void> {
  await db`
    update invoices set kind = ${fields.kind}, status = ${fields.status}, sequence = ${fields.sequence}, number = ${fields.number},
      issuer_id = ${fields.issuerId}, issuer = ${fields.issuer === null ? null : db.json(fields.issuer as never)},
      finalized_at = ${now}, paid_at = ${fields.status === 'paid' ? now : null}, updated_at = ${now}
    where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

export async function markPaid(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  paidAt: Date,
  now: Date,
): Promise<void> {
  await db`update invoices set status = 'paid', paid_at = ${paidAt}, updated_at = ${now} where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

/** Dunning's moves of an unpaid invoice (payments/service.ts): finalized -> past_due -> uncollectible. */
export async function markUnpaidStatus(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  status: 'past_due' | 'uncollectible',
  now: Date,
): Promise<void> {
  await db`update invoices set status = ${status}, updated_at = ${now} where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

export async function markVoid(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  reason: string | null,
  now: Date,
): Promise<void> {
  await db`update invoices set status = 'void', voided_at = ${now}, void_reason = ${reason}, updated_at = ${now} where tenant_id = ${tenantId} and id = ${invoiceId}`;
}

const selectInvoice = (db: TenantScope['db'], tenantId: string) => db`
  select i.*, c.external_id, c.is_reseller from invoices i join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id
  where i.tenant_id = ${tenantId}`;

export async function findInvoice(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  options: { lock?: boolean } = {},
): Promise<Invoice | undefined> {
  const [row] =
    await db`${selectInvoice(db, tenantId)} and i.id = ${invoiceId} ${options.lock ? db`for update of i` : db``}`;
  return row ? fromDbInvoice(row) : undefined;
}

export async function findInvoiceByPeriod(
  { db, tenantId }: TenantScope,
  customerId: string,
  periodStart: Date,
): Promise<Invoice | undefined> {
  const [row] =
    await db`${selectInvoice(db, tenantId)} and i.customer_id = ${customerId} and i.period_start = ${periodStart} and i.billing_reason = 'period_end'`;
  return row ? fromDbInvoice(row) : undefined;
}

export async function listInvoices(
  { db, tenantId }: TenantScope,
  filter: { customerId?: string; status?: InvoiceStatus; limit: number; startingAfter?: string },
): Promise<Invoice[]> {
  const rows = await db`
    ${selectInvoice(db, tenantId)}
    ${filter.customerId ? db`and i.customer_id = ${filter.customerId}` : db``}
    ${filter.status ? db`and i.status = ${filter.status}` : db``}
    ${
      filter.startingAfter
        ? db`and (i.period_start, i.id) < (select period_start, id from invoices where tenant_id = ${tenantId} and id = ${filter.startingAfter})`
        : db``
    }
    order by i.period_start desc, i.id desc limit ${filter.limit}`;
  return rows.map(fromDbInvoice);
}

export async function listLines(
  { db, tenantId }: TenantScope,
  invoiceIds: string[],
): Promise<Map<string, StoredLine[]>> {
  const byInvoice = new Map<string, StoredLine[]>();
  if (invoiceIds.length === 0) return byInvoice;
  const rows = await db`
    select invoice_id, line, kind, description, card, dimension, group_key, quantity::text, unit_price::text, per::text,
           amount_exact::text, amount::text, grant_id, event_count, details
    from invoice_lines where tenant_id = ${tenantId} and invoice_id = any(${invoiceIds}::uuid[]) order by invoice_id, line`;
  for (const r of rows) {
    const lines = byInvoice.get(r.invoice_id) ?? [];
    lines.push({
      line: r.line,
      kind: r.kind,
      description: r.description,
      card: r.card,
      dimension: r.dimension,
      group: r.group_key,
      quantity: r.quantity,
      unitPrice: r.unit_price,
      per: r.per,
      amountExact: r.amount_exact,
      amount: r.amount,
      grantId: r.grant_id,
      eventCount: r.event_count,
      details: r.details,
    });
    byInvoice.set(r.invoice_id, lines);
  }
  return byInvoice;
}

export async function findGrantLabels({ db, tenantId }: TenantScope, grantIds: string[]) {
  if (grantIds.length === 0) return new Map<string, { kind: string; name: string | null; reason: string | null }>();
  const rows =
    await db`select id, kind, name, reason from credit_grants where tenant_id = ${tenantId} and id = any(${grantIds}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.id as string,
      { kind: r.kind as string, name: r.name as string | null, reason: r.reason as string | null },
    ]),
  );
}

/** Drafts whose grace has run out, across tenants (billing_due_invoices, SECURITY DEFINER). */
export async function findDueInvoices(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; invoiceId: string }[]> {
  const rows = await db`select tenant_id, invoice_id from billing_due_invoices(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, invoiceId: r.invoice_id }));
}

function fromDbInvoice(row: Record<string, any>): Invoice {
  return {
    id: row.id,
    customerId: row.customer_id,
    customerExternalId: row.external_id,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    kind: row.kind,
    billingReason: row.billing_reason,
    threshold: row.threshold,
    status: row.status,
    currency: row.currency,
    minorUnit: row.minor_unit,
    planCode: row.plan_code,
    total: row.total,
    totalExact: row.total_exact,
    linesTotal: row.lines_total ?? row.total,
    taxAmount: row.tax_amount,
    tax: row.tax,
    sequence: row.sequence,
    number: row.number,
    issuerId: row.issuer_id ?? null,
    issuer: row.issuer ?? null,
    customerIsReseller: row.is_reseller ?? false,
    breakdown: row.breakdown ?? null,
    finalizeAt: row.finalize_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finalizedAt: row.finalized_at,
    paidAt: row.paid_at,
    voidedAt: row.voided_at,
    voidReason: row.void_reason,
    fx: row.fx ?? null,
    fxBlocked: row.fx_blocked ?? null,
  };
}

/** The customer's ids and currencies: billed in `currency`, rated in `ratingCurrency`. */
export async function findCustomer(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<{ id: string; externalId: string; currency: string; ratingCurrency: string } | undefined> {
  const [row] =
    await db`select c.external_id, c.currency, ${db.unsafe(ratingCurrencySql)} as rating_currency from customers c where c.tenant_id = ${tenantId} and c.id = ${customerId}`;
  return row
    ? { id: customerId, externalId: row.external_id, currency: row.currency, ratingCurrency: row.rating_currency }
    : undefined;
}

// ---- adjustments: amounts of closed periods billed on the customer's next invoice ------------------------

export interface NewAdjustment {
  customerId: string;
  currency: string;
  source: 'late_event' | 'rerating';
  reference: string;
  description: string;
  occurredAt: Date;
  periodStart: Date;
  stream: 'usage' | 'subscription' | 'minimum_commitment';
  /** Nano-units, signed. */
  amount: bigint;
}

export interface Adjustment extends Omit<NewAdjustment, 'customerId' | 'currency' | 'stream'> {
  id: string;
}

/**
 * The per-period minimum (prorated, as billed) of each period whose final period-end invoice carries a minimum
 * true-up line, by periodKey: late events into it shrink that true-up before billing more.
 */
export async function findBilledMinimums(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date }[],
): Promise<Map<string, string>> {
  if (periods.length === 0) return new Map();
  const rows = await db`
    select i.customer_id, i.period_start, l.details->>'minimum' as minimum
    from invoices i join invoice_lines l on l.tenant_id = i.tenant_id and l.invoice_id = i.id
    where i.tenant_id = ${tenantId} and i.billing_reason = 'period_end' and i.status in ('finalized', 'paid')
      and (i.customer_id, i.period_start) in (select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[]))
      and l.kind = 'minimum_true_up' and l.details ? 'minimum' and not l.details ? 'term_start'`;
  return new Map(
    rows.map((r) => [periodKey({ customerId: r.customer_id, start: r.period_start }), r.minimum as string]),
  );
}

export async function insertAdjustments(
  { db, tenantId }: TenantScope,
  adjustments: NewAdjustment[],
  now: Date,
): Promise<void> {
  if (adjustments.length === 0) return;
  const rows = adjustments.map((a) => ({
    id: globalThis.crypto.randomUUID(),
    customer_id: a.customerId,
    currency: a.currency,
    source: a.source,
    reference: a.reference,
    description: a.description,
    occurred_at: a.occurredAt,
    period_start: a.periodStart,
    stream: a.stream,
    amount: formatMoney(a.amount),
  }));
  await db`
    insert into invoice_adjustments (tenant_id, id, customer_id, currency, source, reference, description, occurred_at, period_start, stream, amount, created_at)
    select ${tenantId}, a.id, a.customer_id, a.currency, a.source, a.reference, a.description, a.occurred_at, a.period_start, a.stream, a.amount, ${now}
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as a(id uuid, customer_id uuid, currency text, source text, reference text, description text, occurred_at timestamptz, period_start timestamptz,
           stream text, amount numeric)`;
}

const selectAdjustments = (db: TenantScope['db'], tenantId: string) => db`
  select id, source, reference, description, occurred_at, period_start, amount::text from invoice_adjustments where tenant_id = ${tenantId}`;

function fromDbAdjustment(r: Record<string, any>): Adjustment {
  return {
    id: r.id,
    source: r.source,
    reference: r.reference,
    description: r.description,
    occurredAt: r.occurred_at,
    periodStart: r.period_start,
    amount: toNano(r.amount),
  };
}

/** The customer's adjustments no invoice has billed yet (in the order they arose), in the currency it is rated in. */
export async function listPendingAdjustments(
  { db, tenantId }: TenantScope,
  customerId: string,
  currency: string,
): Promise<Adjustment[]> {
  const rows =
    await db`${selectAdjustments(db, tenantId)} and customer_id = ${customerId} and currency = ${currency} and invoice_id is null order by occurred_at, created_at, amount desc, id`;
  return rows.map(fromDbAdjustment);
}

/** The adjustments a finalized invoice billed. */
export async function listAdjustmentsOf({ db, tenantId }: TenantScope, invoiceId: string): Promise<Adjustment[]> {
  const rows =
    await db`${selectAdjustments(db, tenantId)} and invoice_id = ${invoiceId} order by occurred_at, created_at, amount desc, id`;
  return rows.map(fromDbAdjustment);
}

/** Each adjustment to the invoice that bills it (one invoice, or the batched close's many), in one statement. */
export async function assignAdjustments(
  { db, tenantId }: TenantScope,
  assignments: { id: string; invoiceId: string }[],
): Promise<void> {
  if (assignments.length === 0) return;
  await db`
    update invoice_adjustments a set invoice_id = x.invoice_id
    from unnest(${assignments.map((x) => x.id)}::uuid[], ${assignments.map((x) => x.invoiceId)}::uuid[]) as x(id, invoice_id)
    where a.tenant_id = ${tenantId} and a.id = x.id and a.invoice_id is null`;
}

/** listPendingAdjustments for many customers at once (the batched close), each in the currency its customer is rated in. */
export async function listPendingAdjustmentsOf(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Map<string, Adjustment[]>> {
  const byCustomer = new Map<string, Adjustment[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows = await db`
    select a.customer_id, a.id, a.source, a.reference, a.description, a.occurred_at, a.period_start, a.amount::text
    from invoice_adjustments a join customers c on c.tenant_id = a.tenant_id and c.id = a.customer_id and ${db.unsafe(ratingCurrencySql)} = a.currency
    where a.tenant_id = ${tenantId} and a.customer_id = any(${customerIds}::uuid[]) and a.invoice_id is null
    order by a.customer_id, a.occurred_at, a.created_at, a.amount desc, a.id`;
  for (const r of rows) byCustomer.set(r.customer_id, [...(byCustomer.get(r.customer_id) ?? []), fromDbAdjustment(r)]);
  return byCustomer;
}

/** The number of a finalized invoice that deducts the given threshold invoice (a progressive_billing line), if any. */
export async function findDeductingInvoice(
  { db, tenantId }: TenantScope,
  thresholdInvoiceId: string,
): Promise<string | undefined> {
  const [row] = await db`
    select i.number from invoice_lines l join invoices i on i.tenant_id = l.tenant_id and i.id = l.invoice_id
    where l.tenant_id = ${tenantId} and l.kind = 'progressive_billing' and l.details->>'invoice_id' = ${thresholdInvoiceId}
      and i.status in ('finalized', 'paid')
    limit 1`;
  return row?.number;
}

/** The subscription's plan's commitment per contract term, with what places the terms (start and anchor). */
export async function findTermCommitment({ db, tenantId }: TenantScope, customerId: string) {
  const [row] = await db`
    select s.started_at, s.anchor_day, s.anchor_month, p.billing_interval, p.term_minimum_spend::text, p.term_periods
    from subscriptions s join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
    where s.tenant_id = ${tenantId} and s.customer_id = ${customerId} and s.status = 'active' and p.term_periods is not null`;
  if (!row) return undefined;
  return {
    startedAt: row.started_at as Date,
    cadence: {
      interval: row.billing_interval as 'month' | 'year',
      anchorDay: row.anchor_day as number,
      ...(row.anchor_month ? { anchorMonth: row.anchor_month as number } : {}),
    },
    minimum: row.term_minimum_spend as string,
    periods: row.term_periods as number,
  };
}

/** Usage net of discounts of the customer's rated events in [start, end): subtotals less their discount steps. */
export async function sumUsageNetOfDiscounts(
  { db, tenantId }: TenantScope,
  customerId: string,
  start: Date,
  end: Date,
): Promise<string> {
  const [row] = await db`
    select coalesce(sum(l.subtotal - coalesce((select sum((s->>'amount')::numeric) from json_array_elements(l.receipt) s where s->>'step' = 'discount'), 0)), 0)::text as consumed
    from events e
    join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id and l.period_start >= ${start} and l.period_start < ${end}
    where e.tenant_id = ${tenantId} and e.customer_id = ${customerId} and e.occurred_at >= ${start} and e.occurred_at < ${end}
      and not exists (select 1 from event_ratings n where n.tenant_id = l.tenant_id and n.transaction_id = l.transaction_id and n.revision > l.revision)`;
  return row.consumed;
}

// ---- a reseller's invoice itemised by child ------------------------------------------------------------

export interface ChildCharge {
  customerId: string;
  periodStart: Date;
  childId: string;
  childExternalId: string;
  childName: string | null;
  currency: string;
  events: bigint;
  /** Nano-units: what the reseller paid for the child's subtree's usage (chain_daily.charge, before credits). */
  charge: bigint;
}

/** What these resellers' periods cost them per direct child, from chain_daily (never the raw events). */
export async function sumChildCharges(
  { db, tenantId }: TenantScope,
  keys: { customerId: string; periodStart: Date }[],
): Promise<ChildCharge[]> {
  if (keys.length === 0) return [];
  const rows = await db`
    select d.customer_id, d.period_start, d.child_id, c.external_id, c.name, d.currency,
           sum(d.events)::bigint as events, (sum(d.charge) * 1000000000)::bigint as charge_nano
    from chain_daily d join customers c on c.tenant_id = d.tenant_id and c.id = d.child_id
    where d.tenant_id = ${tenantId}
      and (d.customer_id, d.period_start) in (select * from unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.periodStart.toISOString())}::timestamptz[]))
    group by d.customer_id, d.period_start, d.child_id, c.external_id, c.name, d.currency
    order by d.customer_id, d.period_start, c.external_id`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    periodStart: r.period_start,
    childId: r.child_id,
    childExternalId: r.external_id,
    childName: r.name,
    currency: r.currency,
    events: BigInt(r.events),
    charge: BigInt(r.charge_nano),
  }));
}

/** A rating that bills a period: an event of its customer, or a reseller's level of a child's event (its chain). */
export interface PeriodRating {
  occurredAt: Date;
  card: string;
  /** What it leaves to bill at this level (its latest revision). */
  amount: string;
  receipt: ReceiptStep[];
  properties: Record<string, unknown>;
}

/**
 * Every rating that bills the periods (the event policy weighs them, invoices/fx.ts): each period customer's own
 * events stamped in it, and, for a reseller, its level of the chain of every event below it rated into the period
 * (found through chain_daily's end customers). The latest revision of each. Keyed by periodKey. Receipts are
 * decoded here, not by the database's receipt_json (about a millisecond per receipt: most of a close's time).
 */
export async function listPeriodRatings(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
): Promise<Map<string, PeriodRating[]>> {
  const result = new Map<string, PeriodRating[]>(periods.map((p) => [periodKey(p), []]));
  if (periods.length === 0) return result;
  const rows = await db`
    with k as (
      select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[],
                           ${periods.map((p) => p.end.toISOString())}::timestamptz[]) as k(customer_id, period_start, period_end)
    )
    select k.customer_id, k.period_start, e.occurred_at, coalesce(r.card, e.card) as card,
           coalesce(r.amount, e.amount)::text as amount, coalesce(r.receipt, e.receipt) as receipt, e.properties
    from k
    join events e on e.tenant_id = ${tenantId} and e.customer_id = k.customer_id and e.period_start = k.period_start
      and e.occurred_at >= k.period_start and e.occurred_at < k.period_end
    left join lateral (select card, amount, receipt from event_revisions r where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id
                       order by r.revision desc limit 1) r on true
    union all
    select k.customer_id, k.period_start, e.occurred_at, x.c->>'card', x.c->>'amount', x.c->'receipt', e.properties
    from k
    join lateral (select distinct d.end_customer_id from chain_daily d
                  where d.tenant_id = ${tenantId} and d.customer_id = k.customer_id and d.period_start = k.period_start) d on true
    join events e on e.tenant_id = ${tenantId} and e.customer_id = d.end_customer_id
      and e.occurred_at >= k.period_start and e.occurred_at < k.period_end
    join lateral (select chain from event_ratings l where l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id
                  order by revision desc limit 1) l on true
    cross join lateral json_array_elements(chain_json(l.chain)) x(c)
    where (x.c->>'customer_id')::uuid = k.customer_id and (x.c->>'period_start')::timestamptz = k.period_start`;
  for (const r of rows)
    result.get(periodKey({ customerId: r.customer_id, start: r.period_start }))!.push({
      occurredAt: r.occurred_at,
      card: r.card,
      amount: r.amount,
      receipt: decodeReceipt(r.receipt),
      properties: r.properties ?? {},
    });
  return result;
}

/** One row of sumPeriodEvents: a period's events by rate interval (code `t`), one grouping of their steps, or `chain`. */
export interface PeriodEventSumRow {
  customerId: string;
  periodStart: Date;
  /** `t`: the period's events by rate interval; `p`, `d`, `c`, `g`: price, discount, prepaid commitment, credit steps; `chain`: see sumPeriodEvents. */
  code: 't' | 'p' | 'd' | 'c' | 'g' | 'chain';
  /** `t` only: the events of each rate interval that has any. */
  intervals: IntervalSum[] | null;
  card: string | null;
  charge: string | null;
  dimension: string | null;
  model: string | null;
  rate: string | null;
  per: string | null;
  /** The event properties invoices group usage by (aggregates.ts), as stored (JSON values). */
  group: Record<string, unknown>;
  percent: unknown;
  grant: unknown;
  events: number;
  amount: string | null;
  /** The steps' amounts each converted at its event's interval's rate, summed exactly (null: a rate is missing). */
  converted: string | null;
}

/**
 * The event policy's sums for periods (invoices/fx.ts eventSumsOf), computed where the events are, one statement:
 * each period customer's own events stamped in it, their latest revision, summed by the interval of `bounds`
 * (sorted instants: width_bucket, the index intervalOf gives) they fall in (one `t` row a period: each interval's sums
 * as arrays, far fewer rows to send and parse than a row an interval), and their receipts' price, discount,
 * prepaid commitment and credit steps summed by the invoice aggregates' grouping (aggregates.ts), each step's
 * amount also multiplied by its event's interval's rate (`rates`, by interval index; numeric products, exact).
 * Receipts are read in either stored form (receipt-codec.ts: positional arrays, or the kernel's objects). A period
 * whose customer also bills the chain levels of other customers' events (a reseller, through chain_daily) has a
 * `chain` row: its sums lack those, and the caller reads its ratings (listPeriodRatings).
 */
export async function sumPeriodEvents(
  { db, tenantId }: TenantScope,
  periods: { customerId: string; start: Date; end: Date }[],
  bounds: readonly Date[],
  rates: readonly (string | null)[],
): Promise<PeriodEventSumRow[]> {
  if (periods.length === 0) return [];
  const rows = await db`
    with k as (
      select * from unnest(${periods.map((p) => p.customerId)}::uuid[], ${periods.map((p) => p.start.toISOString())}::timestamptz[],
                           ${periods.map((p) => p.end.toISOString())}::timestamptz[]) as k(customer_id, period_start, period_end)
    )
    select k.customer_id, k.period_start, s.*
    from k
    cross join lateral (
      -- The period's events, each at its latest revision, its receipt cast to jsonb once: read twice, summed by
      -- interval (t) and expanded into steps, so no per-event row goes through the steps' grouping.
      with ev as (
        select e.occurred_at, e.properties, coalesce(r.card, e.card) as card, coalesce(r.amount, e.amount) as amount,
               coalesce(r.receipt, e.receipt)::jsonb as receipt,
               width_bucket(e.occurred_at, ${bounds.map((b) => b.toISOString())}::timestamptz[]) as i
        from events e
        left join lateral (select card, amount, receipt from event_revisions r where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id
                           order by r.revision desc limit 1) r on true
        where e.tenant_id = ${tenantId} and e.customer_id = k.customer_id and e.period_start = k.period_start
          and e.occurred_at >= k.period_start and e.occurred_at < k.period_end
      ), t as (
        select ev.i, count(*)::int as events, min(ev.occurred_at) as first_at, max(ev.occurred_at) as last_at, sum(ev.amount)::text as amount
        from ev group by ev.i
      )
      select s.code, s.card, s.charge, s.dimension, s.model, s.rate, s.per, s.g_model, s.g_region, s.g_gpu, s.g_availability, s.percent,
             s.grant_id, count(*)::int as events, sum(s.amount)::text as amount,
             sum(s.amount * (${rates as (string | null)[]}::numeric[])[s.i + 1])::text as converted,
             null::int[] as intervals, null::int[] as interval_events, null::timestamptz[] as first_at, null::timestamptz[] as last_at,
             null::text[] as interval_amounts
      from (
        select ev.i, st.code, ev.card,
               case when st.code = 'p' then coalesce(st.v->>1, st.v->>'charge') end as charge,
               -- The dimension is its charge's quantity step's: a charge has one, before its price, most often
               -- right before it or with the allowance between (core-wasm/README.md, output format), read there
               -- by position; else the receipt is searched.
               case when st.code = 'p' then coalesce(case
                 when st.n > 1 and ev.receipt->(st.n - 2)->>0 = 'q' and ev.receipt->(st.n - 2)->>1 = st.v->>1
                   then ev.receipt->(st.n - 2)->>2
                 when st.n > 2 and ev.receipt->(st.n - 3)->>0 = 'q' and ev.receipt->(st.n - 3)->>1 = st.v->>1
                   then ev.receipt->(st.n - 3)->>2
                 else (select coalesce(q.v->>2, q.v->>'dimension') from jsonb_array_elements(ev.receipt) with ordinality q(v, n)
                       where case when jsonb_typeof(q.v) = 'array' then q.v->>0 = 'q' else q.v->>'step' = 'quantity' end
                         and coalesce(q.v->>1, q.v->>'charge') = coalesce(st.v->>1, st.v->>'charge')
                       order by q.n limit 1) end, '') end as dimension,
               case when st.code = 'p' then coalesce(st.v->>2, st.v->>'model') end as model,
               case when st.code = 'p' then coalesce(st.v->>4, st.v->>'rate') end as rate,
               case when st.code = 'p' then coalesce(st.v->>5, st.v->>'per') end as per,
               case when st.code = 'p' then ev.properties->'model' end as g_model,
               case when st.code = 'p' then ev.properties->'region' end as g_region,
               case when st.code = 'p' then ev.properties->'gpu_type' end as g_gpu,
               case when st.code = 'p' then ev.properties->'availability_class' end as g_availability,
               case when st.code = 'd' then coalesce(st.v->1, st.v->'percent') end as percent,
               case when st.code = 'g' then coalesce(st.v->1, st.v->'grant') end as grant_id,
               (case st.code when 'p' then coalesce(st.v->>6, st.v->>'amount') when 'd' then coalesce(st.v->>2, st.v->>'amount')
                             when 'c' then coalesce(st.v->>1, st.v->>'amount') else coalesce(st.v->>3, st.v->>'amount') end)::numeric as amount
        from ev
        -- A set-returning call in the select list, streamed (a function scan in from would store each event's
        -- steps first); offset 0 keeps each step read from the receipt once.
        cross join lateral (
          select n, v, case when jsonb_typeof(v) = 'array' then v->>0
                            else case v->>'step' when 'price' then 'p' when 'discount' then 'd' when 'credit' then 'g'
                                                 when 'commitment' then case when v->>'mode' = 'prepaid' then 'c' end end end as code
          from (select n, ev.receipt->(n - 1) as v
                from (select generate_series(1, jsonb_array_length(ev.receipt)) as n offset 0) ns offset 0) sv
        ) st
        where st.code in ('p', 'd', 'c', 'g')
      ) s
      group by s.code, s.card, s.charge, s.dimension, s.model, s.rate, s.per, s.g_model, s.g_region, s.g_gpu, s.g_availability,
               s.percent, s.grant_id
      union all
      select 't', null, null, null, null, null, null, null, null, null, null, null, null, 0, null, null,
             array_agg(t.i order by t.i), array_agg(t.events order by t.i), array_agg(t.first_at order by t.i),
             array_agg(t.last_at order by t.i), array_agg(t.amount order by t.i)
      from t having count(*) > 0
    ) s
    union all
    select k.customer_id, k.period_start, 'chain', null, null, null, null, null, null, null, null, null, null, null, null, 0, null, null,
           null, null, null, null, null
    from k
    where exists (select from chain_daily d where d.tenant_id = ${tenantId} and d.customer_id = k.customer_id and d.period_start = k.period_start)`;
  return rows.map((r) => {
    const group: Record<string, unknown> = {};
    if (r.g_model !== null) group.model = r.g_model;
    if (r.g_region !== null) group.region = r.g_region;
    if (r.g_gpu !== null) group.gpu_type = r.g_gpu;
    if (r.g_availability !== null) group.availability_class = r.g_availability;
    return {
      customerId: r.customer_id,
      periodStart: r.period_start,
      code: r.code,
      intervals:
        r.code === 't'
          ? (r.intervals as number[]).map((interval, n) => ({
              interval,
              events: r.interval_events[n] as number,
              firstAt: r.first_at[n] as Date,
              lastAt: r.last_at[n] as Date,
              amount: toNano(r.interval_amounts[n] as string),
            }))
          : null,
      card: r.card,
      charge: r.charge,
      dimension: r.dimension,
      model: r.model,
      rate: r.rate,
      per: r.per,
      group,
      percent: r.percent,
      grant: r.grant_id,
      events: r.events,
      amount: r.amount,
      converted: r.converted,
    };
  });
}
