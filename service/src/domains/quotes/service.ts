// Signed price quotes. POST /v1/quotes rates an event against the customer's state as ingestion would now and
// signs what it found (amount, currency, book version, the event's fingerprint, expiry) with the tenant's key.
// An event that arrives before the expiry carrying the quote is honoured: it is rated with the quoted book version
// instead of the one in force, and its receipt ends with a `quote` step. The rules are in the API document
// (openapi/src/edge.ts) and service/README.md.
import crypto from 'node:crypto';
import { parseInstant, type PriceBook, type RatedEvent, type UsageEvent } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { type Db, withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import * as customersRepo from '../customers/repo.ts';
import { compiledBook, rateEvents } from '../events/rating.ts';
import { loadRatingContext } from '../snapshots/service.ts';
import type { CreateQuoteInput } from '@tariff/openapi/schemas/quotes';
import { currentSigningKey, signingKeyById } from './signing.ts';
import { epochSeconds, signToken, tokenKeyId, verifyToken } from './tokens.ts';

/** How far ahead of the server's clock an event may be stamped (as ingestion allows), in milliseconds. */
const futureTolerance = 5 * 60 * 1000;

/** The fields a quote binds, hashed: who, what and which transaction; not when (the quote's expiry bounds that). */
export function eventFingerprint(
  event: Pick<UsageEvent, 'transaction_id' | 'customer_id' | 'event_type'> & { properties?: Record<string, unknown> },
): string {
  const properties = Object.entries(event.properties ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([event.transaction_id, event.customer_id, event.event_type, properties]);
  return `sha256:${crypto.createHash('sha256').update(canonical).digest('hex')}`;
}

export async function createQuote(deps: Deps, actor: Actor, input: CreateQuoteInput): Promise<ApiSchemas['Quote']> {
  // A quote commits the tenant to a price for a while: keys that may send events, not publishable ones.
  requirePermission(actor, 'events.write');
  const now = deps.clock.now();
  const event = input.event as UsageEvent;
  const ms = parseInstant(event.timestamp);
  if (ms === undefined)
    throw invalid('invalid_timestamp', 'event.timestamp must be an ISO 8601 instant with a zone', [
      { field: 'event.timestamp', reason: 'must be an ISO 8601 instant with a zone, e.g. "2026-03-01T12:00:00Z"' },
    ]);
  const occurredAt = new Date(Number(ms));
  if (occurredAt.getTime() > now.getTime() + futureTolerance) {
    throw invalid('timestamp_in_future', 'event.timestamp is more than 5 minutes ahead of the server clock', [
      { field: 'event.timestamp', reason: `is after the server's clock (${now.toISOString()}) by more than 5 minutes` },
    ]);
  }
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // A closed period still rates its late events (billed as adjustments on the next invoice), so it is quoted too.
    const context = await loadRatingContext(scope, event.customer_id, occurredAt);
    const { id, versions, book } = context.priceBook;
    const compiled = await compiledBook(`${actor.tenantId}:${id}:${versions}`, async () => book);
    const rated = (
      await rateEvents(compiled, { [event.customer_id]: context.state }, [
        { ...event, timestamp: occurredAt.toISOString() },
      ])
    ).results[0];
    if (rated.status !== 'rated') {
      const field = rated.error?.field ? `event.${rated.error.field}` : 'event';
      throw invalid(
        rated.error?.code ?? 'rating_failed',
        rated.error?.message ?? 'The kernel could not rate this event',
        [{ field, reason: rated.error?.message ?? 'cannot be rated' }],
      );
    }
    // A blocking budget the event would exceed (or that an accepted event already took the customer past): no price
    // is promised. Spend as budgets count it: what is left to bill plus the credit drawn.
    const budget = context.billing?.blockingBudget;
    if (budget !== undefined) {
      const drawn = (rated.receipt ?? []).reduce(
        (sum, step) => (step.step === 'credit' ? sum + toNano((step as { amount: string }).amount) : sum),
        0n,
      );
      const spend = (context.stored ? toNano(context.stored.spend) : 0n) + toNano(rated.amount!) + drawn;
      if (spend > budget) {
        const reason = `would take the period's spend to ${formatMoney(spend)}, over the customer's blocking budget of ${formatMoney(budget)}`;
        throw precondition('budget_exceeded', `Customer "${event.customer_id}" is blocked: this event ${reason}`, [
          { field: 'event', reason },
        ]);
      }
    }
    const key = await currentSigningKey(scope, now);
    const expiresAt = new Date((epochSeconds(now) + input.expires_in) * 1000);
    const quoteId = `quo_${crypto.randomBytes(12).toString('base64url')}`;
    const fingerprint = eventFingerprint(event);
    const token = signToken(key, {
      typ: 'tariff.quote',
      tid: actor.tenantId,
      qid: quoteId,
      sub: event.customer_id,
      txn: event.transaction_id,
      fp: fingerprint,
      amt: rated.amount,
      cur: rated.currency,
      pb: context.priceBook.code,
      bv: rated.book_version,
      iat: epochSeconds(now),
      exp: epochSeconds(expiresAt),
    });
    return {
      quote: token,
      id: quoteId,
      transaction_id: event.transaction_id,
      customer_id: event.customer_id,
      currency: rated.currency,
      amount: rated.amount!,
      subtotal: rated.subtotal!,
      price_book: context.priceBook.code,
      book_version: rated.book_version!,
      card: rated.card!,
      fingerprint,
      issued_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
      receipt: rated.receipt as unknown as ApiSchemas['Quote']['receipt'],
    };
  });
}

/** A verified quote an event carries: what ingestion honours. */
export interface HonouredQuote {
  id: string;
  amount: string;
  currency: string;
  priceBook: string;
  /** The effective_from of the quoted version, as the kernel writes it. */
  bookVersion: string;
  expiresAt: string;
}

export interface RefusedQuote {
  code: 'quote_invalid' | 'quote_expired' | 'quote_mismatch';
  field: 'quote';
  message: string;
}

export type QuoteCheck = { ok: true; quote: HonouredQuote } | { ok: false; error: RefusedQuote };

/**
 * Whether an arriving event may use the quote it carries: signed with one of the tenant's keys, a quote (not a
 * snapshot token), not expired at `now` (arrival), and made for this very event (customer, transaction id, type
 * and properties: the fingerprint).
 */
export async function checkQuote(
  scope: TenantScope,
  event: Pick<UsageEvent, 'transaction_id' | 'customer_id' | 'event_type' | 'properties'>,
  token: string,
  now: Date,
): Promise<QuoteCheck> {
  const keyId = tokenKeyId(token);
  const key = keyId === undefined ? undefined : await signingKeyById(scope, keyId);
  const read = verifyToken(token, key, { typ: 'tariff.quote', tenantId: scope.tenantId, now });
  if (!read.ok) {
    if (read.problem === 'expired') return refuse('quote_expired', 'The quote expired before the event arrived');
    return refuse('quote_invalid', `The quote is not a valid quote of this tenant (${read.problem.replace('_', ' ')})`);
  }
  const claims = read.claims;
  if (
    claims.sub !== event.customer_id ||
    claims.txn !== event.transaction_id ||
    claims.fp !== eventFingerprint(event)
  ) {
    return refuse(
      'quote_mismatch',
      'The quote was made for another event (customer, transaction id, event type or properties differ)',
    );
  }
  return {
    ok: true,
    quote: {
      id: String(claims.qid),
      amount: String(claims.amt),
      currency: String(claims.cur),
      priceBook: String(claims.pb),
      bookVersion: String(claims.bv),
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    },
  };
}

/** What ingestion knows of an event when it checks its quote. */
export interface QuotedCandidate {
  event: Pick<UsageEvent, 'transaction_id' | 'customer_id' | 'event_type' | 'properties'>;
  occurredAt: Date;
  /** The token the event carried. */
  quoteToken?: string;
  /** Set here when the quote holds. */
  quote?: HonouredQuote;
}

/**
 * Ingestion's side: checks the quotes a batch's events carry, before rating, and sets `quote` on those that hold. A
 * quote holds when checkQuote accepts it and the customer's book at the event's instant is the quoted book (its
 * versions being append-only, the quoted version is then in it). Returns the events to reject, with why. Keys are
 * cached per process; the database is read once per batch that carries quotes.
 */
export async function admitQuotes<C extends QuotedCandidate>(
  db: Db,
  tenantId: string,
  candidates: C[],
  now: Date,
): Promise<{ candidate: C; error: RefusedQuote }[]> {
  const quoted = candidates.filter((c) => c.quoteToken !== undefined);
  if (quoted.length === 0) return [];
  return withTenant(db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const refused: { candidate: C; error: RefusedQuote }[] = [];
    const books = new Map<string, customersRepo.Assignment[] | undefined>();
    for (const candidate of quoted) {
      const check = await checkQuote(scope, candidate.event, candidate.quoteToken!, now);
      if (!check.ok) {
        refused.push({ candidate, error: check.error });
        continue;
      }
      const externalId = candidate.event.customer_id;
      if (!books.has(externalId)) {
        const customer = await customersRepo.findCustomerByExternalId(scope, externalId);
        books.set(externalId, customer ? await customersRepo.listAssignments(scope, customer.id) : undefined);
      }
      const assignment = books
        .get(externalId)
        ?.filter((a) => a.effectiveFrom.getTime() <= candidate.occurredAt.getTime())
        .at(-1);
      // No customer or no book: left to ingestion, which rejects the event for that.
      if (assignment && assignment.priceBookCode !== check.quote.priceBook) {
        refused.push({
          candidate,
          error: refuse(
            'quote_mismatch',
            `The quote is for price book "${check.quote.priceBook}", the customer's book at the event's instant is "${assignment.priceBookCode}"`,
          ).error,
        });
        continue;
      }
      candidate.quote = check.quote;
    }
    return refused;
  });
}

function refuse(code: RefusedQuote['code'], message: string): { ok: false; error: RefusedQuote } {
  return { ok: false, error: { code, field: 'quote', message } };
}

/**
 * The book that rates a quoted event: only the quoted price version, in force from the start of time, so the kernel
 * picks it whatever the event's instant (time-of-use windows still see the real instant). admitQuotes made sure the
 * book is the quoted one, and versions are never removed, so the version is there.
 */
export function ratingBook(book: PriceBook, quote: Pick<HonouredQuote, 'priceBook' | 'bookVersion'>): PriceBook {
  const at = parseInstant(quote.bookVersion);
  const version = book.versions.find((v) => parseInstant(v.effective_from) === at);
  if (book.id !== quote.priceBook || !version)
    throw new Error(`price book ${book.id} has no version ${quote.bookVersion} of quoted book ${quote.priceBook}`);
  return { ...book, versions: [{ ...version, effective_from: '1970-01-01T00:00:00Z' }] };
}

/** Where ingestion caches the compiled book of a quoted event: one per book and quoted version. */
export function ratingBookKey(priceBookId: string, quote: HonouredQuote | undefined): string {
  return quote ? `${priceBookId}@${quote.bookVersion}` : priceBookId;
}

/** The quote step a quoted event's receipt ends with; the rated event's book version is put back to the quoted one. */
export function honourQuote(result: RatedEvent, quote: HonouredQuote): RatedEvent {
  if (result.status !== 'rated') return result;
  const step = {
    step: 'quote',
    quote: quote.id,
    quoted_amount: quote.amount,
    book_version: quote.bookVersion,
    expires_at: quote.expiresAt,
  };
  return { ...result, book_version: quote.bookVersion, receipt: [...(result.receipt ?? []), step as never] };
}
