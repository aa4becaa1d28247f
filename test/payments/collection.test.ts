// Getting paid end to end under startService (what `npm start` runs: migrations, pg-boss's cron at production
// timings, the system clock, no tick sent by hand): a tenant signs up, connects Stripe (the double), a customer
// saves a card on the hosted setup page, usage arrives, the ended period is closed and finalized by the scheduler,
// the invoice is charged off-session, Stripe's events arrive signed, the invoice is paid with its ledger entries
// balanced, and the tenant's endpoint receives an invoice.paid webhook that the standardwebhooks package verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/platform/config.ts';
import { createLogger } from '../../service/src/platform/log.ts';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { startService, type RunningService } from '../../service/src/start.ts';
import { exampleBook, rest, signUpTenant, type Harness } from '../service/harness.ts';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import { startReceiver, verifyAt, type Receiver } from '../webhooks/receiver.ts';
import {
  connectStripe,
  customerWithUsage,
  ledgerOf,
  paymentEnvironment,
  saveCard,
  secretsKey,
  type Api,
} from './setup.ts';

describe('collection under the production scheduler', () => {
  let double: StripeDouble;
  let database: TestDatabase;
  let service: RunningService;
  let receiver: Receiver;
  const problems: string[] = [];

  beforeAll(async () => {
    double = await startStripeDouble();
    receiver = await startReceiver();
    database = await createTestDatabase({ migrate: false });
    const environment = paymentEnvironment(double, secretsKey());
    Object.assign(process.env, environment);
    const logger = createLogger('warn', (line) => problems.push(line));
    service = await startService(loadConfig({ ...environment, DATABASE_URL: database.url, PORT: '0' }), {
      logger,
      host: '127.0.0.1',
    });
  }, 240_000);
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
    await receiver?.close();
    await double?.close();
  }, 60_000);

  it('signs up, connects Stripe, saves a card, bills usage, charges it once and tells the tenant it was paid', async () => {
    const harness = { url: service.url } as Harness;
    const tenant = await signUpTenant(harness);
    const call = (method: string, path: string, body?: unknown) =>
      rest(harness, method, path, { key: tenant.secretKey, body });
    const api: Api = {
      call,
      ok: async (method, path, body) => {
        const response = await call(method, path, body);
        expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
        return response.body;
      },
    };
    await connectStripe(api, double, service.url, tenant.slug);
    const endpoint = await api.ok('POST', '/v1/webhook_endpoints', {
      url: `${receiver.url}/billing`,
      event_types: ['invoice.paid'],
    });
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    // Usage in a month that has ended (its grace too), sent in one batch: its period is created with all of it.
    const sendUsage = await customerWithUsage(
      api,
      'acme',
      'llm',
      new Date(Date.now() - 40 * 86_400_000).toISOString(),
      1_000_000,
    );
    const paymentMethod = await saveCard(api, double, 'acme');
    expect(paymentMethod).toMatch(/^pm_/);
    const ack = await sendUsage();
    expect(ack.amount).toBe('12.500000000');

    const paid = await eventually(
      'the scheduler to close, finalize and collect the invoice',
      async () => {
        const list = await api.ok('GET', '/v1/invoices?customer_id=acme');
        return list.data.find((i: any) => i.status === 'paid');
      },
      { limitMs: 240_000, intervalMs: 1000 },
    );
    expect(paid).toMatchObject({
      status: 'paid',
      total: '12.500000000',
      amount_due: '0.000000000',
      number: expect.stringMatching(/^INV-/),
    });
    const audit = await api.ok('GET', `/v1/audit_log?entity_type=invoice&entity_id=${paid.id}`);
    expect(audit.data.map((e: any) => [e.action, e.actor.type]).sort()).toEqual([
      ['invoice.drafted', 'system'],
      ['invoice.finalized', 'system'],
      ['invoice.paid', 'system'],
    ]);

    // Charged exactly once, in the invoice's currency and minor unit, under the attempt's idempotency key.
    const charges = double.state.charges.withMetadata('tariff_invoice_id', paid.id);
    expect(charges.map((c) => [c.amount, c.currency, c.customer])).toEqual([
      [1250, 'usd', expect.stringMatching(/^cus_/)],
    ]);
    const collection = await api.ok('GET', `/v1/invoices/${paid.id}/collection`);
    expect(collection).toMatchObject({
      status: 'paid',
      invoice_status: 'paid',
      attempts: [
        { attempt: 1, status: 'succeeded', amount: '12.500000000', payment_intent_id: expect.stringMatching(/^pi_/) },
      ],
    });
    const creates = double.state.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    expect(creates.map((r) => r.idempotencyKey)).toEqual([`tariff:${tenant.tenantId}:invoice:${paid.id}:attempt:1`]);

    // Stripe's signed events reached the tenant's endpoint and were recorded once each.
    const received = await eventually('payment_intent.succeeded to be received', async () => {
      const events = await api.ok('GET', '/v1/stripe/events');
      return events.data.find((e: any) => e.type === 'payment_intent.succeeded');
    });
    expect(['applied', 'stale']).toContain(received.outcome);

    // The ledger: receivable against revenue at finalization, cash against receivable at payment; all balanced.
    const ledger = await ledgerOf(api, 'acme');
    expect(ledger.receivable).toBe('0.000000000');
    expect(ledger.transactions.find((t: any) => t.kind === 'invoice_paid').entries).toEqual(
      expect.arrayContaining([
        { account: 'clearing:payments:USD', amount: '12.500000000' },
        { account: expect.stringMatching(/^receivable:/), amount: '-12.500000000' },
      ]),
    );

    // The invoice.paid webhook, verified with the standardwebhooks package.
    const webhook = await eventually('the invoice.paid webhook', async () =>
      receiver.received.find((r) => r.path === '/billing'),
    );
    expect(verifyAt(endpoint.secret, webhook, new Date())).toMatchObject({
      type: 'invoice.paid',
      data: { invoice_id: paid.id, customer_id: 'acme', total: '12.500000000', source: 'stripe' },
    });
    expect(problems.filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  }, 300_000);
});
