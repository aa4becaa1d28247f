// A declined card walks the whole dunning schedule (retries 1, 3, 5 and 7 days after the first failure) with the
// real pg-boss workers and a frozen clock moved day by day, as the production tick would find it: past_due at the
// first failure, the customer blocked after 2 days (the entitlement check and ingestion refuse it), uncollectible
// when the retries run out; then a new card and "retry now" pay it, the block is lifted, the ledger balances, and
// Stripe charged exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { client } from '../billing/fixtures.ts';
import type { Jobs } from '../billing/jobs-harness.ts';
import { exampleBook, type Harness, type TenantFixture } from '../service/harness.ts';
import type { StripeDouble } from '../stripe/double.ts';
import {
  connectStripe,
  customerWithUsage,
  ledgerOf,
  saveCard,
  startPaymentsScenario,
  stopPaymentsScenario,
  type PaymentsScenario,
} from './setup.ts';

const day = 86_400_000;

describe('dunning', () => {
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

  const notificationsOf = async (type: string) =>
    (await api.ok('GET', `/v1/notifications?type=${type}&limit=1000`)).data;

  it('walks a declined card from past_due through the retries to uncollectible, blocks and unblocks the customer', async () => {
    await connectStripe(api, double, harness.url, tenant.slug);
    const policy = await api.ok('PUT', '/v1/dunning_policy', { retry_after_days: [1, 3, 5, 7], block_after_days: 2 });
    expect(policy).toEqual({ retry_after_days: [1, 3, 5, 7], block_after_days: 2 });
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    const sendUsage = await customerWithUsage(api, 'decliner', 'llm', '2026-02-10T00:00:00Z', 1_000_000);
    await saveCard(api, double, 'decliner', 'pm_card_chargeCustomerFail');
    await sendUsage();

    // The tick closes February and finalizes it (its grace ended at 01:00), the next one starts collecting.
    await jobs.tick();
    const [invoice] = (await api.ok('GET', '/v1/invoices?customer_id=decliner')).data;
    expect(invoice).toMatchObject({ status: 'finalized', total: '12.500000000', amount_due: '12.500000000' });
    await jobs.tick();
    const first = harness.clock.now();
    let collection = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
    expect(collection).toMatchObject({
      invoice_status: 'past_due',
      status: 'active',
      attempt: 2,
      first_failed_at: first.toISOString(),
      next_attempt_at: new Date(first.getTime() + day).toISOString(),
      block_at: new Date(first.getTime() + 2 * day).toISOString(),
      attempts: [
        {
          attempt: 1,
          status: 'failed',
          failure_code: 'generic_decline',
          amount: '12.500000000',
          currency: 'USD',
          payment_intent_id: expect.stringMatching(/^pi_/),
        },
      ],
    });
    expect(await notificationsOf('invoice.past_due')).toHaveLength(1);

    // A tick before the retry is due changes nothing.
    harness.clock.advance(day - 60_000);
    await jobs.tick();
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).attempts).toHaveLength(1);

    // Day 1: the second attempt fails. Day 2: the customer is blocked.
    harness.clock.set(new Date(first.getTime() + day));
    await jobs.tick();
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).attempts.map((a: any) => a.status)).toEqual([
      'failed',
      'failed',
    ]);
    const check = () => api.ok('POST', '/v1/customers/decliner/check', { estimated_cost: '0.01' });
    expect((await check()).allowed).toBe(true);
    harness.clock.set(new Date(first.getTime() + 2 * day));
    await jobs.tick();
    expect(await api.ok('GET', '/v1/customers/decliner/payment')).toMatchObject({
      blocked: true,
      blocks: [{ reason: 'payment_past_due', invoice_id: invoice.id }],
    });
    expect(await check()).toMatchObject({ allowed: false, reasons: [{ code: 'customer_blocked' }] });
    const refused = await api.call('POST', '/v1/events', {
      events: [
        {
          transaction_id: 'blocked-1',
          customer_id: 'decliner',
          event_type: 'llm.completion',
          timestamp: harness.clock.now().toISOString(),
          properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 10 },
        },
      ],
    });
    expect(refused.status).toBe(200);
    expect(refused.body.events[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'customer_blocked', field: 'customer_id' },
    });
    expect(await notificationsOf('customer.blocked')).toHaveLength(1);

    // Days 3, 5 and 7: the last three retries fail; then the invoice is uncollectible and no attempt is scheduled.
    for (const offset of [3, 5, 7]) {
      harness.clock.set(new Date(first.getTime() + offset * day));
      await jobs.tick();
    }
    collection = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
    expect(collection).toMatchObject({ invoice_status: 'uncollectible', status: 'exhausted', next_attempt_at: null });
    expect(collection.attempts.map((a: any) => a.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    expect(new Set(collection.attempts.map((a: any) => a.payment_intent_id)).size).toBe(5);
    harness.clock.advance(30 * day);
    await jobs.tick();
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).attempts).toHaveLength(5);
    expect((await notificationsOf('invoice.payment_failed')).map((n: any) => n.payload.attempt)).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(await notificationsOf('invoice.uncollectible')).toHaveLength(1);
    expect(double.state.charges.withMetadata('tariff_invoice_id', invoice.id)).toHaveLength(0);

    // The customer saves a card that works, the operator retries: paid, unblocked.
    await saveCard(api, double, 'decliner', 'pm_card_visa');
    collection = await api.ok('POST', `/v1/invoices/${invoice.id}/retry_payment`);
    expect(collection).toMatchObject({ invoice_status: 'paid', status: 'paid', amount_due: '0.000000000' });
    expect(collection.attempts.at(-1)).toMatchObject({ attempt: 6, status: 'succeeded' });
    expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toMatchObject({
      status: 'paid',
      amount_due: '0.000000000',
    });
    expect((await check()).allowed).toBe(true);
    expect(await api.ok('GET', '/v1/customers/decliner/payment')).toMatchObject({ blocked: false, blocks: [] });
    expect(await notificationsOf('customer.unblocked')).toHaveLength(1);
    expect(await notificationsOf('invoice.paid')).toHaveLength(1);
    const charges = double.state.charges.withMetadata('tariff_invoice_id', invoice.id);
    expect(charges.map((c) => [c.amount, c.currency])).toEqual([[1250, 'usd']]);

    // Stripe's own events of all this arrive too (late, some after the payment): nothing moves back.
    await double.webhooks.settle();
    await jobs.drain();
    expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toMatchObject({ status: 'paid' });
    const ledger = await ledgerOf(api, 'decliner');
    expect(ledger.receivable).toBe('0.000000000');
    expect(ledger.transactions.map((t: any) => t.kind).sort()).toEqual(['invoice_finalized', 'invoice_paid']);
  }, 240_000);

  it('writes an invoice off against bad debt, and records a later payment out of band as a recovery', async () => {
    await api.ok('POST', '/v1/price_books', { book: exampleBook('llm-2') }).catch(() => undefined);
    const sendUsage = await customerWithUsage(
      api,
      'writeoff',
      'llm',
      new Date(harness.clock.now().getTime() - 40 * day).toISOString(),
      400_000,
    );
    await sendUsage();
    await jobs.tick();
    const [invoice] = (await api.ok('GET', '/v1/invoices?customer_id=writeoff')).data;
    expect(invoice.status).toBe('finalized');
    // No card: the tick does not start collecting it.
    await jobs.tick();
    expect((await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).status).toBe('none');
    const retry = await api.call('POST', `/v1/invoices/${invoice.id}/retry_payment`);
    expect(retry.status).toBe(422);
    expect(retry.body.error.code).toBe('no_payment_method');

    const writtenOff = await api.ok('POST', `/v1/invoices/${invoice.id}/write_off`, { reason: 'customer gone' });
    expect(writtenOff).toMatchObject({ status: 'uncollectible', amount_due: invoice.total });
    const again = await api.call('POST', `/v1/invoices/${invoice.id}/write_off`, {});
    expect(again.status).toBe(409);
    let ledger = await ledgerOf(api, 'writeoff');
    expect(ledger.receivable).toBe('0.000000000');
    expect(ledger.transactions.find((t: any) => t.kind === 'invoice_written_off').entries).toEqual(
      expect.arrayContaining([{ account: 'expense:bad_debt:USD', amount: invoice.total }]),
    );

    const paid = await api.ok('POST', `/v1/invoices/${invoice.id}/pay`, {});
    expect(paid).toMatchObject({ status: 'paid', amount_due: '0.000000000' });
    ledger = await ledgerOf(api, 'writeoff');
    expect(ledger.transactions.find((t: any) => t.kind === 'invoice_paid').entries).toEqual(
      expect.arrayContaining([
        { account: 'expense:bad_debt:USD', amount: `-${invoice.total}` },
        { account: 'clearing:payments:USD', amount: invoice.total },
      ]),
    );
    expect((await api.call('POST', `/v1/invoices/${invoice.id}/pay`, {})).status).toBe(409);
  }, 120_000);
});
