// After a payment: a refund made in Stripe becomes a credit note and the cash going back in the ledger (once, however
// often Stripe sends its event), and a dispute is recorded with a notification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { client } from '../billing/fixtures.ts';
import type { Jobs } from '../billing/jobs-harness.ts';
import { exampleBook, type Harness, type TenantFixture } from '../service/harness.ts';
import { stripeClientFor, type StripeDouble } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import {
  connectStripe,
  customerWithUsage,
  ledgerOf,
  saveCard,
  startPaymentsScenario,
  stopPaymentsScenario,
  type PaymentsScenario,
} from './setup.ts';

describe('refunds and disputes', () => {
  let double: StripeDouble;
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let scenario: PaymentsScenario;

  beforeAll(async () => {
    scenario = await startPaymentsScenario();
    ({ double, harness, tenant, api, jobs } = scenario);
  });
  afterAll(() => stopPaymentsScenario(scenario));

  it('turns a Stripe refund into a credit note and ledger entries once, and records a dispute', async () => {
    const { account } = await connectStripe(api, double, harness.url, tenant.slug);
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    const sendUsage = await customerWithUsage(api, 'refunded', 'llm', '2026-02-10T00:00:00Z', 1_000_000);
    await saveCard(api, double, 'refunded');
    await sendUsage();
    await jobs.tick();
    await jobs.tick();
    const [invoice] = (await api.ok('GET', '/v1/invoices?customer_id=refunded')).data;
    expect(invoice).toMatchObject({ status: 'paid', total: '12.500000000' });
    const paymentIntent = (await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).attempts[0].payment_intent_id;

    const stripe = stripeClientFor(double, account.secretKey);
    await stripe.refunds.create({ payment_intent: paymentIntent, amount: 500 });
    const note = await eventually(
      "the refund's credit note",
      async () => (await api.ok('GET', `/v1/credit_notes?invoice_id=${invoice.id}`)).data[0],
    );
    expect(note).toMatchObject({ total: '5.000000000', reason: expect.stringMatching(/^Refund re_/) });
    // Stripe sends the refund's event again: nothing more.
    const refundEvent = double.events({ account: account.id, type: 'charge.refunded' })[0];
    double.resendEvent(refundEvent.id);
    await double.webhooks.settle();
    expect((await api.ok('GET', `/v1/credit_notes?invoice_id=${invoice.id}`)).data).toHaveLength(1);
    const ledger = await ledgerOf(api, 'refunded');
    expect(ledger.receivable).toBe('0.000000000');
    expect(ledger.transactions.filter((t: any) => t.kind === 'payment_refunded').map((t: any) => t.entries)).toEqual([
      expect.arrayContaining([
        { account: 'clearing:payments:USD', amount: '-5.000000000' },
        { account: expect.stringMatching(/^receivable:/), amount: '5.000000000' },
      ]),
    ]);
    expect((await api.ok('GET', '/v1/notifications?type=invoice.refunded')).data).toHaveLength(1);

    double.openDispute(paymentIntent);
    await double.webhooks.settle();
    const collection = await eventually('the dispute to be recorded', async () => {
      const c = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
      return c.disputes.length > 0 ? c : undefined;
    });
    expect(collection.disputes).toHaveLength(1);
    expect(collection.disputes[0]).toMatchObject({
      dispute_id: expect.stringMatching(/^du_/),
      status: expect.any(String),
      amount: '12.500000000',
    });
    expect((await api.ok('GET', '/v1/notifications?type=invoice.disputed')).data.length).toBeGreaterThan(0);
    expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toMatchObject({ status: 'paid' });
  }, 120_000);
});
