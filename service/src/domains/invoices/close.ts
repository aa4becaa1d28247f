// Period close for many customer-periods of a tenant at once (the close job's batches): the same invoices as
// closePeriod (service.ts) builds one at a time, drafted and, when no grace is left, finalized, numbered and
// posted, but with every read and write one statement for the whole batch. buildInvoice (build.ts) is shared;
// the parity test (test/billing/close-batch.test.ts) keeps the two paths giving the same invoices.
import crypto from 'node:crypto';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import * as auditRepo from '../audit/repo.ts';
import { postTransactions } from '../ledger/service.ts';
import * as slaRepo from '../sla/repo.ts';
import { nextPeriod } from '../periods/calendar.ts';
import * as periodsRepo from '../periods/index.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import { cutsOf, termsAt, termsOf } from '../subscriptions/service.ts';
import { buildInvoice, type DraftLine } from './build.ts';
import { allocateInvoiceNumbers } from './numbering.ts';
import * as closeRepo from './close-repo.ts';
import * as notify from '../notifications/service.ts';
import { invoiceNotification, type NotifiedInvoice } from './notifications.ts';
import { minorUnitOf } from '@tariff/openapi/schemas/iso4217';
import { readSettings } from '../currency/service.ts';
import * as repo from './repo.ts';
import { AppError } from '../../platform/errors.ts';
import { taxContextOf } from '../brands/service.ts';
import {
  conversionsFor,
  convertBuilt,
  invoicePlan,
  invoicePostings,
  recordFinalizationBlocked,
  storedLines,
  taxFinalInvoice,
  termCommitmentEndingWith,
  usageOnlyGraceSeconds,
  type Built,
  type FinalTotals,
} from './service.ts';

/**
 * Closes the tenant's given periods that have ended, are open and have no invoice yet (others are skipped, so
 * a retried batch is harmless), in one transaction. Returns how many invoices were drafted and finalized.
 */
export async function closePeriods(
  deps: Deps,
  tenantId: string,
  keys: periodsRepo.PeriodKey[],
): Promise<{ drafted: number; finalized: number }> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const [locked, invoiced] = await Promise.all([
      periodsRepo.lockPeriods(scope, keys),
      closeRepo.findInvoicedPeriods(scope, keys),
    ]);
    const periods = [...locked.values()].filter(
      (p) => p.status === 'open' && p.end.getTime() <= now.getTime() && !invoiced.has(periodsRepo.periodKey(p)),
    );
    if (periods.length === 0) return { drafted: 0, finalized: 0 };
    const customerIds = [...new Set(periods.map((p) => p.customerId))];
    const [customers, aggregates, thresholds, slaCredits, amendments, pending] = await Promise.all([
      closeRepo.findCustomersWithTerms(scope, customerIds),
      repo.readInvoiceAggregates(scope, periods),
      closeRepo.listThresholdInvoices(scope, periods),
      slaRepo.listCreditsForPeriods(scope, periods),
      subscriptionsRepo.findAmendments(scope, customerIds),
      repo.listPendingAdjustmentsOf(scope, customerIds),
    ]);
    // A customer's pending adjustments go on the first of its invoices in the batch.
    const adjustmentsOf = new Map<string, repo.Adjustment[]>();
    const grantIds = new Set<string>();
    for (const steps of aggregates.steps.values()) for (const s of steps) if (s.grantId) grantIds.add(s.grantId);
    const grants = await repo.findGrantLabels(scope, [...grantIds]);

    // Periods closing a contract term (rare: once per term) read the term's usage one by one.
    const termCommitments = new Map<string, Awaited<ReturnType<typeof termCommitmentEndingWith>>>();
    const committed = await closeRepo.findCustomersCommittedPerTerm(scope, customerIds);
    for (const period of periods.filter((p) => committed.has(p.customerId))) {
      termCommitments.set(
        periodsRepo.periodKey(period),
        await termCommitmentEndingWith(scope, period.customerId, period),
      );
    }
    const built: { period: (typeof periods)[number]; built: Built; adjustments: repo.Adjustment[] }[] = [];
    const nextPeriods: { customerId: string; start: Date; end: Date }[] = [];
    for (const period of periods) {
      const key = periodsRepo.periodKey(period);
      const { ratingCurrency, terms: subscription } = customers.get(period.customerId)!;
      // The terms in force at the period's start (an amendment's, if any: subscriptions/service.ts termsAt).
      const terms = subscription
        ? termsAt(subscription, amendments.get(period.customerId) ?? [], period.start)
        : undefined;
      const adjustments = pending.get(period.customerId) ?? [];
      pending.delete(period.customerId);
      const minorUnit = minorUnitOf(ratingCurrency);
      if (minorUnit === undefined)
        throw new Error(
          `${ratingCurrency} has no ISO 4217 minor unit; customer ${period.customerId} cannot be invoiced`,
        );
      const subscribed = terms && period.start.getTime() >= terms.startedAt.getTime() ? terms : undefined;
      const result = buildInvoice({
        currency: ratingCurrency,
        minorUnit,
        period,
        plan: subscribed ? invoicePlan(subscribed) : undefined,
        usage: aggregates.usage.get(key) ?? [],
        steps: aggregates.steps.get(key) ?? [],
        grants,
        ratedAmount: toNano(aggregates.rated.get(key) ?? '0'),
        slaCredits: (slaCredits.get(key) ?? []).map((c) => ({
          id: c.id,
          transactionId: c.transactionId,
          percent: c.percent,
          amount: toNano(c.amount),
          reason: c.reason,
        })),
        previouslyBilled: (thresholds.get(key) ?? []).map((i) => ({
          id: i.id,
          number: i.number,
          threshold: toNano(i.threshold),
          total: toNano(i.total),
        })),
        adjustments,
        termCommitment: termCommitments.get(key),
      });
      if (!result.ok)
        throw new Error(
          `invoice for customer ${period.customerId}, period ${period.start.toISOString()}: ${result.error}`,
        );
      const graceSeconds = subscribed ? subscribed.invoiceGraceSeconds : usageOnlyGraceSeconds;
      built.push({
        period,
        adjustments,
        built: {
          ...result,
          currency: ratingCurrency,
          minorUnit,
          planCode: subscribed?.planCode ?? null,
          graceSeconds,
          fx: null,
          fxMissing: null,
        },
      });
      // The subscription's next period exists from now, so it closes in turn.
      const next = nextPeriod(terms && termsOf(terms), period, cutsOf(amendments.get(period.customerId)));
      if (next) nextPeriods.push({ customerId: period.customerId, ...next });
    }

    // The FX stage: customers billed in another currency than their books', converted under the tenant's policy
    // with one rate read per pair for the whole batch.
    const converting = built.filter((b) => customers.get(b.period.customerId)!.currency !== b.built.currency);
    if (converting.length > 0) {
      const { fxPolicy } = await readSettings(scope);
      const byPair = new Map<string, typeof converting>();
      for (const b of converting) {
        const pair = `${b.built.currency}/${customers.get(b.period.customerId)!.currency}`;
        byPair.set(pair, [...(byPair.get(pair) ?? []), b]);
      }
      for (const [pair, list] of byPair) {
        const [from, to] = pair.split('/');
        const conversions = await conversionsFor(
          scope,
          from,
          to,
          fxPolicy,
          list.map((b) => b.period),
          now,
        );
        for (const b of list) {
          const customer = customers.get(b.period.customerId)!;
          b.built = convertBuilt(
            b.built,
            { id: b.period.customerId, currency: customer.currency, ratingCurrency: customer.ratingCurrency },
            conversions.get(periodsRepo.periodKey(b.period))!,
          );
        }
      }
    }
    // The tax step, after FX: an invoice finalized in this close (no grace left, no rate missing) is taxed in its
    // billing currency. A customer whose tax cannot be determined (say, no country) stays a draft: its
    // finalization reports the error, no invoice goes out wrong.
    const taxContext = await taxContextOf(scope, customerIds);
    const drafts: {
      invoice: closeRepo.NewInvoice;
      lines: DraftLine[];
      total: bigint;
      blocked: Built['fxMissing'];
      totals?: FinalTotals;
    }[] = [];
    for (const { period, built: b, adjustments } of built) {
      const invoiceId = crypto.randomUUID();
      const finalizeAt = new Date(period.end.getTime() + b.graceSeconds * 1000);
      adjustmentsOf.set(invoiceId, adjustments);
      let totals: FinalTotals | undefined;
      if (finalizeAt.getTime() <= now.getTime() && !b.fxMissing) {
        try {
          totals = taxFinalInvoice(
            taxContext,
            {
              id: invoiceId,
              customerId: period.customerId,
              currency: b.currency,
              minorUnit: b.minorUnit,
              periodEnd: period.end,
            },
            b,
          );
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          deps.logger.warn('invoice left as a draft: its tax cannot be determined now (the finalize tick retries)', {
            tenant_id: tenantId,
            customer_id: period.customerId,
            code: error.code,
            message: error.message,
          });
        }
      }
      drafts.push({
        invoice: {
          id: invoiceId,
          customerId: period.customerId,
          periodStart: period.start,
          periodEnd: period.end,
          currency: b.currency,
          fx: b.fx,
          minorUnit: b.minorUnit,
          planCode: b.planCode,
          total: formatMoney(totals?.total ?? b.total),
          totalExact: formatMoney(totals?.totalExact ?? b.totalExact),
          finalizeAt,
          ...(totals
            ? { linesTotal: formatMoney(totals.linesTotal), taxAmount: formatMoney(totals.taxAmount), tax: totals.tax }
            : {}),
        },
        lines: b.lines,
        total: totals?.total ?? b.total,
        blocked: b.fxMissing,
        totals,
      });
    }

    await closeRepo.insertDrafts(
      scope,
      drafts.map((d) => d.invoice),
      new Map(drafts.map((d) => [d.invoice.id, storedLines(d.lines)])),
      now,
    );
    await periodsRepo.openPeriods(scope, nextPeriods, now);
    const audit: auditRepo.NewAuditEntry[] = drafts.map((d) => ({
      at: now,
      actorType: 'system',
      actorId: 'system',
      action: 'invoice.drafted',
      entityType: 'invoice',
      entityId: d.invoice.id,
      before: null,
      after: {
        period_start: d.invoice.periodStart.toISOString(),
        total: d.invoice.total,
        finalize_at: d.invoice.finalizeAt.toISOString(),
      },
      requestId: null,
    }));

    // No grace left: finalized now, numbered in batch order. Nothing can land in the period in between (it is
    // locked), so the lines just built are the final ones.
    const notified = (d: (typeof drafts)[number]): NotifiedInvoice => ({
      ...d.invoice,
      customerExternalId: customers.get(d.invoice.customerId)!.externalId,
      number: null,
      status: 'draft',
      billingReason: 'period_end',
    });
    const notifications = drafts.map((d) =>
      invoiceNotification('invoice.created', notified(d), { finalize_at: d.invoice.finalizeAt.toISOString() }, now),
    );
    const due = drafts.filter((d) => d.totals !== undefined);
    // Due but waiting for a rate: the finalize tick retries them until the rate is supplied.
    for (const d of drafts.filter((d) => d.invoice.finalizeAt.getTime() <= now.getTime() && d.blocked)) {
      await recordFinalizationBlocked(
        scope,
        {
          id: d.invoice.id,
          customerId: d.invoice.customerId,
          customerExternalId: customers.get(d.invoice.customerId)!.externalId,
        },
        d.blocked!,
        now,
      );
    }
    // Writes after the invoice numbers are taken hold the issuer's sequence (numbering.ts) until the commit, and
    // every other close of the tenant waits for it: what needs no number is written before, and the rest is sent
    // without waiting between statements (they run in order on the transaction's connection).
    const finalWrites: Promise<unknown>[] = [];
    if (due.length > 0) {
      await Promise.all([
        periodsRepo.closePeriods(
          scope,
          due.map((d) => ({ customerId: d.invoice.customerId, start: d.invoice.periodStart })),
          now,
        ),
        repo.assignAdjustments(
          scope,
          due.flatMap((d) =>
            (adjustmentsOf.get(d.invoice.id) ?? []).map((a) => ({ id: a.id, invoiceId: d.invoice.id })),
          ),
        ),
      ]);
      const numbers = await allocateInvoiceNumbers(
        scope,
        due.map((d) => d.invoice.customerId),
      );
      const finalized = due.map((d, i) => ({
        draft: d,
        id: d.invoice.id,
        kind: d.total === 0n ? ('statement' as const) : ('invoice' as const),
        ...numbers[i],
      }));
      finalWrites.push(
        closeRepo.markFinalized(scope, finalized, now),
        postTransactions(
          scope,
          finalized.flatMap((f) =>
            invoicePostings(
              { ...f.draft.invoice, number: f.number },
              f.draft.lines,
              'invoice_finalized',
              now,
              1n,
              f.draft.totals!.tax,
            ),
          ),
          now,
        ),
      );
      for (const f of finalized) {
        notifications.push(
          invoiceNotification(
            'invoice.finalized',
            { ...notified(f.draft), number: f.number, status: f.kind === 'statement' ? 'paid' : 'finalized' },
            { kind: f.kind, finalized_at: now.toISOString() },
            now,
          ),
        );
        audit.push({
          at: now,
          actorType: 'system',
          actorId: 'system',
          action: 'invoice.finalized',
          entityType: 'invoice',
          entityId: f.id,
          before: null,
          after: { number: f.number, total: f.draft.invoice.total, kind: f.kind },
          requestId: null,
        });
      }
    }
    // One statement for the batch's notifications (and, by its trigger, their webhook messages).
    await Promise.all([
      ...finalWrites,
      notify.recordManyOnce(scope, notifications),
      auditRepo.insertAuditEntries(scope, audit),
    ]);
    return { drafted: drafts.length, finalized: due.length };
  });
}
