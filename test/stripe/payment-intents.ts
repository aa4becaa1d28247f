// /v1/payment_intents and /v1/charges: the outcome of a confirmation follows the test card (cards.ts): a charge that
// succeeds, a decline (402 card_error with the PaymentIntent inside), or authentication (requires_action on-session,
// 402 authentication_required off-session), each with the events Stripe sends for it.
import type { Decline } from './cards.ts';
import { StripeApiError, invalidParam, invalidRequest } from './errors.ts';
import { mergeMetadata, readBoolean, readEnum, readInteger, readString, readStringArray } from './params.ts';
import { attachPaymentMethod, resolvePaymentMethod, testCardOf } from './payment-methods.ts';
import { openDispute } from './refunds.ts';
import { emitEvent, listPage, objectsOfType, requireObject, type HandlerContext, type Route } from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

type Context = Pick<HandlerContext, 'core' | 'account' | 'cause'>;

/** Stripe's minimum charge amounts in the currency's minor unit, for the currencies a test is likely to use. */
const MINIMUM_AMOUNT: Record<string, number> = {
  usd: 50,
  eur: 50,
  gbp: 30,
  cad: 50,
  aud: 50,
  chf: 50,
  jpy: 50,
  sek: 300,
  nok: 300,
  dkk: 250,
};

const CONFIRMABLE = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

function createPaymentIntent(context: HandlerContext): StripeObject {
  const { params, account } = context;
  const amount = readInteger(params, 'amount', 'required');
  const currency = readString(params, 'currency', 'required').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency))
    throw invalidParam(
      'currency',
      `Invalid currency: ${currency}. Stripe currently supports these currencies: usd, eur, gbp, ...`,
    );
  const minimum = MINIMUM_AMOUNT[currency] ?? 1;
  if (amount < minimum)
    throw invalidRequest(`Amount must be at least ${minimum} ${currency}`, {
      param: 'amount',
      code: 'amount_too_small',
    });
  if (amount > 99_999_999)
    throw invalidRequest('Amount must be no more than 999,999.99', { param: 'amount', code: 'amount_too_large' });
  const captureMethod = readEnum(params, 'capture_method', ['automatic', 'automatic_async', 'manual'] as const);
  if (captureMethod === 'manual')
    throw invalidParam('capture_method', 'The Stripe double only supports automatic capture.');
  const customerId = readString(params, 'customer');
  if (customerId) requireObject(account, customerId, 'customer', 'customer');
  const paymentMethodName = readString(params, 'payment_method');
  const paymentMethod = paymentMethodName ? resolvePaymentMethod(context, paymentMethodName) : null;
  const id = newId('pi');
  const paymentIntent = fromFixture('payment_intent', {
    id,
    amount,
    currency,
    created: context.core.now(),
    client_secret: `${id}_secret_${newId('x', 25).slice(2)}`,
    customer: customerId ?? null,
    description: readString(params, 'description') ?? null,
    receipt_email: readString(params, 'receipt_email') ?? null,
    statement_descriptor: readString(params, 'statement_descriptor') ?? null,
    statement_descriptor_suffix: readString(params, 'statement_descriptor_suffix') ?? null,
    metadata: mergeMetadata({}, params),
    payment_method: paymentMethod?.id ?? null,
    payment_method_types: readStringArray(params, 'payment_method_types') ?? ['card'],
    setup_future_usage: readEnum(params, 'setup_future_usage', ['on_session', 'off_session'] as const) ?? null,
    automatic_payment_methods: null,
    capture_method: captureMethod ?? 'automatic',
    status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    canceled_at: null,
    last_payment_error: null,
    latest_charge: null,
    next_action: null,
    processing: null,
    transfer_data: null,
    shipping: null,
    amount_details: { tip: {} },
    payment_method_configuration_details: null,
    managed_payments: null,
  });
  saveObject(account, paymentIntent);
  emitEvent(context, 'payment_intent.created', paymentIntent);
  if (readBoolean(params, 'confirm')) confirmPaymentIntent(context, paymentIntent, confirmOptions(context));
  return paymentIntent;
}

interface ConfirmOptions {
  offSession: boolean;
  errorOnRequiresAction: boolean;
}

function confirmOptions(context: HandlerContext): ConfirmOptions {
  // off_session takes a boolean or, in older versions, "one_off"/"recurring": both mean "customer not present".
  const offSession = readString(context.params, 'off_session');
  return {
    offSession: offSession !== undefined && offSession !== 'false',
    errorOnRequiresAction: readBoolean(context.params, 'error_on_requires_action') ?? false,
  };
}

export function confirmPaymentIntent(context: Context, paymentIntent: StripeObject, options: ConfirmOptions): void {
  if (!CONFIRMABLE.includes(paymentIntent.status)) {
    throw invalidRequest(`This PaymentIntent's status is ${paymentIntent.status}, and it cannot be confirmed.`, {
      code: 'payment_intent_unexpected_state',
    });
  }
  if (!paymentIntent.payment_method) {
    throw invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. Specify a payment method attached to the customer along with the customer ID.",
      {
        code: 'payment_intent_unexpected_state',
        param: 'payment_method',
      },
    );
  }
  const paymentMethod = requireObject(
    context.account,
    paymentIntent.payment_method,
    'payment_method',
    'payment_method',
  );
  if (paymentMethod.customer !== null && paymentMethod.customer !== paymentIntent.customer) {
    throw invalidRequest(
      paymentIntent.customer === null
        ? 'The provided PaymentMethod was previously used with a customer; pass that customer with the PaymentIntent.'
        : 'The provided PaymentMethod belongs to a different customer than the PaymentIntent.',
      { param: 'payment_method' },
    );
  }
  const card = testCardOf(context, paymentMethod);
  if (card.charge === 'succeed') return succeedPaymentIntent(context, paymentIntent, paymentMethod);
  if (card.charge !== 'authenticate') return declinePaymentIntent(context, paymentIntent, paymentMethod, card.charge);
  if (options.offSession || options.errorOnRequiresAction) {
    // The customer is not there to authenticate: the bank's soft decline comes back as an error.
    return declinePaymentIntent(context, paymentIntent, paymentMethod, {
      code: 'authentication_required',
      declineCode: 'authentication_required',
      message: 'Your card was declined. This transaction requires authentication.',
    });
  }
  const previous = { status: paymentIntent.status };
  paymentIntent.status = 'requires_action';
  paymentIntent.next_action = {
    type: 'use_stripe_sdk',
    use_stripe_sdk: {
      type: 'three_d_secure_redirect',
      stripe_js: `${context.core.baseUrl()}/authenticate/${paymentIntent.id}`,
      source: newId('src'),
    },
  };
  emitEvent(context, 'payment_intent.requires_action', paymentIntent, previous);
}

function newCharge(
  context: Context,
  paymentIntent: StripeObject,
  paymentMethod: StripeObject,
  decline: Decline | null,
): StripeObject {
  const card = testCardOf(context, paymentMethod);
  const template = fromFixture('charge', {});
  const charge = fromFixture('charge', {
    id: newId('ch'),
    amount: paymentIntent.amount,
    amount_captured: decline ? 0 : paymentIntent.amount,
    amount_refunded: 0,
    balance_transaction: decline ? null : newId('txn'),
    billing_details: paymentMethod.billing_details,
    captured: !decline,
    created: context.core.now(),
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    description: paymentIntent.description,
    disputed: false,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    metadata: { ...paymentIntent.metadata },
    outcome: decline
      ? {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: 'declined_by_network',
          reason: decline.declineCode,
          risk_level: 'normal',
          seller_message: 'The bank did not return any further details with this decline.',
          type: 'issuer_declined',
        }
      : {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: 'approved_by_network',
          reason: null,
          risk_level: 'normal',
          seller_message: 'Payment complete.',
          type: 'authorized',
        },
    paid: !decline,
    payment_intent: paymentIntent.id,
    payment_method: paymentMethod.id,
    receipt_email: paymentIntent.receipt_email,
    receipt_url: null,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: '' },
    source: null,
    status: decline ? 'failed' : 'succeeded',
    transfer_data: null,
    shipping: null,
  });
  charge.refunds.url = `/v1/charges/${charge.id}/refunds`;
  charge.payment_method_details = {
    type: 'card',
    card: {
      ...template.payment_method_details.card,
      brand: card.brand,
      network: card.brand,
      last4: card.last4,
      funding: card.funding,
      fingerprint: paymentMethod.card.fingerprint,
      amount_authorized: decline ? null : paymentIntent.amount,
      wallet: null,
      overcapture: { maximum_amount_capturable: paymentIntent.amount, status: 'unavailable' },
    },
  };
  return saveObject(context.account, charge);
}

function succeedPaymentIntent(context: Context, paymentIntent: StripeObject, paymentMethod: StripeObject): void {
  const charge = newCharge(context, paymentIntent, paymentMethod, null);
  const previous = { status: paymentIntent.status, amount_received: paymentIntent.amount_received };
  Object.assign(paymentIntent, {
    status: 'succeeded',
    amount_received: paymentIntent.amount,
    latest_charge: charge.id,
    next_action: null,
    last_payment_error: null,
  });
  context.core.state.charges.record({
    account: context.account.id,
    charge: charge.id,
    paymentIntent: paymentIntent.id,
    customer: paymentIntent.customer,
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    metadata: { ...paymentIntent.metadata },
  });
  if (paymentIntent.setup_future_usage && paymentIntent.customer && paymentMethod.customer === null)
    attachPaymentMethod(context, paymentMethod.id, paymentIntent.customer);
  emitEvent(context, 'charge.succeeded', charge);
  emitEvent(context, 'payment_intent.succeeded', paymentIntent, previous);
  if (testCardOf(context, paymentMethod).disputed) openDispute(context, charge.id, {});
}

function declinePaymentIntent(
  context: Context,
  paymentIntent: StripeObject,
  paymentMethod: StripeObject,
  decline: Decline,
): never {
  const charge = newCharge(context, paymentIntent, paymentMethod, decline);
  const error = {
    type: 'card_error' as const,
    code: decline.code,
    decline_code: decline.declineCode,
    message: decline.message,
    charge: charge.id,
  };
  const previous = { status: paymentIntent.status };
  Object.assign(paymentIntent, {
    status: 'requires_payment_method',
    latest_charge: charge.id,
    next_action: null,
    last_payment_error: {
      ...error,
      doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
      payment_method: structuredClone(paymentMethod),
    },
  });
  emitEvent(context, 'charge.failed', charge);
  emitEvent(context, 'payment_intent.payment_failed', paymentIntent, previous);
  throw new StripeApiError(
    402,
    { ...error, payment_intent: structuredClone(paymentIntent), payment_method: structuredClone(paymentMethod) },
    { executed: true },
  );
}

/** The test hook behind a customer finishing (or failing) 3-D Secure on a PaymentIntent in requires_action. */
export function completePaymentIntentAuthentication(
  context: Context,
  paymentIntent: StripeObject,
  succeed: boolean,
): void {
  if (paymentIntent.status !== 'requires_action')
    throw new Error(`${paymentIntent.id} is ${paymentIntent.status}, not requires_action`);
  const paymentMethod = requireObject(context.account, paymentIntent.payment_method, 'payment_method');
  if (succeed) return succeedPaymentIntent(context, paymentIntent, paymentMethod);
  const previous = { status: paymentIntent.status };
  Object.assign(paymentIntent, {
    status: 'requires_payment_method',
    next_action: null,
    last_payment_error: {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message:
        'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
      payment_method: structuredClone(paymentMethod),
    },
  });
  emitEvent(context, 'payment_intent.payment_failed', paymentIntent, previous);
}

function confirmExisting(context: HandlerContext): StripeObject {
  const paymentIntent = requireObject(context.account, context.path.id!, 'payment_intent');
  const paymentMethodName = readString(context.params, 'payment_method');
  if (paymentMethodName) paymentIntent.payment_method = resolvePaymentMethod(context, paymentMethodName).id;
  confirmPaymentIntent(context, paymentIntent, confirmOptions(context));
  return paymentIntent;
}

function updatePaymentIntent(context: HandlerContext): StripeObject {
  const paymentIntent = requireObject(context.account, context.path.id!, 'payment_intent');
  if (paymentIntent.status === 'succeeded' || paymentIntent.status === 'canceled') {
    const onlyMetadata = Object.keys(context.params).every((key) =>
      ['metadata', 'description', 'expand'].includes(key),
    );
    if (!onlyMetadata)
      throw invalidRequest(
        `This PaymentIntent's amount could not be updated because it has a status of ${paymentIntent.status}.`,
        { code: 'payment_intent_unexpected_state' },
      );
  }
  const amount = readInteger(context.params, 'amount');
  if (amount !== undefined) paymentIntent.amount = amount;
  const description = readString(context.params, 'description');
  if (description !== undefined) paymentIntent.description = description;
  paymentIntent.metadata = mergeMetadata(paymentIntent.metadata, context.params);
  return paymentIntent;
}

function cancelPaymentIntent(context: HandlerContext): StripeObject {
  const paymentIntent = requireObject(context.account, context.path.id!, 'payment_intent');
  if (paymentIntent.status === 'succeeded' || paymentIntent.status === 'canceled') {
    throw invalidRequest(`You cannot cancel this PaymentIntent because it has a status of ${paymentIntent.status}.`, {
      code: 'payment_intent_unexpected_state',
    });
  }
  const previous = { status: paymentIntent.status };
  Object.assign(paymentIntent, {
    status: 'canceled',
    canceled_at: context.core.now(),
    cancellation_reason:
      readEnum(context.params, 'cancellation_reason', [
        'duplicate',
        'fraudulent',
        'requested_by_customer',
        'abandoned',
      ] as const) ?? null,
    next_action: null,
  });
  emitEvent(context, 'payment_intent.canceled', paymentIntent, previous);
  return paymentIntent;
}

const CONFIRM_PARAMS = [
  'payment_method',
  'off_session',
  'error_on_requires_action',
  'return_url',
  'mandate',
  'mandate_data',
  'payment_method_options',
  'payment_method_data',
  'payment_method_types',
  'receipt_email',
  'setup_future_usage',
  'shipping',
  'use_stripe_sdk',
  'capture_method',
  'radar_options',
  'confirmation_token',
];

export const paymentIntentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/payment_intents',
    accepts: [
      CONFIRM_PARAMS,
      'amount',
      'currency',
      'customer',
      'confirm',
      'metadata',
      'description',
      'statement_descriptor',
      'statement_descriptor_suffix',
      'confirmation_method',
      'automatic_payment_methods',
      'on_behalf_of',
      'transfer_data',
      'transfer_group',
      'application_fee_amount',
      'payment_method_configuration',
      'excluded_payment_method_types',
      'amount_details',
      'payment_details',
    ].flat(),
    handle: createPaymentIntent,
  },
  {
    method: 'GET',
    path: '/v1/payment_intents',
    handle: (context) => {
      const customer = readString(context.params, 'customer');
      return listPage(
        objectsOfType(
          context.account,
          'payment_intent',
          (intent) => customer === undefined || intent.customer === customer,
        ),
        context.params,
        '/v1/payment_intents',
      );
    },
  },
  {
    method: 'GET',
    path: '/v1/payment_intents/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'payment_intent'),
  },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id',
    accepts: [
      'amount',
      'currency',
      'customer',
      'description',
      'metadata',
      'payment_method',
      'payment_method_types',
      'payment_method_options',
      'receipt_email',
      'setup_future_usage',
      'shipping',
      'statement_descriptor',
      'statement_descriptor_suffix',
      'transfer_group',
      'capture_method',
    ],
    handle: updatePaymentIntent,
  },
  { method: 'POST', path: '/v1/payment_intents/:id/confirm', accepts: CONFIRM_PARAMS, handle: confirmExisting },
  {
    method: 'POST',
    path: '/v1/payment_intents/:id/cancel',
    accepts: ['cancellation_reason'],
    handle: cancelPaymentIntent,
  },
  {
    method: 'GET',
    path: '/v1/charges',
    handle: (context) => {
      const customer = readString(context.params, 'customer');
      const paymentIntent = readString(context.params, 'payment_intent');
      const charges = objectsOfType(
        context.account,
        'charge',
        (charge) =>
          (customer === undefined || charge.customer === customer) &&
          (paymentIntent === undefined || charge.payment_intent === paymentIntent),
      );
      return listPage(charges, context.params, '/v1/charges');
    },
  },
  {
    method: 'GET',
    path: '/v1/charges/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'charge'),
  },
];
