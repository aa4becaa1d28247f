// The Stripe double through the official SDK: the wire format, idempotency, card outcomes, faults and signed events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../wait.ts';
import { startStripeDouble, stripeClientFor, type StripeDouble } from './double.ts';
import { TEST_CARDS, TEST_CARD_NUMBERS } from './cards.ts';
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
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(request.headers['stripe-signature']),
      });
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
    item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0
      ? [`${prefix}${key}`, ...fieldPaths(item as Record<string, unknown>, `${prefix}${key}.`)]
      : [`${prefix}${key}`],
  );
}

let double: StripeDouble;
let stripe: Stripe;
let receiver: Awaited<ReturnType<typeof startEventReceiver>>;
let webhookSecret: string;

beforeAll(async () => {
  double = await startStripeDouble();
  // No retries unless a test asks for them (stripe-node's default is 2), so each test says what it relies on.
  stripe = stripeClientFor(double, double.account.secretKey, { maxNetworkRetries: 0 });
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
    const created = await stripe.customers.create({
      name: 'Ada',
      address: { country: 'US', state: 'CA', postal_code: '94103' },
      metadata: { tariff_customer: 'cust_42', tier: 'gold' },
    });
    expect(created.id).toMatch(/^cus_/);
    expect(created.address).toEqual({
      city: null,
      country: 'US',
      line1: null,
      line2: null,
      postal_code: '94103',
      state: 'CA',
    });
    // Every field Stripe's fixture has, and nothing invented beside them.
    expect(
      fieldPaths(created as unknown as Record<string, unknown>)
        .filter((path) => !path.includes('.'))
        .sort(),
    ).toEqual(Object.keys(fixtures.resources.customer).sort());

    const updated = await stripe.customers.update(created.id, { metadata: { tier: '', region: 'west' } });
    expect(updated.metadata).toEqual({ tariff_customer: 'cust_42', region: 'west' });
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({
      id: created.id,
      name: 'Ada',
    });

    const found = await stripe.customers.search({ query: "metadata['tariff_customer']:'cust_42'" });
    expect(found.data.map((customer) => customer.id)).toEqual([created.id]);
  });

  it('answers 404 resource_missing and 400 naming the param, as Stripe', async () => {
    const missing = await failureOf(stripe.customers.retrieve('cus_nope'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });

    const invalid = await failureOf(
      stripe.paymentIntents.create({ amount: 'ten' as unknown as number, currency: 'usd' }),
    );
    expect(invalid).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'amount' });

    // A misspelt param fails as it would on Stripe, instead of being ignored.
    const misspelt = await failureOf(
      stripe.paymentIntents.create({
        amount: 1_000,
        currency: 'usd',
        offsession: true,
      } as Stripe.PaymentIntentCreateParams),
    );
    expect(misspelt).toMatchObject({
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'offsession',
      message: 'Received unknown parameter: offsession',
    });
  });

  it('refuses unknown and missing keys with 401', async () => {
    const unknown = await failureOf(stripeClientFor(double, 'sk_test_notakey0000000000000000').customers.list());
    expect(unknown).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(unknown.message).toMatch(/^Invalid API Key provided: sk_test_/);
    const bare = await fetch(`${double.url}/v1/customers`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it("retrieves the key's account", async () => {
    const account = await stripe.accounts.retrieveCurrent();
    expect(account).toMatchObject({ id: double.account.id, object: 'account', charges_enabled: true });
    expect(Object.keys(account).sort()).toEqual(Object.keys(fixtures.resources.account).sort());
  });

  it('keeps accounts apart and acts on a connected account through Stripe-Account', async () => {
    const other = double.createAccount();
    const otherClient = stripeClientFor(double, other.secretKey);
    const theirs = await otherClient.customers.create({ name: 'Theirs' });
    await expect(stripe.customers.retrieve(theirs.id)).rejects.toMatchObject({ statusCode: 404 });
    const throughHeader = await stripe.customers.retrieve(theirs.id, {}, { stripeAccount: other.id });
    expect(throughHeader.id).toBe(theirs.id);
    // Recorded: which header each request carried, and the account it acted on.
    const recorded = double.state.requests.find((r) => r.path === `/v1/customers/${theirs.id}` && r.stripeAccount);
    expect(recorded).toMatchObject({ stripeAccount: other.id, account: other.id, status: 200 });
    expect(double.state.requests.filter((r) => r.path === '/v1/customers' && r.method === 'POST').at(-1)).toMatchObject(
      { stripeAccount: null, account: other.id },
    );
    await expect(stripe.customers.list({}, { stripeAccount: 'acct_unknown' })).rejects.toMatchObject({
      statusCode: 403,
      code: 'account_invalid',
    });
  });
});

describe('idempotency keys', () => {
  it('replays the stored response for the same key and params, and charges once', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const params = {
      amount: 2_000,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
      metadata: { invoice: 'inv_replay' },
    };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'invoice-inv_replay-attempt-1' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'invoice-inv_replay-attempt-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(double.state.charges.forPaymentIntent(first.id)).toBe(1);
    expect(double.state.charges.withMetadata('invoice', 'inv_replay')).toHaveLength(1);
  });

  it('answers 409 idempotency_key_in_use while the first request with the key still runs', async () => {
    let release = () => {};
    double.faults.inject({
      kind: 'hang',
      path: '/v1/customers',
      until: new Promise<void>((resolve) => (release = resolve)),
    });
    const first = stripe.customers.create({ name: 'Slow' }, { idempotencyKey: 'customer-in-flight' });
    await eventually('the first request arrived', () =>
      double.state.requests.some((request) => request.idempotencyKey === 'customer-in-flight'),
    );
    const second = await failureOf(stripe.customers.create({ name: 'Slow' }, { idempotencyKey: 'customer-in-flight' }));
    expect(second).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use' });
    release();
    const created = await first;
    const replay = await stripe.customers.create({ name: 'Slow' }, { idempotencyKey: 'customer-in-flight' });
    expect(replay.id).toBe(created.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
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
    const params = {
      amount: 700,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
    };
    const first = await failureOf<Stripe.errors.StripeCardError>(
      stripe.paymentIntents.create(params, { idempotencyKey: 'declined-once' }),
    );
    const again = await failureOf<Stripe.errors.StripeCardError>(
      stripe.paymentIntents.create(params, { idempotencyKey: 'declined-once' }),
    );
    expect(first).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect(again.payment_intent).toEqual(first.payment_intent);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect(double.state.charges.forCustomer(customer.id)).toBe(0);
    expect(
      double
        .events({ type: 'payment_intent.payment_failed' })
        .filter((event) => event.data.object.customer === customer.id),
    ).toHaveLength(1);
  });
});

describe('card outcomes', () => {
  it('charges a good card off-session: succeeded, one charge, charge.succeeded and payment_intent.succeeded', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const intent = await stripe.paymentIntents.create({
      amount: 12_345,
      currency: 'eur',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
      expand: ['latest_charge'],
    });
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount_received: 12_345,
      currency: 'eur',
      last_payment_error: null,
      next_action: null,
    });
    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({
      object: 'charge',
      status: 'succeeded',
      paid: true,
      amount: 12_345,
      payment_intent: intent.id,
      customer: customer.id,
      payment_method: paymentMethod,
    });
    expect(charge.id).toMatch(/^ch_/);
    expect(Object.keys(charge).sort()).toEqual(Object.keys(fixtures.resources.charge).sort());
    expect(double.state.charges.forPaymentIntent(intent.id)).toBe(1);
    const types = double
      .events()
      .filter((event) => [intent.id, charge.id].includes(event.data.object.id))
      .map((event) => event.type);
    expect(types).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
  });

  it.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_insufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
  ])(
    'declines %s: 402 %s/%s with the PaymentIntent, and payment_intent.payment_failed',
    async (card, code, declineCode) => {
      const { customer, paymentMethod } = await customerWithCard(card);
      const error = await failureOf<Stripe.errors.StripeCardError>(
        stripe.paymentIntents.create({
          amount: 5_000,
          currency: 'usd',
          customer: customer.id,
          payment_method: paymentMethod,
          confirm: true,
          off_session: true,
        }),
      );
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error).toMatchObject({ statusCode: 402, code, decline_code: declineCode });
      const intent = error.payment_intent!;
      expect(intent).toMatchObject({
        status: 'requires_payment_method',
        last_payment_error: { code, decline_code: declineCode, type: 'card_error' },
      });
      expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
      expect(double.state.charges.forCustomer(customer.id)).toBe(0);
      const failed = double
        .events({ type: 'payment_intent.payment_failed' })
        .filter((event) => event.data.object.id === intent.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.data.object.last_payment_error.decline_code).toBe(declineCode);
    },
  );

  it('asks for authentication: off-session 402 authentication_required, on-session requires_action until the customer passes 3-D Secure', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_authenticationRequired');
    const offSession = await failureOf<Stripe.errors.StripeCardError>(
      stripe.paymentIntents.create({
        amount: 900,
        currency: 'usd',
        customer: customer.id,
        payment_method: paymentMethod,
        confirm: true,
        off_session: true,
      }),
    );
    expect(offSession).toMatchObject({
      statusCode: 402,
      code: 'authentication_required',
      decline_code: 'authentication_required',
    });
    expect(offSession.payment_intent!.status).toBe('requires_payment_method');

    const onSession = await stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
    });
    expect(onSession.status).toBe('requires_action');
    expect(onSession.next_action?.type).toBe('use_stripe_sdk');
    expect(double.state.charges.forPaymentIntent(onSession.id)).toBe(0);
    double.completeAuthentication(onSession.id);
    expect((await stripe.paymentIntents.retrieve(onSession.id)).status).toBe('succeeded');
    expect(double.state.charges.forPaymentIntent(onSession.id)).toBe(1);
    expect(
      double.events({ type: 'payment_intent.requires_action' }).some((event) => event.data.object.id === onSession.id),
    ).toBe(true);
  });

  it('charges a saved card that declined once the bank approves it (changeCard)', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_chargeCustomerFail');
    const params = {
      amount: 1_500,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
    };
    expect(await failureOf(stripe.paymentIntents.create(params))).toMatchObject({
      statusCode: 402,
      decline_code: 'generic_decline',
    });
    double.changeCard(paymentMethod, 'pm_card_visa');
    expect((await stripe.paymentIntents.create(params)).status).toBe('succeeded');
    expect(double.state.charges.forCustomer(customer.id)).toBe(1);
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After, and the SDK retries it under maxNetworkRetries', async () => {
    const retrying = stripeClientFor(double, double.account.secretKey, { maxNetworkRetries: 2 });
    double.faults.inject({ kind: 'rate_limit', method: 'POST', path: '/v1/customers', times: 2 });
    const customer = await retrying.customers.create({ name: 'After two 429s' });
    expect(customer.name).toBe('After two 429s');
    const attempts = double.state.requests.filter(
      (request) => request.path === '/v1/customers' && request.idempotencyKey === customer.lastResponse.idempotencyKey,
    );
    expect(attempts.map((attempt) => attempt.status)).toEqual([429, 429, 200]);

    double.faults.inject({ kind: 'rate_limit', path: '/v1/customers' });
    const limited = await failureOf(stripe.customers.list());
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(limited).toMatchObject({ statusCode: 429, code: 'rate_limit' });
    expect(limited.headers?.['retry-after']).toBe('1');
  });

  it('drops the connection after performing the charge; the SDK retries with the same key and the card is charged once', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const retrying = stripeClientFor(double, double.account.secretKey, { maxNetworkRetries: 2 });
    double.faults.inject({ kind: 'drop_after_write', path: '/v1/payment_intents' });
    const intent = await retrying.paymentIntents.create(
      {
        amount: 4_200,
        currency: 'usd',
        customer: customer.id,
        payment_method: paymentMethod,
        confirm: true,
        off_session: true,
      },
      { idempotencyKey: 'invoice-inv_drop' },
    );
    expect(intent.status).toBe('succeeded');
    expect(intent.lastResponse.headers['idempotent-replayed']).toBe('true');
    const attempts = double.state.requests.filter((request) => request.idempotencyKey === 'invoice-inv_drop');
    expect(attempts.map((attempt) => attempt.status)).toEqual(['dropped', 200]);
    expect(double.state.charges.forCustomer(customer.id)).toBe(1);
  });

  it('drops the connection before performing: nothing is charged until the retry', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    double.faults.inject({ kind: 'drop_before_write', path: '/v1/payment_intents' });
    // maxNetworkRetries 0: the SDK still retries a closed connection once (stripe-node's rule), with the same key.
    const intent = await stripe.paymentIntents.create(
      {
        amount: 4_300,
        currency: 'usd',
        customer: customer.id,
        payment_method: paymentMethod,
        confirm: true,
        off_session: true,
      },
      { idempotencyKey: 'invoice-inv_drop_before' },
    );
    expect(intent.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(
      double.state.requests
        .filter((request) => request.idempotencyKey === 'invoice-inv_drop_before')
        .map((request) => request.status),
    ).toEqual(['dropped', 200]);
    expect(double.state.charges.forCustomer(customer.id)).toBe(1);
  });

  it('answers 500 without performing; the SDK retries it under the same key', async () => {
    const retrying = stripeClientFor(double, double.account.secretKey, { maxNetworkRetries: 2 });
    double.faults.inject({ kind: 'server_error', path: '/v1/customers' });
    const afterError = await retrying.customers.create(
      { name: 'After a 500' },
      { idempotencyKey: 'customer-after-500' },
    );
    expect(
      double.state.requests
        .filter((request) => request.idempotencyKey === 'customer-after-500')
        .map((request) => request.status),
    ).toEqual([500, 200]);
    expect(afterError.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });

  it('holds a request past the client timeout: the client retries under its key and one customer is created', async () => {
    // The SDK gives up on the held request and retries (409 while it is held, then the stored result).
    const impatient = stripeClientFor(double, double.account.secretKey, { maxNetworkRetries: 5, timeout: 200 });
    let release = () => {};
    double.faults.inject({
      kind: 'hang',
      path: '/v1/customers',
      until: new Promise<void>((resolve) => (release = resolve)),
    });
    const created = impatient.customers.create({ name: 'After a hang' }, { idempotencyKey: 'customer-after-hang' });
    await eventually(
      'the client timed out and retried',
      () => double.state.requests.filter((request) => request.idempotencyKey === 'customer-after-hang').length >= 2,
    );
    release();
    const customer = await created;
    const named = (await stripe.customers.list({ limit: 100 })).data.filter(
      (candidate) => candidate.name === 'After a hang',
    );
    expect(named.map((candidate) => candidate.id)).toEqual([customer.id]);
  });
});

describe('events', () => {
  it('signs each delivery with Stripe-Signature so constructEvent accepts it, and a tampered body fails', async () => {
    const customer = await stripe.customers.create({ name: 'Signed' });
    const delivery = await eventually('customer.created delivered', () =>
      receiver.received.find((received) => received.body.includes(customer.id)),
    );
    const event = stripe.webhooks.constructEvent(delivery.body, delivery.signature, webhookSecret);
    expect(event).toMatchObject({
      type: 'customer.created',
      data: { object: { id: customer.id, name: 'Signed' } },
      object: 'event',
      livemode: false,
    });
    expect(event.id).toMatch(/^evt_/);
    expect(Object.keys(event).sort()).toEqual(Object.keys(fixtures.resources.event).sort());
    expect((await stripe.events.retrieve(event.id)).id).toBe(event.id);
    // The request that caused it, as Stripe records it.
    expect(event.request).toEqual({
      id: customer.lastResponse.requestId,
      idempotency_key: customer.lastResponse.idempotencyKey,
    });

    const tampered = delivery.body.replace('Signed', 'Forged');
    expect(() => stripe.webhooks.constructEvent(tampered, delivery.signature, webhookSecret)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() => stripe.webhooks.constructEvent(delivery.body, delivery.signature, 'whsec_someoneelse')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
  });

  it('holds events and delivers them reversed, twice, and resends one on demand', async () => {
    const seen = (id: string) => receiver.received.filter((received) => received.body.includes(`"id": "${id}"`)).length;
    double.webhooks.mode = 'hold';
    const first = await stripe.customers.create({ name: 'Held 1' });
    const second = await stripe.customers.create({ name: 'Held 2' });
    const [firstEvent, secondEvent] = double.webhooks.heldEvents.filter((event) =>
      [first.id, second.id].includes(event.data.object.id),
    );
    expect(seen(firstEvent!.id) + seen(secondEvent!.id)).toBe(0);
    double.webhooks.mode = 'immediate';
    double.webhooks.duplicate = true;
    await double.webhooks.releaseHeld({ order: 'reverse' });
    double.webhooks.duplicate = false;
    const order = receiver.received
      .map((received) => JSON.parse(received.body).id)
      .filter((id: string) => id === firstEvent!.id || id === secondEvent!.id);
    expect(order).toEqual([secondEvent!.id, secondEvent!.id, firstEvent!.id, firstEvent!.id]);

    double.resendEvent(firstEvent!.id);
    await double.webhooks.settle();
    expect(seen(firstEvent!.id)).toBe(3);
  });

  it('sends an event of a type nothing here causes, signed like the others', async () => {
    const sent = double.emitEvent('customer.tax_id.created', { id: 'txi_123', object: 'tax_id', value: 'DE123456789' });
    const delivery = await eventually('the unusual event delivered', () =>
      receiver.received.find((received) => received.body.includes(sent.id)),
    );
    expect(stripe.webhooks.constructEvent(delivery.body, delivery.signature, webhookSecret)).toMatchObject({
      id: sent.id,
      type: 'customer.tax_id.created',
      request: { id: null },
    });
  });

  it('retries a delivery the endpoint refused until it is accepted', async () => {
    let refusals = 2;
    const bodies: string[] = [];
    const flaky = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(refusals-- > 0 ? 500 : 200).end();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const account = double.createAccount();
    const retryDelaysMs = double.webhooks.retryDelaysMs;
    double.webhooks.retryDelaysMs = [20, 20, 20];
    double.addWebhookEndpoint({
      url: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/`,
      account: account.id,
    });
    await stripeClientFor(double, account.secretKey).customers.create({ name: 'Retried' });
    await double.webhooks.settle();
    double.webhooks.retryDelaysMs = retryDelaysMs;
    flaky.close();
    expect(bodies).toHaveLength(3);
    const attempts = double.webhooks.deliveries
      .filter((delivery) => delivery.event === JSON.parse(bodies[0]!).id)
      .map((delivery) => delivery.status);
    expect(attempts).toEqual([500, 500, 200]);
  });
});

describe('saving a card and money back', () => {
  it('completes a Checkout session in setup mode: card attached, checkout.session.completed and setup_intent.succeeded', async () => {
    const customer = await stripe.customers.create({ email: 'checkout@example.com' });
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'usd',
      success_url: 'https://tenant.example/ok',
      metadata: { tariff_customer: 'c9' },
    });
    expect(session).toMatchObject({ object: 'checkout.session', mode: 'setup', status: 'open', customer: customer.id });
    expect(session.url).toBe(`${double.url}/checkout/pay/${session.id}`);
    expect((await fetch(session.url!)).status).toBe(200);

    double.completeCheckoutSession(session.id, { paymentMethod: 'pm_card_visa' });
    const completed = await stripe.checkout.sessions.retrieve(session.id, { expand: ['setup_intent'] });
    expect(completed.status).toBe('complete');
    const setupIntent = completed.setup_intent as Stripe.SetupIntent;
    expect(setupIntent).toMatchObject({ status: 'succeeded', customer: customer.id, usage: 'off_session' });
    const methods = await stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((method) => method.id)).toEqual([setupIntent.payment_method]);
    expect(methods.data[0]!.card).toMatchObject({ brand: 'visa', last4: '4242' });
    const types = double
      .events()
      .filter((event) => [session.id, setupIntent.id].includes(event.data.object.id))
      .map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(['checkout.session.completed', 'setup_intent.succeeded']));
  });

  it('completes Checkout through its page too (a POST with the card)', async () => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'usd',
      success_url: 'https://tenant.example/ok?session={CHECKOUT_SESSION_ID}',
    });
    const page = await fetch(session.url!, {
      method: 'POST',
      body: new URLSearchParams({ payment_method: 'pm_card_mastercard' }),
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`https://tenant.example/ok?session=${session.id}`);
    expect((await stripe.customers.listPaymentMethods(customer.id)).data[0]!.card!.brand).toBe('mastercard');
  });

  it("saves a card typed on the page's card form, refusing an unknown number or a past expiry at its field", async () => {
    // Each test number stands for the test PaymentMethod with its last four digits.
    for (const [number, name] of Object.entries(TEST_CARD_NUMBERS))
      expect(TEST_CARDS[name]!.last4, `${number} is ${name}`).toBe(number.slice(-4));
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'usd',
      success_url: 'https://tenant.example/ok',
    });
    const form = await (await fetch(session.url!)).text();
    expect(form).toContain('<label for="card_number">Card number</label>');
    const post = (fields: Record<string, string>) =>
      fetch(session.url!, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
    const unknown = await post({ card_number: '4242 4242 4242 4241', expiry: '12 / 30', cvc: '123' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toMatch(/id="card_number"[^>]*aria-invalid="true"/);
    const past = await post({ card_number: '5555 5555 5555 4444', expiry: '01 / 20', cvc: '123' });
    expect(past.status).toBe(400);
    expect(await past.text()).toMatch(/id="expiry"[^>]*aria-invalid="true".*in the past/s);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    const saved = await post({ card_number: '5555 5555 5555 4444', expiry: '12 / 30', cvc: '123', name: 'A Person' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('https://tenant.example/ok');
    expect((await stripe.customers.listPaymentMethods(customer.id)).data[0]!.card).toMatchObject({
      brand: 'mastercard',
      last4: '4444',
    });
    // Once complete, the page says so and saves nothing more.
    expect(await (await fetch(`${double.url}/checkout/pay/${session.id}`)).text()).toContain('is complete');
  });

  it('confirms a SetupIntent; a card that authenticates on setup waits in requires_action', async () => {
    const customer = await stripe.customers.create({});
    const saved = await stripe.setupIntents.create({
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(saved.status).toBe('succeeded');
    const authenticating = await stripe.setupIntents.create({
      customer: customer.id,
      payment_method: 'pm_card_authenticationRequiredOnSetup',
      confirm: true,
    });
    expect(authenticating.status).toBe('requires_action');
    double.completeAuthentication(authenticating.id);
    expect((await stripe.setupIntents.retrieve(authenticating.id)).status).toBe('succeeded');
    expect((await stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(2);
  });

  it('refunds in parts: refund.created and charge.refunded, and refuses more than was charged', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const intent = await stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
    });
    const partial = await stripe.refunds.create({
      payment_intent: intent.id,
      amount: 2_500,
      reason: 'requested_by_customer',
    });
    expect(partial).toMatchObject({
      object: 'refund',
      status: 'succeeded',
      amount: 2_500,
      payment_intent: intent.id,
      charge: intent.latest_charge,
    });
    expect(partial.id).toMatch(/^re_/);
    const rest = await stripe.refunds.create({ charge: intent.latest_charge as string });
    expect(rest.amount).toBe(7_500);
    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 10_000, refunded: true });
    const again = await failureOf(stripe.refunds.create({ payment_intent: intent.id, amount: 1 }));
    expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
    const refunded = double.events({ type: 'charge.refunded' }).filter((event) => event.data.object.id === charge.id);
    expect(refunded.map((event) => event.data.object.amount_refunded)).toEqual([2_500, 10_000]);
    expect(
      double.events({ type: 'refund.created' }).filter((event) => event.data.object.charge === charge.id),
    ).toHaveLength(2);
  });

  it('opens a dispute on a charge: charge.dispute.created', async () => {
    const { customer, paymentMethod } = await customerWithCard('pm_card_visa');
    const intent = await stripe.paymentIntents.create({
      amount: 3_000,
      currency: 'usd',
      customer: customer.id,
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
    });
    const dispute = double.openDispute(intent.id, { reason: 'product_not_received' });
    expect(dispute.id).toMatch(/^du_/);
    expect(await stripe.disputes.retrieve(dispute.id)).toMatchObject({
      status: 'needs_response',
      amount: 3_000,
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: 'product_not_received',
    });
    expect((await stripe.charges.retrieve(intent.latest_charge as string)).disputed).toBe(true);
    expect(double.events({ type: 'charge.dispute.created' }).map((event) => event.data.object.id)).toContain(
      dispute.id,
    );
  });
});

describe('Stripe Tax calculations', () => {
  it('taxes each line at the state rate from the table, rounded half up, shaped like tax.calculation', async () => {
    double.taxRates.set('CA', '7.25');
    const calculation = await stripe.tax.calculations.create({
      currency: 'usd',
      customer_details: { address: { country: 'US', state: 'CA', postal_code: '94103' }, address_source: 'billing' },
      line_items: [
        { amount: 1_000, reference: 'gpu-hours' },
        { amount: 1_234, reference: 'tokens' },
      ],
      expand: ['line_items'],
    });
    expect(calculation.id).toMatch(/^taxcalc_/);
    // 1000 x 7.25% = 72.5 -> 73; 1234 x 7.25% = 89.465 -> 89.
    expect(calculation.line_items!.data.map((line) => [line.reference, line.amount_tax])).toEqual([
      ['gpu-hours', 73],
      ['tokens', 89],
    ]);
    expect(calculation).toMatchObject({
      tax_amount_exclusive: 162,
      tax_amount_inclusive: 0,
      amount_total: 2_396,
      currency: 'usd',
    });
    for (const field of Object.keys(fixtures.resources['tax.calculation_line_item']))
      expect(calculation.line_items!.data[0]).toHaveProperty(field);
    expect(calculation.tax_breakdown[0]).toMatchObject({
      amount: 162,
      taxable_amount: 2_234,
      taxability_reason: 'standard_rated',
      tax_rate_details: { state: 'CA', percentage_decimal: '7.25' },
    });
    for (const field of Object.keys(fixtures.resources['tax.calculation'])) expect(calculation).toHaveProperty(field);

    const oregon = await stripe.tax.calculations.create({
      currency: 'usd',
      customer_details: { address: { country: 'US', state: 'OR' }, address_source: 'billing' },
      line_items: [{ amount: 1_000, reference: 'x' }],
    });
    expect(oregon.tax_amount_exclusive).toBe(0);
    expect(oregon.tax_breakdown[0]!.taxability_reason).toBe('not_collecting');

    const nowhere = await failureOf(
      stripe.tax.calculations.create({
        currency: 'usd',
        customer_details: {
          address: { postal_code: '1' } as Stripe.Tax.CalculationCreateParams.CustomerDetails.Address,
          address_source: 'billing',
        },
        line_items: [{ amount: 1, reference: 'x' }],
      }),
    );
    expect(nowhere).toMatchObject({ statusCode: 400, code: 'customer_tax_location_invalid' });
  });
});

describe('object shapes', () => {
  it("every object the double made has every field of Stripe's fixture for its type", () => {
    const made = new Map<string, Record<string, unknown>>();
    for (const account of double.state.accounts.values())
      for (const object of account.objects.values()) if (!made.has(object.object)) made.set(object.object, object);
    // The account and tax line items are answers, not stored objects; their own tests above check their fields.
    const types = Object.keys(fixtures.resources).filter(
      (type) => type !== 'account' && type !== 'tax.calculation_line_item',
    );
    for (const type of types) {
      const object = made.get(type);
      expect(object, `no ${type} was made by the tests above`).toBeDefined();
      const missing = Object.keys(fixtures.resources[type as keyof typeof fixtures.resources]).filter(
        (field) => !(field in object!),
      );
      expect(missing, type).toEqual([]);
    }
  });
});
