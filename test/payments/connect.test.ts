// Stripe Connect events over the public API: a reseller collects its children's invoices through its own Stripe
// account, connected to the tenant's; the double sends that account's events (each naming its `account`) to the
// tenant's Connect endpoint, signed with the Connect endpoint's secret. A payment that succeeds there reaches the
// reseller-issued invoice through its event alone (the charge's answer is dropped), a decline's event is taken; an event of an
// account no brand owns, or naming an invoice another account collects, changes nothing and says why; an event
// naming an account but signed with the account endpoint's secret is refused. Never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleBook } from '../service/harness.ts';
import { signStripePayload } from '../stripe/webhooks.ts';
import { eventually } from '../wait.ts';
import {
  connectStripe,
  saveCard,
  startPaymentsScenario,
  stopPaymentsScenario,
  type PaymentsScenario,
} from './setup.ts';

const feb = '2026-02-01T00:00:00.000Z';

describe('Stripe Connect events for resellers', () => {
  let scenario: PaymentsScenario;
  let platform: { id: string };
  let resellerAccount: { id: string };
  let secrets: { webhookSecret: string; connectSecret: string };
  const statuses: number[] = [];

  /** POSTs a signed event to the tenant's Stripe endpoint, as Stripe would. */
  const deliver = async (event: Record<string, unknown>, secret: string) => {
    const body = JSON.stringify(event);
    const response = await fetch(`${scenario.harness.url}/v1/stripe/events/${scenario.tenant.slug}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(body, secret, Math.floor(Date.now() / 1000)),
      },
      body,
    });
    statuses.push(response.status);
    return { status: response.status, body: (await response.json()) as any };
  };
  const succeeded = (id: string, invoiceId: string, account?: string) => ({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'payment_intent.succeeded',
    ...(account ? { account } : {}),
    data: {
      object: {
        id: `pi_${id}`,
        object: 'payment_intent',
        amount: 2500,
        amount_received: 2500,
        currency: 'usd',
        status: 'succeeded',
        metadata: { tariff_tenant_id: scenario.tenant.tenantId, tariff_invoice_id: invoiceId },
      },
    },
  });
  const storedEvents = (type: string) =>
    scenario.harness.database.owner`
      select account, outcome, detail from stripe_events where tenant_id = ${scenario.tenant.tenantId} and type = ${type}`;
  const invoiceOf = (customer: string) => scenario.api.invoiceOf(customer, feb);

  /** One event of 1M input and 1M output tokens in February (12.50 USD at the example book). */
  const usage = async (customer: string) => {
    const [event] = await scenario.api.events({
      transaction_id: `${customer}-feb`,
      customer_id: customer,
      event_type: 'llm.completion',
      timestamp: '2026-02-10T00:00:00Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 1_000_000 },
    });
    expect(event.status, JSON.stringify(event)).toBe('accepted');
  };

  beforeAll(async () => {
    scenario = await startPaymentsScenario({ now: '2026-03-01T12:00:00Z' });
    const { api, double, harness, tenant } = scenario;
    const connected = await connectStripe(api, double, harness.url, tenant.slug);
    platform = connected.account;
    secrets = connected;
    resellerAccount = double.createAccount({ platform: platform.id });
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    await api.ok('POST', '/v1/customers', { external_id: 'r-one', currency: 'USD', is_reseller: true });
    await api.ok('POST', '/v1/price_books', { book: exampleBook('llm-r-one'), owner_customer_id: 'r-one' });
    await api.ok('PUT', '/v1/customers/r-one/price_book', {
      price_book: 'llm',
      effective_from: '2020-01-01T00:00:00Z',
    });
    await api.ok('PUT', '/v1/customers/r-one/brand', { display_name: 'One Cloud', stripe_account: resellerAccount.id });
    for (const c of ['a1', 'a2', 'd1']) {
      const child = c !== 'd1';
      await api.ok('POST', '/v1/customers', {
        external_id: c,
        currency: 'USD',
        email: `${c}@example.com`,
        ...(child ? { parent_id: 'r-one' } : {}),
      });
      await api.ok('PUT', `/v1/customers/${c}/price_book`, {
        price_book: child ? 'llm-r-one' : 'llm',
        effective_from: '2020-01-01T00:00:00Z',
      });
    }
  }, 120_000);
  afterAll(async () => {
    await stopPaymentsScenario(scenario);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it("pays a reseller-issued invoice by its connected account's event alone, and takes its decline's event", async () => {
    const { api, double, jobs } = scenario;
    // The cards are saved on the reseller's account: its Checkout events come through the Connect endpoint.
    await saveCard(api, double, 'a1', 'pm_card_visa');
    await saveCard(api, double, 'a2', 'pm_card_chargeCustomerFail');
    await usage('a1');
    await usage('a2');
    // The tick that closes the period; the next one collects.
    await jobs.tick();
    // Stripe charges (or declines) and the connection drops before its answer, on every try (a retry with the same
    // idempotency key would otherwise hear the replayed answer): only the events can tell.
    double.faults.inject({ kind: 'drop_after_write', method: 'POST', path: '/v1/payment_intents', times: 50 });
    // Nor can the collection read the PaymentIntents back meanwhile.
    double.faults.inject({ kind: 'server_error', method: 'GET', path: /^\/v1\/payment_intents\//, times: 50 });
    await jobs.tick();
    expect(double.faults.applied.filter((f: any) => f.kind === 'drop_after_write').length).toBeGreaterThanOrEqual(2);
    const a1 = await invoiceOf('a1');
    const a2 = await invoiceOf('a2');
    const statusOf = async (id: string) => (await api.ok('GET', `/v1/invoices/${id}`)).status;
    await eventually('the events to pay a1 and fail a2', async () =>
      (await statusOf(a1.id)) === 'paid' && (await statusOf(a2.id)) === 'past_due' ? true : undefined,
    );
    // Charged once, on the reseller's account; both events came from it and were applied.
    expect(double.state.charges.withMetadata('tariff_invoice_id', a1.id)).toEqual([
      expect.objectContaining({ account: resellerAccount.id }),
    ]);
    expect(await storedEvents('payment_intent.succeeded')).toEqual([
      { account: resellerAccount.id, outcome: 'applied', detail: 'succeeded' },
    ]);
    // The decline's event came from the reseller's account too; the collection may have learned the decline first
    // (its attempt then moved on, and the event is stale), so only where it came from and that it was taken are fixed.
    expect(await storedEvents('payment_intent.payment_failed')).toEqual([
      { account: resellerAccount.id, outcome: expect.stringMatching(/^(applied|stale)$/), detail: expect.any(String) },
    ]);
    const collection = await api.ok('GET', `/v1/invoices/${a2.id}/collection`);
    expect(collection).toMatchObject({ invoice_status: 'past_due', status: 'active' });
    // The cash is in the ledger, against a1's receivable.
    const transactions = await api.ok('GET', '/v1/ledger/transactions?customer_id=a1&limit=50');
    expect(transactions.data.map((t: any) => t.kind)).toContain('invoice_paid');
  });

  it('takes no event of an account no brand owns, nor one naming an invoice another account collects', async () => {
    const { api, jobs } = scenario;
    await usage('d1');
    await jobs.tick();
    const d1 = await invoiceOf('d1');
    const a2 = await invoiceOf('a2');
    expect(d1.status).toBe('finalized');

    // An account connected to the platform that no reseller brand names.
    const foreign = await deliver(succeeded('evt_foreign_1', d1.id, 'acct_nobodys'), secrets.connectSecret);
    expect(foreign).toMatchObject({
      status: 200,
      body: { outcome: 'unmatched', duplicate: false, detail: expect.stringContaining('acct_nobodys') },
    });
    expect(
      (await deliver(succeeded('evt_foreign_1', d1.id, 'acct_nobodys'), secrets.connectSecret)).body,
    ).toMatchObject({ outcome: 'unmatched', duplicate: true });
    // The reseller's account naming the tenant's own invoice, and the tenant's account naming the reseller's.
    const crossed = await deliver(succeeded('evt_crossed_1', d1.id, resellerAccount.id), secrets.connectSecret);
    expect(crossed.body).toMatchObject({
      outcome: 'unmatched',
      detail: `invoice ${d1.id} is collected through the tenant's own account, not ${resellerAccount.id}`,
    });
    const back = await deliver(succeeded('evt_crossed_2', a2.id), secrets.webhookSecret);
    expect(back.body).toMatchObject({
      outcome: 'unmatched',
      detail: `invoice ${a2.id} is collected through ${resellerAccount.id}, not the tenant's own account`,
    });
    // A connected account's event verifies only with the Connect endpoint's secret.
    const wrongSecret = await deliver(succeeded('evt_wrong_secret', a2.id, resellerAccount.id), secrets.webhookSecret);
    expect(wrongSecret).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_signature', details: [{ field: '(headers).stripe-signature' }] } },
    });
    expect((await api.ok('GET', `/v1/invoices/${d1.id}`)).status).toBe('finalized');
    expect((await api.ok('GET', `/v1/invoices/${a2.id}`)).status).toBe('past_due');
  });
});
