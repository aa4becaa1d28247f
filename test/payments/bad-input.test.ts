// What the Stripe side can throw at collection, over the public API with the real pg-boss workers and a frozen
// clock: wrong, missing and foreign signatures, unknown tenants, replayed and duplicated events, events of another
// tenant's objects, unknown event types, events out of order; Stripe answering 429 or 500, hanging past the
// deadline, or dropping the connection after charging. Every answer of ours is a clear 2xx or 4xx, never a 5xx, and
// in the end every invoice is paid and charged exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../billing/fixtures.ts';
import { startJobRunner, type Jobs } from '../billing/jobs-harness.ts';
import { exampleBook, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { signStripePayload } from '../stripe/webhooks.ts';
import { connectStripe, customerWithUsage, paymentEnvironment, saveCard, secretsKey } from './setup.ts';

describe('payments under bad input', () => {
  let double: StripeDouble;
  let harness: Harness;
  let tenant: TenantFixture;
  let other: TenantFixture;
  let api: ReturnType<typeof client>;
  let otherApi: ReturnType<typeof client>;
  let jobs: Jobs;
  let secret: string;
  let otherSecret: string;
  const statuses: number[] = [];

  /** POSTs raw bytes to a tenant's Stripe endpoint, as Stripe would. */
  const deliver = async (reference: string, body: string, signature?: string) => {
    const response = await fetch(`${harness.url}/v1/stripe/events/${reference}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(signature === undefined ? {} : { 'stripe-signature': signature }),
      },
      body,
    });
    statuses.push(response.status);
    return { status: response.status, body: (await response.json()) as any };
  };
  const sign = (body: string, key: string) => signStripePayload(body, key, Math.floor(Date.now() / 1000));
  const eventBody = (id: string, type: string, object: Record<string, unknown>) =>
    JSON.stringify({
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object },
    });
  /** A customer with usage in February, a card, and its invoice finalized by the tick (not yet collected). */
  const invoiceFor = async (customer: string, card: string) => {
    const sendUsage = await customerWithUsage(api, customer, 'llm', '2026-02-10T00:00:00Z', 400_000);
    await saveCard(api, double, customer, card);
    await sendUsage();
    // The tick that finds the invoice due starts its collection; the one before it closes the period.
    await jobs.tick();
    const [invoice] = (await api.ok('GET', `/v1/invoices?customer_id=${customer}`)).data;
    return invoice;
  };

  beforeAll(async () => {
    double = await startStripeDouble();
    // A short deadline per Stripe request, so that a hanging Stripe is given up on within the test.
    Object.assign(process.env, paymentEnvironment(double, secretsKey()), { STRIPE_TIMEOUT_MS: '2000' });
    harness = await startService({ now: '2026-03-01T12:00:00Z' });
    tenant = await signUpTenant(harness);
    other = await signUpTenant(harness);
    api = client(harness, tenant);
    otherApi = client(harness, other);
    jobs = await startJobRunner(harness);
    secret = (await connectStripe(api, double, harness.url, tenant.slug)).webhookSecret;
    otherSecret = (await connectStripe(otherApi, double, harness.url, other.tenantId)).webhookSecret;
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
    await double?.close();
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it('answers bad signatures 400 and unknown tenants 404, records unknown types, and takes a replay once', async () => {
    const body = eventBody('evt_test_unknown_type_1', 'customer.tax_id.created', { id: 'txi_1', object: 'tax_id' });
    expect(await deliver(tenant.slug, body)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_signature', details: [{ field: '(headers).stripe-signature' }] } },
    });
    expect((await deliver(tenant.slug, body, sign(body, 'whsec_not_the_secret'))).status).toBe(400);
    expect((await deliver(tenant.slug, body.replace('txi_1', 'txi_2'), sign(body, secret))).status).toBe(400);
    expect((await deliver(tenant.slug, body, 't=1,v1=abc')).status).toBe(400);
    // Another tenant's signing secret does not open this tenant's endpoint (a foreign event).
    expect((await deliver(tenant.slug, body, sign(body, otherSecret))).status).toBe(400);
    expect((await deliver('no-such-tenant', body, sign(body, secret))).body.error.code).toBe('tenant_not_found');
    expect((await deliver('00000000-0000-4000-8000-000000000000', body, sign(body, secret))).status).toBe(404);
    expect((await deliver(tenant.slug, 'not json', sign('not json', secret))).status).toBe(400);

    const first = await deliver(tenant.slug, body, sign(body, secret));
    expect(first).toMatchObject({
      status: 200,
      body: { received: true, event_id: 'evt_test_unknown_type_1', outcome: 'ignored', duplicate: false },
    });
    // By id or by slug, the same event is taken once.
    const replay = await deliver(tenant.tenantId, body, sign(body, secret));
    expect(replay).toMatchObject({ status: 200, body: { outcome: 'ignored', duplicate: true } });
    const recorded = (await api.ok('GET', '/v1/stripe/events')).data.filter(
      (e: any) => e.id === 'evt_test_unknown_type_1',
    );
    expect(recorded).toEqual([
      {
        id: 'evt_test_unknown_type_1',
        type: 'customer.tax_id.created',
        outcome: 'ignored',
        detail: expect.any(String),
        livemode: false,
        received_at: expect.any(String),
      },
    ]);
    expect(
      (await otherApi.ok('GET', '/v1/stripe/events')).data.find((e: any) => e.id === 'evt_test_unknown_type_1'),
    ).toBeUndefined();
  });

  it("leaves an invoice alone when a validly signed event names another tenant's payment", async () => {
    const invoice = await invoiceFor('stranger', 'pm_card_chargeCustomerFail');
    await jobs.tick();
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}`)).status).toBe('past_due');
    // Signed with this tenant's secret, but the payment intent says it is the other tenant's.
    const forged = eventBody('evt_test_forged_1', 'payment_intent.succeeded', {
      id: 'pi_forged_1',
      object: 'payment_intent',
      status: 'succeeded',
      amount: 100,
      amount_received: 100,
      currency: 'usd',
      metadata: { tariff_tenant_id: other.tenantId, tariff_invoice_id: invoice.id, tariff_attempt: '1' },
    });
    expect(await deliver(tenant.slug, forged, sign(forged, secret))).toMatchObject({
      status: 200,
      body: { outcome: 'unmatched' },
    });
    // Naming an invoice this tenant does not have is unmatched too.
    const unknown = eventBody('evt_test_forged_2', 'payment_intent.succeeded', {
      id: 'pi_forged_2',
      object: 'payment_intent',
      status: 'succeeded',
      amount: 100,
      currency: 'usd',
      metadata: { tariff_invoice_id: '00000000-0000-4000-8000-000000000001' },
    });
    expect(await deliver(tenant.slug, unknown, sign(unknown, secret))).toMatchObject({
      status: 200,
      body: { outcome: 'unmatched' },
    });
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}`)).status).toBe('past_due');
  });

  it("keeps a paid invoice paid when Stripe's events come late, twice and in reverse order", async () => {
    double.webhooks.mode = 'hold';
    double.webhooks.duplicate = true;
    try {
      const sendUsage = await customerWithUsage(api, 'reordered', 'llm', '2026-02-10T00:00:00Z', 400_000);
      double.webhooks.mode = 'immediate';
      await saveCard(api, double, 'reordered', 'pm_card_chargeCustomerFail');
      double.webhooks.mode = 'hold';
      await sendUsage();
      await jobs.tick();
      await jobs.tick();
      const [invoice] = (await api.ok('GET', '/v1/invoices?customer_id=reordered')).data;
      expect(invoice.status).toBe('past_due');
      double.webhooks.mode = 'immediate';
      await saveCard(api, double, 'reordered', 'pm_card_visa');
      double.webhooks.mode = 'hold';
      expect(await api.ok('POST', `/v1/invoices/${invoice.id}/retry_payment`)).toMatchObject({
        invoice_status: 'paid',
      });
      // Now the held events: the success first, then the old failure, each twice.
      double.webhooks.releaseHeld({ order: 'reverse' });
      await double.webhooks.settle();
      expect(double.webhooks.deliveries.filter((d) => d.status !== 200)).toEqual([]);
      const events = (await api.ok('GET', '/v1/stripe/events?limit=500')).data;
      expect(new Set(events.map((e: any) => e.id)).size).toBe(events.length);
      const failed = events.filter((e: any) => e.type === 'payment_intent.payment_failed');
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((e: any) => e.outcome === 'stale')).toBe(true);
      expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toMatchObject({
        status: 'paid',
        amount_due: '0.000000000',
      });
      expect(double.state.charges.withMetadata('tariff_invoice_id', invoice.id)).toHaveLength(1);
    } finally {
      double.webhooks.mode = 'immediate';
      double.webhooks.duplicate = false;
    }
  });

  it('answers 422 when Stripe fails a setup call, and changes nothing', async () => {
    const third = await signUpTenant(harness);
    const thirdApi = client(harness, third);
    const account = double.createAccount();
    double.faults.inject({ kind: 'server_error', path: '/v1/customers', method: 'GET' });
    const refused = await thirdApi.call('PUT', '/v1/stripe/connection', {
      secret_key: account.restrictedKey,
      webhook_secret: 'whsec_abcdefghijkl',
    });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'stripe_unavailable' } } });
    expect(await thirdApi.ok('GET', '/v1/stripe/connection')).toMatchObject({ connected: false });
    const badKey = await thirdApi.call('PUT', '/v1/stripe/connection', {
      secret_key: 'sk_test_doesnotexist123',
      webhook_secret: 'whsec_abcdefghijkl',
    });
    expect(badKey).toMatchObject({
      status: 400,
      body: { error: { code: 'stripe_key_rejected', details: [{ field: 'secret_key' }] } },
    });

    await api.ok('POST', '/v1/customers', { external_id: 'limited', currency: 'USD' });
    double.faults.inject({ kind: 'rate_limit', path: '/v1/checkout/sessions', shouldRetry: false });
    const limited = await api.call('POST', '/v1/customers/limited/payment_setup_link', {});
    expect(limited).toMatchObject({ status: 422, body: { error: { code: 'stripe_unavailable' } } });
    expect((await api.ok('POST', '/v1/customers/limited/payment_setup_link', {})).url).toMatch(/^http/);
  });

  it.each([
    ['server_error', { kind: 'server_error' }],
    ['rate_limit', { kind: 'rate_limit', shouldRetry: false }],
    ['hang', { kind: 'hang', hangMs: 5000 }],
    ['drop_after_write', { kind: 'drop_after_write' }],
  ] as const)(
    'collects once after Stripe answered a charge with %s',
    async (name, fault) => {
      const invoice = await invoiceFor(`faulty-${name}`, 'pm_card_visa');
      double.faults.inject({ ...fault, method: 'POST', path: '/v1/payment_intents' });
      await jobs.tick();
      if (name === 'server_error' || name === 'rate_limit') {
        // Stripe did nothing: the attempt waits to be sent again under its key.
        const waiting = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
        expect(waiting).toMatchObject({
          invoice_status: 'finalized',
          status: 'active',
          attempt: 1,
          attempts: [{ attempt: 1, status: 'sending' }],
          last_error: expect.any(String),
        });
      }
      // After a hang or a drop Stripe did charge (and says so in an event, which may already have paid the invoice);
      // the attempt sent again must not charge a second time.
      await new Promise((resolve) => setTimeout(resolve, name === 'hang' ? 4000 : 0));
      harness.clock.advance(61_000);
      await jobs.tick();
      const done = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
      expect(done).toMatchObject({
        invoice_status: 'paid',
        status: 'paid',
        attempts: [{ attempt: 1, status: 'succeeded' }],
      });
      expect(double.state.charges.withMetadata('tariff_invoice_id', invoice.id)).toHaveLength(1);
      const keys = double.state.requests
        .filter(
          (r) => r.path === '/v1/payment_intents' && r.method === 'POST' && r.idempotencyKey?.includes(invoice.id),
        )
        .map((r) => r.idempotencyKey);
      expect(new Set(keys)).toEqual(new Set([`tariff:${tenant.tenantId}:invoice:${invoice.id}:attempt:1`]));
    },
    60_000,
  );
});
