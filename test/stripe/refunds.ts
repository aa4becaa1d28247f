// /v1/refunds and /v1/disputes. Refunds succeed at once (`refund.created` + `charge.refunded`); disputes are opened by
// a test hook (or a pm_card_createDispute charge) with `charge.dispute.created`, and closed by one.
import { invalidRequest, missingParam } from './errors.ts';
import { mergeMetadata, readEnum, readInteger, readString } from './params.ts';
import { emitEvent, listPage, objectsOfType, requireObject, type HandlerContext, type Route } from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

type Context = Pick<HandlerContext, 'core' | 'account' | 'cause'>;

/** The succeeded charge behind a charge id or a PaymentIntent id. */
export function chargeOf(context: Context, chargeOrPaymentIntent: string, param: string): StripeObject {
  if (chargeOrPaymentIntent.startsWith('pi_')) {
    const paymentIntent = requireObject(context.account, chargeOrPaymentIntent, 'payment_intent', param);
    if (paymentIntent.status !== 'succeeded' || !paymentIntent.latest_charge) {
      throw invalidRequest(`This PaymentIntent (${paymentIntent.id}) does not have a successful charge to refund.`, {
        param,
        code: 'charge_not_refundable',
      });
    }
    return requireObject(context.account, paymentIntent.latest_charge, 'charge', param);
  }
  return requireObject(context.account, chargeOrPaymentIntent, 'charge', param);
}

function createRefund(context: HandlerContext): StripeObject {
  const { params } = context;
  const paymentIntentId = readString(params, 'payment_intent');
  const chargeId = readString(params, 'charge');
  if (!paymentIntentId && !chargeId) throw missingParam('charge');
  const charge = chargeOf(context, (paymentIntentId ?? chargeId)!, paymentIntentId ? 'payment_intent' : 'charge');
  if (charge.status !== 'succeeded')
    throw invalidRequest(`Charge ${charge.id} has not succeeded and cannot be refunded.`, {
      code: 'charge_not_refundable',
    });
  const refundable = charge.amount - charge.amount_refunded;
  if (refundable === 0)
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
  const amount = readInteger(params, 'amount') ?? refundable;
  if (amount <= 0)
    throw invalidRequest('Refund amount must be positive.', { param: 'amount', code: 'parameter_invalid_integer' });
  if (amount > refundable) {
    throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`, {
      param: 'amount',
      code: 'amount_too_large',
    });
  }
  const refund = fromFixture('refund', {
    id: newId('re'),
    amount,
    charge: charge.id,
    created: context.core.now(),
    currency: charge.currency,
    payment_intent: charge.payment_intent,
    customer: charge.customer,
    payment_method: charge.payment_method,
    metadata: mergeMetadata({}, params),
    reason: readEnum(params, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const) ?? null,
    balance_transaction: newId('txn'),
    status: 'succeeded',
  });
  saveObject(context.account, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  charge.refunds.data.unshift(structuredClone(refund));
  emitEvent(context, 'refund.created', refund);
  emitEvent(context, 'charge.refunded', charge, previous);
  return refund;
}

export interface DisputeOptions {
  reason?: string;
  /** Defaults to the whole charge. */
  amount?: number;
}

export function openDispute(context: Context, chargeOrPaymentIntent: string, options: DisputeOptions): StripeObject {
  const charge = chargeOf(context, chargeOrPaymentIntent, 'charge');
  const now = context.core.now();
  const dispute = fromFixture('dispute', {
    id: newId('du'),
    amount: options.amount ?? charge.amount,
    charge: charge.id,
    payment_intent: charge.payment_intent,
    currency: charge.currency,
    created: now,
    reason: options.reason ?? 'fraudulent',
    status: 'needs_response',
    is_charge_refundable: false,
    metadata: {},
    enhanced_eligibility_types: [],
  });
  dispute.evidence_details = { ...dispute.evidence_details, due_by: now + 7 * 24 * 3600 };
  dispute.payment_method_details = {
    ...dispute.payment_method_details,
    card: { ...dispute.payment_method_details.card, case_type: 'chargeback' },
  };
  saveObject(context.account, dispute);
  charge.disputed = true;
  emitEvent(context, 'charge.dispute.created', dispute);
  return dispute;
}

export function closeDispute(context: Context, dispute: StripeObject, outcome: 'won' | 'lost'): StripeObject {
  const previous = { status: dispute.status };
  dispute.status = outcome;
  emitEvent(context, 'charge.dispute.closed', dispute, previous);
  return dispute;
}

export const refundRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/refunds',
    accepts: [
      'payment_intent',
      'charge',
      'amount',
      'reason',
      'metadata',
      'refund_application_fee',
      'reverse_transfer',
      'instructions_email',
      'origin',
      'currency',
      'customer',
    ],
    handle: createRefund,
  },
  {
    method: 'GET',
    path: '/v1/refunds',
    handle: (context) => {
      const charge = readString(context.params, 'charge');
      const paymentIntent = readString(context.params, 'payment_intent');
      const refunds = objectsOfType(
        context.account,
        'refund',
        (refund) =>
          (charge === undefined || refund.charge === charge) &&
          (paymentIntent === undefined || refund.payment_intent === paymentIntent),
      );
      return listPage(refunds, context.params, '/v1/refunds');
    },
  },
  {
    method: 'GET',
    path: '/v1/refunds/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'refund'),
  },
  {
    method: 'GET',
    path: '/v1/disputes',
    handle: (context) => listPage(objectsOfType(context.account, 'dispute'), context.params, '/v1/disputes'),
  },
  {
    method: 'GET',
    path: '/v1/disputes/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'dispute'),
  },
  {
    method: 'POST',
    path: '/v1/disputes/:id/close',
    accepts: [],
    // Closing is the merchant accepting the dispute: it is lost.
    handle: (context) => closeDispute(context, requireObject(context.account, context.path.id!, 'dispute'), 'lost'),
  },
];
