// Re-rating: a price-book version added with an earlier effective_from changes what events already rated should
// have cost. A job replays every affected period through the kernel (whole, in acknowledgement order, from the
// period's starting state; a reseller chain's periods together, through the chain: replays.ts) and stores a preview; after approval a second job replays again under the periods'
// locks and applies it: rated-line revisions, period totals and aggregates, credit given back to grants, then
// per period a rebuilt draft, a credit note (the invoice went down) or an adjustment on the next invoice (up).
import crypto from 'node:crypto';
import { creditsDrawn, formatMoney, type RatedEvent, type ReceiptStep } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, conflict, notFound, precondition } from '../../platform/errors.ts';
import { toNano } from '../../platform/money.ts';
import type { SignalHandler } from '../../platform/signals.ts';
import { recordChange } from '../audit/service.ts';
import * as notify from '../notifications/service.ts';
import { issueCreditNoteLocked, type CreditDraft } from '../creditnotes/service.ts';
import { moveChainDaily } from '../events/chain-daily.ts';
import type { ChainLevelCharge } from '../events/chain-codec.ts';
import { netOf } from '../events/chain.ts';
import { aggregateEvents, creditsInReceipt } from '../events/aggregate.ts';
import { kernelVersion } from '../events/rating.ts';
import type { DraftLine } from '../invoices/build.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { recordInvoiceAggregates } from '../invoices/aggregates.ts';
import { buildPeriodInvoice, rebuildDraft, recordAdjustments } from '../invoices/service.ts';
import { accounts, postTransactions, type Posting } from '../ledger/service.ts';
import * as metersRepo from '../meters/repo.ts';
import * as pricingRepo from '../pricing/repo.ts';
import * as periodsRepo from '../periods/index.ts';
import * as walletsRepo from '../wallets/repo.ts';
import {
  closeOverChains,
  planReplay,
  replayAll,
  type ChainEventReplay,
  type EventReplay,
  type PeriodReplay,
  type Replay,
  type ReplayPlan,
} from './replays.ts';
import * as repo from './repo.ts';
import type { ListReratingsInput } from '@tariff/openapi/schemas/reratings';

/**
 * The reaction to a retroactive price version (the signal `price_book.retroactive_version`, wired in app.ts), in
 * the transaction that adds it: the re-rating the billing tick will preview.
 */
export const startRerating: SignalHandler<'price_book.retroactive_version'> = async (scope, { now, ...input }) => {
  await repo.insertRerating(scope, { id: crypto.randomUUID(), ...input, createdAt: now });
};

const money = (n: bigint) => formatMoney(n);

function previewOf(
  replay: Replay,
  invoices: Map<string, invoicesRepo.Invoice | undefined>,
): ApiSchemas['ReratingPreview'] {
  const customers = new Map<string, ApiSchemas['ReratingPreview']['customers'][number]>();
  const totals = new Map<string, { old: bigint; new: bigint }>();
  for (const p of replay.periods) {
    const id = p.period.customerExternalId;
    const customer = customers.get(id) ?? {
      customer_id: id,
      currency: p.period.currency,
      old_amount: '',
      new_amount: '',
      difference: '',
      periods: [],
    };
    const invoice = invoices.get(periodsRepo.periodKey(p.period));
    customer.periods.push({
      start: p.period.start.toISOString(),
      end: p.period.end.toISOString(),
      invoice: invoice ? { id: invoice.id, number: invoice.number, status: invoice.status } : null,
      events: String(p.events.length),
      old_amount: money(p.oldAmount),
      new_amount: money(p.newAmount),
      difference: money(p.newAmount - p.oldAmount),
      lines: [...p.lines.values()]
        .filter((l) => l.old !== l.new || l.old !== 0n)
        .sort((a, b) => a.card.localeCompare(b.card) || JSON.stringify(a.group).localeCompare(JSON.stringify(b.group)))
        .map((l) => ({
          card: l.card,
          dimension: l.dimension,
          group: l.group,
          old_amount: money(l.old),
          new_amount: money(l.new),
          difference: money(l.new - l.old),
        })),
    });
    customers.set(id, customer);
    const total = totals.get(id) ?? { old: 0n, new: 0n };
    total.old += p.oldAmount;
    total.new += p.newAmount;
    totals.set(id, total);
  }
  for (const [id, customer] of customers) {
    const total = totals.get(id)!;
    Object.assign(customer, {
      old_amount: money(total.old),
      new_amount: money(total.new),
      difference: money(total.new - total.old),
    });
  }
  return { customers: [...customers.values()], unratable: replay.unratable };
}

async function invoicesOf(
  scope: TenantScope,
  periods: repo.AffectedPeriod[],
): Promise<Map<string, invoicesRepo.Invoice | undefined>> {
  const invoices = new Map<string, invoicesRepo.Invoice | undefined>();
  for (const p of periods)
    invoices.set(periodsRepo.periodKey(p), await invoicesRepo.findInvoiceByPeriod(scope, p.customerId, p.start));
  return invoices;
}

function periodsOf(plan: ReplayPlan): repo.AffectedPeriod[] {
  return [...plan.direct, ...plan.chain.periods];
}

/**
 * Locks what applying the plan writes: grants, then invoices, then periods (the orders ingestion (grants,
 * periods) and finalization (invoice, period) take their locks in, so neither deadlocks with this), so no event
 * lands in the periods while they are replayed. A chain event acknowledged before the locks may have brought
 * its chain's periods more periods: the closure is taken again under them and the new ones locked too.
 */
async function lockPlan(scope: TenantScope, plan: ReplayPlan): Promise<ReplayPlan> {
  const lock = async (periods: repo.AffectedPeriod[]) => {
    if (periods.length === 0) return;
    await repo.lockGrantsOf(scope, [...new Set(periods.map((p) => p.customerId))]);
    await repo.lockInvoicesOf(scope, periods);
    await periodsRepo.lockPeriods(scope, periods);
  };
  await lock(periodsOf(plan));
  if (plan.chain.periods.length === 0) return plan;
  const chain = await closeOverChains(scope, plan.chain.periods);
  const locked = new Set(plan.chain.periods.map(periodsRepo.periodKey));
  await lock(chain.periods.filter((p) => !locked.has(periodsRepo.periodKey(p))));
  return { direct: plan.direct, chain };
}

/** The next revision of an event's own rating, from its replay. */
function revisionOf(
  old: { transactionId: string; revision: number; priceBookId: string },
  at: { customerId: string; periodStart: Date },
  e: EventReplay,
  kernelVersion: string,
): repo.Revision {
  return {
    transactionId: old.transactionId,
    revision: old.revision + 1,
    customerId: at.customerId,
    periodStart: at.periodStart,
    priceBookId: old.priceBookId,
    bookVersion: e.result.book_version!,
    kernelVersion,
    card: e.result.card!,
    currency: e.result.currency,
    amount: money(e.amount),
    subtotal: e.result.subtotal!,
    cost: e.result.cost ?? null,
    margin: e.result.margin ?? null,
    receipt: e.receipt,
  };
}

/** A chain's level as events.chain stores it, from its replay. */
function chainLevelOf(stored: repo.ChainReplayEvent['chain'][number], e: EventReplay): ChainLevelCharge {
  const amount = money(e.amount);
  return {
    customerId: stored.customerId,
    periodStart: stored.periodStart,
    priceBookId: stored.priceBookId,
    bookVersion: e.result.book_version!,
    card: e.result.card!,
    currency: e.result.currency,
    amount,
    subtotal: e.result.subtotal!,
    net: money(netOf({ amount, receipt: e.receipt })),
    cost: e.result.cost ?? null,
    creditsApplied: money(creditsDrawn({ receipt: e.receipt } as RatedEvent)),
    receipt: e.receipt,
  };
}

/**
 * The chains' events whose rating changed at any level: one revision each, its own level and its chain as
 * re-rated (the receipt shows the new chain), and chain_daily moved from the old chain to the new, so margin
 * reports stay what the levels' ratings say.
 */
async function reviseChains(scope: TenantScope, chains: ChainEventReplay[], version: string, now: Date) {
  const changed = chains.filter((c) => c.levels.some((e) => e.changed));
  await repo.insertRevisions(
    scope,
    changed.map(({ event, levels: [own, ...above] }) => ({
      ...revisionOf(event, event, own, version),
      chain: above.map((e, k) => chainLevelOf(event.chain[k], e)),
    })),
    now,
  );
  const path = (
    event: repo.ChainReplayEvent,
    own: { amount: string; receipt: ReceiptStep[] },
    levels: ChainLevelCharge[],
    sign: 1 | -1,
  ) => ({
    occurredAt: event.occurredAt,
    own: { customerId: event.customerId, ...own },
    levels: levels.map((l, k) => ({ ...l, level: k + 1 })),
    sign,
  });
  await moveChainDaily(
    scope,
    changed.flatMap(({ event, levels: [own, ...above] }) => [
      path(event, event, event.chain, -1),
      path(
        event,
        { amount: money(own.amount), receipt: own.receipt },
        above.map((e, k) => chainLevelOf(event.chain[k], e)),
        1,
      ),
    ]),
  );
}

/** The preview job: replays without locking or writing anything but the preview. Idempotent. */
export async function previewRerating(
  deps: Deps,
  tenantId: string,
  reratingId: string,
): Promise<'previewed' | 'skipped'> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const rerating = await repo.findRerating(scope, reratingId, { lock: true });
    if (!rerating || rerating.status !== 'pending') return 'skipped';
    const plan = await planReplay(scope, rerating.priceBookId, rerating.effectiveFrom);
    const replay = await replayAll(scope, plan);
    const preview = previewOf(replay, await invoicesOf(scope, periodsOf(plan)));
    await repo.updateRerating(
      scope,
      rerating.id,
      { status: 'previewed', preview: preview as unknown as Record<string, unknown>, previewedAt: now },
      now,
    );
    await recordReratingNotification(scope, 'rerating.previewed', rerating.id, now);
    await recordChange(tx, deps.clock, 'system', tenantId, {
      action: 'rerating.previewed',
      entityType: 'rerating',
      entityId: rerating.id,
      after: { customers: preview.customers.length, unratable: preview.unratable.length },
    });
    return 'previewed';
  });
}

export async function approveRerating(deps: Deps, actor: Actor, reratingId: string): Promise<ApiSchemas['Rerating']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const rerating = await repo.findRerating(scope, reratingId, { lock: true });
    if (!rerating) throw notFound('rerating_not_found', `No re-rating "${reratingId}"`);
    if (rerating.status !== 'previewed') {
      throw conflict(
        'rerating_not_previewed',
        rerating.status === 'pending'
          ? 'The re-rating has no preview yet; approve it once it is previewed'
          : `The re-rating is already ${rerating.status}`,
      );
    }
    const unratable = ((rerating.preview as { unratable?: unknown[] } | null)?.unratable ?? []).length;
    if (unratable > 0)
      throw precondition(
        'rerating_unratable_events',
        `The new version cannot rate ${unratable} event(s) of the preview; add a version that can, which starts a new re-rating`,
      );
    const by = `${actor.type}:${actor.id}`;
    await repo.updateRerating(scope, rerating.id, { status: 'approved', approvedAt: now, approvedBy: by }, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'rerating.approved',
      entityType: 'rerating',
      entityId: rerating.id,
      after: { status: 'approved' },
    });
    return toApiRerating((await repo.findRerating(scope, rerating.id))!);
  });
}

type PeriodResult = ApiSchemas['ReratingResult']['periods'][number];

/**
 * The apply job. Locks the affected customers' grants (id order, as ingestion) and then their periods (key
 * order), replays again, and writes everything in one transaction. Events the new version cannot rate fail
 * the re-rating (nothing is applied). Idempotent.
 */
export async function applyRerating(
  deps: Deps,
  tenantId: string,
  reratingId: string,
): Promise<'applied' | 'failed' | 'skipped'> {
  try {
    return await applyApproved(deps, tenantId, reratingId);
  } catch (error) {
    if (!(error instanceof ReratingFailed)) throw error;
    // Nothing of the attempt was kept; the re-rating records why.
    const now = deps.clock.now();
    await withTenant(deps.db, tenantId, async (tx) => {
      const scope = { db: tx, tenantId };
      const rerating = await repo.findRerating(scope, reratingId, { lock: true });
      if (rerating?.status === 'approved')
        await repo.updateRerating(scope, reratingId, { status: 'failed', error: error.message }, now);
    });
    return 'failed';
  }
}

/** What makes an approved re-rating impossible to apply as it stands (the job records it and stops). */
class ReratingFailed extends Error {}

async function applyApproved(deps: Deps, tenantId: string, reratingId: string): Promise<'applied' | 'skipped'> {
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const rerating = await repo.findRerating(scope, reratingId, { lock: true });
    if (!rerating || rerating.status !== 'approved') return 'skipped';
    const plan = await lockPlan(scope, await planReplay(scope, rerating.priceBookId, rerating.effectiveFrom));
    const periods = periodsOf(plan);
    const replay = await replayAll(scope, plan);
    if (replay.unratable.length > 0) {
      throw new ReratingFailed(
        `The new version cannot rate ${replay.unratable.length} event(s), e.g. ${replay.unratable[0].transaction_id}: ${replay.unratable[0].code}`,
      );
    }

    const version = kernelVersion();
    const results: PeriodResult[] = [];
    const returnedByGrant = new Map<string, { amount: bigint; customerId: string; currency: string }>();
    const eventTypes = [...new Set(replay.periods.flatMap((p) => p.events.map((e) => e.old.eventType)))];
    const meters = await metersRepo.listMetersForEventTypes(scope, eventTypes);
    const invoices = await invoicesOf(scope, periods);
    // A final invoice is compared as its period builds before and after this re-rating, so earlier corrections
    // (credit notes, adjustments) of the same invoice are not counted twice. Built before anything moves: a
    // reseller's invoice reads chain_daily, which the chains' revisions move for every level at once.
    const befores = new Map<string, Awaited<ReturnType<typeof buildPeriodInvoice>>>();
    for (const p of replay.periods) {
      const invoice = invoices.get(periodsRepo.periodKey(p.period));
      if (invoice && (invoice.status === 'finalized' || invoice.status === 'paid'))
        befores.set(periodsRepo.periodKey(p.period), await buildPeriodInvoice(scope, invoice, now));
    }
    await reviseChains(scope, replay.chains, version, now);
    for (const p of replay.periods) {
      const changed = p.events.filter((e) => e.changed);
      const invoice = invoices.get(periodsRepo.periodKey(p.period));
      const before = befores.get(periodsRepo.periodKey(p.period));
      const returned = changed.flatMap((e) => e.returned).reduce((sum, r) => sum + r.amount, 0n);
      for (const e of changed) {
        for (const r of e.returned) {
          const entry = returnedByGrant.get(r.grantId) ?? {
            amount: 0n,
            customerId: p.period.customerId,
            currency: p.period.currency,
          };
          entry.amount += r.amount;
          returnedByGrant.set(r.grantId, entry);
        }
      }
      // A chain's events get their revisions from reviseChains, every level in one.
      await repo.insertRevisions(
        scope,
        (p.period.inChain ? [] : changed).map((e) =>
          revisionOf(e.old, { customerId: p.period.customerId, periodStart: p.period.start }, e, version),
        ),
        now,
      );
      // Late events are billed by adjustments, not by their period's invoice: their difference is one too.
      const late = await repo.findLateEvents(
        scope,
        p.period.customerId,
        changed.map((e) => e.old.transactionId),
      );
      // The period's invoice aggregates: each changed line leaves with its old receipt and comes back with its new.
      await recordInvoiceAggregates(
        scope,
        changed
          .filter((e) => !late.has(e.old.transactionId))
          .flatMap((e) => {
            const line = {
              customerId: p.period.customerId,
              periodStart: p.period.start,
              occurredAt: e.old.occurredAt,
              properties: e.old.properties,
            };
            return [
              { ...line, card: e.old.card, amount: e.old.amount, receipt: e.old.receipt, sign: -1 as const },
              { ...line, card: e.result.card!, amount: money(e.amount), receipt: e.receipt, sign: 1 as const },
            ];
          }),
      );
      await periodsRepo.correctPeriod(
        scope,
        {
          customerId: p.period.customerId,
          start: p.period.start,
          state: p.state,
          amountDelta: money(p.newAmount - p.oldAmount),
          creditsDelta: money(-returned),
        },
        now,
      );
      const deltas = aggregateEvents(
        meters,
        changed
          // Usage aggregates are the event's own customer's only (a reseller level has none for its subtree).
          .filter(
            (e) =>
              e.level === 0 &&
              (e.amount !== toNano(e.old.amount) || creditsInReceipt(e.receipt) !== creditsInReceipt(e.old.receipt)),
          )
          // Each meter's share moves from its old to its new part: the old amount out, the new in, each split by its
          // receipt; the gross (before credits) likewise.
          .flatMap((e) => {
            const event = {
              customerId: p.period.customerId,
              periodStart: p.period.start,
              occurredAt: e.old.occurredAt,
              eventType: e.old.eventType,
              properties: e.old.properties,
            };
            const oldAmount = toNano(e.old.amount);
            return [
              {
                ...event,
                amountNano: -oldAmount,
                grossNano: -(oldAmount + creditsInReceipt(e.old.receipt)),
                receipt: e.old.receipt,
              },
              { ...event, amountNano: e.amount, grossNano: e.amount + creditsInReceipt(e.receipt), receipt: e.receipt },
            ];
          }),
      );
      await repo.correctAggregateAmounts(
        scope,
        deltas.map((d) => ({
          customerId: d.customerId,
          periodStart: d.periodStart,
          meterId: d.meterId,
          day: d.day,
          groupKey: d.groupKey,
          amount: money(d.amountNano),
          grossAmount: money(d.grossNano),
        })),
      );
      const result = await settleInvoice(scope, rerating, p, invoice, before?.lines, now);
      await recordAdjustments(
        scope,
        changed
          .filter((e) => late.has(e.old.transactionId) && e.amount !== toNano(e.old.amount))
          .map((e) => ({
            customerId: p.period.customerId,
            currency: p.period.currency,
            source: 'rerating' as const,
            reference: rerating.id,
            description: `Re-rating of late event ${e.old.transactionId} (price book ${rerating.priceBookCode} from ${rerating.effectiveFrom.toISOString()})`,
            occurredAt: e.old.occurredAt,
            periodStart: p.period.start,
            stream: 'usage' as const,
            amount: e.amount - toNano(e.old.amount),
          })),
        now,
      );
      results.push({
        customer_id: p.period.customerExternalId,
        start: p.period.start.toISOString(),
        events: String(changed.length),
        difference: money(p.newAmount - p.oldAmount),
        credit_returned: money(returned),
        ...result,
      });
    }
    await postTransactions(scope, await returnCredit(scope, rerating, returnedByGrant, now), now);
    await repo.updateRerating(
      scope,
      rerating.id,
      { status: 'applied', result: { periods: results }, appliedAt: now },
      now,
    );
    await recordReratingNotification(scope, 'rerating.applied', rerating.id, now);
    await recordChange(tx, deps.clock, 'system', tenantId, {
      action: 'rerating.applied',
      entityType: 'rerating',
      entityId: rerating.id,
      after: { periods: results.length },
    });
    return 'applied';
  });
}

/**
 * Credit the re-rated events no longer need goes back to its grant (debit usage revenue, credit the grant). A
 * grant that has ended since lapses it again at once, the way it ended (expired prepaid: breakage; otherwise
 * back to its funding), so an ended grant stays at zero.
 */
async function returnCredit(
  scope: TenantScope,
  rerating: repo.Rerating,
  returned: Map<string, { amount: bigint; customerId: string; currency: string }>,
  now: Date,
): Promise<Posting[]> {
  const postings: Posting[] = [];
  const balances: { id: string; balance: string }[] = [];
  for (const [grantId, { amount, customerId, currency }] of returned) {
    if (amount === 0n) continue;
    const grant = (await walletsRepo.findGrantById(scope, grantId))!;
    const account = accounts.grant(grantId, currency, customerId);
    postings.push({
      kind: 'rerating_credit_returned',
      customerId,
      currency,
      reference: rerating.id,
      description: `re-rating ${rerating.id}: credit returned to grant ${grantId}`,
      occurredAt: now,
      lines: [
        { account: accounts.revenue('usage', currency), amount },
        { account, amount: -amount },
      ],
    });
    if (grant.status === 'active') {
      balances.push({ id: grantId, balance: money(toNano(grant.balance) + amount) });
      continue;
    }
    const funding =
      grant.kind === 'prepaid' ? accounts.prepaidPurchases(currency) : accounts.creditExpense(grant.kind, currency);
    const lapse =
      grant.status === 'expired' && grant.kind === 'prepaid' ? accounts.revenue('breakage', currency) : funding;
    postings.push({
      kind: grant.status === 'expired' ? 'grant_expired' : 'grant_voided',
      customerId,
      currency,
      reference: grantId,
      description: `credit returned by re-rating ${rerating.id} after the grant was ${grant.status}`,
      occurredAt: now,
      lines: [
        { account, amount },
        { account: lapse, amount: -amount },
      ],
    });
  }
  await walletsRepo.updateGrantBalances(scope, balances);
  return postings;
}

/** What a line of an invoice is, whatever its rate: re-rating compares invoices line by line on this. */
function lineIdentity(l: Pick<DraftLine, 'kind' | 'card' | 'dimension' | 'group' | 'grantId' | 'description'>): string {
  if (l.kind === 'usage') return JSON.stringify([l.kind, l.card, l.dimension, l.group ?? {}]);
  if (l.kind === 'credit') return JSON.stringify([l.kind, l.grantId]);
  if (
    l.kind === 'base_fee' ||
    l.kind === 'discount' ||
    l.kind === 'commitment' ||
    l.kind === 'minimum_true_up' ||
    l.kind === 'allowance'
  )
    return JSON.stringify([l.kind, l.kind === 'allowance' ? l.description : '']);
  return JSON.stringify([l.kind, l.description]);
}

/**
 * The period's invoice after its events were re-rated: a draft is rebuilt; a finalized or paid one is
 * compared line by line with its new build, and a net decrease becomes a credit note (one line per changed
 * invoice line), a net increase an adjustment on the customer's next invoice. A void invoice is left alone.
 */
async function settleInvoice(
  scope: TenantScope,
  rerating: repo.Rerating,
  p: PeriodReplay,
  invoice: invoicesRepo.Invoice | undefined,
  before: DraftLine[] | undefined,
  now: Date,
): Promise<Pick<PeriodResult, 'action' | 'credit_note' | 'adjustment'>> {
  const none = { action: 'none' as const, credit_note: null, adjustment: null };
  if (!invoice) return none;
  if (invoice.status === 'void') return { ...none, action: 'invoice_void' };
  const locked = (await invoicesRepo.findInvoice(scope, invoice.id, { lock: true }))!;
  if (locked.status === 'draft') {
    await rebuildDraft(scope, locked, now);
    return { ...none, action: 'draft_rebuilt' };
  }
  const built = await buildPeriodInvoice(scope, locked, now);
  const stored = (await invoicesRepo.listLines(scope, [locked.id])).get(locked.id) ?? [];
  const lineOf = new Map<string, number>();
  for (const l of stored) if (!lineOf.has(lineIdentity(l))) lineOf.set(lineIdentity(l), l.line);
  const changes = new Map<
    string,
    { invoiceLine: number | null; kind: DraftLine['kind']; description: string; old: bigint; new: bigint }
  >();
  for (const l of before ?? []) {
    const key = lineIdentity(l);
    const entry = changes.get(key) ?? {
      invoiceLine: lineOf.get(key) ?? null,
      kind: l.kind,
      description: l.description,
      old: 0n,
      new: 0n,
    };
    entry.old += l.amountExact;
    changes.set(key, entry);
  }
  for (const l of built.lines) {
    const key = lineIdentity(l);
    const entry = changes.get(key) ?? {
      invoiceLine: lineOf.get(key) ?? null,
      kind: l.kind,
      description: l.description,
      old: 0n,
      new: 0n,
    };
    entry.new += l.amountExact;
    changes.set(key, entry);
  }
  const changed = [...changes.values()].filter((c) => c.old !== c.new);
  const net = changed.reduce((sum, c) => sum + c.new - c.old, 0n);
  const unit = 10n ** BigInt(9 - locked.minorUnit);
  if (net < 0n && -net * 2n >= unit) {
    const lines: CreditDraft[] = changed.map((c) => ({
      invoiceLine: c.invoiceLine,
      kind: c.kind,
      description: `Re-rated: ${c.description} (was ${money(c.old)}, now ${money(c.new)})`,
      amountExact: c.old - c.new,
      details: { old_amount: money(c.old), new_amount: money(c.new) },
    }));
    const reason = `Re-rating of price book ${rerating.priceBookCode} from ${rerating.effectiveFrom.toISOString()}`;
    let id: string;
    try {
      id = await issueCreditNoteLocked(
        scope,
        locked,
        { reason, origin: 'rerating', reratingId: rerating.id, createdBy: 'system', lines },
        now,
      );
    } catch (error) {
      // Credit notes already issued by hand leave less of the invoice than the re-rating would credit.
      if (error instanceof AppError && error.code === 'credit_exceeds_invoice')
        throw new ReratingFailed(`Invoice ${locked.number}: ${error.message}`);
      throw error;
    }
    const [note] =
      await scope.db`select number, total::text from credit_notes where tenant_id = ${scope.tenantId} and id = ${id}`;
    return {
      action: 'credit_note',
      credit_note: { id, number: note.number, total: money(toNano(note.total)) },
      adjustment: null,
    };
  }
  if (net > 0n) {
    await recordAdjustments(
      scope,
      [
        {
          customerId: locked.customerId,
          currency: locked.currency,
          source: 'rerating',
          reference: rerating.id,
          description: `Re-rating of ${locked.number} (price book ${rerating.priceBookCode} from ${rerating.effectiveFrom.toISOString()})`,
          occurredAt: p.period.start,
          periodStart: p.period.start,
          stream: 'usage',
          amount: net,
        },
      ],
      now,
    );
    return { action: 'adjustment', credit_note: null, adjustment: money(net) };
  }
  return none;
}

export async function getRerating(deps: Deps, actor: Actor, id: string): Promise<ApiSchemas['Rerating']> {
  requirePermission(actor, 'billing.read');
  const rerating = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.findRerating({ db: tx, tenantId: actor.tenantId }, id),
  );
  if (!rerating) throw notFound('rerating_not_found', `No re-rating "${id}"`);
  return toApiRerating(rerating);
}

export async function listReratings(
  deps: Deps,
  actor: Actor,
  input: ListReratingsInput,
): Promise<ApiSchemas['ReratingList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    let priceBookId: string | undefined;
    if (input.price_book !== undefined) {
      const book = await pricingRepo.findPriceBookByCode(scope, input.price_book);
      if (!book) throw notFound('price_book_not_found', `No price book "${input.price_book}"`);
      priceBookId = book.id;
    }
    const rows = await repo.listReratings(scope, {
      priceBookId,
      status: input.status,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    return { data: rows.map(toApiRerating), has_more: rows.length === input.limit };
  });
}

/** Every rated-line revision of an event: the receipt as first rated and as each re-rating left it. */
export async function listEventRevisions(
  deps: Deps,
  actor: Actor,
  transactionId: string,
): Promise<ApiSchemas['EventRevisionList']> {
  requirePermission(actor, 'usage.read');
  const rows = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listEventRevisions({ db: tx, tenantId: actor.tenantId }, transactionId),
  );
  if (rows.length === 0) throw notFound('event_not_found', `No event "${transactionId}"`);
  return {
    transaction_id: transactionId,
    data: rows.map((r) => ({
      revision: r.revision,
      period_start: r.periodStart.toISOString(),
      book_version: r.bookVersion.toISOString(),
      kernel_version: r.kernelVersion,
      card: r.card,
      currency: r.currency,
      amount: money(toNano(r.amount)),
      subtotal: money(toNano(r.subtotal)),
      rated_at: r.ratedAt.toISOString(),
      receipt: r.receipt as unknown as ApiSchemas['EventRevisionList']['data'][number]['receipt'],
    })),
  };
}

/** The re-rating as the API shows it, once per re-rating and type (a large preview is cut by the outbox's 64 KiB cap). */
async function recordReratingNotification(
  scope: TenantScope,
  type: 'rerating.previewed' | 'rerating.applied',
  reratingId: string,
  now: Date,
): Promise<void> {
  const rerating = toApiRerating((await repo.findRerating(scope, reratingId))!);
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type,
    customerId: null,
    subjectId: reratingId,
    payload: rerating as unknown as Record<string, unknown>,
    createdAt: now,
  });
}

export function toApiRerating(r: repo.Rerating): ApiSchemas['Rerating'] {
  return {
    id: r.id,
    price_book: r.priceBookCode,
    effective_from: r.effectiveFrom.toISOString(),
    book_versions: r.bookVersions,
    status: r.status,
    preview: r.preview as unknown as ApiSchemas['Rerating']['preview'],
    result: r.result as unknown as ApiSchemas['Rerating']['result'],
    error: r.error,
    created_at: r.createdAt.toISOString(),
    created_by: r.createdBy,
    previewed_at: r.previewedAt?.toISOString() ?? null,
    approved_at: r.approvedAt?.toISOString() ?? null,
    approved_by: r.approvedBy,
    applied_at: r.appliedAt?.toISOString() ?? null,
  };
}
