// Collection of finalized invoices through Stripe, and what its outcomes do (shared by the collect job, the
// operator's actions and incoming Stripe events).
//
// Why a PaymentIntent per attempt and not a mirrored Stripe Invoice: Tariff's invoice is the legal document
// (its number sequence, tax, credit notes, PDF, ledger); a Stripe Invoice would be a second invoice with its own
// numbering, its own finalization, its own dunning ("Smart Retries") and its own idea of what is owed, which must
// then be kept equal to ours by mirroring every line, credit note and void. A PaymentIntent only moves the
// money: the amount due in the invoice's currency and minor unit, off-session with the customer's saved method,
// while the schedule, the states and the notifications stay Tariff's, one rule in one place.
//
// Never charging twice: an attempt is recorded (with its idempotency key, invoice id + attempt number) before it
// is sent; a crash, a timeout, a 429 or a second worker sends the same attempt again under the same key, and Stripe
// answers it with the PaymentIntent it already made. The attempt number moves on only when Stripe said the attempt
// failed, and a new attempt first cancels a previous one still waiting for authentication.
import crypto from 'node:crypto';
import type Stripe from 'stripe';
import type { Actor } from '../../platform/auth.ts';
import { openSecret } from '../../platform/crypto.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import * as creditNotesRepo from '../creditnotes/repo.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { invoiceNotification, type InvoiceNotificationType } from '../invoices/notifications.ts';
import { accounts, postTransactions } from '../ledger/service.ts';
import * as notify from '../notifications/service.ts';
import {
  afterFailure,
  attemptIdempotencyKey,
  defaultRetryAfterSeconds,
  fromMinorUnits,
  isUnpaid,
  toMinorUnits,
  type DunningPolicy,
} from './dunning.ts';
import * as repo from './repo.ts';
import { classifyStripeError, settingsOf, stripeClient, type StripeFailure } from './stripe.ts';

/** How long after a transient failure (no answer, 429, 5xx) the same attempt is sent again. */
const transientRetrySeconds = 60;
/** A key Stripe refuses: looked at again after this long (the tenant may fix it meanwhile). */
const configurationRetrySeconds = 3600;

/** An invoice's notification (the invoices domain's payload), with its status after the change it reports. */
export async function notifyInvoice(
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  type: InvoiceNotificationType,
  extra: Record<string, unknown>,
  now: Date,
  options: { status?: string; suffix?: string } = {},
) {
  await notify.recordOnce(
    scope,
    invoiceNotification(type, { ...invoice, status: options.status ?? invoice.status }, extra, now, options.suffix),
  );
}

export async function dunningPolicyOf(scope: TenantScope): Promise<DunningPolicy> {
  const stored = await repo.findPolicy(scope);
  return stored
    ? { retryAfterSeconds: stored.retryAfterSeconds, blockAfterSeconds: stored.blockAfterSeconds }
    : { retryAfterSeconds: defaultRetryAfterSeconds, blockAfterSeconds: null };
}

/** The tenant's Stripe secret key in clear, for one call. */
export function secretKeyOf(deps: Deps, tenantId: string, connection: repo.Connection): string {
  const key = settingsOf(deps).secretsKey;
  if (!key) throw new Error('SECRETS_KEY is not configured: Stripe secrets cannot be opened');
  return openSecret(connection.secretKeySealed, key, `${tenantId}:stripe_secret_key`);
}

/** What is still owed on an invoice: its total less the credit notes issued against it. */
export async function amountDue(scope: TenantScope, invoice: invoicesRepo.Invoice): Promise<bigint> {
  const credited = await creditNotesRepo.findCredited(scope, invoice.id);
  return toNano(invoice.total) - toNano(credited.total);
}

type Plan =
  | { kind: 'done'; result: CollectResult }
  | {
      kind: 'send';
      secretKey: string;
      attempt: repo.Attempt;
      stripeCustomerId: string;
      paymentMethod: string;
      number: string | null;
      /**
       * The issuing reseller's Stripe account (Connect): every request for this invoice acts on it through the
       * Stripe-Account header, so its children pay the reseller. Null: the tenant's own account.
       */
      stripeAccount: string | null;
      /** A previous attempt waiting for authentication, cancelled before this one is sent. */
      cancel: repo.Attempt | null;
    };

export type CollectResult = 'skipped' | 'not_due' | 'succeeded' | 'failed' | 'pending' | 'retry_later' | 'stale';

/**
 * The collect job (and "retry now"): starts the invoice's collection if it has none, blocks the customer when the
 * policy's delay has run out, and sends the attempt that is due. Idempotent; safe to run twice at once.
 */
export async function collectInvoice(deps: Deps, tenantId: string, invoiceId: string): Promise<CollectResult> {
  const plan = await withTenant(deps.db, tenantId, (tx) => planAttempt(deps, { db: tx, tenantId }, invoiceId));
  if (plan.kind === 'done') return plan.result;
  const stripe = stripeClient(settingsOf(deps), plan.secretKey);
  const onAccount = plan.stripeAccount ? { stripeAccount: plan.stripeAccount } : {};
  if (plan.cancel?.paymentIntentId) {
    const cancelled = await cancelWaitingIntent(deps, tenantId, stripe, plan.cancel, onAccount);
    if (cancelled !== 'cancelled') return cancelled;
  }
  let intent: Stripe.PaymentIntent;
  try {
    intent = plan.attempt.paymentIntentId
      ? await stripe.paymentIntents.retrieve(plan.attempt.paymentIntentId, {}, onAccount)
      : await stripe.paymentIntents.create(
          {
            amount: Number(plan.attempt.amountMinor),
            currency: plan.attempt.currency.toLowerCase(),
            customer: plan.stripeCustomerId,
            payment_method: plan.paymentMethod,
            off_session: true,
            confirm: true,
            description: plan.number ? `Invoice ${plan.number}` : undefined,
            metadata: {
              tariff_tenant_id: tenantId,
              tariff_invoice_id: invoiceId,
              tariff_attempt: String(plan.attempt.attempt),
            },
          },
          { idempotencyKey: plan.attempt.idempotencyKey, ...onAccount },
        );
  } catch (error) {
    const failure = classifyStripeError(error);
    deps.logger.warn('payment attempt failed', {
      tenant_id: tenantId,
      invoice_id: invoiceId,
      attempt: plan.attempt.attempt,
      kind: failure.kind,
      code: failure.code,
    });
    return withTenant(deps.db, tenantId, (tx) =>
      recordSendFailure(deps, { db: tx, tenantId }, invoiceId, plan.attempt.attempt, failure),
    );
  }
  return withTenant(deps.db, tenantId, (tx) =>
    applyIntent(deps, { db: tx, tenantId }, invoiceId, plan.attempt.attempt, intent, 'collection'),
  );
}

async function planAttempt(deps: Deps, scope: TenantScope, invoiceId: string): Promise<Plan> {
  const now = deps.clock.now();
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
  if (!invoice) return { kind: 'done', result: 'skipped' };
  let collection = await repo.findCollection(scope, invoiceId, { lock: true });
  if (!isUnpaid(invoice.status)) {
    if (collection?.status === 'active')
      await repo.updateCollection(
        scope,
        invoiceId,
        { status: invoice.status === 'paid' ? 'paid' : 'stopped', nextAttemptAt: null },
        now,
      );
    return { kind: 'done', result: 'skipped' };
  }
  const connection = await repo.findConnection(scope);
  const stripeCustomer = await repo.findStripeCustomer(scope, invoice.customerId);
  if (!collection) {
    // Collection starts with a connection and a payment method; until then the invoice waits (paid out of band, or
    // picked up by the tick once the customer saved a card).
    if (!connection || !stripeCustomer?.defaultPaymentMethod || invoice.status !== 'finalized')
      return { kind: 'done', result: 'skipped' };
    await repo.insertCollection(scope, invoiceId, invoice.customerId, now);
    collection = (await repo.findCollection(scope, invoiceId, { lock: true }))!;
  }
  await blockIfDue(scope, invoice, collection, now);
  if (collection.status !== 'active' || !collection.nextAttemptAt || collection.nextAttemptAt.getTime() > now.getTime())
    return { kind: 'done', result: 'not_due' };
  if (!connection) {
    await repo.updateCollection(
      scope,
      invoiceId,
      {
        nextAttemptAt: new Date(now.getTime() + configurationRetrySeconds * 1000),
        lastError: 'stripe_not_connected: the tenant has no Stripe connection',
      },
      now,
    );
    return { kind: 'done', result: 'retry_later' };
  }
  const due = await amountDue(scope, invoice);
  const minor = toMinorUnits(due, invoice.minorUnit);
  if (due <= 0n || !minor.ok) {
    await repo.updateCollection(
      scope,
      invoiceId,
      {
        status: 'stopped',
        nextAttemptAt: null,
        lastError: due <= 0n ? 'nothing_due' : `amount_not_whole_minor_units: ${!minor.ok ? minor.error : ''}`,
      },
      now,
    );
    return { kind: 'done', result: 'skipped' };
  }
  let attempt = await repo.findAttempt(scope, invoiceId, collection.attempt);
  if (!attempt) {
    if (!stripeCustomer?.defaultPaymentMethod) {
      // Nothing to charge: this attempt fails as a decline would, and dunning goes on (the customer may add a card).
      await insertAttempt(scope, invoice, collection.attempt, minor.amount, now);
      const result = await applyAttemptFailure(deps, scope, invoice, collection.attempt, {
        code: 'no_payment_method',
        message: 'The customer has no payment method on file',
        paymentIntentId: null,
        actionRequired: false,
      });
      return { kind: 'done', result: result === 'stale' ? 'not_due' : 'failed' };
    }
    attempt = await insertAttempt(scope, invoice, collection.attempt, minor.amount, now);
  } else if (attempt.status === 'succeeded' || attempt.status === 'failed' || attempt.status === 'canceled') {
    // Its outcome was applied (the invoice would not be due otherwise); nothing to send under this number.
    return { kind: 'done', result: 'not_due' };
  }
  const previous =
    collection.attempt > 1 ? await repo.findAttempt(scope, invoiceId, collection.attempt - 1) : undefined;
  // Claimed: another run finds it not due until the lease ends; a crash leaves it to be sent again then.
  const lease = settingsOf(deps).attemptLeaseSeconds;
  await repo.updateCollection(scope, invoiceId, { nextAttemptAt: new Date(now.getTime() + lease * 1000) }, now);
  return {
    kind: 'send',
    secretKey: secretKeyOf(deps, scope.tenantId, connection),
    attempt,
    stripeCustomerId: stripeCustomer!.stripeCustomerId,
    paymentMethod: stripeCustomer!.defaultPaymentMethod!,
    number: invoice.number,
    stripeAccount: invoice.issuer?.stripe_account ?? null,
    cancel: previous?.status === 'requires_action' ? previous : null,
  };
}

async function insertAttempt(
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  attempt: number,
  amountMinor: bigint,
  now: Date,
): Promise<repo.Attempt> {
  const row = {
    invoiceId: invoice.id,
    attempt,
    idempotencyKey: attemptIdempotencyKey(scope.tenantId, invoice.id, attempt),
    currency: invoice.currency,
    amountMinor,
    status: 'sending' as const,
  };
  await repo.insertAttempt(scope, row, now);
  return { ...row, paymentIntentId: null, failureCode: null, failureMessage: null, createdAt: now, updatedAt: now };
}

/** Cancels an earlier attempt's PaymentIntent still waiting for the customer, so that it cannot succeed beside the new one. */
async function cancelWaitingIntent(
  deps: Deps,
  tenantId: string,
  stripe: Stripe,
  previous: repo.Attempt,
  onAccount: { stripeAccount?: string },
): Promise<'cancelled' | CollectResult> {
  try {
    await stripe.paymentIntents.cancel(
      previous.paymentIntentId!,
      {},
      { idempotencyKey: `${previous.idempotencyKey}:cancel`, ...onAccount },
    );
  } catch (error) {
    const intent = await stripe.paymentIntents
      .retrieve(previous.paymentIntentId!, {}, onAccount)
      .catch(() => undefined);
    // The customer completed it meanwhile: that is the payment.
    if (intent?.status === 'succeeded')
      return withTenant(deps.db, tenantId, (tx) =>
        applyIntent(deps, { db: tx, tenantId }, previous.invoiceId, previous.attempt, intent, 'collection'),
      );
    if (intent?.status !== 'canceled') {
      const failure = classifyStripeError(error);
      return withTenant(deps.db, tenantId, (tx) =>
        recordSendFailure(
          deps,
          { db: tx, tenantId },
          previous.invoiceId,
          previous.attempt + 1,
          failure.kind === 'declined' ? { ...failure, kind: 'transient' } : failure,
        ),
      );
    }
  }
  await withTenant(deps.db, tenantId, (tx) =>
    repo.updateAttempt(
      { db: tx, tenantId },
      previous.invoiceId,
      previous.attempt,
      { status: 'canceled' },
      deps.clock.now(),
    ),
  );
  return 'cancelled';
}

/** A send that got no PaymentIntent back: a decline fails the attempt; anything else sends it again later under the same key. */
async function recordSendFailure(
  deps: Deps,
  scope: TenantScope,
  invoiceId: string,
  attemptNumber: number,
  failure: StripeFailure,
): Promise<CollectResult> {
  const now = deps.clock.now();
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
  if (!invoice) return 'skipped';
  if (failure.kind === 'declined') {
    // Off session, a card that wants 3-D Secure is a decline (authentication_required): the customer must act.
    const actionRequired = failure.code === 'authentication_required';
    const result = await applyAttemptFailure(deps, scope, invoice, attemptNumber, {
      code: failure.code,
      message: failure.message,
      paymentIntentId: failure.paymentIntentId,
      actionRequired,
    });
    return result === 'stale' ? 'not_due' : 'failed';
  }
  const collection = await repo.findCollection(scope, invoiceId, { lock: true });
  if (collection?.status === 'active' && collection.attempt === attemptNumber) {
    const delay = failure.kind === 'configuration' ? configurationRetrySeconds : transientRetrySeconds;
    await repo.updateCollection(
      scope,
      invoiceId,
      {
        nextAttemptAt: new Date(now.getTime() + delay * 1000),
        lastError: `${failure.code}: ${failure.message}`.slice(0, 1000),
      },
      now,
    );
  }
  return 'retry_later';
}

/** A PaymentIntent of the invoice's attempt as Stripe reports it (its answer, or an event), applied. */
export async function applyIntent(
  deps: Deps,
  scope: TenantScope,
  invoiceId: string,
  attemptNumber: number | null,
  intent: Stripe.PaymentIntent,
  via: 'collection' | 'event',
): Promise<CollectResult | 'stale'> {
  const now = deps.clock.now();
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
  if (!invoice) return 'stale';
  if (attemptNumber !== null) {
    const attempt = await repo.findAttempt(scope, invoiceId, attemptNumber);
    if (attempt && !attempt.paymentIntentId)
      await repo.updateAttempt(
        scope,
        invoiceId,
        attemptNumber,
        { status: attempt.status, paymentIntentId: intent.id },
        now,
      );
  }
  switch (intent.status) {
    case 'succeeded': {
      const result = await applyPaymentSucceeded(deps, scope, invoice, {
        source: 'stripe',
        paymentIntentId: intent.id,
        attempt: attemptNumber,
        amount: fromMinorUnits(BigInt(intent.amount_received || intent.amount), invoice.minorUnit),
        currency: intent.currency.toUpperCase(),
        paidAt: now,
      });
      return result === 'stale' ? 'stale' : 'succeeded';
    }
    case 'requires_action':
    case 'requires_payment_method':
    case 'canceled': {
      if (attemptNumber === null) return 'stale';
      const error = intent.last_payment_error;
      const result = await applyAttemptFailure(deps, scope, invoice, attemptNumber, {
        code:
          intent.status === 'requires_action'
            ? 'authentication_required'
            : (error?.decline_code ?? error?.code ?? intent.status),
        message:
          intent.status === 'requires_action'
            ? 'The payment needs the customer to authenticate it'
            : (error?.message ?? `The payment intent is ${intent.status}`),
        paymentIntentId: intent.id,
        actionRequired: intent.status === 'requires_action',
      });
      return result === 'stale' ? 'stale' : 'failed';
    }
    default: {
      // processing (bank debits) and the rest: the answer comes later; look again after the lease.
      if (attemptNumber === null || via === 'event') return 'stale';
      await repo.updateAttempt(
        scope,
        invoiceId,
        attemptNumber,
        { status: 'processing', paymentIntentId: intent.id },
        now,
      );
      return 'pending';
    }
  }
}

export interface Payment {
  source: 'stripe' | 'out_of_band';
  paymentIntentId: string | null;
  attempt: number | null;
  /** What was received, in nano-units of the invoice's currency. */
  amount: bigint;
  currency: string;
  paidAt: Date;
  actor?: Actor;
}

/**
 * An unpaid invoice is paid: its status, the cash against the receivable (or against bad debt when it had been
 * written off), the collection ended, the customer's block for it lifted, and the notifications. Stale when the
 * invoice is no longer unpaid: a later or repeated report of the same payment.
 */
export async function applyPaymentSucceeded(
  deps: Deps,
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  payment: Payment,
): Promise<'applied' | 'stale'> {
  const now = deps.clock.now();
  if (!isUnpaid(invoice.status)) return 'stale';
  const collection = await repo.findCollection(scope, invoice.id, { lock: true });
  if (payment.attempt !== null && collection) {
    await repo.updateAttempt(
      scope,
      invoice.id,
      payment.attempt,
      { status: 'succeeded', paymentIntentId: payment.paymentIntentId },
      now,
    );
  }
  await invoicesRepo.markPaid(scope, invoice.id, payment.paidAt, now);
  if (payment.amount > 0n) {
    await postTransactions(
      scope,
      [
        {
          kind: 'invoice_paid',
          customerId: invoice.customerId,
          currency: invoice.currency,
          reference: invoice.id,
          description: `payment of ${invoice.number}${payment.paymentIntentId ? ` (${payment.paymentIntentId})` : ' (out of band)'}`,
          occurredAt: payment.paidAt,
          lines: [
            { account: accounts.payments(invoice.currency), amount: payment.amount },
            {
              account: collection?.writtenOffAt
                ? accounts.badDebt(invoice.currency)
                : accounts.receivable(invoice.customerId, invoice.currency),
              amount: -payment.amount,
            },
          ],
        },
      ],
      now,
    );
  }
  if (collection) await repo.updateCollection(scope, invoice.id, { status: 'paid', nextAttemptAt: null }, now);
  await liftBlock(scope, invoice, now);
  await recordChange(scope.db, deps.clock, payment.actor ?? 'system', scope.tenantId, {
    action: 'invoice.paid',
    entityType: 'invoice',
    entityId: invoice.id,
    after: {
      paid_at: payment.paidAt.toISOString(),
      source: payment.source,
      payment_intent_id: payment.paymentIntentId,
      amount: formatMoney(payment.amount),
    },
  });
  await notifyInvoice(
    scope,
    invoice,
    'invoice.paid',
    {
      paid_at: payment.paidAt.toISOString(),
      source: payment.source,
      payment_intent_id: payment.paymentIntentId,
      amount_paid: formatMoney(payment.amount),
    },
    now,
    { status: 'paid' },
  );
  return 'applied';
}

interface Failure {
  code: string;
  message: string;
  paymentIntentId: string | null;
  actionRequired: boolean;
}

/**
 * Attempt `attemptNumber` failed: the dunning step it leads to (past due at the first failure, the next retry on
 * the schedule, uncollectible when it ran out), with a notification at each step. Stale when the collection has
 * moved past this attempt (a late or repeated report) or the invoice is paid.
 */
export async function applyAttemptFailure(
  deps: Deps,
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  attemptNumber: number,
  failure: Failure,
): Promise<'applied' | 'stale'> {
  const now = deps.clock.now();
  if (!isUnpaid(invoice.status)) return 'stale';
  const collection = await repo.findCollection(scope, invoice.id, { lock: true });
  if (!collection || collection.status !== 'active' || collection.attempt !== attemptNumber) return 'stale';
  await repo.updateAttempt(
    scope,
    invoice.id,
    attemptNumber,
    {
      status: failure.actionRequired ? 'requires_action' : 'failed',
      paymentIntentId: failure.paymentIntentId,
      failureCode: failure.code,
      failureMessage: failure.message.slice(0, 1000),
    },
    now,
  );
  const policy = await dunningPolicyOf(scope);
  const next = afterFailure(policy, attemptNumber, collection.firstFailedAt, now);
  const lastError = `${failure.code}: ${failure.message}`.slice(0, 1000);
  const common = {
    attempt: attemptNumber,
    failure_code: failure.code,
    failure_message: failure.message,
    payment_intent_id: failure.paymentIntentId,
  };
  if (invoice.status === 'finalized') {
    await invoicesRepo.markUnpaidStatus(scope, invoice.id, 'past_due', now);
    await notifyInvoice(
      scope,
      invoice,
      'invoice.past_due',
      { first_failed_at: next.firstFailedAt.toISOString() },
      now,
      { status: 'past_due' },
    );
  }
  if (next.kind === 'retry') {
    await repo.updateCollection(
      scope,
      invoice.id,
      {
        attempt: attemptNumber + 1,
        nextAttemptAt: next.at,
        firstFailedAt: next.firstFailedAt,
        blockAt: next.blockAt,
        lastError,
      },
      now,
    );
  } else {
    await repo.updateCollection(
      scope,
      invoice.id,
      {
        status: 'exhausted',
        attempt: attemptNumber + 1,
        nextAttemptAt: null,
        firstFailedAt: next.firstFailedAt,
        blockAt: next.blockAt,
        lastError,
      },
      now,
    );
    if (invoice.status !== 'uncollectible') {
      await invoicesRepo.markUnpaidStatus(scope, invoice.id, 'uncollectible', now);
      await notifyInvoice(
        scope,
        invoice,
        'invoice.uncollectible',
        { reason: 'retries_exhausted', attempts: attemptNumber },
        now,
        { status: 'uncollectible' },
      );
    }
  }
  const suffix = `:attempt:${attemptNumber}`;
  const status = next.kind === 'retry' ? 'past_due' : 'uncollectible';
  await notifyInvoice(
    scope,
    invoice,
    'invoice.payment_failed',
    { ...common, next_attempt_at: next.kind === 'retry' ? next.at.toISOString() : null },
    now,
    { status, suffix },
  );
  if (failure.actionRequired)
    await notifyInvoice(scope, invoice, 'invoice.payment_action_required', common, now, { status, suffix });
  const updated = (await repo.findCollection(scope, invoice.id))!;
  await blockIfDue(scope, invoice, updated, now);
  return 'applied';
}

/** Blocks the customer's new usage once the policy's delay after the first failure has run out, the invoice unpaid. */
async function blockIfDue(
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  collection: repo.Collection,
  now: Date,
): Promise<void> {
  if (collection.blockedAt || !collection.blockAt || collection.blockAt.getTime() > now.getTime()) return;
  if (collection.status !== 'active' && collection.status !== 'exhausted') return;
  await repo.updateCollection(scope, invoice.id, { blockedAt: now }, now);
  if (!(await repo.insertBlock(scope, invoice.customerId, invoice.id, now))) return;
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'customer.blocked',
    customerId: invoice.customerId,
    subjectId: `${invoice.customerId}:${invoice.id}`,
    payload: {
      customer_id: invoice.customerExternalId,
      reason: 'payment_past_due',
      invoice_id: invoice.id,
      invoice_number: invoice.number,
      blocked_at: now.toISOString(),
    },
    createdAt: now,
  });
}

async function liftBlock(scope: TenantScope, invoice: invoicesRepo.Invoice, now: Date): Promise<void> {
  const remaining = await repo.deleteBlock(scope, invoice.customerId, invoice.id);
  if (remaining !== 0) return;
  await notify.recordOnce(scope, {
    id: crypto.randomUUID(),
    type: 'customer.unblocked',
    customerId: invoice.customerId,
    subjectId: `${invoice.customerId}:${invoice.id}`,
    payload: {
      customer_id: invoice.customerExternalId,
      reason: 'invoice_paid',
      invoice_id: invoice.id,
      invoice_number: invoice.number,
      unblocked_at: now.toISOString(),
    },
    createdAt: now,
  });
}
