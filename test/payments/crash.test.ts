// kill -9 during collection: the service runs as its own process (`node service/src/main.ts`, production's scheduler)
// against the Stripe double, which holds the PaymentIntent requests long enough for the process to be SIGKILLed with
// a charge in flight (the double still performs it, as Stripe would). After a restart on the same port, every
// invoice is paid, and the double's charge ledger shows each charged exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { exampleBook, rest, signUpTenant, type Harness } from '../service/harness.ts';
import { startServiceProcess, type ServiceProcess } from '../service/process.ts';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import {
  connectStripe,
  customerWithUsage,
  ledgerOf,
  paymentEnvironment,
  saveCard,
  secretsKey,
  type Api,
} from './setup.ts';

describe('collection across a crash', () => {
  let double: StripeDouble;
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    double = await startStripeDouble();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await database?.drop();
    await double?.close();
  });

  it('charges no invoice twice and leaves none uncollected after a SIGKILL mid-charge', async () => {
    // A short lease: an attempt whose answer the dead process never got is sent again (same key) seconds later.
    const environment = { ...paymentEnvironment(double, secretsKey()), PAYMENT_ATTEMPT_LEASE_SECONDS: '5' };
    service = await startServiceProcess(database.url, environment);
    const port = new URL(service.url).port;
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
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    const customers = ['crash-a', 'crash-b', 'crash-c'];
    const senders = [];
    for (const customer of customers) {
      senders.push(
        await customerWithUsage(api, customer, 'llm', new Date(Date.now() - 40 * 86_400_000).toISOString(), 200_000),
      );
      await saveCard(api, double, customer);
    }
    // Stripe holds each charge 8 seconds before performing it.
    double.faults.inject({
      kind: 'hang',
      method: 'POST',
      path: '/v1/payment_intents',
      hangMs: 8000,
      times: customers.length,
    });
    for (const send of senders) await send();

    await eventually(
      'a charge to be in flight',
      async () => double.faults.applied.some((f) => f.path === '/v1/payment_intents'),
      { limitMs: 240_000, intervalMs: 200 },
    );
    service.child.kill('SIGKILL');
    await new Promise((resolve) => service!.child.once('exit', resolve));
    const inFlight = double.faults.applied.filter((f) => f.path === '/v1/payment_intents').map((f) => f.idempotencyKey);
    expect(inFlight.length).toBeGreaterThan(0);

    // Same port: the double's webhook endpoint keeps pointing at the service.
    service = await startServiceProcess(database.url, { ...environment, PORT: port });
    const invoices = await eventually(
      'every invoice to be paid after the restart',
      async () => {
        const list = (await api.ok('GET', '/v1/invoices?limit=100')).data;
        return list.length === customers.length && list.every((i: any) => i.status === 'paid') ? list : undefined;
      },
      { limitMs: 240_000, intervalMs: 1000 },
    );

    for (const invoice of invoices) {
      expect(
        double.state.charges.withMetadata('tariff_invoice_id', invoice.id),
        `charges of ${invoice.customer_id}`,
      ).toHaveLength(1);
      expect((await ledgerOf(api, invoice.customer_id)).receivable).toBe('0.000000000');
      const collection = await api.ok('GET', `/v1/invoices/${invoice.id}/collection`);
      expect(collection.attempts.map((a: any) => a.status)).toEqual(['succeeded']);
    }
    // The charge in flight at the kill was sent again under its own key and answered from Stripe's record of it.
    const resent = double.state.requests.filter(
      (r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.idempotencyKey === inFlight[0],
    );
    expect(resent.length).toBeGreaterThanOrEqual(1);
    expect(double.state.charges.all).toHaveLength(customers.length);
  }, 600_000);
});
