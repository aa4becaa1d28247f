// /v1/setup_intents: saving a card for later off-session charges. Confirming attaches the card to the customer
// (`setup_intent.succeeded`), unless the test card asks for authentication on setup (`requires_action`).
import { invalidRequest } from './errors.ts';
import { mergeMetadata, readBoolean, readEnum, readString, readStringArray } from './params.ts';
import { attachPaymentMethod, resolvePaymentMethod, testCardOf } from './payment-methods.ts';
import { emitEvent, listPage, objectsOfType, requireObject, type HandlerContext, type Route } from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

type Context = Pick<HandlerContext, 'core' | 'account' | 'cause'>;

export interface NewSetupIntent {
  customer: string | null;
  paymentMethod: string | null;
  usage?: 'on_session' | 'off_session';
  metadata?: Record<string, string>;
  description?: string | null;
  paymentMethodTypes?: string[];
}

export function createSetupIntent(context: Context, fields: NewSetupIntent): StripeObject {
  if (fields.customer) requireObject(context.account, fields.customer, 'customer', 'customer');
  const paymentMethod = fields.paymentMethod ? resolvePaymentMethod(context, fields.paymentMethod) : null;
  const id = newId('seti');
  const setupIntent = fromFixture('setup_intent', {
    id,
    client_secret: `${id}_secret_${newId('x', 32).slice(2)}`,
    created: context.core.now(),
    customer: fields.customer,
    description: fields.description ?? null,
    metadata: fields.metadata ?? {},
    payment_method: paymentMethod?.id ?? null,
    payment_method_types: fields.paymentMethodTypes ?? ['card'],
    usage: fields.usage ?? 'off_session',
    status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    automatic_payment_methods: null,
    last_setup_error: null,
    next_action: null,
    payment_method_configuration_details: null,
  });
  saveObject(context.account, setupIntent);
  emitEvent(context, 'setup_intent.created', setupIntent);
  return setupIntent;
}

/**
 * Confirms with the attached payment method. `authenticated` is true when the customer is present and passes 3-D
 * Secure (a hosted page: Checkout, or the authentication test hook).
 */
export function confirmSetupIntent(
  context: Context,
  setupIntent: StripeObject,
  options: { authenticated: boolean },
): void {
  if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(setupIntent.status)) {
    throw invalidRequest(`This SetupIntent's status is ${setupIntent.status}, and it cannot be confirmed.`, {
      code: 'setup_intent_unexpected_state',
    });
  }
  if (!setupIntent.payment_method) {
    throw invalidRequest("You cannot confirm this SetupIntent because it's missing a payment method.", {
      code: 'setup_intent_unexpected_state',
      param: 'payment_method',
    });
  }
  const paymentMethod = requireObject(context.account, setupIntent.payment_method, 'payment_method', 'payment_method');
  const previous = { status: setupIntent.status };
  if (testCardOf(context, paymentMethod).authenticateOnSetup && !options.authenticated) {
    setupIntent.status = 'requires_action';
    setupIntent.next_action = {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        stripe_js: `${context.core.baseUrl()}/authenticate/${setupIntent.id}`,
      },
    };
    emitEvent(context, 'setup_intent.requires_action', setupIntent, previous);
    return;
  }
  if (setupIntent.customer) attachPaymentMethod(context, paymentMethod.id, setupIntent.customer);
  Object.assign(setupIntent, { status: 'succeeded', next_action: null, latest_attempt: newId('setatt') });
  emitEvent(context, 'setup_intent.succeeded', setupIntent, previous);
}

function createFromRequest(context: HandlerContext): StripeObject {
  const { params } = context;
  const setupIntent = createSetupIntent(context, {
    customer: readString(params, 'customer') ?? null,
    paymentMethod: readString(params, 'payment_method') ?? null,
    usage: readEnum(params, 'usage', ['on_session', 'off_session'] as const),
    metadata: mergeMetadata({}, params),
    description: readString(params, 'description'),
    paymentMethodTypes: readStringArray(params, 'payment_method_types'),
  });
  if (readBoolean(params, 'confirm')) confirmSetupIntent(context, setupIntent, { authenticated: false });
  return setupIntent;
}

function confirmFromRequest(context: HandlerContext): StripeObject {
  const setupIntent = requireObject(context.account, context.path.id!, 'setup_intent');
  const paymentMethod = readString(context.params, 'payment_method');
  if (paymentMethod) setupIntent.payment_method = resolvePaymentMethod(context, paymentMethod).id;
  confirmSetupIntent(context, setupIntent, { authenticated: false });
  return setupIntent;
}

const CONFIRM_PARAMS = [
  'payment_method',
  'return_url',
  'mandate_data',
  'payment_method_options',
  'payment_method_data',
  'use_stripe_sdk',
  'confirmation_token',
];

export const setupIntentRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/setup_intents',
    accepts: [
      CONFIRM_PARAMS,
      'confirm',
      'customer',
      'description',
      'metadata',
      'payment_method_types',
      'usage',
      'automatic_payment_methods',
      'attach_to_self',
      'flow_directions',
      'on_behalf_of',
      'payment_method_configuration',
      'single_use',
      'excluded_payment_method_types',
    ].flat(),
    handle: createFromRequest,
  },
  {
    method: 'GET',
    path: '/v1/setup_intents',
    handle: (context) => {
      const customer = readString(context.params, 'customer');
      return listPage(
        objectsOfType(
          context.account,
          'setup_intent',
          (intent) => customer === undefined || intent.customer === customer,
        ),
        context.params,
        '/v1/setup_intents',
      );
    },
  },
  {
    method: 'GET',
    path: '/v1/setup_intents/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'setup_intent'),
  },
  { method: 'POST', path: '/v1/setup_intents/:id/confirm', accepts: CONFIRM_PARAMS, handle: confirmFromRequest },
  {
    method: 'POST',
    path: '/v1/setup_intents/:id/cancel',
    accepts: ['cancellation_reason'],
    handle: (context) => {
      const setupIntent = requireObject(context.account, context.path.id!, 'setup_intent');
      if (setupIntent.status === 'succeeded' || setupIntent.status === 'canceled') {
        throw invalidRequest(`You cannot cancel this SetupIntent because it has a status of ${setupIntent.status}.`, {
          code: 'setup_intent_unexpected_state',
        });
      }
      const previous = { status: setupIntent.status };
      Object.assign(setupIntent, {
        status: 'canceled',
        cancellation_reason: readString(context.params, 'cancellation_reason') ?? null,
        next_action: null,
      });
      emitEvent(context, 'setup_intent.canceled', setupIntent, previous);
      return setupIntent;
    },
  },
];
