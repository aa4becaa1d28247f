// The one place the Stripe SDK is configured: the official client pointed at the configured API (real Stripe, or
// the test double through the same host/port/protocol options), and how its errors read for collection.
import Stripe from 'stripe';
import { loadPaymentSettings, type PaymentSettings } from '../../platform/config.ts';
import type { Deps } from '../../platform/deps.ts';

let fromEnvironment: PaymentSettings | undefined;

/** The service's payment settings: the composition root's, or the environment's when run without one (jobs in tests). */
export function settingsOf(deps: Deps): PaymentSettings {
  return deps.payments ?? (fromEnvironment ??= loadPaymentSettings(process.env));
}

const clients = new Map<string, Stripe>();

/** A client for one secret key; kept, since the SDK keeps its HTTP agent and sockets per client. */
export function stripeClient(settings: PaymentSettings, secretKey: string): Stripe {
  const cacheKey = `${settings.stripeApi.protocol}://${settings.stripeApi.host}:${settings.stripeApi.port}|${settings.stripeTimeoutMs}|${settings.stripeMaxNetworkRetries}|${secretKey}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new Stripe(secretKey, {
      host: settings.stripeApi.host,
      port: settings.stripeApi.port,
      protocol: settings.stripeApi.protocol,
      timeout: settings.stripeTimeoutMs,
      maxNetworkRetries: settings.stripeMaxNetworkRetries,
      appInfo: { name: 'Tariff' },
    });
    if (clients.size > 1000) clients.clear();
    clients.set(cacheKey, client);
  }
  return client;
}

/** Verifies a Stripe-Signature over the raw body (Stripe's scheme, 5 minutes' tolerance) and parses the event. */
export function verifyStripeEvent(rawBody: Buffer, signature: string, webhookSecret: string): Stripe.Event {
  return Stripe.webhooks.constructEvent(rawBody, signature, webhookSecret);
}

export type StripeFailure =
  /** Stripe answered and refused the charge (a decline): the attempt failed, dunning goes on. */
  | { kind: 'declined'; code: string; message: string; paymentIntentId: string | null }
  /** The key is wrong or lacks a permission: nothing will work until the tenant fixes it. */
  | { kind: 'configuration'; code: string; message: string }
  /** No answer, 429, 5xx, an idempotency conflict in flight: the same request is sent again later. */
  | { kind: 'transient'; code: string; message: string };

export function classifyStripeError(error: unknown): StripeFailure {
  if (error instanceof Stripe.errors.StripeCardError) {
    const raw = error.raw as { payment_intent?: { id?: string } };
    return {
      kind: 'declined',
      code: error.decline_code ?? error.code ?? 'card_declined',
      message: error.message,
      paymentIntentId: raw.payment_intent?.id ?? null,
    };
  }
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    return { kind: 'configuration', code: error.code ?? error.type, message: error.message };
  }
  if (error instanceof Stripe.errors.StripeInvalidRequestError) {
    // A payment method that cannot be used any more is a failure of the attempt, like a decline.
    const raw = error.raw as { payment_intent?: { id?: string } };
    if (
      error.statusCode === 402 ||
      error.code === 'payment_intent_authentication_failure' ||
      error.code === 'payment_method_unactivated'
    ) {
      return {
        kind: 'declined',
        code: error.code ?? 'invalid_request',
        message: error.message,
        paymentIntentId: raw.payment_intent?.id ?? null,
      };
    }
    return { kind: 'configuration', code: error.code ?? 'invalid_request', message: error.message };
  }
  if (error instanceof Stripe.errors.StripeError)
    return { kind: 'transient', code: error.code ?? error.type, message: error.message };
  return { kind: 'transient', code: 'network_error', message: error instanceof Error ? error.message : String(error) };
}
