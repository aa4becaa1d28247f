// The payments part of the OpenAPI document: the Stripe connection, the dunning policy, payment setup links,
// invoice collection and the operator's actions, and the incoming Stripe events endpoint. Merged into document.ts.
import { connectStripeInput, dunningPolicyInput, invoiceActionInput, setupLinkInput } from './schemas/payments.ts';
import {
  type Operation,
  type Schema,
  fromZod,
  instant,
  money,
  nullable,
  object,
  ref,
  string,
  described,
  customerId,
} from './schema.ts';

const uuid: Schema = { type: 'string', format: 'uuid' };
const integer: Schema = { type: 'integer' };
const invoiceId = { name: 'id', in: 'path' as const, schema: uuid, required: true };

export const paymentSchemas: Record<string, Schema> = {
  StripeConnection: object({
    connected: { type: 'boolean' },
    key_last4: described(nullable(string), 'The last four characters of the key; the key itself is never returned.'),
    mode: nullable({ type: 'string', enum: ['live', 'test'] }),
    account_id: nullable(string),
    connected_at: nullable(instant),
  }),
  DunningPolicy: object({
    retry_after_days: described(
      { type: 'array', items: { type: 'number' } },
      'Retries after the first failed attempt, in days from it.',
    ),
    block_after_days: described(
      nullable({ type: 'number' }),
      "Days after the first failure when the customer's new usage is blocked while the invoice is unpaid; null: never.",
    ),
  }),
  PaymentSetupLink: object({
    customer_id: string,
    stripe_customer_id: string,
    session_id: string,
    url: described(string, "Stripe's hosted page (Checkout in setup mode) where the customer saves a card."),
    expires_at: nullable(instant),
  }),
  CustomerPayment: object({
    customer_id: string,
    stripe_customer_id: nullable(string),
    default_payment_method: described(nullable(string), 'Set when Stripe reports the setup succeeded.'),
    payment_method_set_at: nullable(instant),
    card: described(
      nullable(object({ brand: described(string, "Stripe's card brand, e.g. visa."), last4: string })),
      'The default payment method when it is a card, as Stripe describes it.',
    ),
    blocked: described(
      { type: 'boolean' },
      'Ingestion refuses its events (customer_blocked) and the entitlement check says no.',
    ),
    blocks: {
      type: 'array',
      items: object({ reason: { type: 'string', enum: ['payment_past_due'] }, invoice_id: uuid, blocked_at: instant }),
    },
  }),
  PaymentAttempt: object({
    attempt: integer,
    status: { type: 'string', enum: ['sending', 'processing', 'requires_action', 'failed', 'succeeded', 'canceled'] },
    payment_intent_id: nullable(string),
    amount: money,
    currency: string,
    failure_code: nullable(string),
    failure_message: nullable(string),
    created_at: instant,
    updated_at: instant,
  }),
  InvoiceCollection: object({
    invoice_id: uuid,
    invoice_status: { type: 'string', enum: ['draft', 'finalized', 'past_due', 'uncollectible', 'paid', 'void'] },
    amount_due: money,
    status: described(
      { type: 'string', enum: ['none', 'active', 'paid', 'exhausted', 'stopped'] },
      'none: not collected through Stripe; active: attempts continue; exhausted: the schedule ran out; stopped: an operator ended it.',
    ),
    attempt: described(nullable(integer), 'The attempt number in force.'),
    next_attempt_at: nullable(instant),
    first_failed_at: nullable(instant),
    block_at: nullable(instant),
    blocked_at: nullable(instant),
    written_off_at: nullable(instant),
    last_error: nullable(string),
    attempts: { type: 'array', items: ref('PaymentAttempt') },
    disputes: {
      type: 'array',
      items: object({
        dispute_id: string,
        status: string,
        reason: nullable(string),
        amount: money,
        updated_at: instant,
      }),
    },
  }),
  StripeEventList: object({
    data: {
      type: 'array',
      items: object({
        id: string,
        type: string,
        outcome: { type: 'string', enum: ['applied', 'stale', 'ignored', 'unmatched'] },
        detail: nullable(string),
        livemode: { type: 'boolean' },
        received_at: instant,
      }),
    },
  }),
  StripeEventReceipt: object({
    received: { type: 'boolean' },
    event_id: string,
    type: string,
    outcome: described(
      { type: 'string', enum: ['applied', 'stale', 'ignored', 'unmatched'] },
      'applied: it changed something; stale: already known or superseded (late, repeated, out of order); ignored: a type Tariff does not act on; unmatched: it names nothing of this tenant.',
    ),
    detail: nullable(string),
    duplicate: described({ type: 'boolean' }, 'The event id was received before; nothing was done again.'),
  }),
};

const collectionRule =
  'A finalized invoice with an amount due is collected off-session by a Stripe PaymentIntent in its currency and minor unit, once the tenant connected Stripe and the customer saved a payment method; ' +
  'each attempt carries the idempotency key tariff:{tenant}:invoice:{id}:attempt:{n}, so a retry or a crash never charges twice. The first failure makes the invoice past_due; retries follow the dunning policy ' +
  '(default 1, 3, 5 and 7 days after the first failure); when they run out it is uncollectible. Each step records a notification (invoice.payment_failed, invoice.past_due, invoice.uncollectible, customer.blocked, customer.unblocked).';

type PaymentOperation = Operation & { public?: boolean };

export const paymentRoutes: Record<string, Record<string, PaymentOperation>> = {
  '/v1/stripe/connection': {
    get: {
      summary: 'The Stripe connection (never its secrets)',
      operationId: 'getStripeConnection',
      ok: [200, 'StripeConnection'],
    },
    put: {
      summary:
        'Connect Stripe: a restricted (or secret) key and the webhook signing secret, stored encrypted, never returned',
      operationId: 'connectStripe',
      description:
        'The key is tried with one cheap call (listing one customer): 400 stripe_key_rejected (field `secret_key`) when Stripe refuses it, 422 stripe_unavailable when Stripe does not answer.',
      body: fromZod(connectStripeInput),
      ok: [200, 'StripeConnection'],
    },
    delete: {
      summary: 'Disconnect Stripe (collection stops; invoices stay as they are)',
      operationId: 'disconnectStripe',
      ok: [200, 'StripeConnection'],
    },
  },
  '/v1/stripe/events': {
    get: {
      summary: 'The Stripe events received, newest first, with what each did',
      operationId: 'listStripeEvents',
      ok: [200, 'StripeEventList'],
      params: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }],
    },
  },
  '/v1/stripe/events/{tenant}': {
    post: {
      summary: "Stripe's webhook endpoint for one tenant (its slug or id): point the tenant's Stripe webhook here",
      operationId: 'receiveStripeEvent',
      description:
        "Verified on the raw body with the Stripe-Signature header and the tenant's signing secret; 400 invalid_signature when it does not verify, 404 for an unknown or unconnected tenant. " +
        'Idempotent by the event id; late, repeated or out-of-order events never undo a newer state. Acts on payment_intent.succeeded/payment_failed/requires_action/canceled, setup_intent.succeeded, ' +
        'checkout.session.completed (setup), charge.refunded (a credit note and the cash back) and charge.dispute.*; other types are recorded as ignored.',
      body: { type: 'object', additionalProperties: true, description: 'A Stripe event, exactly as Stripe sent it.' },
      ok: [200, 'StripeEventReceipt'],
      params: [{ name: 'tenant', in: 'path', schema: string, required: true, description: "The tenant's slug or id." }],
      public: true,
    },
  },
  '/v1/dunning_policy': {
    get: { summary: 'The dunning policy', operationId: 'getDunningPolicy', ok: [200, 'DunningPolicy'] },
    put: {
      summary: 'Set the dunning policy (retry schedule, blocking)',
      operationId: 'setDunningPolicy',
      description: collectionRule,
      body: fromZod(dunningPolicyInput),
      ok: [200, 'DunningPolicy'],
    },
  },
  '/v1/customers/{id}/payment': {
    get: {
      summary: "A customer's Stripe customer, payment method and blocks",
      operationId: 'getCustomerPayment',
      ok: [200, 'CustomerPayment'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/payment_setup_link': {
    post: {
      summary: 'A Stripe-hosted page where the customer saves a card (Checkout in setup mode): send or show its link',
      operationId: 'createPaymentSetupLink',
      description:
        "Creates the Stripe customer on first use. When Stripe reports the setup succeeded, the card becomes the customer's default payment method.",
      body: fromZod(setupLinkInput),
      ok: [200, 'PaymentSetupLink'],
      params: [customerId],
    },
  },
  '/v1/invoices/{id}/collection': {
    get: {
      summary: "An invoice's collection: attempts, schedule, block, disputes",
      operationId: 'getInvoiceCollection',
      description: collectionRule,
      ok: [200, 'InvoiceCollection'],
      params: [invoiceId],
    },
  },
  '/v1/invoices/{id}/retry_payment': {
    post: {
      summary: 'Retry the payment now (also of an uncollectible invoice), and answer with the outcome',
      operationId: 'retryInvoicePayment',
      ok: [200, 'InvoiceCollection'],
      params: [invoiceId],
    },
  },
  '/v1/invoices/{id}/mark_uncollectible': {
    post: {
      summary: 'Stop collecting: the invoice is uncollectible (a later payment is still taken)',
      operationId: 'markInvoiceUncollectible',
      body: fromZod(invoiceActionInput),
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
  '/v1/invoices/{id}/write_off': {
    post: {
      summary: 'Write off what is due: uncollectible, and the receivable closed against bad debt in the ledger',
      operationId: 'writeOffInvoice',
      body: fromZod(invoiceActionInput),
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
};
