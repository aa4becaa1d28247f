// /v1/checkout/sessions in setup mode: the session's `url` is a page on the double; completing it (the test hook, or
// a POST to that page) saves the card through a SetupIntent and sends `checkout.session.completed`.
import { invalidParam, invalidRequest } from './errors.ts';
import { mergeMetadata, readEnum, readInteger, readObject, readString, readStringArray } from './params.ts';
import { emitEvent, listPage, objectsOfType, requireObject, type HandlerContext, type Route } from './routes.ts';
import { confirmSetupIntent, createSetupIntent } from './setup-intents.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

type Context = Pick<HandlerContext, 'core' | 'account' | 'cause'>;

/** `setup_intent_data[metadata]`, kept beside the session until completion creates the SetupIntent (lazily, as Stripe). */
const setupIntentMetadataOf = new WeakMap<StripeObject, Record<string, string>>();

export function checkoutPagePath(sessionId: string): string {
  return `/checkout/pay/${sessionId}`;
}

function createSession(context: HandlerContext): StripeObject {
  const { params, account } = context;
  const mode = readEnum(params, 'mode', ['payment', 'setup', 'subscription'] as const);
  if (!mode) throw invalidParam('mode', 'Missing required param: mode.', 'parameter_missing');
  if (mode !== 'setup')
    throw invalidParam('mode', `The Stripe double supports Checkout in setup mode only (got ${mode}).`);
  const customer = readString(params, 'customer');
  if (customer) requireObject(account, customer, 'customer', 'customer');
  const successUrl = readString(params, 'success_url');
  const uiMode = readEnum(params, 'ui_mode', ['hosted', 'embedded', 'custom'] as const) ?? 'hosted';
  if (uiMode === 'hosted' && !successUrl)
    throw invalidParam(
      'success_url',
      'You must provide a success_url for a hosted Checkout Session.',
      'parameter_missing',
    );
  const now = context.core.now();
  const id = `cs_test_${newId('x', 56).slice(2)}`;
  const setupIntentData = readObject(params, 'setup_intent_data');
  const session = fromFixture('checkout.session', {
    id,
    mode,
    created: now,
    expires_at: readInteger(params, 'expires_at') ?? now + 24 * 3600,
    customer: customer ?? null,
    customer_email: readString(params, 'customer_email') ?? null,
    client_reference_id: readString(params, 'client_reference_id') ?? null,
    currency: readString(params, 'currency') ?? null,
    metadata: mergeMetadata({}, params),
    success_url: successUrl ?? null,
    cancel_url: readString(params, 'cancel_url') ?? null,
    payment_method_types: readStringArray(params, 'payment_method_types') ?? ['card'],
    payment_intent: null,
    setup_intent: null,
    payment_status: 'no_payment_required',
    status: 'open',
    url: `${context.core.baseUrl()}${checkoutPagePath(id)}`,
    ui_mode: uiMode,
    amount_subtotal: null,
    amount_total: null,
    customer_details: null,
    shipping_cost: null,
    shipping_address_collection: null,
    total_details: null,
    currency_conversion: null,
    invoice_creation: null,
    after_expiration: null,
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    collected_information: null,
    adaptive_pricing: null,
    managed_payments: null,
    payment_method_configuration_details: null,
  });
  setupIntentMetadataOf.set(session, setupIntentData ? mergeMetadata({}, setupIntentData) : {});
  return saveObject(account, session);
}

/**
 * The customer enters a card on the hosted page and passes any authentication it asks for: a SetupIntent is created
 * and confirmed with it, the card is attached to the session's customer.
 */
export function completeCheckoutSession(context: Context, session: StripeObject, paymentMethod: string): StripeObject {
  if (session.status !== 'open')
    throw invalidRequest(`This Checkout Session is ${session.status}.`, { code: 'checkout_session_unexpected_state' });
  const setupIntent = createSetupIntent(context, {
    customer: session.customer,
    paymentMethod,
    metadata: setupIntentMetadataOf.get(session) ?? {},
    paymentMethodTypes: session.payment_method_types,
  });
  confirmSetupIntent(context, setupIntent, { authenticated: true });
  const previous = { status: session.status };
  Object.assign(session, { status: 'complete', setup_intent: setupIntent.id, url: null });
  emitEvent(context, 'checkout.session.completed', session, previous);
  return session;
}

export const checkoutRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/checkout/sessions',
    accepts: [
      'mode',
      'customer',
      'customer_email',
      'customer_creation',
      'client_reference_id',
      'currency',
      'metadata',
      'success_url',
      'cancel_url',
      'return_url',
      'redirect_on_completion',
      'payment_method_types',
      'payment_method_collection',
      'payment_method_configuration',
      'payment_method_options',
      'setup_intent_data',
      'ui_mode',
      'expires_at',
      'locale',
      'billing_address_collection',
      'consent_collection',
      'custom_text',
      'custom_fields',
      'automatic_tax',
      'tax_id_collection',
      'phone_number_collection',
      'customer_update',
      'line_items',
    ],
    handle: createSession,
  },
  {
    method: 'GET',
    path: '/v1/checkout/sessions',
    handle: (context) => {
      const customer = readString(context.params, 'customer');
      return listPage(
        objectsOfType(
          context.account,
          'checkout.session',
          (session) => customer === undefined || session.customer === customer,
        ),
        context.params,
        '/v1/checkout/sessions',
      );
    },
  },
  {
    method: 'GET',
    path: '/v1/checkout/sessions/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'checkout.session'),
  },
  {
    method: 'POST',
    path: '/v1/checkout/sessions/:id/expire',
    accepts: [],
    handle: (context) => {
      const session = requireObject(context.account, context.path.id!, 'checkout.session');
      if (session.status !== 'open')
        throw invalidRequest(`Only open Checkout Sessions can be expired; this one is ${session.status}.`, {
          code: 'checkout_session_unexpected_state',
        });
      const previous = { status: session.status };
      Object.assign(session, { status: 'expired', url: null });
      emitEvent(context, 'checkout.session.expired', session, previous);
      return session;
    },
  },
];
