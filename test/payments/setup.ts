// Shared steps of the payments scenarios, all through the public API: connect a tenant's Stripe (the double, which
// then signs and sends its events to the tenant's endpoint), and give a customer a card through the hosted setup link.
import crypto from 'node:crypto';
import { expect } from 'vitest';
import { client } from '../billing/fixtures.ts';
import { startJobRunner, type Jobs } from '../billing/jobs-harness.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import { TEST_CARDS } from '../stripe/cards.ts';

export interface Api {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  ok(method: string, path: string, body?: unknown): Promise<any>;
}

/** A fresh 32-byte SECRETS_KEY, as 64 hex digits. */
export const secretsKey = () => crypto.randomBytes(32).toString('hex');

/** The environment that points the service at the double. */
export function paymentEnvironment(double: StripeDouble, key: string): Record<string, string> {
  return { STRIPE_API_BASE: double.url, SECRETS_KEY: key, STRIPE_MAX_NETWORK_RETRIES: '0', WEBHOOK_ALLOW_PRIVATE: '1' };
}

export interface PaymentsScenario {
  double: StripeDouble;
  harness: Harness;
  tenant: TenantFixture;
  api: ReturnType<typeof client>;
  jobs: Jobs;
}

/** The Stripe double, the service pointed at it on a fresh database, a signed-up tenant, its API client and a job runner. */
export async function startPaymentsScenario(
  options: Parameters<typeof startService>[0] = {},
): Promise<PaymentsScenario> {
  const double = await startStripeDouble();
  Object.assign(process.env, paymentEnvironment(double, secretsKey()));
  const harness = await startService({ now: '2026-03-01T12:00:00Z', ...options });
  const tenant = await signUpTenant(harness);
  return { double, harness, tenant, api: client(harness, tenant), jobs: await startJobRunner(harness) };
}

export async function stopPaymentsScenario(scenario: PaymentsScenario | undefined): Promise<void> {
  await scenario?.jobs.stop();
  await scenario?.harness.close();
  await scenario?.double.close();
}

/**
 * A Stripe account of the double for the tenant, its webhook endpoint and its Connect endpoint (its connected
 * accounts' events: the resellers') pointed at the tenant's Stripe events URL, and the connection made with its
 * restricted key and both signing secrets. Returns the account and the two secrets.
 */
export async function connectStripe(api: Api, double: StripeDouble, serviceUrl: string, tenantSlug: string) {
  const account = double.createAccount();
  const url = `${serviceUrl}/v1/stripe/events/${tenantSlug}`;
  const endpoint = double.addWebhookEndpoint({ url, account: account.id });
  const connectEndpoint = double.addWebhookEndpoint({ url, account: account.id, connect: true });
  const connection = await api.ok('PUT', '/v1/stripe/connection', {
    secret_key: account.restrictedKey,
    webhook_secret: endpoint.secret,
    connect_webhook_secret: connectEndpoint.secret,
  });
  expect(connection).toEqual({
    connected: true,
    key_last4: account.restrictedKey.slice(-4),
    mode: 'test',
    account_id: null,
    connected_at: expect.any(String),
  });
  return { account, webhookSecret: endpoint.secret, connectSecret: connectEndpoint.secret };
}

/** The customer saves `card` (a Stripe test card name) on the hosted page; waits until Stripe's event made it the default. */
export async function saveCard(
  api: Api,
  double: StripeDouble,
  customer: string,
  card = 'pm_card_visa',
  { named = true }: { named?: boolean } = {},
): Promise<string> {
  const before = await api.ok('GET', `/v1/customers/${customer}/payment`);
  const link = await api.ok('POST', `/v1/customers/${customer}/payment_setup_link`, {});
  expect(link.url).toMatch(/^http/);
  double.completeCheckoutSession(link.session_id, { paymentMethod: card });
  const after = await eventually(`the card of ${customer} to become its default`, async () => {
    const payment = await api.ok('GET', `/v1/customers/${customer}/payment`);
    return payment.default_payment_method && payment.default_payment_method !== before.default_payment_method
      ? payment
      : undefined;
  });
  // The card is named as Stripe describes the test card saved (`named: false`: its setup could not be read back).
  if (named) expect(after.card).toEqual({ brand: TEST_CARDS[card]!.brand, last4: TEST_CARDS[card]!.last4 });
  return after.default_payment_method;
}

/** A customer of `book` with usage in an ended calendar month (one batch: its period is created with all of it). */
export async function customerWithUsage(api: Api, customer: string, book: string, timestamp: string, tokens: number) {
  await api.ok('POST', '/v1/customers', { external_id: customer, currency: 'USD', email: `${customer}@example.com` });
  await api.ok('PUT', `/v1/customers/${customer}/price_book`, {
    price_book: book,
    effective_from: '2020-01-01T00:00:00Z',
  });
  return async () => {
    const response = await api.call('POST', '/v1/events', {
      events: [
        {
          transaction_id: `${customer}-usage-1`,
          customer_id: customer,
          event_type: 'llm.completion',
          timestamp,
          properties: { provider: 'openai', model: 'gpt-4o', input_tokens: tokens, output_tokens: tokens },
        },
      ],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.events[0].status, JSON.stringify(response.body.events[0])).toBe('accepted');
    return response.body.events[0];
  };
}

/** Every ledger transaction balances, and the customer's receivable is what it still owes. */
export async function ledgerOf(api: Api, customer: string) {
  const accounts = await api.ok('GET', `/v1/ledger/accounts?customer_id=${customer}`);
  const transactions = await api.ok('GET', `/v1/ledger/transactions?customer_id=${customer}&limit=500`);
  for (const t of transactions.data) {
    const sum = t.entries.reduce((total: bigint, e: any) => total + BigInt(e.amount.replace('.', '')), 0n);
    expect(sum, `${t.kind} ${t.reference} balances`).toBe(0n);
  }
  const balance = (prefix: string) => accounts.data.find((a: any) => a.code.startsWith(prefix))?.balance;
  return { accounts: accounts.data, transactions: transactions.data, receivable: balance('receivable:') };
}
