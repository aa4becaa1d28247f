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
import { periodAt } from '../subscriptions/periods.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import { cutsOf, termsAt, termsOf } from '../subscriptions/service.ts';
import { formatMoney as formatNano, formatQuantity, parseScaled } from '@tariff/core-wasm';
import { buildInvoice, type DraftLine, type StepAggregate, type UsageAggregate } from './build.ts';
import * as closeRepo from './close-repo.ts';
import { minorUnitOf } from './currencies.ts';
import * as repo from './repo.ts';
import { invoicePostings, storedLines, termCommitmentEndingWith, usageOnlyGraceSeconds } from './service.ts';

/**
 * Closes the tenant's given periods that have ended, are open and have no invoice yet (others are skipped, so
 * a retried batch is harmless), in one transaction. Returns how many invoices were drafted and finalized.
 */
export async function closePeriods(deps: Deps, tenantId: string, keys: closeRepo.PeriodKey[]): Promise<{ drafted: number; finalized: number }> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const periods = (await closeRepo.lockPeriods(scope, keys)).filter((p) => p.status === 'open' && p.end.getTime() <= now.getTime() && !p.invoiced);
    if (periods.length === 0) return { drafted: 0, finalized: 0 };
    const customerIds = [...new Set(periods.map((p) => p.customerId))];
    const [customers, aggregates, thresholds, slaCredits, amendments, pending] = await Promise.all([
      closeRepo.findCustomersWithTerms(scope, customerIds),
      closeRepo.listPeriodLines(scope, periods).then(aggregateReceipts),
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
      termCommitments.set(closeRepo.keyOf(period.customerId, period.start), await termCommitmentEndingWith(scope, period.customerId, period));
    }
    const drafts: { invoice: closeRepo.NewInvoice; lines: DraftLine[]; total: bigint }[] = [];
    const nextPeriods: { customerId: string; start: Date; end: Date }[] = [];
    for (const period of periods) {
      const key = closeRepo.keyOf(period.customerId, period.start);
      const { currency, terms: subscription } = customers.get(period.customerId)!;
      // The terms in force at the period's start (an amendment's, if any: subscriptions/service.ts termsAt).
      const terms = subscription ? termsAt(subscription, amendments.get(period.customerId) ?? [], period.start) : undefined;
      const adjustments = pending.get(period.customerId) ?? [];
      pending.delete(period.customerId);
      const minorUnit = minorUnitOf(currency);
      if (minorUnit === undefined) throw new Error(`${currency} has no ISO 4217 minor unit; customer ${period.customerId} cannot be invoiced`);
      const subscribed = terms && period.start.getTime() >= terms.startedAt.getTime() ? terms : undefined;
      const built = buildInvoice({
        currency,
        minorUnit,
        period,
        plan: subscribed
          ? {
              code: subscribed.planCode,
              name: subscribed.planName,
              baseFee: toNano(subscribed.baseFee),
              minimumSpend: subscribed.minimumSpend === null ? null : toNano(subscribed.minimumSpend),
              cadence: termsOf(subscribed).cadence,
            }
          : undefined,
        usage: aggregates.usage.get(key) ?? [],
        steps: aggregates.steps.get(key) ?? [],
        grants,
        ratedAmount: toNano(aggregates.rated.get(key) ?? '0'),
        slaCredits: (slaCredits.get(key) ?? []).map((c) => ({ id: c.id, transactionId: c.transactionId, percent: c.percent, amount: toNano(c.amount), reason: c.reason })),
        previouslyBilled: (thresholds.get(key) ?? []).map((i) => ({ id: i.id, number: i.number, threshold: toNano(i.threshold), total: toNano(i.total) })),
        adjustments,
        termCommitment: termCommitments.get(key),
      });
      if (!built.ok) throw new Error(`invoice for customer ${period.customerId}, period ${period.start.toISOString()}: ${built.error}`);
      const graceSeconds = subscribed ? subscribed.invoiceGraceSeconds : usageOnlyGraceSeconds;
      const invoiceId = crypto.randomUUID();
      adjustmentsOf.set(invoiceId, adjustments);
      drafts.push({
        invoice: {
          id: invoiceId,
          customerId: period.customerId,
          periodStart: period.start,
          periodEnd: period.end,
          currency,
          minorUnit,
          planCode: subscribed?.planCode ?? null,
          total: formatMoney(built.total),
          totalExact: formatMoney(built.totalExact),
          finalizeAt: new Date(period.end.getTime() + graceSeconds * 1000),
        },
        lines: built.lines,
        total: built.total,
      });
      // As openNextPeriod: the subscription's next period exists from now, so it closes in turn.
      if (terms && period.end.getTime() >= terms.startedAt.getTime()) nextPeriods.push({ customerId: period.customerId, ...periodAt(termsOf(terms), period.end, cutsOf(amendments.get(period.customerId))) });
    }

    await closeRepo.insertDrafts(scope, drafts.map((d) => d.invoice), new Map(drafts.map((d) => [d.invoice.id, storedLines(d.lines)])), now);
    await closeRepo.openPeriods(scope, nextPeriods, now);
    const audit: auditRepo.NewAuditEntry[] = drafts.map((d) => ({
      at: now,
      actorType: 'system',
      actorId: 'system',
      action: 'invoice.drafted',
      entityType: 'invoice',
      entityId: d.invoice.id,
      before: null,
      after: { period_start: d.invoice.periodStart.toISOString(), total: d.invoice.total, finalize_at: d.invoice.finalizeAt.toISOString() },
      requestId: null,
    }));

    // No grace left: finalized now, numbered in batch order. Nothing can land in the period in between (it is
    // locked), so the lines just built are the final ones.
    const due = drafts.filter((d) => d.invoice.finalizeAt.getTime() <= now.getTime());
    if (due.length > 0) {
      await closeRepo.closePeriodRows(scope, due.map((d) => ({ customerId: d.invoice.customerId, start: d.invoice.periodStart })), now);
      const first = await closeRepo.takeInvoiceNumbers(scope, due.length);
      const finalized = due.map((d, i) => {
        const sequence = first + BigInt(i);
        return { draft: d, id: d.invoice.id, kind: d.total === 0n ? ('statement' as const) : ('invoice' as const), sequence, number: `INV-${String(sequence).padStart(6, '0')}` };
      });
      await closeRepo.markFinalized(scope, finalized, now);
      for (const f of finalized) await repo.assignAdjustments(scope, (adjustmentsOf.get(f.id) ?? []).map((a) => a.id), f.id);
      await postTransactions(
        scope,
        finalized.flatMap((f) => invoicePostings({ ...f.draft.invoice, number: f.number }, f.draft.lines, 'invoice_finalized', now)),
        now,
      );
      for (const f of finalized) {
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
    await auditRepo.insertAuditEntries(scope, audit);
    return { drafted: drafts.length, finalized: due.length };
  });
}

// Receipts write money with exactly 9 decimals and quantities with exactly 6 (core-wasm/README.md, output
// format), so dropping the point gives the scaled integer; anything else goes through the checked parser.
const scaled = (value: unknown, decimals: number): bigint => {
  if (value === undefined || value === null) return 0n;
  const text = String(value);
  if (text.length > decimals + 1 && text.charCodeAt(text.length - decimals - 1) === 46 && text.indexOf('.') === text.length - decimals - 1) {
    return BigInt(text.slice(0, -decimals - 1) + text.slice(-decimals));
  }
  const parsed = parseScaled(text, decimals, { allowNegative: true });
  if (!parsed.ok) throw new Error(`not a ${decimals}-decimal amount in a receipt: ${text}`);
  return parsed.value;
};
// As the SQL ->> operator reads a JSON property: strings as they are, other values as JSON text.
const propertyText = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : typeof value === 'string' ? value : JSON.stringify(value));
// The grouping properties in jsonb's key order (shorter keys first), as repo.ts's aggregateUsage returns them.
const groupKeys = ['model', 'region', 'gpu_type', 'availability_class'] as const;

/**
 * Pure: the periods' receipts summed as repo.ts's aggregateUsage, aggregateSteps and sumRatedAmounts sum one
 * period's (price steps by card, charge, model, rate, per, dimension and grouping properties; allowance,
 * discount, commitment and credit steps by pool, grant, mode and percentage; the lines' amounts), exactly, in
 * nano- and micro-units. Done here rather than in SQL: the receipts cross the wire once and are summed in one pass.
 */
export function aggregateReceipts(lines: closeRepo.PeriodLine[]) {
  type Sum = { quantity: bigint; covered: bigint; amount: bigint; events: bigint };
  const usage = new Map<string, Map<string, { row: Omit<UsageAggregate, 'quantity' | 'amount' | 'events'>; sum: Sum }>>();
  const steps = new Map<string, Map<string, { row: Omit<StepAggregate, 'covered' | 'amount' | 'events'>; sum: Sum }>>();
  const rated = new Map<string, bigint>();
  const add = (sum: Sum, s: Record<string, unknown>) => {
    if (s.quantity !== undefined) sum.quantity += scaled(s.quantity, 6);
    if (s.covered !== undefined) sum.covered += scaled(s.covered, 6);
    if (s.amount !== undefined) sum.amount += scaled(s.amount, 9);
    sum.events += 1n;
  };
  for (const line of lines) {
    const key = closeRepo.keyOf(line.customerId, line.periodStart);
    rated.set(key, (rated.get(key) ?? 0n) + scaled(line.amount, 9));
    let group: Record<string, string> | undefined;
    let groupText = '';
    for (const s of line.receipt) {
      const step = s.step as string;
      if (step === 'price') {
        const dimension = (line.receipt.find((q) => q.step === 'quantity' && q.charge === s.charge)?.dimension as string | undefined) ?? null;
        if (!group) {
          group = Object.fromEntries(groupKeys.flatMap((k) => (propertyText(line.properties[k]) === undefined ? [] : [[k, propertyText(line.properties[k])!]])));
          groupText = JSON.stringify(group);
        }
        const row = { card: line.card, charge: Number(s.charge), dimension, model: String(s.model), rate: String(s.rate), per: String(s.per), group };
        const groupKey = `${row.card}\u0000${row.charge}\u0000${row.model}\u0000${row.rate}\u0000${row.per}\u0000${row.dimension}\u0000${groupText}`;
        const byGroup = usage.get(key) ?? new Map();
        usage.set(key, byGroup);
        const entry = byGroup.get(groupKey) ?? { row, sum: { quantity: 0n, covered: 0n, amount: 0n, events: 0n } };
        byGroup.set(groupKey, entry);
        add(entry.sum, s);
      } else if (step === 'allowance' || step === 'discount' || step === 'commitment' || step === 'credit') {
        const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
        const row = { step, pool: text(s.pool), grantId: text(s.grant), mode: text(s.mode), percent: text(s.percent) } as Omit<StepAggregate, 'covered' | 'amount' | 'events'>;
        const groupKey = `${row.step}\u0000${row.pool}\u0000${row.grantId}\u0000${row.mode}\u0000${row.percent}`;
        const byGroup = steps.get(key) ?? new Map();
        steps.set(key, byGroup);
        const entry = byGroup.get(groupKey) ?? { row, sum: { quantity: 0n, covered: 0n, amount: 0n, events: 0n } };
        byGroup.set(groupKey, entry);
        add(entry.sum, s);
      }
    }
  }
  return {
    usage: new Map([...usage].map(([key, groups]) => [key, [...groups.values()].map(({ row, sum }): UsageAggregate => ({ ...row, quantity: formatQuantity(sum.quantity), amount: formatNano(sum.amount), events: sum.events }))])),
    steps: new Map([...steps].map(([key, groups]) => [key, [...groups.values()].map(({ row, sum }): StepAggregate => ({ ...row, covered: formatQuantity(sum.covered), amount: formatNano(sum.amount), events: sum.events }))])),
    rated: new Map([...rated].map(([key, amount]) => [key, formatNano(amount)])),
  };
}
