// Threshold invoices carry US sales tax through Stripe Tax like every invoice: the calculation is made on the
// tenant's own connected account, outside the transaction that issues the invoice (ingestion into the period goes
// on while Stripe hangs), and events landing in between make it ask again for the charges the invoice bills. A
// failure issues nothing, tells the tenant, and the next tick issues it. The period-end invoice deducts what the
// threshold invoice billed, net of its tax, and taxes the rest: the period's tax is the rate on all its charges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { connectStripe, paymentEnvironment, secretsKey } from '../payments/setup.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';
import { tickWhileStripeTaxHangs } from './stripe-tax-hang.ts';

describe('US sales tax on threshold invoices through Stripe Tax', () => {
  let double: StripeDouble;
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let account: string;
  const invoicesOf = async (customer: string) =>
    (await api.ok('GET', `/v1/invoices?customer_id=${customer}&limit=100`)).data as any[];
  const calculations = () => double.state.requests.filter((r) => r.path === '/v1/tax/calculations');

  beforeAll(async () => {
    double = await startStripeDouble({ taxRates: { NY: '4' } });
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
      registrations: [{ jurisdiction: 'US', tax_id: null }],
    });
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'progressive',
      name: 'Progressive',
      price_book: 'ai-platform',
      interval: 'month',
      invoice_grace_hours: 0,
      progressive_thresholds: ['50', '100'],
    });
    await api.ok('POST', '/v1/customers', {
      external_id: 'ny',
      name: 'New York Co',
      country: 'US',
      region: 'NY',
      postal_code: '10001',
      address: '350 5th Ave',
      currency: 'USD',
    });
    await api.ok('POST', '/v1/customers/ny/subscriptions', { plan: 'progressive', started_at: '2026-03-01T00:00:00Z' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
    await double?.close();
  });

  it('issues nothing while Stripe fails, tells the tenant, and issues the taxed invoice on the next tick', async () => {
    // 3M tokens at 0.02 per 1,000: 60.00 crosses the 50.00 threshold.
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(tokens('ny-1', 'ny', 3_000_000, '2026-03-09T00:00:00Z'));
    double.faults.inject({ kind: 'server_error', path: '/v1/tax/calculations' });
    await jobs.tick();
    expect(await invoicesOf('ny')).toEqual([]);
    const notices = await api.ok('GET', '/v1/notifications?type=invoice.finalization_blocked');
    expect(notices.data.map((n: any) => [n.customer_id, n.payload.invoice_id, n.payload.error.code])).toEqual([
      ['ny', null, 'stripe_tax_failed'],
    ]);

    await jobs.tick();
    const [threshold] = await invoicesOf('ny');
    expect(threshold).toMatchObject({
      billing_reason: 'threshold',
      status: 'finalized',
      subtotal: '60.000000000',
      tax_amount: '2.400000000',
      total: '62.400000000',
      tax: {
        rule: 'us_stripe_tax',
        jurisdiction: 'US-NY',
        source: 'stripe_tax',
        components: [
          { tax: 'SALES_TAX', jurisdiction: 'US-NY', rate: '0.04', taxable: '60.000000000', amount: '2.400000000' },
        ],
      },
    });
    const calculation = threshold.tax.rate_source.replace('Stripe Tax calculation ', '');
    expect(double.find(calculation)).toMatchObject({ tax_amount_exclusive: 240 });
    // On the tenant's own account, never the platform's.
    expect(calculations().every((r) => r.account === account)).toBe(true);
    expect(account).not.toBe(double.account.id);
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    expect(accounts.find((a) => a.code === 'tax:SALES_TAX:US-NY:USD')?.balance).toBe('2.400000000');
  });

  it('holds no transaction across the call, and bills the events that landed meanwhile with their tax', async () => {
    // 2.5M more: 110.00 in all crosses 100.00; the calculation hangs until the test lets it go.
    harness.clock.set('2026-03-15T00:00:00Z');
    await api.events(tokens('ny-2', 'ny', 2_500_000, '2026-03-14T00:00:00Z'));
    // An event into the same period while the calculation hangs: accepted at once.
    const sent = await tickWhileStripeTaxHangs({ double, harness, jobs }, async () => {
      expect(await api.events(tokens('ny-3', 'ny', 500_000, '2026-03-14T12:00:00Z'))).toMatchObject([
        { status: 'accepted' },
      ]);
    });
    // The calculation answered for 50.00 of charges; the invoice bills 60.00 (the event meanwhile): asked again.
    const second = (await invoicesOf('ny')).find((i) => i.threshold === '100.000000000');
    expect(second).toMatchObject({
      status: 'finalized',
      subtotal: '60.000000000',
      tax_amount: '2.400000000',
      total: '62.400000000',
      tax: { source: 'stripe_tax', jurisdiction: 'US-NY' },
    });
    expect(second.lines.find((l: any) => l.kind === 'progressive_billing').amount).toBe('-60.000000000');
    const calculation = second.tax.rate_source.replace('Stripe Tax calculation ', '');
    expect(double.find(calculation)).toMatchObject({ tax_amount_exclusive: 240 });
    // The hung calculation (for 50.00) and the second (60.00: another request, not a replay), on the tenant's account.
    const asked = calculations().filter((r) => double.state.requests.indexOf(r) >= sent);
    expect(asked.map((r) => [r.account, r.status, r.replayed])).toEqual([
      [account, 200, false],
      [account, 200, false],
    ]);
    expect(new Set(asked.map((r) => r.idempotencyKey)).size).toBe(2);
  });

  it("taxes the period's rest at its end: 4% of all the period's charges in all", async () => {
    harness.clock.set('2026-03-20T00:00:00Z');
    await api.events(tokens('ny-4', 'ny', 1_000_000, '2026-03-19T00:00:00Z'));
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    await jobs.tick();
    const final = (await invoicesOf('ny')).find((i) => i.billing_reason === 'period_end');
    expect(final).toMatchObject({
      status: 'finalized',
      subtotal: '20.000000000',
      tax_amount: '0.800000000',
      total: '20.800000000',
      tax: { source: 'stripe_tax' },
    });
    // 4% of 140.00.
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    expect(accounts.find((a) => a.code === 'tax:SALES_TAX:US-NY:USD')?.balance).toBe('5.600000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
