// Threshold invoices carry tax, and the period-end invoice deducts what they billed net of their tax before
// taxing the rest: the period's tax adds up to the rate on all its charges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, signUpTenant, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('tax on threshold invoices', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('PUT', '/v1/tax/settings', {
      legal_name: 'Inferenz GmbH',
      address: 'Berlin',
      country: 'DE',
      registrations: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
    });
    await api.ok('POST', '/v1/price_books', { book: { ...billingBook, id: 'ai-eur', currency: 'EUR' } });
    await api.ok('POST', '/v1/plans', {
      code: 'progressive',
      name: 'Progressive',
      price_book: 'ai-eur',
      interval: 'month',
      invoice_grace_hours: 0,
      progressive_thresholds: ['50'],
    });
    await api.ok('POST', '/v1/customers', { external_id: 'grower', currency: 'EUR', country: 'DE' });
    await api.ok('POST', '/v1/customers/grower/subscriptions', {
      plan: 'progressive',
      started_at: '2026-03-01T00:00:00Z',
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('taxes the threshold invoice, then the rest of the period at close', async () => {
    // 3M tokens at 0.02 per 1,000: 60.00 crosses the 50.00 threshold.
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(tokens('g-1', 'grower', 3_000_000, '2026-03-09T00:00:00Z'));
    await jobs.tick();
    const [threshold] = (await api.ok('GET', '/v1/invoices?customer_id=grower')).data;
    expect(threshold).toMatchObject({
      billing_reason: 'threshold',
      status: 'finalized',
      subtotal: '60.000000000',
      tax_amount: '11.400000000',
      total: '71.400000000',
      tax: { rule: 'eu_domestic' },
    });
    // 1M more: 20.00. The period's invoice bills 80.00 less the 60.00 already billed (net of its tax), taxed: 3.80.
    harness.clock.set('2026-03-20T00:00:00Z');
    await api.events(tokens('g-2', 'grower', 1_000_000, '2026-03-19T00:00:00Z'));
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    // The period's invoice, not the threshold invoice of the same period (the list's order does not say which).
    const final = (await api.ok('GET', '/v1/invoices?customer_id=grower')).data.find(
      (i: any) => i.billing_reason === 'period_end',
    );
    expect(final).toMatchObject({
      billing_reason: 'period_end',
      status: 'finalized',
      subtotal: '20.000000000',
      tax_amount: '3.800000000',
      total: '23.800000000',
    });
    expect(final.lines.find((l: any) => l.kind === 'progressive_billing').amount).toBe('-60.000000000');
    // 19% of 80.00 in all.
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    expect(accounts.find((a) => a.code === 'tax:VAT:DE:EUR').balance).toBe('15.200000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
