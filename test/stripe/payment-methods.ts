// /v1/payment_methods: test cards by Stripe's names (pm_card_visa, ...), attach, detach, retrieve, list.
import { TEST_CARDS, isTestCardName, type TestCard } from './cards.ts';
import { invalidRequest } from './errors.ts';
import { readString } from './params.ts';
import { emitEvent, listPage, objectsOfType, requireObject, type HandlerContext, type Route } from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

type Context = Pick<HandlerContext, 'core' | 'account' | 'cause'>;

function createCardPaymentMethod(context: Context, card: TestCard): StripeObject {
  const paymentMethod = fromFixture('payment_method', {
    id: newId('pm'),
    created: context.core.now(),
    customer: null,
    metadata: {},
    allow_redisplay: 'unspecified',
  });
  paymentMethod.billing_details = {
    address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
    email: null,
    name: null,
    phone: null,
    tax_id: null,
  };
  paymentMethod.card = {
    ...paymentMethod.card,
    brand: card.brand,
    display_brand: card.brand,
    last4: card.last4,
    funding: card.funding,
    fingerprint: newId('x', 16).slice(2),
    generated_from: null,
    networks: { available: [card.brand], preferred: null },
    wallet: null,
  };
  context.account.cardOf.set(paymentMethod.id, card);
  return saveObject(context.account, paymentMethod);
}

/**
 * The PaymentMethod a request names: an existing `pm_...` of the account, or a fresh one cloned from a test card
 * name, as Stripe does for `pm_card_visa` and its siblings.
 */
export function resolvePaymentMethod(context: Context, idOrTestName: string, param = 'payment_method'): StripeObject {
  if (isTestCardName(idOrTestName)) return createCardPaymentMethod(context, TEST_CARDS[idOrTestName]!);
  return requireObject(context.account, idOrTestName, 'payment_method', param);
}

export function testCardOf(context: Context, paymentMethod: StripeObject): TestCard {
  const card = context.account.cardOf.get(paymentMethod.id);
  if (!card) throw new Error(`payment method ${paymentMethod.id} has no test card behind it`);
  return card;
}

export function attachPaymentMethod(context: Context, idOrTestName: string, customerId: string): StripeObject {
  const customer = requireObject(context.account, customerId, 'customer', 'customer');
  const paymentMethod = resolvePaymentMethod(context, idOrTestName);
  if (paymentMethod.customer === customer.id) return paymentMethod;
  if (paymentMethod.customer !== null) {
    throw invalidRequest('The payment method you provided has already been attached to a customer.', {
      code: 'payment_method_unexpected_state',
      param: 'payment_method',
    });
  }
  paymentMethod.customer = customer.id;
  emitEvent(context, 'payment_method.attached', paymentMethod);
  return paymentMethod;
}

export const paymentMethodRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/payment_methods',
    handle: (context) => {
      const customer = readString(context.params, 'customer');
      const type = readString(context.params, 'type');
      const methods = objectsOfType(
        context.account,
        'payment_method',
        (method) =>
          (customer === undefined || method.customer === customer) && (type === undefined || method.type === type),
      );
      return listPage(methods, context.params, '/v1/payment_methods');
    },
  },
  {
    method: 'GET',
    path: '/v1/payment_methods/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'payment_method'),
  },
  {
    method: 'POST',
    path: '/v1/payment_methods/:id/attach',
    accepts: ['customer'],
    handle: (context) =>
      attachPaymentMethod(context, context.path.id!, readString(context.params, 'customer', 'required')),
  },
  {
    method: 'POST',
    path: '/v1/payment_methods/:id/detach',
    accepts: [],
    handle: (context) => {
      const paymentMethod = requireObject(context.account, context.path.id!, 'payment_method');
      if (paymentMethod.customer === null)
        throw invalidRequest(
          'The payment method you provided is not attached to a customer so detachment is impossible.',
          { code: 'payment_method_unexpected_state' },
        );
      const previous = { customer: paymentMethod.customer };
      paymentMethod.customer = null;
      emitEvent(context, 'payment_method.detached', paymentMethod, previous);
      return paymentMethod;
    },
  },
];
