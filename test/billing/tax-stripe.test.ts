// US sales tax through Stripe Tax: a tenant with Stripe Tax turned on bills US customers with the tax Stripe's
// calculation API returns (the Stripe double, reached by the official SDK through host/port/protocol), per line,
// while its other registrations keep their tables; a state Stripe does not collect in gets no tax. Stripe is
// called with the tenant's own connected account (the double records which key), never inside the invoice's
// close or finalization transaction: while a calculation hangs, a late event into the customer's period is
// acknowledged and no transaction stays open; a failure leaves the invoice a draft, the tenant is told, and the
// next billing tick calculates again and finalizes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { connectStripe, paymentEnvironment, secretsKey } from '../payments/setup.ts';
import { client, createProPlan, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';
import { tickWhileStripeTaxHangs } from './stripe-tax-hang.ts';

describe('US sales tax through Stripe Tax', () => {
  let double: StripeDouble;
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let account: string;
  const invoices: Record<string, any> = {};

  beforeAll(async () => {
    double = await startStripeDouble({ taxRates: { NY: '4', CA: '7.25' } });
    // The service knows where Stripe is and how to seal secrets; no service-wide key: the tenant connects its own.
    Object.assign(process.env, paymentEnvironment(double, secretsKey()));
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    account = (await connectStripe(api, double, harness.url, tenant.slug)).account.id;
    await api.ok('PUT', '/v1/tax/settings', {
      legal_name: 'GPU Cloud Inc.',
      address: '1 Market St, San Francisco, CA 94105',
      country: 'US',
      region: 'CA',
      stripe_tax: true,
      registrations: [
        { jurisdiction: 'US', tax_id: null },
        { jurisdiction: 'AU', tax_id: null },
      ],
    });
    await createProPlan(api, { allowances: { tokens: '1000000' } });
    const customers = [
      {
        external_id: 'ny',
        name: 'New York Co',
        country: 'US',
        region: 'NY',
        postal_code: '10001',
        address: '350 5th Ave',
      },
      { external_id: 'oregon', name: 'Portland Co', country: 'US', region: 'OR', postal_code: '97201' },
      { external_id: 'sydney', name: 'Sydney Pty', country: 'AU' },
    ];
    for (const c of customers) {
      await api.ok('POST', '/v1/customers', { ...c, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${c.external_id}/subscriptions`, {
        plan: 'pro',
        started_at: '2026-03-01T00:00:00Z',
      });
    }
    harness.clock.set('2026-03-20T00:00:00Z');
    for (const c of customers) {
      await api.events(
        tokens(`${c.external_id}-1`, c.external_id, 1_000_000, '2026-03-02T00:00:00Z'),
        tokens(`${c.external_id}-2`, c.external_id, 750_000, '2026-03-03T00:00:00Z'),
      );
    }
    harness.clock.set('2026-04-01T00:00:05Z');
    // The close drafts (Stripe is not called in its transaction); the finalize tick calculates, then finalizes.
    await jobs.tick();
    await jobs.tick();
    for (const c of customers) invoices[c.external_id] = await api.invoiceOf(c.external_id, '2026-03-01T00:00:00.000Z');
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
    await double?.close();
  });

  it("bills a New York customer Stripe's 4% per line: 4.00 + 0.60", () => {
    expect(invoices.ny).toMatchObject({
      status: 'finalized',
      subtotal: '115.000000000',
      tax_amount: '4.600000000',
      total: '119.600000000',
      tax: {
        rule: 'us_stripe_tax',
        jurisdiction: 'US-NY',
        source: 'stripe_tax',
        components: [
          { tax: 'SALES_TAX', jurisdiction: 'US-NY', rate: '0.04', taxable: '115.000000000', amount: '4.600000000' },
        ],
        line_tax: ['4.000000000', '0.600000000', '0.000000000'],
      },
    });
    expect(invoices.ny.tax.rate_source).toMatch(/^Stripe Tax calculation taxcalc_/);
  });

  it('charges nothing where Stripe does not collect, and keeps the tables for the other registrations', () => {
    expect(invoices.oregon).toMatchObject({
      tax_amount: '0.000000000',
      total: '115.000000000',
      tax: { rule: 'us_stripe_tax', components: [] },
    });
    expect(invoices.sydney).toMatchObject({
      tax_amount: '11.500000000',
      total: '126.500000000',
      tax: { rule: 'registered_foreign_seller', components: [{ tax: 'GST', rate: '0.10' }] },
    });
  });

  it('posts the sales tax owed to New York in the ledger', async () => {
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    expect(accounts.find((a) => a.code === 'tax:SALES_TAX:US-NY:USD')?.balance).toBe('4.600000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it("calls Stripe Tax with the tenant's own connected account, one calculation per invoice", () => {
    const calculations = double.state.requests.filter((r) => r.path === '/v1/tax/calculations');
    expect(calculations.map((r) => [r.account, r.status])).toEqual([
      [account, 200],
      [account, 200],
    ]);
    expect(account).not.toBe(double.account.id);
  });

  it('holds no transaction across the call: ingestion into the customer goes on while Stripe hangs', async () => {
    harness.clock.set('2026-04-20T00:00:00Z');
    await api.events(tokens('ny-april', 'ny', 1_500_000, '2026-04-02T00:00:00Z'));
    harness.clock.set('2026-05-01T00:00:05Z');
    // A failure first: the invoice stays a draft and the tenant is told why.
    const isNewYork = (r: { params: any }) => r.params.customer_details?.address?.state === 'NY';
    double.faults.inject({ kind: 'server_error', path: '/v1/tax/calculations', when: isNewYork });
    await jobs.tick();
    await jobs.tick();
    const draft = await api.invoiceOf('ny', '2026-04-01T00:00:00.000Z');
    expect(draft).toMatchObject({ status: 'draft', tax: null });
    const notices = await api.ok('GET', '/v1/notifications?type=invoice.finalization_blocked');
    expect(notices.data.map((n: any) => [n.customer_id, n.payload.invoice_id, n.payload.error.code])).toEqual([
      ['ny', draft.id, 'stripe_tax_failed'],
    ]);

    // Then a calculation that hangs until the test lets it go; a late event into the customer's ended period
    // meanwhile would wait for the period's lock if the close or the finalization held it across the call.
    await tickWhileStripeTaxHangs(
      { double, harness, jobs },
      async () => {
        expect(await api.events(tokens('ny-late', 'ny', 250_000, '2026-04-30T12:00:00Z'))).toMatchObject([
          { status: 'accepted' },
        ]);
      },
      isNewYork,
    );
    // The late event changed the lines after the calculation: the finalization waited, the next tick calculates again.
    await jobs.tick();
    const invoice = await api.invoiceOf('ny', '2026-04-01T00:00:00.000Z');
    expect(invoice).toMatchObject({
      status: 'finalized',
      subtotal: '115.000000000',
      tax_amount: '4.600000000',
      tax: { source: 'stripe_tax', jurisdiction: 'US-NY' },
    });
    const calculation = invoice.tax.rate_source.replace('Stripe Tax calculation ', '');
    expect(double.find(calculation)).toMatchObject({ tax_amount_exclusive: 460 });
  });
});
