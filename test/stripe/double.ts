// The Stripe double: a local HTTP server that speaks Stripe's v1 wire format, so the official `stripe` SDK talks to
// it through its `host`, `port` and `protocol` options (the code path production uses against api.stripe.com).
// Test hooks stand in for what a person does on Stripe's pages (complete Checkout, pass 3-D Secure, open a dispute).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { accountRoutes } from './account.ts';
import { TEST_CARDS } from './cards.ts';
import { checkoutPagePath, checkoutRoutes, completeCheckoutSession } from './checkout.ts';
import { checkoutPageHtml, readCardEntry } from './checkout-page.ts';
import { customerRoutes } from './customers.ts';
import { addWebhookEndpoint, eventRoutes } from './events.ts';
import { FaultInjector } from './faults.ts';
import { decodeForm } from './form.ts';
import { completePaymentIntentAuthentication, paymentIntentRoutes } from './payment-intents.ts';
import { paymentMethodRoutes } from './payment-methods.ts';
import { closeDispute, openDispute, refundRoutes, type DisputeOptions } from './refunds.ts';
import type { DoubleCore, HandlerContext } from './routes.ts';
import { answerApiRequest, compileRoutes } from './server.ts';
import { confirmSetupIntent, setupIntentRoutes } from './setup-intents.ts';
import { ChargeLedger, createAccountState, type AccountState, type DoubleState, type StripeObject } from './store.ts';
import { DEFAULT_US_SALES_TAX_RATES, taxRoutes } from './tax.ts';
import { WebhookSender } from './webhooks.ts';

export interface StripeDoubleOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Unix seconds for `created` and signature timestamps (default: the real clock). */
  now?: () => number;
  /** US state -> sales tax percentage for tax/calculations (default DEFAULT_US_SALES_TAX_RATES). */
  taxRates?: Record<string, string>;
  /** Waits before each webhook retry after a failed delivery. */
  webhookRetryDelaysMs?: number[];
  webhookAttemptTimeoutMs?: number;
}

export interface StripeAccountKeys {
  id: string;
  /** `sk_test_...`: the key a tenant would paste. */
  secretKey: string;
  /** `rk_test_...`: a restricted key for the same account (permissions are not enforced by the double). */
  restrictedKey: string;
}

export interface StripeDouble {
  url: string;
  host: string;
  port: number;
  protocol: 'http';
  state: DoubleState;
  /** The account created at start. */
  account: StripeAccountKeys;
  faults: FaultInjector;
  /** Delivery controls: `mode = 'hold'`, `releaseHeld({ order })`, `duplicate`, `settle()`, `deliveries`. */
  webhooks: WebhookSender;
  taxRates: Map<string, string>;
  /** A new account; with `platform`, connected to that account (Connect), whose Connect endpoints get its events. */
  createAccount(options?: { platform?: string }): StripeAccountKeys;
  /**
   * Registers a URL that receives the account's events signed with `secret` (a fresh `whsec_...` when omitted);
   * `connect`: the events of the account's connected accounts instead, each naming its `account`.
   */
  addWebhookEndpoint(options: {
    url: string;
    secret?: string;
    enabledEvents?: string[];
    account?: string;
    connect?: boolean;
  }): {
    id: string;
    secret: string;
  };
  /**
   * Sends an event of any type about any object, as Stripe would (for events no API call here causes, or types a
   * receiver does not know).
   */
  emitEvent(type: string, object: StripeObject, options?: { account?: string }): StripeObject;
  /** Sends an event again to its account's endpoints. */
  resendEvent(eventId: string): void;
  /** Events of an account (default: the first), oldest first, optionally of one type. */
  events(options?: { account?: string; type?: string }): StripeObject[];
  /** Any object by id, from whichever account holds it. */
  find(id: string): StripeObject | undefined;
  /** The customer fills in the hosted Checkout page with a card (a test card name such as 'pm_card_visa'). */
  completeCheckoutSession(sessionId: string, options?: { paymentMethod?: string }): StripeObject;
  /** The customer passes (or fails) 3-D Secure on a PaymentIntent or SetupIntent in requires_action. */
  completeAuthentication(intentId: string, options?: { succeed?: boolean }): StripeObject;
  /** The card behind a saved payment method now behaves like another test card (say the bank now approves it). */
  changeCard(paymentMethodId: string, testCardName: string): void;
  /** The cardholder's bank opens a dispute on a charge (or a PaymentIntent's charge). */
  openDispute(chargeOrPaymentIntent: string, options?: DisputeOptions): StripeObject;
  closeDispute(disputeId: string, outcome: 'won' | 'lost'): StripeObject;
  close(): Promise<void>;
}

const ROUTES = compileRoutes([
  ...accountRoutes,
  ...customerRoutes,
  ...paymentMethodRoutes,
  ...setupIntentRoutes,
  ...paymentIntentRoutes,
  ...refundRoutes,
  ...checkoutRoutes,
  ...eventRoutes,
  ...taxRoutes,
]);

export async function startStripeDouble(options: StripeDoubleOptions = {}): Promise<StripeDouble> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const state: DoubleState = { accounts: new Map(), charges: new ChargeLedger(), requests: [] };
  const webhooks = new WebhookSender({
    now,
    accountById: (id) => state.accounts.get(id),
    retryDelaysMs: options.webhookRetryDelaysMs,
    attemptTimeoutMs: options.webhookAttemptTimeoutMs,
  });
  const faults = new FaultInjector();
  const host = options.host ?? '127.0.0.1';
  let port = options.port ?? 0;
  const core: DoubleCore = {
    state,
    webhooks,
    now,
    baseUrl: () => `http://${host}:${port}`,
    taxRates: new Map(Object.entries(options.taxRates ?? DEFAULT_US_SALES_TAX_RATES)),
    apiVersion: Stripe.API_VERSION,
  };

  const keysOf = (account: AccountState): StripeAccountKeys => ({
    id: account.id,
    secretKey: account.secretKey,
    restrictedKey: account.restrictedKey,
  });
  const createAccount = ({ platform }: { platform?: string } = {}) => {
    if (platform !== undefined && !state.accounts.has(platform)) throw new Error(`no platform account ${platform}`);
    const account = createAccountState(now(), platform ?? null);
    state.accounts.set(account.id, account);
    return keysOf(account);
  };
  const accountById = (id: string | undefined): AccountState => {
    const account = state.accounts.get(id ?? double.account.id);
    if (!account) throw new Error(`the Stripe double has no account ${id}`);
    return account;
  };
  const accountHolding = (id: string): AccountState => {
    for (const account of state.accounts.values()) if (account.objects.has(id)) return account;
    throw new Error(`the Stripe double has no object ${id}`);
  };
  // Hooks act as Stripe itself, not as an API request: their events carry no request id.
  const hookContext = (account: AccountState): Pick<HandlerContext, 'core' | 'account' | 'cause'> => ({
    core,
    account,
    cause: null,
  });

  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const [path = '/', query = ''] = (incoming.url ?? '/').split('?', 2);
      const body = Buffer.concat(chunks).toString('utf8');
      if (!path.startsWith('/v1/')) return answerPage(incoming.method ?? 'GET', path, body, outgoing);
      answerApiRequest(core, ROUTES, faults, incoming, { method: incoming.method ?? 'GET', path, query, body }).then(
        (answer) => {
          if (answer === 'drop') return outgoing.socket?.destroy();
          outgoing.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
        },
        (error) => {
          console.error('stripe double: request failed', error);
          outgoing.socket?.destroy();
        },
      );
    });
  });

  // The hosted Checkout page (checkout-page.ts): GET shows the card form, POST saves the card typed in it.
  function answerPage(method: string, path: string, body: string, outgoing: http.ServerResponse): void {
    const match = /^\/checkout\/pay\/([^/]+)$/.exec(path);
    const session = match ? double.find(match[1]!) : undefined;
    if (!session || session.object !== 'checkout.session') {
      outgoing.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const page = (status: number, refused?: { field: string; message: string }) =>
      void outgoing
        .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
        .end(checkoutPageHtml(session, checkoutPagePath(session.id), refused));
    if (method !== 'POST') return page(200);
    const entry = readCardEntry(decodeForm(body), now());
    if (!entry.ok) return page(400, entry);
    try {
      completeCheckoutSession(hookContext(accountHolding(session.id)), session, entry.paymentMethod);
    } catch (error) {
      return page(400, { field: 'card_number', message: error instanceof Error ? error.message : String(error) });
    }
    // Stripe fills in the {CHECKOUT_SESSION_ID} template of the success URL.
    outgoing
      .writeHead(303, { location: (session.success_url ?? '/').replace('{CHECKOUT_SESSION_ID}', session.id) })
      .end();
  }

  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  port = (server.address() as AddressInfo).port;

  const double: StripeDouble = {
    url: core.baseUrl(),
    host,
    port,
    protocol: 'http',
    state,
    account: createAccount(),
    faults,
    webhooks,
    taxRates: core.taxRates,
    createAccount,
    addWebhookEndpoint: ({ url, secret, enabledEvents, account, connect }) => {
      const { endpoint } = addWebhookEndpoint(accountById(account), now(), { url, secret, enabledEvents, connect });
      return { id: endpoint.id, secret: endpoint.secret };
    },
    emitEvent: (type, object, { account } = {}) => {
      return webhooks.emit(accountById(account), type, object, null);
    },
    resendEvent: (eventId) => webhooks.resend(accountHolding(eventId), eventId),
    events: ({ account, type } = {}) =>
      accountById(account).events.filter((event) => type === undefined || event.type === type),
    find: (id) => {
      for (const account of state.accounts.values()) {
        const found = account.objects.get(id);
        if (found) return found;
      }
      return undefined;
    },
    completeCheckoutSession: (sessionId, { paymentMethod = 'pm_card_visa' } = {}) => {
      const account = accountHolding(sessionId);
      return completeCheckoutSession(hookContext(account), account.objects.get(sessionId)!, paymentMethod);
    },
    completeAuthentication: (intentId, { succeed = true } = {}) => {
      const account = accountHolding(intentId);
      const intent = account.objects.get(intentId)!;
      if (intent.object === 'payment_intent')
        completePaymentIntentAuthentication(hookContext(account), intent, succeed);
      else if (intent.object === 'setup_intent' && succeed)
        confirmSetupIntent(hookContext(account), intent, { authenticated: true });
      else if (intent.object === 'setup_intent') {
        Object.assign(intent, {
          status: 'requires_payment_method',
          next_action: null,
          last_setup_error: {
            type: 'invalid_request_error',
            code: 'setup_intent_authentication_failure',
            message: 'The latest attempt to set up the payment method has failed because authentication failed.',
          },
        });
        core.webhooks.emit(account, 'setup_intent.setup_failed', intent, null);
      } else throw new Error(`${intentId} is not a PaymentIntent or SetupIntent`);
      return intent;
    },
    changeCard: (paymentMethodId, testCardName) => {
      const card = TEST_CARDS[testCardName];
      if (!card) throw new Error(`${testCardName} is not one of the double's test cards`);
      accountHolding(paymentMethodId).cardOf.set(paymentMethodId, card);
    },
    openDispute: (chargeOrPaymentIntent, disputeOptions = {}) => {
      const account = accountHolding(chargeOrPaymentIntent);
      return openDispute(hookContext(account), chargeOrPaymentIntent, disputeOptions);
    },
    closeDispute: (disputeId, outcome) => {
      const account = accountHolding(disputeId);
      return closeDispute(hookContext(account), account.objects.get(disputeId)!, outcome);
    },
    close: async () => {
      await webhooks.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return double;
}

/** A real SDK client pointed at the double, as production points it at api.stripe.com. */
export function stripeClientFor(
  double: Pick<StripeDouble, 'host' | 'port' | 'protocol'>,
  secretKey: string,
  config: Stripe.StripeConfig = {},
): Stripe {
  return new Stripe(secretKey, { host: double.host, port: double.port, protocol: double.protocol, ...config });
}
