// Payments: the tenant's Stripe connection (secrets sealed at rest, never returned), the dunning policy, Stripe
// customers and the hosted page that saves a card, the collection of an invoice as the API shows it, and the
// operator's actions (retry now, mark uncollectible, write off, paid out of band). Collection itself is collect.ts,
// incoming Stripe events events.ts.
import crypto from 'node:crypto';
import type Stripe from 'stripe';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, requireTenantWide } from '../../platform/auth.ts';
import { sealSecret } from '../../platform/crypto.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import type { StripeConnection } from '../../platform/tenant-stripe.ts';
import { AppError, conflict, invalid, notFound, precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { requireCustomer } from '../customers/service.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { getInvoice } from '../invoices/service.ts';
import type { PayInvoiceInput } from '@tariff/openapi/schemas/invoices';
import { accounts, postTransactions } from '../ledger/service.ts';
import {
  amountDue,
  applyPaymentSucceeded,
  collectInvoice,
  dunningPolicyOf,
  notifyInvoice,
  secretKeyOf,
} from './collect.ts';
import { customerIdempotencyKey, fromMinorUnits, isUnpaid } from './dunning.ts';
import * as repo from './repo.ts';
import { stripeAccountOf } from '../brands/service.ts';
import type {
  ConnectStripeInput,
  DunningPolicyInput,
  InvoiceActionInput,
  SetupLinkInput,
} from '@tariff/openapi/schemas/payments';
import { classifyStripeError, settingsOf, stripeClient } from './stripe.ts';

type ApiConnection = ApiSchemas['StripeConnection'];

function toApiConnection(c: repo.Connection | undefined): ApiConnection {
  return c
    ? {
        connected: true,
        key_last4: c.keyLast4,
        mode: c.mode,
        account_id: c.accountId,
        connected_at: c.connectedAt.toISOString(),
      }
    : { connected: false, key_last4: null, mode: null, account_id: null, connected_at: null };
}

/** A Stripe call that failed, as an answer of ours: the tenant's key or request is at fault (4xx), or Stripe did not answer (422, try again). */
function stripeProblem(error: unknown, field?: string): AppError {
  const failure = classifyStripeError(error);
  if (failure.kind === 'transient')
    return precondition(
      'stripe_unavailable',
      `Stripe did not answer (${failure.code}); nothing was changed, try again`,
    );
  if (failure.kind === 'configuration' && field)
    return invalid('stripe_key_rejected', `Stripe refused the key: ${failure.message}`, [
      { field, reason: failure.message },
    ]);
  return precondition('stripe_refused', `Stripe refused the request: ${failure.message}`);
}

function requireSecretsKey(deps: Deps): Buffer {
  const key = settingsOf(deps).secretsKey;
  if (!key)
    throw precondition(
      'secrets_key_missing',
      'This server has no SECRETS_KEY configured, so Stripe secrets cannot be stored',
    );
  return key;
}

/** Connects (or reconnects) the tenant's Stripe account after one cheap call proves the key works. */
export async function connectStripe(deps: Deps, actor: Actor, input: ConnectStripeInput): Promise<ApiConnection> {
  requirePermission(actor, 'payments.manage');
  const key = requireSecretsKey(deps);
  const stripe = stripeClient(settingsOf(deps), input.secret_key);
  try {
    await stripe.customers.list({ limit: 1 });
  } catch (error) {
    throw stripeProblem(error, 'secret_key');
  }
  const now = deps.clock.now();
  const connection: repo.Connection = {
    secretKeySealed: sealSecret(input.secret_key, key, `${actor.tenantId}:stripe_secret_key`),
    keyLast4: input.secret_key.slice(-4),
    mode: input.secret_key.includes('_live_') ? 'live' : 'test',
    webhookSecretSealed: sealSecret(input.webhook_secret, key, `${actor.tenantId}:stripe_webhook_secret`),
    connectWebhookSecretSealed: input.connect_webhook_secret
      ? sealSecret(input.connect_webhook_secret, key, `${actor.tenantId}:stripe_connect_webhook_secret`)
      : null,
    accountId: null,
    connectedAt: now,
    updatedAt: now,
  };
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    await repo.upsertConnection({ db: tx, tenantId: actor.tenantId }, connection);
    const result = toApiConnection(connection);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'stripe.connected',
      entityType: 'stripe_connection',
      entityId: actor.tenantId,
      after: result,
    });
    return result;
  });
}

export async function getStripeConnection(deps: Deps, actor: Actor): Promise<ApiConnection> {
  requirePermission(actor, 'payments.manage');
  return toApiConnection(
    await withTenant(deps.db, actor.tenantId, (tx) => repo.findConnection({ db: tx, tenantId: actor.tenantId })),
  );
}

/** Whether the tenant collects through Stripe (a connection is saved), for the portal's payment section. */
export async function isStripeConnected(deps: Deps, tenantId: string): Promise<boolean> {
  return (await withTenant(deps.db, tenantId, (tx) => repo.findConnection({ db: tx, tenantId }))) !== undefined;
}

export async function disconnectStripe(deps: Deps, actor: Actor): Promise<ApiConnection> {
  requirePermission(actor, 'payments.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    if (!(await repo.deleteConnection({ db: tx, tenantId: actor.tenantId })))
      throw notFound('stripe_not_connected', 'Stripe is not connected');
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'stripe.disconnected',
      entityType: 'stripe_connection',
      entityId: actor.tenantId,
    });
    return toApiConnection(undefined);
  });
}

function toApiPolicy(policy: {
  retryAfterSeconds: number[];
  blockAfterSeconds: number | null;
}): ApiSchemas['DunningPolicy'] {
  return {
    retry_after_days: policy.retryAfterSeconds.map((s) => s / 86_400),
    block_after_days: policy.blockAfterSeconds === null ? null : policy.blockAfterSeconds / 86_400,
  };
}

export async function getDunningPolicy(deps: Deps, actor: Actor): Promise<ApiSchemas['DunningPolicy']> {
  requirePermission(actor, 'billing.read');
  requireTenantWide(actor, "read the tenant's dunning policy");
  return toApiPolicy(
    await withTenant(deps.db, actor.tenantId, (tx) => dunningPolicyOf({ db: tx, tenantId: actor.tenantId })),
  );
}

/** Sets the schedule; collections already failing keep the dates already set, and follow it from their next failure. */
export async function setDunningPolicy(
  deps: Deps,
  actor: Actor,
  input: DunningPolicyInput,
): Promise<ApiSchemas['DunningPolicy']> {
  requirePermission(actor, 'payments.manage');
  const policy = {
    retryAfterSeconds: input.retry_after_days.map((d) => Math.round(d * 86_400)),
    blockAfterSeconds: input.block_after_days === null ? null : Math.round(input.block_after_days * 86_400),
  };
  const problems = policy.retryAfterSeconds.flatMap((s, i) =>
    s < 1 || (i > 0 && s <= policy.retryAfterSeconds[i - 1])
      ? [{ field: `retry_after_days.${i}`, reason: 'must be at least a second, and later than the one before' }]
      : [],
  );
  if (problems.length > 0)
    throw invalid('invalid_dunning_policy', 'The retry schedule is not ascending to the second', problems);
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = toApiPolicy(await dunningPolicyOf(scope));
    await repo.upsertPolicy(scope, policy, deps.clock.now());
    const after = toApiPolicy(policy);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'dunning_policy.updated',
      entityType: 'dunning_policy',
      entityId: actor.tenantId,
      before,
      after,
    });
    return after;
  });
}

interface Connected {
  stripe: Stripe;
  /** The customer's reseller parent's Stripe account (Connect), which its requests act on; else the tenant's. */
  onAccount: { stripeAccount?: string };
  customer: Awaited<ReturnType<typeof requireCustomer>>;
  stripeCustomer: repo.StripeCustomer | undefined;
}

async function readConnected(deps: Deps, actor: Actor, externalId: string): Promise<Connected> {
  const { connection, customer, stripeCustomer, stripeAccount } = await withTenant(
    deps.db,
    actor.tenantId,
    async (tx) => {
      const scope = { db: tx, tenantId: actor.tenantId };
      const customer = await requireCustomer(scope, externalId);
      return {
        connection: await repo.findConnection(scope),
        customer,
        stripeCustomer: await repo.findStripeCustomer(scope, customer.id),
        stripeAccount: await stripeAccountOf(scope, customer.id),
      };
    },
  );
  if (!connection) throw precondition('stripe_not_connected', 'Connect Stripe first (PUT /v1/stripe/connection)');
  return {
    stripe: stripeClient(settingsOf(deps), secretKeyOf(deps, actor.tenantId, connection)),
    onAccount: stripeAccount ? { stripeAccount } : {},
    customer,
    stripeCustomer,
  };
}

/** The customer's Stripe customer, created once (the idempotency key is the customer's id, so retries and races make one). */
async function ensureStripeCustomer(deps: Deps, actor: Actor, connected: Connected): Promise<string> {
  if (connected.stripeCustomer) return connected.stripeCustomer.stripeCustomerId;
  const { customer } = connected;
  let created: Stripe.Customer;
  try {
    created = await connected.stripe.customers.create(
      {
        name: customer.name ?? undefined,
        email: customer.email ?? undefined,
        metadata: {
          tariff_tenant_id: actor.tenantId,
          tariff_customer_id: customer.id,
          tariff_external_id: customer.externalId,
        },
      },
      { idempotencyKey: customerIdempotencyKey(actor.tenantId, customer.id), ...connected.onAccount },
    );
  } catch (error) {
    throw stripeProblem(error);
  }
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    await repo.insertStripeCustomer(scope, customer.id, created.id, deps.clock.now());
    return (await repo.findStripeCustomer(scope, customer.id))!.stripeCustomerId;
  });
}

/**
 * A Stripe-hosted page (Checkout in setup mode) where the customer saves a card for off-session payments: its link,
 * for the tenant to send or show in the portal. Stripe's setup_intent.succeeded / checkout.session.completed event
 * then makes the card the customer's default.
 */
export async function createSetupLink(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: SetupLinkInput,
): Promise<ApiSchemas['PaymentSetupLink']> {
  requirePermission(actor, 'customers.write');
  return setupLinkFor(deps, actor, externalId, input);
}

/** Also the portal's, for its own customer only (portal/service.ts decides who that is); no permission check here. */
export async function setupLinkFor(
  deps: Deps,
  actor: Actor,
  externalId: string,
  input: SetupLinkInput,
): Promise<ApiSchemas['PaymentSetupLink']> {
  const connected = await readConnected(deps, actor, externalId);
  const stripeCustomerId = await ensureStripeCustomer(deps, actor, connected);
  const base = deps.publicUrl ?? 'http://localhost:3000';
  let session: Stripe.Checkout.Session;
  try {
    session = await connected.stripe.checkout.sessions.create(
      {
        mode: 'setup',
        customer: stripeCustomerId,
        currency: connected.customer.currency.toLowerCase(),
        success_url: input.success_url ?? `${base}/portal/payment-method?status=saved`,
        cancel_url: input.cancel_url ?? `${base}/portal/payment-method?status=cancelled`,
        metadata: { tariff_tenant_id: actor.tenantId, tariff_customer_id: connected.customer.id },
        setup_intent_data: {
          metadata: { tariff_tenant_id: actor.tenantId, tariff_customer_id: connected.customer.id },
        },
      },
      // One key per link asked for: the SDK's own retries of this request reuse it, a new request gets a new page.
      {
        idempotencyKey: `tariff:${actor.tenantId}:setup:${connected.customer.id}:${crypto.randomUUID()}`,
        ...connected.onAccount,
      },
    );
  } catch (error) {
    throw stripeProblem(error);
  }
  if (!session.url) throw precondition('stripe_refused', 'Stripe returned a session without a URL');
  return {
    customer_id: externalId,
    stripe_customer_id: stripeCustomerId,
    session_id: session.id,
    url: session.url,
    expires_at: session.expires_at ? new Date(session.expires_at * 1000).toISOString() : null,
  };
}

export async function getCustomerPayment(
  deps: Deps,
  actor: Actor,
  externalId: string,
): Promise<ApiSchemas['CustomerPayment']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, externalId);
    const [stripeCustomer, blocks] = await Promise.all([
      repo.findStripeCustomer(scope, customer.id),
      repo.listBlocks(scope, customer.id),
    ]);
    return {
      customer_id: externalId,
      stripe_customer_id: stripeCustomer?.stripeCustomerId ?? null,
      default_payment_method: stripeCustomer?.defaultPaymentMethod ?? null,
      payment_method_set_at: stripeCustomer?.paymentMethodSetAt?.toISOString() ?? null,
      card: stripeCustomer?.card ?? null,
      blocked: blocks.length > 0,
      blocks: blocks.map((b) => ({
        reason: 'payment_past_due' as const,
        invoice_id: b.invoiceId,
        blocked_at: b.blockedAt.toISOString(),
      })),
    };
  });
}

async function readCollection(scope: TenantScope, invoiceId: string): Promise<ApiSchemas['InvoiceCollection']> {
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId);
  if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
  const [collection, attempts, disputes] = await Promise.all([
    repo.findCollection(scope, invoiceId),
    repo.listAttempts(scope, invoiceId),
    repo.listDisputes(scope, invoiceId),
  ]);
  const due = isUnpaid(invoice.status) ? await amountDue(scope, invoice) : 0n;
  return {
    invoice_id: invoice.id,
    invoice_status: invoice.status as ApiSchemas['InvoiceCollection']['invoice_status'],
    amount_due: formatMoney(due),
    status: collection?.status ?? 'none',
    attempt: collection?.attempt ?? null,
    next_attempt_at: collection?.status === 'active' ? (collection.nextAttemptAt?.toISOString() ?? null) : null,
    first_failed_at: collection?.firstFailedAt?.toISOString() ?? null,
    block_at: collection?.blockAt?.toISOString() ?? null,
    blocked_at: collection?.blockedAt?.toISOString() ?? null,
    written_off_at: collection?.writtenOffAt?.toISOString() ?? null,
    last_error: collection?.lastError ?? null,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      payment_intent_id: a.paymentIntentId,
      amount: formatMoney(fromMinorUnits(a.amountMinor, invoice.minorUnit)),
      currency: a.currency,
      failure_code: a.failureCode,
      failure_message: a.failureMessage,
      created_at: a.createdAt.toISOString(),
      updated_at: a.updatedAt.toISOString(),
    })),
    disputes: disputes.map((d) => ({
      dispute_id: d.dispute_id,
      status: d.status,
      reason: d.reason,
      amount: formatMoney(fromMinorUnits(BigInt(d.amount_minor), invoice.minorUnit)),
      updated_at: d.updated_at.toISOString(),
    })),
  };
}

export async function getInvoiceCollection(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
): Promise<ApiSchemas['InvoiceCollection']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, (tx) => readCollection({ db: tx, tenantId: actor.tenantId }, invoiceId));
}

/** Retry now: an attempt at once, whatever the schedule says (also for an uncollectible invoice); answers with its outcome. */
export async function retryPayment(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
): Promise<ApiSchemas['InvoiceCollection']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
    if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    if (!isUnpaid(invoice.status))
      throw conflict(
        'invoice_not_collectible',
        `Only an unpaid invoice can be collected; this one is ${invoice.status}`,
      );
    if (!(await repo.findConnection(scope)))
      throw precondition('stripe_not_connected', 'Connect Stripe first (PUT /v1/stripe/connection)');
    const stripeCustomer = await repo.findStripeCustomer(scope, invoice.customerId);
    if (!stripeCustomer?.defaultPaymentMethod)
      throw precondition(
        'no_payment_method',
        `Customer "${invoice.customerExternalId}" has no payment method on file; send it a setup link`,
      );
    const collection = await repo.findCollection(scope, invoiceId, { lock: true });
    if (!collection) await repo.insertCollection(scope, invoiceId, invoice.customerId, now);
    else if (collection.writtenOffAt)
      throw conflict('invoice_written_off', 'The invoice was written off; record a payment out of band instead');
    else await repo.updateCollection(scope, invoiceId, { status: 'active', nextAttemptAt: now }, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'invoice.payment_retried',
      entityType: 'invoice',
      entityId: invoiceId,
    });
  });
  await collectInvoice(deps, actor.tenantId, invoiceId);
  return withTenant(deps.db, actor.tenantId, (tx) => readCollection({ db: tx, tenantId: actor.tenantId }, invoiceId));
}

async function lockUnpaid(scope: TenantScope, invoiceId: string): Promise<invoicesRepo.Invoice> {
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
  if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
  if (!isUnpaid(invoice.status))
    throw conflict('invoice_not_collectible', `Only an unpaid invoice can be; this one is ${invoice.status}`);
  return invoice;
}

/** Ends collection: the invoice is uncollectible (the customer still owes it; a later payment is still taken). */
async function markUncollectibleLocked(
  deps: Deps,
  scope: TenantScope,
  invoice: invoicesRepo.Invoice,
  reason: string,
  now: Date,
): Promise<void> {
  const collection = await repo.findCollection(scope, invoice.id, { lock: true });
  if (collection && collection.status === 'active')
    await repo.updateCollection(scope, invoice.id, { status: 'stopped', nextAttemptAt: null }, now);
  if (invoice.status === 'uncollectible') return;
  await invoicesRepo.markUnpaidStatus(scope, invoice.id, 'uncollectible', now);
  await notifyInvoice(scope, invoice, 'invoice.uncollectible', { reason }, now, { status: 'uncollectible' });
}

export async function markUncollectible(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
  input: InvoiceActionInput,
): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await lockUnpaid(scope, invoiceId);
    await markUncollectibleLocked(deps, scope, invoice, input.reason ?? 'marked by an operator', now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'invoice.marked_uncollectible',
      entityType: 'invoice',
      entityId: invoiceId,
      after: { reason: input.reason ?? null },
    });
  });
  return getInvoice(deps, actor, invoiceId);
}

/**
 * Writes the amount due off: the invoice becomes uncollectible (if it was not), the receivable is closed against
 * bad debt, and a payment that still arrives is recorded as a recovery of it.
 */
export async function writeOff(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
  input: InvoiceActionInput,
): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await lockUnpaid(scope, invoiceId);
    let collection = await repo.findCollection(scope, invoiceId, { lock: true });
    if (collection?.writtenOffAt) throw conflict('invoice_written_off', 'The invoice was already written off');
    await markUncollectibleLocked(deps, scope, invoice, input.reason ?? 'written off', now);
    if (!collection) {
      await repo.insertCollection(scope, invoiceId, invoice.customerId, now);
      await repo.updateCollection(scope, invoiceId, { status: 'stopped', nextAttemptAt: null }, now);
      collection = await repo.findCollection(scope, invoiceId, { lock: true });
    }
    const due = await amountDue(scope, invoice);
    await repo.updateCollection(scope, invoiceId, { writtenOffAt: now }, now);
    if (due > 0n) {
      await postTransactions(
        scope,
        [
          {
            kind: 'invoice_written_off',
            customerId: invoice.customerId,
            currency: invoice.currency,
            reference: invoice.id,
            description: `write-off of invoice ${invoice.number}`,
            occurredAt: now,
            lines: [
              { account: accounts.badDebt(invoice.currency), amount: due },
              { account: accounts.receivable(invoice.customerId, invoice.currency), amount: -due },
            ],
          },
        ],
        now,
      );
    }
    await notifyInvoice(
      scope,
      invoice,
      'invoice.written_off',
      { amount: formatMoney(due), reason: input.reason ?? null },
      now,
      { status: 'uncollectible' },
    );
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'invoice.written_off',
      entityType: 'invoice',
      entityId: invoiceId,
      after: { amount: formatMoney(due), reason: input.reason ?? null },
    });
  });
  return getInvoice(deps, actor, invoiceId);
}

/**
 * POST /v1/invoices/{id}/pay: the operator records a payment received outside Stripe (a bank transfer) of the
 * invoice's total. Collection stops, the customer's block for the invoice is lifted, the ledger takes the cash.
 */
export async function payOutOfBand(
  deps: Deps,
  actor: Actor,
  invoiceId: string,
  input: PayInvoiceInput,
): Promise<ApiSchemas['Invoice']> {
  requirePermission(actor, 'invoices.write');
  const now = deps.clock.now();
  const paidAt = input.paid_at ? new Date(input.paid_at) : now;
  await withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const invoice = await invoicesRepo.findInvoice(scope, invoiceId, { lock: true });
    if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
    if (!isUnpaid(invoice.status))
      throw conflict('invoice_not_payable', `Only an unpaid invoice can be paid; this one is ${invoice.status}`);
    // The invoice's total, as this action always recorded: credit notes issued before it are then owed back to the
    // customer (the receivable below zero), as they are for an invoice credited after its payment.
    await applyPaymentSucceeded(deps, scope, invoice, {
      source: 'out_of_band',
      paymentIntentId: null,
      attempt: null,
      amount: toNano(invoice.total),
      currency: invoice.currency,
      paidAt,
      actor,
    });
  });
  return getInvoice(deps, actor, invoiceId);
}

export async function listStripeEvents(
  deps: Deps,
  actor: Actor,
  limit: number,
): Promise<ApiSchemas['StripeEventList']> {
  requirePermission(actor, 'payments.manage');
  const rows = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listEvents({ db: tx, tenantId: actor.tenantId }, limit),
  );
  return {
    data: rows.map((r) => ({
      id: r.id,
      type: r.type,
      outcome: r.outcome,
      detail: r.detail,
      livemode: r.livemode,
      received_at: r.receivedAt.toISOString(),
    })),
  };
}

/**
 * The tenant's Stripe connection for Stripe Tax (platform/tenant-stripe.ts): its sealed key opened, at the
 * configured Stripe address. Undefined when the tenant has not connected Stripe.
 */
export async function tenantStripeTaxConnection(deps: Deps, tenantId: string): Promise<StripeConnection | undefined> {
  const connection = await withTenant(deps.db, tenantId, (tx) => repo.findConnection({ db: tx, tenantId }));
  if (!connection) return undefined;
  const settings = settingsOf(deps);
  return {
    apiKey: secretKeyOf(deps, tenantId, connection),
    ...settings.stripeApi,
    timeoutMs: settings.stripeTimeoutMs,
    maxNetworkRetries: settings.stripeMaxNetworkRetries,
  };
}
