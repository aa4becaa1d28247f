// The Stripe double through the official SDK: the wire format, idempotency, card outcomes, faults and signed events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../wait.ts';
import { startStripeDouble, stripeClientFor, type StripeDouble } from './double.ts';
import fixtures from './fixtures.json' with { type: 'json' };

interface ReceivedEvent {
  body: string;
  signature: string;
}

/** A local endpoint that records each Stripe event's raw body and signature header. */
async function startEventReceiver(): Promise<{ url: string; received: ReceivedEvent[]; close(): Promise<void> }> {
  const received: ReceivedEvent[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(request.headers['stripe-signature']) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The keys of an object, recursively for nested objects (not arrays), as dotted paths. */
function fieldPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, item]) =>
    item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0 ? [`${prefix}${key}`, ...fieldPaths(item as Record<string, unknown>, `${prefix}${key}.`)] : [`${prefix}${key}`],
  );
}

let double: StripeDouble;
let stripe: Stripe;
let receiver: Awaited<ReturnType<typeof startEventReceiver>>;
let webhookSecret: string;

beforeAll(async () => {
  double = await startStripeDouble();
  stripe = stripeClientFor(double, double.account.secretKey);
  receiver = await startEventReceiver();
  webhookSecret = double.addWebhookEndpoint({ url: receiver.url }).secret;
});

afterAll(async () => {
  await double?.close();
  await receiver?.close();
});

/** The error a call must fail with (a call that succeeds fails the test). */
async function failureOf<T extends Error = Stripe.errors.StripeError>(call: Promise<unknown>): Promise<T> {
  try {
    await call;
  } catch (error) {
    return error as T;
  }
  throw new Error('the call succeeded; it should have failed');
}

async function customerWithCard(card: string): Promise<{ customer: Stripe.Customer; paymentMethod: string }> {
  const customer = await stripe.customers.create({ email: 'buyer@example.com', metadata: { tariff_customer: 'c1' } });
  const paymentMethod = await stripe.paymentMethods.attach(card, { customer: customer.id });
  return { customer, paymentMethod: paymentMethod.id };
}

describe('wire format and objects', () => {
  it('creates, retrieves, updates and searches customers with nested form params', async () => {
    const created = await stripe.customers.create({ name: 'Ada', address: { country: 'US', state: 'CA', postal_code: '94103' }, metadata: { tariff_customer: 'cust_42', tier: 'gold' } });
    expect(created.id).toMatch(/^cus_/);
    expect(created.address).toEqual({ city: null, country: 'US', line1: null, line2: null, postal_code: '94103', state: 'CA' });
    // Every field Stripe's fixture has, and nothing invented beside them.
    expect(fieldPaths(created as unknown as Record<string, unknown>).filter((path) => !path.includes('.')).sort()).toEqual(Object.keys(fixtures.resources.customer).sort());

    const updated = await stripe.customers.update(created.id, { metadata: { tier: '' , region: 'west' } });
    expect(updated.metadata).toEqual({ tariff_customer: 'cust_42', region: 'west' });
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({ id: created.id, name: 'Ada' });

    const found = await stripe.customers.search({ query: "metadata['tariff_customer']:'cust_42'" });
    expect(found.data.map((customer) => customer.id)).toEqual([created.id]);
  });

  it('answers 404 resource_missing and 400 naming the param, as Stripe', async () => {
    const missing = await failureOf(stripe.customers.retrieve('cus_nope'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });

    const invalid = await failureOf(stripe.paymentIntents.create({ amount: 'ten' as unknown as number, currency: 'usd' }));
    expect(invalid).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'amount' });
  });

  it('refuses unknown and missing keys with 401', async () => {
    const unknown = await failureOf(stripeClientFor(double, 'sk_test_notakey0000000000000000').customers.list());
    expect(unknown).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(unknown.message).toMatch(/^Invalid API Key provided: sk_test_/);
    const bare = await fetch(`${double.url}/v1/customers`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('keeps accounts apart and acts on a connected account through Stripe-Account', async () => {
    const other = double.createAccount();
    const otherClient = stripeClientFor(double, other.secretKey);
    const theirs = await otherClient.customers.create({ name: 'Theirs' });
    await expect(stripe.customers.retrieve(theirs.id)).rejects.toMatchObject({ statusCode: 404 });
    const throughHeader = await stripe.customers.retrieve(theirs.id, {}, { stripeAccount: other.id });
    expect(throughHeader.id).toBe(theirs.id);
    await expect(stripe.customers.list({}, { stripeAccount: 'acct_unknown' })).rejects.toMatchObject({ statusCode: 403, code: 'account_invalid' });
  });
});

describe('idempotency keys', () => {
  it('replays the stored response for the same key and params, and charges once', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const params = { amount: 2_000, currency: 'usd', customer: customer.id, payment_method: paymentMethod, confirm: true, off_session: true, metadata: { invoice: 'inv_replay' } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'invoice-inv_replay-attempt-1' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'invoice-inv_replay-attempt-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(double.state.charges.forPaymentIntent(first.id)).toBe(1);
    expect(double.state.charges.withMetadata('invoice', 'inv_replay')).toHaveLength(1);
  });

  it('refuses the same key with different params (400 idempotency_error)', async () => {
    const customer = await stripe.customers.create({ name: 'First' }, { idempotencyKey: 'customer-key-1' });
    const conflict = await failureOf(stripe.customers.create({ name: 'Second' }, { idempotencyKey: 'customer-key-1' }));
    expect(conflict).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(conflict).toMatchObject({ statusCode: 400, type: 'StripeIdempotencyError' });
    expect(conflict.message).toContain("Try using a key other than 'customer-key-1'");
    expect(customer.name).toBe('First');
  });

  it('replays a decline too: the endpoint ran, so its 402 is the stored result', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_chargeDeclined');
    const params = { amount: 700, currency: 'usd', customer: customer.id, payment_method: paymentMethod, confirm: true, off_session: true };
    const first = await failureOf<Stripe.errors.StripeCardError>(stripe.paymentIntents.create(params, { idempotencyKey: 'declined-once' }));
    const again = await failureOf<Stripe.errors.StripeCardError>(stripe.paymentIntents.create(params, { idempotencyKey: 'declined-once' }));
    expect(first).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect(again.payment_intent).toEqual(first.payment_intent);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect(double.state.charges.forCustomer(customer.id)).toBe(0);
    expect(double.events({ type: 'payment_intent.payment_failed' }).filter((event) => event.data.object.customer === customer.id)).toHaveLength(1);
  });
});
