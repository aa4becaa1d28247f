// Invoices at period close. A closed period's draft is built from its receipts and the subscription's terms
// (build.ts); late events land in the period during the plan's grace, and finalization closes the period,
// rebuilds the lines, numbers the invoice without gaps and posts it to the ledger. Then paid or void.
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, conflict, notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { customerIdFilter, requireCustomer } from '../customers/service.ts';
import { accounts, postTransactions, type Posting } from '../ledger/service.ts';
import type { Period } from '../periods/calendar.ts';
import * as periodsRepo from '../periods/index.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import { findTermsAt, openNextPeriod, termsOf } from '../subscriptions/service.ts';
import { buildInvoice, contractTermEndingAt, type DraftLine, type LineKind, type PlanTerms } from './build.ts';
import { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
import { convertNano, type Conversion, type FxPolicy } from '../currency/convert.ts';
import { findConversions, findEventConversions, readSettings } from '../currency/service.ts';
import { sumSlices } from '../currency/event-time.ts';
import {
  conversionInstant,
  convertLines,
  eventSlicesOf,
  eventSumsOf,
  fxRateMissing,
  FxRateMissingError,
  lineRatesOf,
  missingLineRate,
  type MissingRate,
} from './fx.ts';
import * as slaRepo from '../sla/repo.ts';
import * as repo from './repo.ts';
import * as notify from '../notifications/service.ts';
import {
  calculateStripeTaxBeforeFinalization,
  sellsWithStripeTax,
  taxInvoice,
  type TaxContext,
  type TaxRecord,
} from '../tax/service.ts';
import { taxContextOf } from '../brands/service.ts';
import { invoiceNotification } from './notifications.ts';
import { allocateInvoiceNumbers } from './numbering.ts';
import { itemiseByChild, type Breakdown } from './breakdown.ts';
import type { ClosePeriodsInput, ListInvoicesInput, VoidInvoiceInput } from '@tariff/openapi/schemas/invoices';

/** Late events of customers without a subscription land in their calendar month for this long after it ends. */
export const usageOnlyGraceSeconds = 3600;

export interface Built {
  /** The currency the lines are in: the customer's, or (not converted yet) its books'. */
  currency: string;
  lines: DraftLine[];
  total: bigint;
  totalExact: bigint;
  minorUnit: number;
  planCode: string | null;
  graceSeconds: number;
  /** The conversion the lines were converted with (null: none needed, or none possible yet). */
  fx: Conversion | null;
  /** The rate the conversion needs and does not have. */
  fxMissing: MissingRate | null;
}

/** A customer as its invoices need it: billed in `currency`, rated in `ratingCurrency` (its price books'). */
export interface BillingCustomer {
  id: string;
  currency: string;
  ratingCurrency: string;
}

/** A new invoice's row for a built period: the one shape the period close and threshold invoices insert. */
function newInvoice(customerId: string, period: Period, built: Built, finalizeAt: Date) {
  return {
    id: crypto.randomUUID(),
    customerId,
    periodStart: period.start,
    periodEnd: period.end,
    currency: built.currency,
    fx: built.fx,
    minorUnit: built.minorUnit,
    planCode: built.planCode,
    total: formatMoney(built.total),
    totalExact: formatMoney(built.totalExact),
    finalizeAt,
  };
}

/**
 * The period's invoice as its receipts stand now, less what the period's threshold invoices already billed. A
 * subscription's terms apply from its start. A threshold invoice (`reason` threshold) bills the charges so far:
 * no base fee, minimum or SLA credits, which are the period end's.
 */
async function buildFor(
  scope: TenantScope,
  customer: BillingCustomer,
  period: Period,
  options: {
    now: Date;
    reason?: 'period_end' | 'threshold';
    adjustments?: repo.Adjustment[];
    /** A finalized invoice rebuilt (re-rating compares it) keeps the conversion it was issued with. */
    conversion?: Conversion;
  },
): Promise<Built> {
  const { now, reason = 'period_end', adjustments = [] } = options;
  const customerId = customer.id;
  const currency = customer.ratingCurrency;
  const minorUnit = minorUnitOf(currency);
  if (minorUnit === undefined)
    throw precondition('currency_without_minor_unit', `${currency} has no ISO 4217 minor unit; it cannot be invoiced`);
  const [terms, aggregates, previous, slaCredits, termCommitment] = await Promise.all([
    findTermsAt(scope, customerId, period.start).then((found) => found?.terms),
    repo.readInvoiceAggregates(scope, [{ customerId, start: period.start }]),
    repo.listThresholdInvoices(scope, customerId, period.start),
    reason === 'period_end' ? slaRepo.listCreditsForPeriod(scope, customerId, period.start) : Promise.resolve([]),
    reason === 'period_end' ? termCommitmentEndingWith(scope, customerId, period) : Promise.resolve(undefined),
  ]);
  const key = periodsRepo.periodKey({ customerId, start: period.start });
  const steps = aggregates.steps.get(key) ?? [];
  const grants = await repo.findGrantLabels(scope, [...new Set(steps.filter((s) => s.grantId).map((s) => s.grantId!))]);
  const subscribed = terms && period.start.getTime() >= terms.startedAt.getTime() ? terms : undefined;
  const result = buildInvoice({
    currency,
    minorUnit,
    period,
    plan: subscribed && reason === 'period_end' ? invoicePlan(subscribed) : undefined,
    usage: aggregates.usage.get(key) ?? [],
    steps,
    grants,
    ratedAmount: toNano(aggregates.rated.get(key) ?? '0'),
    slaCredits: slaCredits.map((c) => ({
      id: c.id,
      transactionId: c.transactionId,
      percent: c.percent,
      amount: toNano(c.amount),
      reason: c.reason,
    })),
    // Net of their tax: this invoice taxes what is left.
    previouslyBilled: previous.map((i) => ({
      id: i.id,
      number: i.number!,
      threshold: toNano(i.threshold!),
      total: toNano(i.linesTotal),
    })),
    adjustments,
    termCommitment,
  });
  if (!result.ok)
    throw new Error(`invoice for customer ${customerId}, period ${period.start.toISOString()}: ${result.error}`);
  const built: Built = {
    ...result,
    currency,
    minorUnit,
    planCode: subscribed?.planCode ?? null,
    graceSeconds: subscribed ? subscribed.invoiceGraceSeconds : usageOnlyGraceSeconds,
    fx: null,
    fxMissing: null,
  };
  if (customer.ratingCurrency === customer.currency) return built;
  if (options.conversion) return convertBuilt(built, customer, options.conversion);
  // A threshold invoice is final when issued: it converts at the rate of its issue, whatever the policy.
  const policy: FxPolicy = reason === 'threshold' ? 'finalization' : (await readSettings(scope)).fxPolicy;
  const conversions = await conversionsFor(
    scope,
    customer.ratingCurrency,
    customer.currency,
    policy,
    [{ customerId, ...period }],
    now,
  );
  return convertBuilt(built, customer, conversions.get(key)!);
}

/**
 * The conversions of periods' invoices from `from` to `to` under `policy`, by periodKey: one rate read for all
 * (the event policy: the rates of the window and the events summed per rate interval), or what is missing.
 */
export async function conversionsFor(
  scope: TenantScope,
  from: string,
  to: string,
  policy: FxPolicy,
  periods: (Period & { customerId: string })[],
  now: Date,
): Promise<Map<string, Conversion | { from: string; to: string; at: Date; policy: FxPolicy }>> {
  const result = new Map<string, Conversion | { from: string; to: string; at: Date; policy: FxPolicy }>();
  if (policy === 'event') {
    const found = await findEventConversions(scope, from, to, periods, async (bounds, rates) => {
      const rateTexts = rates.map((c) => c?.rate ?? null);
      const { sums, chained } = eventSumsOf(await repo.sumPeriodEvents(scope, periods, bounds, rateTexts));
      // A reseller's periods: its own events and its levels of its children's, summed from their ratings.
      const resold = periods.filter((p) => chained.has(periodsRepo.periodKey(p)));
      const ratings = await repo.listPeriodRatings(scope, resold);
      for (const [key, list] of ratings) sums.set(key, sumSlices(eventSlicesOf(list, bounds), bounds, rates));
      return sums;
    });
    for (const [key, f] of found) result.set(key, f.ok ? f.conversion : { from, to, at: f.at, policy });
    return result;
  }
  const found = await findConversions(
    scope,
    from,
    to,
    periods.map((p) => conversionInstant(policy, p, now)),
    policy,
  );
  for (const p of periods) {
    const at = conversionInstant(policy, p, now);
    const f = found.get(at.getTime())!;
    result.set(
      periodsRepo.periodKey({ customerId: p.customerId, start: p.start }),
      f.ok ? f.conversion : { from, to, at, policy },
    );
  }
  return result;
}

/** Pure: a built invoice in its customer's billing currency, or left in its books' currency with the rate it waits for. */
export function convertBuilt(
  built: Built,
  customer: BillingCustomer,
  conversion: Conversion | { from: string; to: string; at: Date; policy: FxPolicy },
): Built {
  if (!('rate' in conversion))
    return {
      ...built,
      fxMissing: {
        code: 'fx_rate_missing',
        from: conversion.from,
        to: conversion.to,
        at: conversion.at.toISOString(),
        policy: conversion.policy,
      },
    };
  // The event policy converts the lines no event made at the period end's rate: without it, the invoice waits.
  const rates = lineRatesOf(built.lines, conversion);
  if (missingLineRate(built.lines, rates))
    return {
      ...built,
      fxMissing: {
        code: 'fx_rate_missing',
        from: conversion.from,
        to: conversion.to,
        at: conversion.at,
        policy: 'event',
      },
    };
  const minorUnit = minorUnitOf(customer.currency);
  if (minorUnit === undefined)
    throw precondition(
      'currency_without_minor_unit',
      `${customer.currency} has no ISO 4217 minor unit; it cannot be invoiced`,
    );
  return {
    ...built,
    ...convertLines(built.lines, conversion, minorUnit, rates),
    currency: customer.currency,
    minorUnit,
    fx: conversion,
    fxMissing: null,
  };
}

/** The contract term the period closes, with the term's minimum and usage, when the plan commits per term. */
export async function termCommitmentEndingWith(scope: TenantScope, customerId: string, period: Period) {
  const commitment = await repo.findTermCommitment(scope, customerId);
  if (!commitment || period.start.getTime() < commitment.startedAt.getTime()) return undefined;
  const term = contractTermEndingAt(commitment.startedAt, commitment.cadence, commitment.periods, period.end);
  if (!term) return undefined;
  const consumed = await repo.sumUsageNetOfDiscounts(scope, customerId, term.start, term.end);
  return { ...term, minimum: toNano(commitment.minimum), consumed: toNano(consumed) };
}

/** An invoice's totals once taxed: what is due, the lines as priced, the tax and its record. */
export interface FinalTotals {
  total: bigint;
  totalExact: bigint;
  linesTotal: bigint;
  taxAmount: bigint;
  tax: TaxRecord | null;
}

/**
 * The pipeline's tax step (build -> FX conversion -> tax -> finalize): the tax of the invoice's rounded lines as
 * its customer and the tenant's registrations stand at finalization. Without a tax profile, the total is the lines'.
 * Prices exclusive of tax get it added (total = lines + tax); inclusive prices have it extracted (total = lines).
 */
export function taxFinalInvoice(
  context: TaxContext,
  invoice: {
    id: string;
    customerId: string;
    currency: string;
    minorUnit: number;
    periodEnd: Date;
    calculationSubject?: string;
  },
  built: { lines: Pick<DraftLine, 'amount'>[]; total: bigint; totalExact: bigint },
): FinalTotals {
  const taxed = taxInvoice(context, {
    ...invoice,
    lines: built.lines.map((l) => l.amount),
    supplyEnd: invoice.periodEnd,
  });
  if (!taxed)
    return { total: built.total, totalExact: built.totalExact, linesTotal: built.total, taxAmount: 0n, tax: null };
  const added = taxed.record.prices_include_tax ? 0n : taxed.tax.tax;
  return {
    total: taxed.tax.total,
    totalExact: built.totalExact + added,
    linesTotal: built.total,
    taxAmount: taxed.tax.tax,
    tax: taxed.record,
  };
}

/** The stored form of the totals (repo.setFinalTotals). */
export function finalTotalsRow(totals: FinalTotals) {
  return {
    total: formatMoney(totals.total),
    totalExact: formatMoney(totals.totalExact),
    linesTotal: formatMoney(totals.linesTotal),
    taxAmount: formatMoney(totals.taxAmount),
    tax: totals.tax,
  };
}

export function storedLines(lines: DraftLine[]): Omit<repo.StoredLine, 'line'>[] {
  return lines.map((l) => ({
    kind: l.kind,
    description: l.description,
    card: l.card,
    dimension: l.dimension,
    group: l.group,
    quantity: l.quantity === null ? null : formatQuantityText(l.quantity),
    unitPrice: l.unitPrice === null ? null : formatMoney(l.unitPrice),
    per: l.per === null ? null : formatQuantityText(l.per),
    amountExact: formatMoney(l.amountExact),
    amount: formatMoney(l.amount),
    grantId: l.grantId,
    eventCount: l.eventCount,
    details: l.details,
  }));
}

function formatQuantityText(micro: bigint): string {
  const negative = micro < 0n;
  const text = (negative ? -micro : micro).toString().padStart(7, '0');
  return `${negative ? '-' : ''}${text.slice(0, -6)}.${text.slice(-6)}`;
}

/**
 * Builds the draft of a period that has ended (the close job). The period stays open for the grace period, so
 * late events still land in it; the subscription's next period is opened now. With no grace left, the draft is
 * finalized at once. Idempotent: a period already invoiced, closed, or not yet ended is left alone.
 */
export async function closePeriod(
  deps: Deps,
  tenantId: string,
  customerId: string,
  periodStart: Date,
): Promise<'drafted' | 'finalized' | 'skipped'> {
  const now = deps.clock.now();
  return withTenant(
    deps.db,
    tenantId,
    async (tx) => (await closePeriodLocked(deps, { db: tx, tenantId }, customerId, periodStart, now, 'system')).outcome,
  );
}

async function closePeriodLocked(
  deps: Deps,
  scope: TenantScope,
  customerId: string,
  periodStart: Date,
  now: Date,
  actor: Actor | 'system',
): Promise<{ outcome: 'drafted' | 'finalized' | 'skipped'; invoiceId?: string }> {
  const period = await periodsRepo.lockPeriod(scope, { customerId, start: periodStart });
  if (!period || period.status !== 'open' || period.end.getTime() > now.getTime()) return { outcome: 'skipped' };
  if (await repo.findInvoiceByPeriod(scope, customerId, periodStart)) return { outcome: 'skipped' };
  const customer = (await repo.findCustomer(scope, customerId))!;
  const adjustments = await repo.listPendingAdjustments(scope, customerId, customer.ratingCurrency);
  const built = await buildFor(scope, customer, period, { now, adjustments });
  const invoice = newInvoice(customerId, period, built, new Date(period.end.getTime() + built.graceSeconds * 1000));
  await repo.insertInvoice(scope, invoice, now);
  await repo.replaceLines(scope, invoice.id, storedLines(built.lines));
  await notify.recordOnce(
    scope,
    invoiceNotification(
      'invoice.created',
      {
        ...invoice,
        customerExternalId: customer.externalId,
        number: null,
        status: 'draft',
        billingReason: 'period_end',
      },
      { finalize_at: invoice.finalizeAt.toISOString() },
      now,
    ),
  );
  const next = await openNextPeriod(scope, customerId, period, now);
  await recordChange(scope.db, deps.clock, actor, scope.tenantId, {
    action: 'invoice.drafted',
    entityType: 'invoice',
    entityId: invoice.id,
    after: {
      period_start: period.start.toISOString(),
      total: invoice.total,
      finalize_at: invoice.finalizeAt.toISOString(),
      next_period_start: next?.start.toISOString() ?? null,
    },
  });
  if (invoice.finalizeAt.getTime() > now.getTime()) return { outcome: 'drafted', invoiceId: invoice.id };
  if (built.fxMissing) {
    await recordFinalizationBlocked(
      scope,
      { ...invoice, customerExternalId: customer.externalId },
      built.fxMissing,
      now,
    );
    return { outcome: 'drafted', invoiceId: invoice.id };
  }
  try {
    await finalizeLocked(deps, scope, (await repo.findInvoice(scope, invoice.id))!, now, actor);
  } catch (error) {
    // Stripe Tax is never called in this transaction: the finalize tick calculates it, outside, then finalizes.
    if (error instanceof AppError && error.code === 'stripe_tax_pending')
      return { outcome: 'drafted', invoiceId: invoice.id };
    throw error;
  }
  return { outcome: 'finalized', invoiceId: invoice.id };
}

/**
 * An operator closes a customer's ended periods now instead of waiting for the billing tick (or when the
 * scheduler is down): each open period that has ended and has no invoice yet is drafted as the tick would, and
 * finalized at once if its grace has run out. With `period_start`, that period only (an error says why it cannot
 * be closed). The invoices are audited as the caller's. Periods still running are not cut short.
 */
export async function closeCustomerPeriods(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: ClosePeriodsInput,
): Promise<ApiSchemas['ClosedPeriods']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    let starts: Date[];
    if (input.period_start !== undefined) {
      const start = new Date(input.period_start);
      const period = await periodsRepo.lockPeriod(scope, { customerId: customer.id, start });
      if (!period)
        throw notFound(
          'period_not_found',
          `Customer "${externalId}" has no billing period starting at ${start.toISOString()}`,
        );
      if (period.end.getTime() > now.getTime()) {
        throw precondition(
          'period_not_ended',
          `The period ends at ${period.end.toISOString()}; it can be closed from then on`,
          [{ field: 'period_start', reason: `the period runs until ${period.end.toISOString()}` }],
        );
      }
      if (period.status !== 'open' || (await repo.findInvoiceByPeriod(scope, customer.id, start))) {
        throw conflict(
          'period_already_invoiced',
          `The period starting at ${start.toISOString()} already has its invoice`,
          [{ field: 'period_start', reason: 'already invoiced' }],
        );
      }
      starts = [start];
    } else {
      starts = await periodsRepo.findEndedOpenPeriods(scope, customer.id, now);
    }
    const invoices: ApiSchemas['Invoice'][] = [];
    for (const start of starts) {
      const closed = await closePeriodLocked(deps, scope, customer.id, start, now, actor);
      if (closed.invoiceId) invoices.push(await readInvoice(scope, closed.invoiceId));
    }
    return { data: invoices };
  });
}

/**
 * The finalize job: a draft whose grace has run out. Idempotent. Its Stripe Tax calculation, if it needs one, is
 * made first, outside any transaction; a failure leaves it a draft (the tenant told once per error), retried by
 * the next billing tick, as is a draft whose lines changed between the calculation and the finalization.
 */
export async function finalizeDueInvoice(
  deps: Deps,
  tenantId: string,
  invoiceId: string,
): Promise<'finalized' | 'skipped' | 'blocked'> {
  const now = deps.clock.now();
  try {
    await calculateTaxBeforeFinalizing(deps, tenantId, invoiceId, now);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await recordTaxBlocked(deps, tenantId, { invoiceId }, error, now);
    return 'blocked';
  }
  try {
    return await withTenant(deps.db, tenantId, async (tx) => {
      const scope = { db: tx, tenantId };
      const invoice = await repo.findInvoice(scope, invoiceId, { lock: true });
      if (!invoice || invoice.status !== 'draft' || invoice.finalizeAt.getTime() > now.getTime()) return 'skipped';
      await finalizeLocked(deps, scope, invoice, now, 'system');
      return 'finalized';
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'stripe_tax_pending') return 'blocked';
    if (!(error instanceof FxRateMissingError)) throw error;
    // The finalization rolled back: record, apart, what it waits for.
    await withTenant(deps.db, tenantId, async (tx) => {
      const scope = { db: tx, tenantId };
      const invoice = await repo.findInvoice(scope, invoiceId, { lock: true });
      if (invoice?.status === 'draft') await recordFinalizationBlocked(scope, invoice, error.missing, now);
    });
    return 'blocked';
  }
}

/** A draft's Stripe Tax calculation as its lines stand now, in short reads and writes around the network call. */
function calculateTaxBeforeFinalizing(deps: Deps, tenantId: string, invoiceId: string, now: Date) {
  return calculateStripeTaxBeforeFinalization(deps, tenantId, async (scope) => {
    const invoice = await repo.findInvoice(scope, invoiceId);
    if (!invoice || invoice.status !== 'draft') return undefined;
    const context = await taxContextOf(scope, [invoice.customerId], [invoice.id]);
    if (!sellsWithStripeTax(context, invoice.customerId)) return undefined;
    const customer = (await repo.findCustomer(scope, invoice.customerId))!;
    const adjustments = await repo.listPendingAdjustments(scope, invoice.customerId, customer.ratingCurrency);
    const period = { start: invoice.periodStart, end: invoice.periodEnd };
    const built = await buildFor(scope, customer, period, { now, adjustments });
    if (built.fxMissing) return undefined;
    return {
      invoice: {
        id: invoice.id,
        customerId: invoice.customerId,
        currency: built.currency,
        minorUnit: built.minorUnit,
        lines: built.lines.map((l) => l.amount),
        supplyEnd: invoice.periodEnd,
      },
      context,
    };
  });
}

/**
 * Where a running period's threshold invoice keeps its Stripe Tax calculation: it is calculated before the
 * invoice exists (outside the transaction that issues it), so under its customer and period, not an invoice id.
 */
export function thresholdTaxSubject(customerId: string, periodStart: Date): string {
  return `threshold:${customerId}:${periodStart.toISOString()}`;
}

/** A threshold invoice's Stripe Tax calculation for the charges as they stand now (nothing when none is due). */
function calculateThresholdTax(deps: Deps, tenantId: string, customerId: string, periodStart: Date, now: Date) {
  return calculateStripeTaxBeforeFinalization(deps, tenantId, async (scope) => {
    const subject = thresholdTaxSubject(customerId, periodStart);
    const context = await taxContextOf(scope, [customerId], [subject]);
    if (!sellsWithStripeTax(context, customerId)) return undefined;
    const period = await periodsRepo.findPeriodAt(scope, customerId, periodStart);
    if (!period || period.start.getTime() !== periodStart.getTime()) return undefined;
    const due = await thresholdDue(scope, period, now);
    if (!due || due.built.fxMissing || due.built.total <= 0n) return undefined;
    return {
      invoice: {
        id: subject,
        calculationSubject: subject,
        customerId,
        currency: due.built.currency,
        minorUnit: due.built.minorUnit,
        lines: due.built.lines.map((l) => l.amount),
        supplyEnd: period.end,
      },
      context,
    };
  });
}

/**
 * The tenant is told (once per draft, or threshold invoice's period, and error code) why an invoice's tax could
 * not be had; the tick retries.
 */
async function recordTaxBlocked(
  deps: Deps,
  tenantId: string,
  about: { invoiceId: string } | { customerId: string; periodStart: Date },
  error: AppError,
  now: Date,
) {
  deps.logger.warn('invoice not finalized: its tax could not be calculated', {
    tenant_id: tenantId,
    ...('invoiceId' in about
      ? { invoice_id: about.invoiceId }
      : { customer_id: about.customerId, threshold_period_start: about.periodStart.toISOString() }),
    code: error.code,
    message: error.message,
  });
  await withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    let subject: { customerId: string; customerExternalId: string; id: string; invoiceId: string | null };
    if ('invoiceId' in about) {
      const invoice = await repo.findInvoice(scope, about.invoiceId);
      if (!invoice) return;
      subject = { ...invoice, invoiceId: invoice.id };
    } else {
      const customer = (await repo.findCustomer(scope, about.customerId))!;
      const id = thresholdTaxSubject(about.customerId, about.periodStart);
      subject = { customerId: about.customerId, customerExternalId: customer.externalId, id, invoiceId: null };
    }
    await notify.recordOnce(scope, {
      id: crypto.randomUUID(),
      type: 'invoice.finalization_blocked',
      customerId: subject.customerId,
      subjectId: `${subject.id}:tax:${error.code}`,
      payload: {
        invoice_id: subject.invoiceId,
        customer_id: subject.customerExternalId,
        error: { code: error.code, message: error.message },
      },
      createdAt: now,
    });
  });
}

/** Events landing between a threshold invoice's Stripe Tax calculation and its issue make it ask again, this often. */
const thresholdTaxAttempts = 3;

/**
 * Progressive billing (the threshold job): when a running period's amount (what its rated events leave to bill)
 * has reached a plan threshold that no threshold invoice of the period covers, issues one threshold invoice for
 * the highest threshold reached, finalized and numbered at once: the charges so far less the period's earlier
 * threshold invoices. Locks the period row as ingestion does, so the charges are a consistent snapshot; late
 * events after it are simply on the next invoice. Idempotent. Taxed like every invoice: with Stripe Tax, its
 * calculation is made first, outside any transaction, for the charges as they stand, and the issue uses it if
 * they still stand so (events in between: asked again, a few times, then the next tick); a failure issues
 * nothing, tells the tenant, and the next tick tries again.
 */
export async function issueThresholdInvoice(
  deps: Deps,
  tenantId: string,
  customerId: string,
  periodStart: Date,
): Promise<'issued' | 'skipped'> {
  const now = deps.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await calculateThresholdTax(deps, tenantId, customerId, periodStart, now);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await recordTaxBlocked(deps, tenantId, { customerId, periodStart }, error, now);
      return 'skipped';
    }
    try {
      return await withTenant(deps.db, tenantId, (tx) =>
        issueThresholdLocked(deps, { db: tx, tenantId }, customerId, periodStart, now),
      );
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'stripe_tax_pending')) throw error;
      if (attempt >= thresholdTaxAttempts) return 'skipped';
    }
  }
}

/**
 * What a running period's threshold invoice would bill now (the threshold reached, the customer, the charges so
 * far less earlier threshold invoices), or undefined when none is due.
 */
async function thresholdDue(scope: TenantScope, period: periodsRepo.PeriodRow, now: Date) {
  const { customerId, start } = period;
  if (period.status !== 'open' || period.end.getTime() <= now.getTime()) return undefined;
  if (await repo.findInvoiceByPeriod(scope, customerId, start)) return undefined;
  const [plan, previous] = await Promise.all([
    repo.findPlanThresholds(scope, customerId),
    repo.listThresholdInvoices(scope, customerId, start),
  ]);
  if (!plan || start.getTime() < plan.startedAt.getTime()) return undefined;
  const threshold = crossedThreshold(
    plan.thresholds.map(toNano),
    toNano(period.amount),
    previous.map((i) => toNano(i.threshold!)),
  );
  if (threshold === undefined) return undefined;
  const customer = (await repo.findCustomer(scope, customerId))!;
  const built = await buildFor(scope, customer, period, { now, reason: 'threshold' });
  return { threshold, customer, built };
}

async function issueThresholdLocked(
  deps: Deps,
  scope: TenantScope,
  customerId: string,
  periodStart: Date,
  now: Date,
): Promise<'issued' | 'skipped'> {
  const { tenantId } = scope;
  const period = await periodsRepo.lockPeriod(scope, { customerId, start: periodStart });
  if (!period) return 'skipped';
  const amountText = period.amount;
  const due = await thresholdDue(scope, period, now);
  if (!due) return 'skipped';
  const { threshold, customer, built } = due;
  // No rate to convert at: the next tick tries again (the tenant is told once per period and missing pair).
  if (built.fxMissing) {
    await recordRateMissing(
      scope,
      {
        customerId,
        customerExternalId: customer.externalId,
        subject: thresholdTaxSubject(customerId, periodStart),
        invoiceId: null,
      },
      built.fxMissing,
      now,
    );
    return 'skipped';
  }
  // Nothing left to bill after the earlier threshold invoices (their rounding): wait for more usage.
  if (built.total <= 0n) return 'skipped';
  const invoice = {
    ...newInvoice(customerId, period, built, now),
    billingReason: 'threshold' as const,
    threshold: formatMoney(threshold),
  };
  // Before any write: a Stripe Tax calculation that no longer fits the charges (stripe_tax_pending) asks again.
  const subject = thresholdTaxSubject(customerId, periodStart);
  const totals = taxFinalInvoice(
    await taxContextOf(scope, [customerId], [subject]),
    { ...invoice, calculationSubject: subject },
    built,
  );
  await repo.insertInvoice(scope, invoice, now);
  await repo.replaceLines(scope, invoice.id, storedLines(built.lines));
  await freezeThresholdBreakdown(scope, invoice, built.lines);
  await repo.setFinalTotals(scope, invoice.id, finalTotalsRow(totals), now);
  const [issued] = await allocateInvoiceNumbers(scope, [customerId]);
  const number = issued.number;
  await repo.markFinalized(scope, invoice.id, { kind: 'invoice', status: 'finalized', ...issued }, now);
  await postTransactions(
    scope,
    invoicePostings({ ...invoice, number }, built.lines, 'invoice_finalized', now, 1n, totals.tax),
    now,
  );
  const notified = {
    ...invoice,
    total: formatMoney(totals.total),
    customerExternalId: customer.externalId,
    billingReason: 'threshold' as const,
  };
  await notify.recordManyOnce(scope, [
    invoiceNotification(
      'invoice.created',
      { ...notified, number: null, status: 'draft' },
      { threshold: invoice.threshold },
      now,
    ),
    invoiceNotification(
      'invoice.finalized',
      { ...notified, number, status: 'finalized' },
      { kind: 'invoice', threshold: invoice.threshold, finalized_at: now.toISOString() },
      now,
    ),
  ]);
  await recordChange(scope.db, deps.clock, 'system', tenantId, {
    action: 'invoice.finalized',
    entityType: 'invoice',
    entityId: invoice.id,
    after: {
      number,
      total: formatMoney(totals.total),
      tax: formatMoney(totals.taxAmount),
      kind: 'invoice',
      billing_reason: 'threshold',
      threshold: invoice.threshold,
      period_amount: formatMoney(toNano(amountText)),
    },
  });
  return 'issued';
}

/**
 * Pure: the threshold to invoice for, if any: the highest one the amount has reached, provided it is above
 * every threshold already invoiced (crossing several at once gives one invoice).
 */
export function crossedThreshold(thresholds: bigint[], amount: bigint, invoiced: bigint[]): bigint | undefined {
  const highestInvoiced = invoiced.reduce<bigint | undefined>(
    (max, t) => (max === undefined || t > max ? t : max),
    undefined,
  );
  const reached = thresholds.filter((t) => t <= amount && (highestInvoiced === undefined || t > highestInvoiced));
  return reached.length === 0 ? undefined : reached.reduce((a, b) => (b > a ? b : a));
}

/** Finalizes a draft now, ending its grace early (its period must have ended). */
export async function finalizeInvoice(deps: Deps, actor: Actor, invoiceId: string): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  // Stripe Tax first, outside the transaction (its failure is this call's clear error; nothing changed).
  await calculateTaxBeforeFinalizing(deps, actor.tenantId, invoiceId, now);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await repo.findInvoice(scope, invoiceId, { lock: true });
    if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    if (invoice.status !== 'draft') throw conflict('invoice_not_draft', `The invoice is already ${invoice.status}`);
    await finalizeLocked(deps, scope, invoice, now, actor);
    return readInvoice(scope, invoiceId);
  });
}

/**
 * Closes the period (no more late events), rebuilds the lines from its receipts, takes the tenant's next
 * number and posts the invoice: debit the customer's receivable, credit revenue by stream. A zero total is
 * issued as a statement with nothing to collect (status paid).
 */
async function finalizeLocked(
  deps: Deps,
  scope: TenantScope,
  invoice: repo.Invoice,
  now: Date,
  actor: Actor | 'system',
): Promise<void> {
  const period = (await periodsRepo.lockPeriod(scope, { customerId: invoice.customerId, start: invoice.periodStart }))!;
  const customer = (await repo.findCustomer(scope, invoice.customerId))!;
  const adjustments = await repo.listPendingAdjustments(scope, invoice.customerId, customer.ratingCurrency);
  const built = await buildFor(scope, customer, period, { now, adjustments });
  if (built.fxMissing) throw fxRateMissing(built.fxMissing);
  invoice = { ...invoice, currency: built.currency };
  // Taxed before any write: a tax that cannot be had now (stripe_tax_pending) leaves the draft as it was.
  const totals = taxFinalInvoice(
    await taxContextOf(scope, [invoice.customerId], [invoice.id]),
    { ...invoice, minorUnit: built.minorUnit },
    built,
  );
  await periodsRepo.closePeriods(scope, [period], now);
  await repo.replaceLines(scope, invoice.id, storedLines(built.lines));
  await repo.updateDraftTotals(scope, invoice.id, draftTotals(built), now);
  await repo.setFinalTotals(scope, invoice.id, finalTotalsRow(totals), now);
  const [issued] = await allocateInvoiceNumbers(scope, [invoice.customerId]);
  const number = issued.number;
  const statement = totals.total === 0n;
  await repo.markFinalized(
    scope,
    invoice.id,
    { kind: statement ? 'statement' : 'invoice', status: statement ? 'paid' : 'finalized', ...issued },
    now,
  );
  await repo.assignAdjustments(
    scope,
    adjustments.map((a) => ({ id: a.id, invoiceId: invoice.id })),
  );
  await postTransactions(scope, invoicePostings(invoice, built.lines, 'invoice_finalized', now, 1n, totals.tax), now);
  await notify.recordOnce(
    scope,
    invoiceNotification(
      'invoice.finalized',
      { ...invoice, number, status: statement ? 'paid' : 'finalized', total: formatMoney(totals.total) },
      { kind: statement ? 'statement' : 'invoice', finalized_at: now.toISOString() },
      now,
    ),
  );
  await recordChange(scope.db, deps.clock, actor, scope.tenantId, {
    action: 'invoice.finalized',
    entityType: 'invoice',
    entityId: invoice.id,
    after: {
      number,
      total: formatMoney(totals.total),
      tax: formatMoney(totals.taxAmount),
      kind: statement ? 'statement' : 'invoice',
    },
  });
}

export const revenueByKind: Record<LineKind, 'usage' | 'subscription' | 'minimum_commitment'> = {
  base_fee: 'subscription',
  usage: 'usage',
  allowance: 'usage',
  discount: 'usage',
  commitment: 'usage',
  credit: 'usage',
  minimum_true_up: 'minimum_commitment',
  // Contra-revenue against the usage it credits.
  sla_credit: 'usage',
  // Threshold invoices bill usage lines only, and recognised that revenue when they were finalized.
  progressive_billing: 'usage',
  // Late events' usage and re-rating increases of closed periods.
  adjustment: 'usage',
};

/** The plan terms an invoice bills (base fee, minimum spend, cadence) from the subscription's terms. */
export function invoicePlan(terms: subscriptionsRepo.SubscriptionTermsRow): PlanTerms {
  return {
    code: terms.planCode,
    name: terms.planName,
    baseFee: toNano(terms.baseFee),
    minimumSpend: terms.minimumSpend === null ? null : toNano(terms.minimumSpend),
    cadence: termsOf(terms).cadence,
  };
}

/**
 * The invoice in the ledger: the receivable against revenue by stream, at the rounded line amounts. Usage
 * revenue is net of discounts and of the credit lines, whose revenue was recognised when the credit was drawn.
 * `sign` -1 reverses it (a void).
 */
export function invoicePostings(
  invoice: Pick<repo.Invoice, 'id' | 'customerId' | 'currency' | 'number'>,
  lines: Pick<DraftLine, 'kind' | 'amount'>[],
  kind: 'invoice_finalized' | 'invoice_voided',
  now: Date,
  sign = 1n,
  tax: TaxRecord | null = null,
): Posting[] {
  const byStream = new Map<string, bigint>();
  let total = 0n;
  // Revenue is net of tax: with prices including tax, each line's tax share comes off its stream.
  const included = tax?.prices_include_tax ? tax.line_tax.map(toNano) : [];
  lines.forEach((line, i) => {
    const net = line.amount - (included[i] ?? 0n);
    byStream.set(revenueByKind[line.kind], (byStream.get(revenueByKind[line.kind]) ?? 0n) + net);
    total += net;
  });
  const taxLines = (tax?.components ?? []).map((c) => ({
    account: accounts.taxPayable(c.tax, c.jurisdiction, invoice.currency),
    amount: -sign * toNano(c.amount),
  }));
  total += taxLines.reduce((sum, l) => sum - sign * l.amount, 0n);
  const postingLines = [
    { account: accounts.receivable(invoice.customerId, invoice.currency), amount: sign * total },
    ...[...byStream].map(([stream, amount]) => ({
      account: accounts.revenue(stream as 'usage', invoice.currency),
      amount: -sign * amount,
    })),
    ...taxLines,
  ];
  if (postingLines.filter((l) => l.amount !== 0n).length < 2) return [];
  return [
    {
      kind,
      customerId: invoice.customerId,
      currency: invoice.currency,
      reference: invoice.id,
      description: `invoice ${invoice.number ?? invoice.id}`,
      occurredAt: now,
      lines: postingLines,
    },
  ];
}

/** Voids a finalized, unpaid invoice: its number stays used, its ledger posting is reversed. */
export async function voidInvoice(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
  input: VoidInvoiceInput,
): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await repo.findInvoice(scope, invoiceId, { lock: true });
    if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    if (invoice.status !== 'finalized')
      throw conflict(
        'invoice_not_voidable',
        `Only a finalized, unpaid invoice can be voided; this one is ${invoice.status}`,
      );
    // A threshold invoice a later final invoice deducted: voiding it would leave those charges billed nowhere.
    const deductedBy =
      invoice.billingReason === 'threshold' ? await repo.findDeductingInvoice(scope, invoice.id) : undefined;
    if (deductedBy)
      throw conflict(
        'invoice_deducted',
        `Invoice ${deductedBy} deducts this threshold invoice; issue a credit note instead`,
      );
    const lines = (await repo.listLines(scope, [invoice.id])).get(invoice.id) ?? [];
    await repo.markVoid(scope, invoice.id, input.reason, now);
    await postTransactions(
      scope,
      invoicePostings(
        invoice,
        lines.map((l) => ({ kind: l.kind, amount: toNano(l.amount) })),
        'invoice_voided',
        now,
        -1n,
        invoice.tax,
      ),
      now,
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'invoice.voided',
      entityType: 'invoice',
      entityId: invoice.id,
      after: { reason: input.reason },
    });
    await recordInvoiceNotification(scope, invoice, 'invoice.voided', { reason: input.reason }, now);
    return readInvoice(scope, invoiceId);
  });
}

/** The outbox row (and so the webhook) of an invoice's change, once per invoice and type. */
async function recordInvoiceNotification(
  scope: TenantScope,
  invoice: repo.Invoice,
  type: 'invoice.voided',
  extra: Record<string, unknown>,
  now: Date,
) {
  await notify.recordOnce(scope, invoiceNotification(type, { ...invoice, status: 'void' }, extra, now));
}

/** A period-end invoice's lines as its period's receipts stand now, with the adjustments it billed (re-rating compares them). */
export async function buildPeriodInvoice(scope: TenantScope, invoice: repo.Invoice, now: Date): Promise<Built> {
  const customer = (await repo.findCustomer(scope, invoice.customerId))!;
  const adjustments =
    invoice.status === 'draft'
      ? await repo.listPendingAdjustments(scope, invoice.customerId, customer.ratingCurrency)
      : await repo.listAdjustmentsOf(scope, invoice.id);
  const conversion = invoice.status === 'draft' ? undefined : (invoice.fx ?? undefined);
  return buildFor(
    scope,
    customer,
    { start: invoice.periodStart, end: invoice.periodEnd },
    { now, adjustments, conversion },
  );
}

/** Rebuilds a (locked) draft from its period's receipts now, e.g. after re-rating. */
export async function rebuildDraft(scope: TenantScope, invoice: repo.Invoice, now: Date): Promise<void> {
  const built = await buildPeriodInvoice(scope, invoice, now);
  await repo.replaceLines(scope, invoice.id, storedLines(built.lines));
  await repo.updateDraftTotals(scope, invoice.id, draftTotals(built), now);
}

/** What a rebuilt draft's row says: its totals, and the currency and conversion its lines are in. */
export function draftTotals(
  built: Pick<Built, 'total' | 'totalExact' | 'minorUnit' | 'currency' | 'fx'>,
): repo.DraftTotals {
  return {
    total: formatMoney(built.total),
    totalExact: formatMoney(built.totalExact),
    minorUnit: built.minorUnit,
    currency: built.currency,
    fx: built.fx,
  };
}

/**
 * A due draft that cannot be finalized for want of a rate: the draft says what it waits for (fx_blocked), and the
 * tenant is told once per invoice and missing pair (invoice.finalization_blocked). The billing tick tries again every minute.
 */
export async function recordFinalizationBlocked(
  scope: TenantScope,
  invoice: Pick<repo.Invoice, 'id' | 'customerId' | 'customerExternalId'>,
  missing: MissingRate,
  now: Date,
): Promise<void> {
  await repo.markFxBlocked(scope, invoice.id, missing, now);
  await recordRateMissing(
    scope,
    {
      customerId: invoice.customerId,
      customerExternalId: invoice.customerExternalId,
      subject: invoice.id,
      invoiceId: invoice.id,
    },
    missing,
    now,
  );
}

async function recordRateMissing(
  scope: TenantScope,
  about: { customerId: string; customerExternalId: string; subject: string; invoiceId: string | null },
  missing: MissingRate,
  now: Date,
): Promise<void> {
  const error = fxRateMissing(missing);
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'invoice.finalization_blocked',
    customerId: about.customerId,
    // Once per invoice and pair: under the finalization policy the instant moves on with every retry.
    subjectId: `${about.subject}:${missing.from}/${missing.to}`,
    payload: {
      invoice_id: about.invoiceId,
      customer_id: about.customerExternalId,
      error: { code: error.code, message: error.message },
      ...missing,
    },
    createdAt: now,
  });
}

/** Records amounts of closed periods for the customer's next invoice (late events, re-rating increases). */
export async function recordAdjustments(
  scope: TenantScope,
  adjustments: repo.NewAdjustment[],
  now: Date,
): Promise<void> {
  await repo.insertAdjustments(scope, adjustments, now);
}

/**
 * Events rated into periods whose invoice is already final (ingestion, in the acknowledging transaction): each
 * is billed as an adjustment on the customer's next invoice, at what it left to bill, with its own timestamp.
 * Invoice builds of its period leave it out (repo.ts periodLines), so it is billed once.
 */
export function recordLateEvents(
  scope: TenantScope,
  events: {
    transactionId: string;
    customerId: string;
    currency: string;
    occurredAt: Date;
    periodStart: Date;
    amount: bigint;
    /** How much of the period's billed minimum true-up this event's usage fills (lateTrueUpShrink). */
    trueUpShrink?: bigint;
  }[],
  now: Date,
): Promise<void> {
  return repo.insertAdjustments(
    scope,
    events.flatMap((e) => [
      {
        customerId: e.customerId,
        currency: e.currency,
        source: 'late_event' as const,
        reference: e.transactionId,
        description: `Late event ${e.transactionId} of the period from ${e.periodStart.toISOString()}`,
        occurredAt: e.occurredAt,
        periodStart: e.periodStart,
        stream: 'usage' as const,
        amount: e.amount,
      },
      ...(e.trueUpShrink
        ? [
            {
              customerId: e.customerId,
              currency: e.currency,
              source: 'late_event' as const,
              reference: e.transactionId,
              description: `Minimum true-up of the period from ${e.periodStart.toISOString()} reduced by late event ${e.transactionId}`,
              occurredAt: e.occurredAt,
              periodStart: e.periodStart,
              stream: 'minimum_commitment' as const,
              amount: -e.trueUpShrink,
            },
          ]
        : []),
    ]),
    now,
  );
}

/**
 * Pure: how much of a finalized period's minimum true-up a late event fills. The true-up billed the shortfall of
 * the usage counted toward the minimum; the event's counted usage (its postpaid commitment step) fills what is
 * left of that shortfall first, so the period is billed max(minimum, usage) in all, never the usage on top.
 */
export function lateTrueUpShrink(minimum: bigint, consumedBefore: bigint, counted: bigint): bigint {
  const shortfall = minimum - consumedBefore;
  if (shortfall <= 0n || counted <= 0n) return 0n;
  return counted < shortfall ? counted : shortfall;
}

export async function getInvoice(deps: Deps, actor: Actor, invoiceId: string): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, (tx) => readInvoice({ db: tx, tenantId: actor.tenantId }, invoiceId));
}

export async function listInvoices(
  deps: Deps,
  actor: Actor,
  input: ListInvoicesInput,
): Promise<ApiSchemas['InvoiceList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customerId = await customerIdFilter(scope, input.customer_id);
    const invoices = await repo.listInvoices(scope, {
      customerId,
      status: input.status,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    const lines = await repo.listLines(
      scope,
      invoices.map((i) => i.id),
    );
    const breakdowns = await breakdownsOf(scope, invoices, lines);
    return {
      data: invoices.map((i) => toApiInvoice(i, lines.get(i.id) ?? [], breakdowns.get(i.id) ?? null)),
      has_more: invoices.length === input.limit,
    };
  });
}

async function readInvoice(scope: TenantScope, invoiceId: string): Promise<ApiSchemas['Invoice']> {
  const invoice = await repo.findInvoice(scope, invoiceId);
  if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
  const lines = await repo.listLines(scope, [invoiceId]);
  const breakdowns = await breakdownsOf(scope, [invoice], lines);
  return toApiInvoice(invoice, lines.get(invoiceId) ?? [], breakdowns.get(invoiceId) ?? null);
}

/**
 * The by-child breakdown of resellers' invoices: a threshold invoice's as frozen when it was issued, a period-end
 * invoice's from its period's chain_daily (null for other invoices). A converted invoice's children are converted
 * with its rate, as its lines were.
 */
export async function breakdownsOf(
  scope: TenantScope,
  invoices: repo.Invoice[],
  lines: Map<string, repo.StoredLine[]>,
): Promise<Map<string, Breakdown>> {
  const result = new Map<string, Breakdown>();
  for (const invoice of invoices) if (invoice.breakdown) result.set(invoice.id, invoice.breakdown);
  const itemised = invoices.filter((i) => i.billingReason === 'period_end');
  const charges = await repo.sumChildCharges(
    scope,
    itemised.map((i) => ({ customerId: i.customerId, periodStart: i.periodStart })),
  );
  for (const invoice of itemised) {
    const children = charges.filter(
      (c) => c.customerId === invoice.customerId && c.periodStart.getTime() === invoice.periodStart.getTime(),
    );
    if (!invoice.customerIsReseller && children.length === 0) continue;
    const stored = (lines.get(invoice.id) ?? []).map((l) => ({
      kind: l.kind,
      amount: toNano(l.amount),
      amountExact: toNano(l.amountExact),
    }));
    const breakdown = itemiseInvoice(invoice, stored, children);
    if (breakdown) result.set(invoice.id, breakdown);
  }
  return result;
}

/**
 * An invoice's lines itemised by child: the children's charges are in the rating currency, so a converted
 * invoice's are converted with its rate (convertNano, the lines' one rounding). Null when they are in a currency
 * the invoice was not converted from.
 */
function itemiseInvoice(
  invoice: { currency: string; minorUnit: number; fx: Conversion | null },
  lines: { kind: LineKind; amount: bigint; amountExact: bigint }[],
  children: repo.ChildCharge[],
): Breakdown | null {
  const converted = invoice.fx !== null && children.every((c) => c.currency === invoice.fx!.from);
  if (!converted && children.some((c) => c.currency !== invoice.currency)) return null;
  return itemiseByChild(
    invoice.currency,
    invoice.minorUnit,
    lines,
    children.map((c) => ({
      externalId: c.childExternalId,
      name: c.childName,
      events: c.events,
      charge: converted ? convertNano(c.charge, invoice.fx!.rate) : c.charge,
    })),
  );
}

/** A reseller's threshold invoice itemised as issued (chain_daily keeps growing after it): frozen on it. */
async function freezeThresholdBreakdown(
  scope: TenantScope,
  invoice: {
    id: string;
    customerId: string;
    periodStart: Date;
    currency: string;
    minorUnit: number;
    fx: Conversion | null;
  },
  lines: DraftLine[],
): Promise<void> {
  const children = await repo.sumChildCharges(scope, [
    { customerId: invoice.customerId, periodStart: invoice.periodStart },
  ]);
  if (children.length === 0) return;
  const breakdown = itemiseInvoice(invoice, lines, children);
  if (breakdown) await repo.setBreakdown(scope, invoice.id, breakdown);
}

/** The tax of an invoice or credit note as the API shows it (the record less the parties, which the document prints). */
export function toApiTax(tax: TaxRecord) {
  return {
    rule: tax.rule,
    jurisdiction: tax.jurisdiction,
    mention: tax.mention,
    legal_basis: tax.legal_basis,
    prices_include_tax: tax.prices_include_tax,
    rounding: { scope: tax.rounding.scope, mode: tax.rounding.mode, basis: tax.rounding.basis },
    source: tax.source,
    rate_source: tax.rate_source,
    supply_date: tax.supply_date,
    components: tax.components.map((c) => ({
      tax: c.tax,
      jurisdiction: c.jurisdiction,
      rate: c.rate,
      taxable: formatMoney(toNano(c.taxable)),
      amount: formatMoney(toNano(c.amount)),
    })),
    line_tax: tax.line_tax.map((t) => formatMoney(toNano(t))),
  };
}

export function toApiInvoice(
  invoice: repo.Invoice,
  lines: repo.StoredLine[],
  breakdown: Breakdown | null = null,
): ApiSchemas['Invoice'] {
  const total = formatMoney(toNano(invoice.total));
  const owed = invoice.status === 'finalized' || invoice.status === 'past_due' || invoice.status === 'uncollectible';
  return {
    id: invoice.id,
    number: invoice.number,
    kind: invoice.kind,
    billing_reason: invoice.billingReason,
    threshold: invoice.threshold === null ? null : formatMoney(toNano(invoice.threshold)),
    status: invoice.status,
    customer_id: invoice.customerExternalId,
    currency: invoice.currency,
    minor_unit: invoice.minorUnit,
    period: { start: invoice.periodStart.toISOString(), end: invoice.periodEnd.toISOString() },
    plan: invoice.planCode,
    lines: lines.map((l) => ({
      line: l.line,
      kind: l.kind,
      description: l.description,
      card: l.card,
      dimension: l.dimension,
      group: l.group,
      quantity: l.quantity,
      unit_price: l.unitPrice === null ? null : formatMoney(toNano(l.unitPrice)),
      per: l.per,
      amount: formatMoney(toNano(l.amount)),
      amount_exact: formatMoney(toNano(l.amountExact)),
      grant_id: l.grantId,
      event_count: l.eventCount === null ? null : String(l.eventCount),
    })),
    subtotal: formatMoney(toNano(invoice.total) - toNano(invoice.taxAmount)),
    tax_amount: formatMoney(toNano(invoice.taxAmount)),
    tax: invoice.tax === null ? null : toApiTax(invoice.tax),
    total,
    total_exact: formatMoney(toNano(invoice.totalExact)),
    amount_due: owed ? total : formatMoney(0n),
    amount_due_exact: owed ? formatMoney(toNano(invoice.totalExact)) : formatMoney(0n),
    finalize_at: invoice.finalizeAt.toISOString(),
    created_at: invoice.createdAt.toISOString(),
    finalized_at: invoice.finalizedAt?.toISOString() ?? null,
    paid_at: invoice.paidAt?.toISOString() ?? null,
    voided_at: invoice.voidedAt?.toISOString() ?? null,
    void_reason: invoice.voidReason,
    fx: invoice.fx,
    fx_blocked: invoice.fxBlocked,
    issuer:
      invoice.issuer === null
        ? null
        : {
            customer_id: invoice.issuer.external_id,
            name: invoice.issuer.name,
            legal_name: invoice.issuer.legal_name,
            address: invoice.issuer.address,
            country: invoice.issuer.country,
            tax_ids: invoice.issuer.tax_ids,
            logo_url: invoice.issuer.logo_url,
            reply_to: invoice.issuer.reply_to,
          },
    breakdown,
  };
}
