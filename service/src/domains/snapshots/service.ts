// A customer's pricing snapshot: what the kernel needs to rate the customer's next events exactly as ingestion
// will (the effective book with its zones pinned, the state ingestion would hand the kernel now: the period's
// counters and pools, the plan's allowances, minimum and discount, credit grants at their live balances, the
// depletion policy), the budget, an ETag, and a signed token stating the balance and the watermark. The rating
// context it is built from also prices quotes (domains/quotes).
import crypto from 'node:crypto';
import { type CustomerState, type PriceBook, withZoneTransitions } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import * as budgetsRepo from '../budgets/repo.ts';
import * as customersRepo from '../customers/repo.ts';
import { requireCustomer } from '../customers/service.ts';
import * as billing from '../events/billing.ts';
import { kernelVersion } from '../events/rating.ts';
import { loadPriceBook } from '../pricing/service.ts';
import * as pricingRepo from '../pricing/repo.ts';
import { currentSigningKey } from '../quotes/signing.ts';
import { epochSeconds, signToken } from '../quotes/tokens.ts';
import type { Period } from '../periods/calendar.ts';
import { grantInForce } from '../wallets/service.ts';
import * as repo from './repo.ts';

/** How long a snapshot token holds. Short: balances move with every event. */
export const snapshotTokenSeconds = 300;

export interface RatingContext {
  customer: customersRepo.Customer;
  billing: billing.CustomerBilling | undefined;
  priceBook: { id: string; code: string; versions: number; book: PriceBook };
  period: Period;
  /** The context rates events up to here: the period's end, or the next price-book assignment if sooner. */
  validUntil: Date;
  stored: repo.StoredPeriod | undefined;
  /** The state ingestion would give the kernel for an event at `at` (billing.ts kernelState). */
  state: CustomerState;
}

/**
 * The customer's rating context at `at`. Locks the customer's grants as ingestion does (loadBilling), so a batch
 * in flight commits first and the period state and the balances read next belong together.
 */
export async function loadRatingContext(scope: TenantScope, externalId: string, at: Date): Promise<RatingContext> {
  const customer = await requireCustomer(scope, externalId);
  const [billings, assignments] = await Promise.all([
    billing.loadBilling(scope, [externalId]),
    customersRepo.listAssignments(scope, customer.id),
  ]);
  const customerBilling = billings.get(externalId);
  let index = -1;
  assignments.forEach((a, i) => {
    if (a.effectiveFrom.getTime() <= at.getTime()) index = i;
  });
  if (index < 0)
    throw precondition('no_price_book', `Customer "${externalId}" has no price book at ${at.toISOString()}`);
  const assignment = assignments[index];
  const period = billing.periodFor(customerBilling, at);
  const next = assignments[index + 1]?.effectiveFrom;
  const validUntil = next && next.getTime() < period.end.getTime() ? next : period.end;
  const [stored, book, counts] = await Promise.all([
    repo.findPeriodByStart(scope, customer.id, period.start),
    loadPriceBook(scope, assignment.priceBookId),
    pricingRepo.countVersions(scope, [assignment.priceBookId]),
  ]);
  if (!book) throw notFound('price_book_not_found', `Price book ${assignment.priceBookCode} is gone`);
  const state = billing.kernelState(customerBilling, stored?.state ?? {}, period, book.currency);
  return {
    customer,
    billing: customerBilling,
    priceBook: {
      id: assignment.priceBookId,
      code: assignment.priceBookCode,
      versions: counts.get(assignment.priceBookId) ?? 0,
      book,
    },
    period,
    validUntil,
    stored,
    state,
  };
}

/** The credit in force at `at`, every grant of the customer's wallet at its live balance. */
export function creditBalanceAt(context: RatingContext, at: Date): bigint {
  let total = 0n;
  for (const grant of context.billing?.wallet.grants ?? [])
    if (grantInForce(grant, at)) total += context.billing!.balances.get(grant.id) ?? 0n;
  return total;
}

// Pinning zones walks their transitions; versions are append-only, so (book, version count) names the result.
const pinned = new Map<string, PriceBook>();
const maxPinned = 200;

function pinnedBook(tenantId: string, priceBook: RatingContext['priceBook']): PriceBook {
  const key = `${tenantId}:${priceBook.id}:${priceBook.versions}`;
  let book = pinned.get(key);
  if (!book) {
    book = withZoneTransitions(priceBook.book);
    pinned.set(key, book);
    if (pinned.size > maxPinned) pinned.delete(pinned.keys().next().value!);
  }
  return book;
}

export type SnapshotResult =
  { notModified: true; etag: string } | { notModified: false; etag: string; snapshot: ApiSchemas['PricingSnapshot'] };

/**
 * The snapshot, or `notModified` when `ifNoneMatch` names its current ETag. The ETag covers everything but the
 * watermark and the token, so it changes exactly when an estimate could: a new book version or assignment, an
 * event rated, a grant issued, drawn or voided, a policy, plan or budget change, a new period.
 */
export async function getPricingSnapshot(
  deps: Deps,
  actor: Actor,
  externalId: string,
  ifNoneMatch: string | undefined,
): Promise<SnapshotResult> {
  // The snapshot carries the customer's balances and budget: readers of usage and billing only (not publishable keys).
  requirePermission(actor, 'usage.read');
  requirePermission(actor, 'billing.read');
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const context = await loadRatingContext(scope, externalId, now);
    const budget = await budgetsRepo.findBudget(scope, context.customer.id);
    const content = {
      customer_id: externalId,
      currency: context.priceBook.book.currency,
      price_book: context.priceBook.code,
      kernel_version: kernelVersion(),
      period: {
        start: context.period.start.toISOString(),
        end: context.period.end.toISOString(),
        status: context.stored?.status ?? ('open' as const),
      },
      valid_until: context.validUntil.toISOString(),
      state: context.state as unknown as Record<string, unknown>,
      spend: formatMoney(context.stored ? toNano(context.stored.spend) : 0n),
      credit_balance: formatMoney(creditBalanceAt(context, now)),
      on_depletion: context.billing?.wallet.onDepletion ?? ('overage' as const),
      budget: budget ? { amount: formatMoney(toNano(budget.amount)), enforcement: budget.enforcement } : null,
    };
    // The book is named by its id and version count (versions never change), not hashed whole on every call.
    const etag = `"${crypto
      .createHash('sha256')
      .update(JSON.stringify([context.priceBook.id, context.priceBook.versions, content]))
      .digest('base64url')
      .slice(0, 32)}"`;
    if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, etag)) return { notModified: true, etag };

    const key = await currentSigningKey(scope, now);
    const expiresAt = new Date((epochSeconds(now) + snapshotTokenSeconds) * 1000);
    const token = signToken(key, {
      typ: 'tariff.pricing_snapshot',
      tid: actor.tenantId,
      sub: externalId,
      etag,
      cur: content.currency,
      bal: content.credit_balance,
      spd: content.spend,
      wm: now.toISOString(),
      iat: epochSeconds(now),
      exp: epochSeconds(expiresAt),
    });
    const { price_book, ...rest } = content;
    return {
      notModified: false,
      etag,
      snapshot: {
        ...rest,
        price_book,
        book: pinnedBook(actor.tenantId, context.priceBook) as unknown as Record<string, unknown>,
        watermark: now.toISOString(),
        etag,
        token,
        expires_at: expiresAt.toISOString(),
      },
    };
  });
}

/** If-None-Match: `*`, or a list of (weak or strong) tags; weak comparison, as RFC 9110 asks for it. */
function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
