// Incoming Stripe events at POST /v1/stripe/events/{tenant}: verified on the raw body with the tenant's signing
// secret (an event naming a connected `account`, a reseller's, with the secret of the tenant's Connect endpoint,
// and applied only to what that reseller collects), recorded once by their id, and applied in the same transaction, so a replay finds them recorded and a
// crash mid-way leaves nothing (Stripe sends the event again). Each handler moves state forward only: a paid
// invoice stays paid, a failure of an attempt the collection has moved past is stale, a payment method or dispute
// older than the one held does not replace it. Late, repeated and out-of-order events are therefore harmless.
import type Stripe from 'stripe';
import { openSecret } from '../../platform/crypto.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { allocateProRata, formatMoney, toNano } from '../../platform/money.ts';
import * as creditNotesRepo from '../creditnotes/repo.ts';
import { issueCreditNoteLocked } from '../creditnotes/service.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { resellerOfStripeAccount, stripeAccountOf } from '../brands/service.ts';
import { accounts, postTransactions } from '../ledger/service.ts';
import { applyIntent, notifyInvoice, secretKeyOf } from './collect.ts';
import { fromMinorUnits } from './dunning.ts';
import * as repo from './repo.ts';
import { settingsOf, stripeClient, verifyStripeEvent } from './stripe.ts';

type Outcome = { outcome: repo.StripeEventRow['outcome']; detail: string | null };
type Handler = (deps: Deps, scope: TenantScope, event: Stripe.Event, context: HandlerContext) => Promise<Outcome>;
interface HandlerContext {
  /** Objects read from Stripe before the transaction (a Checkout session's SetupIntent, the card it saved). */
  setupIntent?: Stripe.SetupIntent;
  card?: repo.SavedCard;
}

/** The connected account an event came from (Connect: a reseller's), or null for the tenant's own account. */
const accountOf = (event: Stripe.Event): string | null => (typeof event.account === 'string' ? event.account : null);

/** Where a Stripe object of the tenant's belongs: the account that collects it, as `accountOf` names one. */
const describeAccount = (account: string | null) => account ?? "the tenant's own account";

/**
 * Why an event may not touch what it names: it came from another account than the one collecting it (a
 * reseller's connected account naming the tenant's invoice, or another reseller's). Undefined when it may.
 */
function otherAccount(event: Stripe.Event, collectedThrough: string | null): string | undefined {
  const from = accountOf(event);
  return from === collectedThrough
    ? undefined
    : `collected through ${describeAccount(collectedThrough)}, not ${describeAccount(from)}`;
}

const invoiceAccount = (invoice: invoicesRepo.Invoice) => invoice.issuer?.stripe_account ?? null;

/** A connected account's event, unless a reseller brand of this tenant collects through that account. */
async function foreignAccount(scope: TenantScope, event: Stripe.Event): Promise<Outcome | undefined> {
  const account = accountOf(event);
  if (account === null || (await resellerOfStripeAccount(scope, account))) return undefined;
  return {
    outcome: 'unmatched',
    detail: `no reseller brand of this tenant collects through Stripe account ${account}`,
  };
}

/** The event's claimed connected account, read before verifying to choose the secret that must verify it. */
function claimedAccount(rawBody: Buffer): string | null {
  try {
    const account = (JSON.parse(rawBody.toString('utf8')) as { account?: unknown })?.account;
    return typeof account === 'string' ? account : null;
  } catch {
    return null;
  }
}

export interface ReceivedEvent {
  received: true;
  event_id: string;
  type: string;
  outcome: repo.StripeEventRow['outcome'];
  detail: string | null;
  duplicate: boolean;
}

class ReplayedEvent extends Error {}

/**
 * Verifies and applies one delivery. Unknown tenant (or one not connected): 404; a signature that does not verify
 * with the tenant's secret (including another tenant's events): 400; anything that verifies: 200 with what it did.
 */
export async function receiveStripeEvent(
  deps: Deps,
  tenantReference: string,
  rawBody: Buffer,
  signature: string | undefined,
): Promise<ReceivedEvent> {
  const tenantId = await repo.findTenantByReference(deps.db, tenantReference);
  if (!tenantId) throw notFound('tenant_not_found', `No tenant "${tenantReference}"`);
  const connection = await withTenant(deps.db, tenantId, (tx) => repo.findConnection({ db: tx, tenantId }));
  if (!connection) throw notFound('stripe_not_connected', `Tenant "${tenantReference}" has not connected Stripe`);
  if (!signature)
    throw invalid('invalid_signature', 'The Stripe-Signature header is missing', [
      { field: '(headers).stripe-signature', reason: 'missing' },
    ]);
  const key = settingsOf(deps).secretsKey;
  if (!key)
    throw notFound('stripe_not_connected', 'Stripe secrets cannot be opened on this server (SECRETS_KEY unset)');
  const connect = claimedAccount(rawBody) !== null;
  if (connect && !connection.connectWebhookSecretSealed)
    throw invalid(
      'invalid_signature',
      "A connected account's event, and this tenant has set no Connect signing secret",
      [{ field: '(headers).stripe-signature', reason: 'PUT /v1/stripe/connection with connect_webhook_secret first' }],
    );
  let event: Stripe.Event;
  try {
    event = verifyStripeEvent(
      rawBody,
      signature,
      connect
        ? openSecret(connection.connectWebhookSecretSealed!, key, `${tenantId}:stripe_connect_webhook_secret`)
        : openSecret(connection.webhookSecretSealed, key, `${tenantId}:stripe_webhook_secret`),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid(
      'invalid_signature',
      `The Stripe signature does not verify with this tenant's ${connect ? 'Connect ' : ''}signing secret`,
      [{ field: '(headers).stripe-signature', reason }],
    );
  }
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.data?.object !== 'object') {
    throw invalid('invalid_event', 'The body is not a Stripe event', [
      { field: '(body)', reason: 'needs id, type and data.object' },
    ]);
  }
  const scope = (tx: TenantScope['db']) => ({ db: tx, tenantId });
  const known = await withTenant(deps.db, tenantId, (tx) => repo.findEvent(scope(tx), event.id));
  if (known) return answer(known, true);
  const context = await readAhead(deps, tenantId, connection, event);
  try {
    return await withTenant(deps.db, tenantId, async (tx) => {
      const handler = handlers[event.type as keyof typeof handlers] as Handler | undefined;
      const result =
        (await foreignAccount(scope(tx), event)) ??
        (handler
          ? await handler(deps, scope(tx), event, context)
          : { outcome: 'ignored' as const, detail: 'Tariff does not act on this event type' });
      const row: repo.StripeEventRow = {
        id: event.id,
        type: event.type,
        stripeCreated: BigInt(event.created ?? 0),
        livemode: Boolean(event.livemode),
        outcome: result.outcome,
        detail: result.detail,
        account: accountOf(event),
        payload: event,
        receivedAt: deps.clock.now(),
      };
      // A concurrent delivery of the same event committed first: undo this one's effects.
      if (!(await repo.insertEvent(scope(tx), row))) throw new ReplayedEvent();
      return answer(row, false);
    });
  } catch (error) {
    if (!(error instanceof ReplayedEvent)) throw error;
    const stored = await withTenant(deps.db, tenantId, (tx) => repo.findEvent(scope(tx), event.id));
    return answer(stored!, true);
  }
}

function answer(row: repo.StripeEventRow, duplicate: boolean): ReceivedEvent {
  return { received: true, event_id: row.id, type: row.type, outcome: row.outcome, detail: row.detail, duplicate };
}

/**
 * A saved card's setup names its SetupIntent (Checkout) and payment method by id: read them before the transaction
 * (no network inside one). Without them the setup is applied all the same, only the card is not named.
 */
async function readAhead(
  deps: Deps,
  tenantId: string,
  connection: repo.Connection,
  event: Stripe.Event,
): Promise<HandlerContext> {
  const setup = event.data.object as Stripe.SetupIntent | Stripe.Checkout.Session;
  if (event.type !== 'checkout.session.completed' && event.type !== 'setup_intent.succeeded') return {};
  const stripe = () => stripeClient(settingsOf(deps), secretKeyOf(deps, tenantId, connection));
  try {
    // A connected account's event (a reseller's own Stripe account) names it: its objects are read there.
    const onAccount = accountOf(event) ? { stripeAccount: accountOf(event)! } : {};
    const setupIntent = await setupIntentOf(stripe, setup, onAccount);
    if (!setupIntent?.payment_method) return { setupIntent };
    const method =
      typeof setupIntent.payment_method === 'object'
        ? setupIntent.payment_method
        : await stripe().paymentMethods.retrieve(setupIntent.payment_method, {}, onAccount);
    return { setupIntent, card: method.card ? { brand: method.card.brand, last4: method.card.last4 } : undefined };
  } catch (error) {
    deps.logger.warn('could not read the setup of a saved payment method', {
      tenant_id: tenantId,
      object: setup.id,
      error: error instanceof Error ? error.message : String(error),
    });
    return event.type === 'setup_intent.succeeded' ? { setupIntent: setup as Stripe.SetupIntent } : {};
  }
}

/** The SetupIntent itself, or the one a Checkout session in setup mode completed (read with its payment method). */
async function setupIntentOf(
  stripe: () => Stripe,
  setup: Stripe.SetupIntent | Stripe.Checkout.Session,
  onAccount: { stripeAccount?: string },
): Promise<Stripe.SetupIntent | undefined> {
  if (setup.object === 'setup_intent') return setup;
  if (setup.mode !== 'setup' || !setup.setup_intent) return undefined;
  if (typeof setup.setup_intent === 'object') return setup.setup_intent;
  return stripe().setupIntents.retrieve(setup.setup_intent, { expand: ['payment_method'] }, onAccount);
}

/** The invoice and attempt a PaymentIntent belongs to: its metadata, or the attempt recorded with its id. */
async function intentTarget(
  scope: TenantScope,
  intent: { id: string; metadata?: Stripe.Metadata | null },
): Promise<{ invoiceId: string; attempt: number | null } | { foreign: string }> {
  const metadata = intent.metadata ?? {};
  if (metadata.tariff_tenant_id && metadata.tariff_tenant_id !== scope.tenantId)
    return { foreign: 'the payment intent belongs to another Tariff tenant' };
  const attempt =
    await scope.db`select invoice_id, attempt from payment_attempts where tenant_id = ${scope.tenantId} and payment_intent_id = ${intent.id}`;
  if (attempt.length > 0) return { invoiceId: attempt[0].invoice_id, attempt: attempt[0].attempt };
  const invoiceId = metadata.tariff_invoice_id;
  if (!invoiceId || !/^[0-9a-f-]{36}$/.test(invoiceId))
    return { foreign: 'the payment intent names no Tariff invoice' };
  const number = Number(metadata.tariff_attempt);
  return { invoiceId, attempt: Number.isSafeInteger(number) && number >= 1 ? number : null };
}

const onPaymentIntent: Handler = async (deps, scope, event) => {
  const intent = event.data.object as Stripe.PaymentIntent;
  const target = await intentTarget(scope, intent);
  if ('foreign' in target) return { outcome: 'unmatched', detail: target.foreign };
  const invoice = await invoicesRepo.findInvoice(scope, target.invoiceId);
  if (!invoice) return { outcome: 'unmatched', detail: `no invoice ${target.invoiceId}` };
  const other = otherAccount(event, invoiceAccount(invoice));
  if (other) return { outcome: 'unmatched', detail: `invoice ${invoice.id} is ${other}` };
  // The event's own status decides, not a later one: a payment_failed event carries the intent as it was then.
  const status =
    event.type === 'payment_intent.succeeded'
      ? 'succeeded'
      : event.type === 'payment_intent.requires_action'
        ? 'requires_action'
        : event.type === 'payment_intent.canceled'
          ? 'canceled'
          : 'requires_payment_method';
  const result = await applyIntent(
    deps,
    scope,
    target.invoiceId,
    target.attempt,
    { ...intent, status } as Stripe.PaymentIntent,
    'event',
  );
  return result === 'stale'
    ? { outcome: 'stale', detail: 'the invoice or its collection has already moved past this' }
    : { outcome: 'applied', detail: result };
};

const onSetupSucceeded = async (
  deps: Deps,
  scope: TenantScope,
  event: Stripe.Event,
  setup: Stripe.SetupIntent,
  card: repo.SavedCard | undefined,
): Promise<Outcome> => {
  const customerId = typeof setup.customer === 'string' ? setup.customer : setup.customer?.id;
  const paymentMethod = typeof setup.payment_method === 'string' ? setup.payment_method : setup.payment_method?.id;
  if (!customerId || !paymentMethod)
    return { outcome: 'unmatched', detail: 'the setup names no customer or payment method' };
  if (setup.status && setup.status !== 'succeeded')
    return { outcome: 'stale', detail: `the setup intent is ${setup.status}` };
  const customer = await repo.findStripeCustomerByStripeId(scope, customerId);
  if (!customer) return { outcome: 'unmatched', detail: `no Tariff customer for ${customerId}` };
  const other = otherAccount(event, await stripeAccountOf(scope, customer.customerId));
  if (other) return { outcome: 'unmatched', detail: `customer ${customerId} is ${other}` };
  const set = await repo.setPaymentMethod(
    scope,
    customer.customerId,
    paymentMethod,
    card ?? null,
    BigInt(setup.created ?? 0),
    deps.clock.now(),
  );
  return set
    ? { outcome: 'applied', detail: `default payment method ${paymentMethod}` }
    : { outcome: 'stale', detail: 'a newer payment method is already the default' };
};

const onRefund: Handler = async (deps, scope, event) => {
  const charge = event.data.object as Stripe.Charge;
  const intentId = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
  if (!intentId) return { outcome: 'unmatched', detail: 'the charge has no payment intent' };
  const target = await intentTarget(scope, { id: intentId, metadata: charge.metadata });
  if ('foreign' in target) return { outcome: 'unmatched', detail: target.foreign };
  const invoice = await invoicesRepo.findInvoice(scope, target.invoiceId, { lock: true });
  if (!invoice) return { outcome: 'unmatched', detail: `no invoice ${target.invoiceId}` };
  const other = otherAccount(event, invoiceAccount(invoice));
  if (other) return { outcome: 'unmatched', detail: `invoice ${invoice.id} is ${other}` };
  // Each refund once, by its id; without the list, what was refunded beyond the refunds already recorded.
  const listed = charge.refunds?.data
    ?.filter((r) => r.status !== 'failed' && r.status !== 'canceled')
    .map((r) => ({ id: r.id, amount: BigInt(r.amount) }));
  const refunds = listed ?? [
    {
      id: `${charge.id}:${charge.amount_refunded}`,
      amount: BigInt(charge.amount_refunded) - (await repo.sumRefunds(scope, charge.id)),
    },
  ];
  let applied = 0;
  for (const refund of refunds) {
    if (refund.amount <= 0n) continue;
    if (await applyRefund(deps, scope, invoice, charge.id, refund.id, refund.amount)) applied += 1;
  }
  return applied > 0
    ? { outcome: 'applied', detail: `${applied} refund(s) recorded` }
    : { outcome: 'stale', detail: 'every refund was already recorded' };
};

/** A refund: a credit note for it (what is left of the invoice, pro rata over its lines) and the cash going back. */
async function applyRefund(
  deps: Deps,
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  chargeId: string,
  refundId: string,
  amountMinor: bigint,
): Promise<boolean> {
  const now = deps.clock.now();
  const amount = fromMinorUnits(amountMinor, invoice.minorUnit);
  const credited = await creditNotesRepo.findCredited(scope, invoice.id);
  const left = toNano(invoice.total) - toNano(credited.total);
  let creditNoteId: string | null = null;
  if (left > 0n) {
    const credit = amount < left ? amount : left;
    const lines = (await invoicesRepo.listLines(scope, [invoice.id])).get(invoice.id) ?? [];
    const leftOf = lines.map((l) => toNano(l.amount) - toNano(credited.byLine.get(l.line) ?? '0'));
    const shares = allocateProRata(credit, leftOf, 10n ** BigInt(9 - invoice.minorUnit));
    creditNoteId = await issueCreditNoteLocked(
      scope,
      invoice,
      {
        reason: `Refund ${refundId} through Stripe`,
        origin: 'manual',
        reratingId: null,
        createdBy: `stripe:${refundId}`,
        lines: lines.flatMap((line, i) =>
          shares[i] === 0n
            ? []
            : [
                {
                  invoiceLine: line.line,
                  kind: line.kind,
                  description: `Refund: ${line.description}`,
                  amountExact: shares[i],
                  details: null,
                },
              ],
        ),
      },
      now,
    );
  }
  if (
    !(await repo.insertRefund(
      scope,
      { refundId, invoiceId: invoice.id, chargeId, currency: invoice.currency, amountMinor, creditNoteId },
      now,
    ))
  )
    return false;
  await postTransactions(
    scope,
    [
      {
        kind: 'payment_refunded',
        customerId: invoice.customerId,
        currency: invoice.currency,
        reference: invoice.id,
        description: `refund ${refundId} of invoice ${invoice.number}`,
        occurredAt: now,
        lines: [
          { account: accounts.receivable(invoice.customerId, invoice.currency), amount },
          { account: accounts.payments(invoice.currency), amount: -amount },
        ],
      },
    ],
    now,
  );
  await notifyInvoice(
    scope,
    invoice,
    'invoice.refunded',
    { refund_id: refundId, amount: formatMoney(amount), credit_note_id: creditNoteId },
    now,
    { suffix: `:refund:${refundId}` },
  );
  return true;
}

const onDispute: Handler = async (deps, scope, event) => {
  const dispute = event.data.object as Stripe.Dispute;
  const chargeId = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge?.id;
  const intentId = typeof dispute.payment_intent === 'string' ? dispute.payment_intent : dispute.payment_intent?.id;
  const target = intentId ? await intentTarget(scope, { id: intentId, metadata: dispute.metadata }) : undefined;
  const invoiceId = target && !('foreign' in target) ? target.invoiceId : null;
  const invoice = invoiceId ? await invoicesRepo.findInvoice(scope, invoiceId) : undefined;
  if (!invoice) return { outcome: 'unmatched', detail: 'the dispute names no Tariff invoice' };
  const other = otherAccount(event, invoiceAccount(invoice));
  if (other) return { outcome: 'unmatched', detail: `invoice ${invoice.id} is ${other}` };
  const moved = await repo.upsertDispute(
    scope,
    {
      disputeId: dispute.id,
      invoiceId: invoice.id,
      chargeId: chargeId ?? 'unknown',
      status: dispute.status,
      reason: dispute.reason ?? null,
      currency: (dispute.currency ?? invoice.currency).toUpperCase(),
      amountMinor: BigInt(dispute.amount ?? 0),
      eventCreated: BigInt(event.created ?? 0),
    },
    deps.clock.now(),
  );
  if (!moved) return { outcome: 'stale', detail: 'a newer event already set this dispute' };
  await notifyInvoice(
    scope,
    invoice,
    'invoice.disputed',
    {
      dispute_id: dispute.id,
      dispute_status: dispute.status,
      reason: dispute.reason ?? null,
      amount: formatMoney(fromMinorUnits(BigInt(dispute.amount ?? 0), invoice.minorUnit)),
      stripe_event: event.type,
    },
    deps.clock.now(),
    { suffix: `:dispute:${dispute.id}:${dispute.status}` },
  );
  return { outcome: 'applied', detail: `dispute ${dispute.id} ${dispute.status}` };
};

/** The event types Tariff acts on; every other type is recorded as ignored. */
const handlers = {
  'payment_intent.succeeded': onPaymentIntent,
  'payment_intent.payment_failed': onPaymentIntent,
  'payment_intent.requires_action': onPaymentIntent,
  'payment_intent.canceled': onPaymentIntent,
  'setup_intent.succeeded': (deps, scope, event, context) =>
    onSetupSucceeded(deps, scope, event, event.data.object as Stripe.SetupIntent, context.card),
  'checkout.session.completed': async (deps, scope, event, context) =>
    context.setupIntent
      ? onSetupSucceeded(deps, scope, event, context.setupIntent, context.card)
      : { outcome: 'ignored', detail: 'not a setup session, or its setup intent could not be read' },
  'charge.refunded': onRefund,
  'charge.dispute.created': onDispute,
  'charge.dispute.updated': onDispute,
  'charge.dispute.closed': onDispute,
  'charge.dispute.funds_withdrawn': onDispute,
  'charge.dispute.funds_reinstated': onDispute,
} satisfies Record<string, Handler>;

export const handledEventTypes = Object.keys(handlers);
