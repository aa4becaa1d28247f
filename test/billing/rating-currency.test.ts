// A customer billed in EUR and rated on a USD price book: what the kernel rated (spend, budgets, the entitlement
// check, holds, their notifications, the dashboard's directory and the portal) is stated in USD, the rating
// currency; its invoices are converted at close and stated in EUR, the billing currency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCacheHolds } from '../../service/src/domains/budgets/check-cache.ts';
import { trpc, type Harness, type TenantFixture } from '../service/harness.ts';
import { client, createProPlan, logIn, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { eventually } from '../wait.ts';

const march = '2026-03-01T00:00:00.000Z';

describe('spend in the rating currency, invoices in the billing currency', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let portalToken: string;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await createProPlan(api);
    await api.ok('POST', '/v1/customers', { external_id: 'euro-co', currency: 'EUR' });
  });
  const session = () => logIn(harness, tenant);
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('given no price book yet, the check is in the billing currency; the USD book makes it USD at once', async () => {
    // The check keeps the customer's state in memory: assigning the book (migration 074) must not leave it stale.
    await eventually('euro-co held in memory', async () => {
      expect(await api.ok('POST', '/v1/customers/euro-co/check', { estimated_cost: '1' })).toMatchObject({
        currency: 'EUR',
        allowed: true,
      });
      return checkCacheHolds(tenant.tenantId, 'euro-co');
    });
    await api.ok('PUT', '/v1/customers/euro-co/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    expect(await api.ok('POST', '/v1/customers/euro-co/check', { estimated_cost: '1' })).toMatchObject({
      currency: 'USD',
      allowed: true,
    });
    await api.ok('POST', '/v1/customers/euro-co/subscriptions', { plan: 'pro', started_at: '2026-03-01T00:00:00Z' });
  });

  it('states budgets, alerts, the check and holds in USD', async () => {
    harness.clock.set('2026-03-10T00:00:00Z');
    const set = await api.ok('PUT', '/v1/customers/euro-co/budget', {
      amount: '20',
      enforcement: 'alert',
      thresholds: [50, 100],
    });
    expect(set).toMatchObject({ currency: 'USD', amount: '20.000000000' });
    const scoped = await api.ok('PUT', '/v1/customers/euro-co/scoped_budgets/project/alpha', { amount: '5' });
    expect(scoped).toMatchObject({ currency: 'USD', amount: '5.000000000' });
    // 750,000 tokens at $0.02 per 1,000 = $15 of a $20 budget: the 50% alert.
    const [event] = await api.events(
      tokens('e-1', 'euro-co', 500_000, '2026-03-02T00:00:00Z'),
      tokens('e-2', 'euro-co', 250_000, '2026-03-03T00:00:00Z'),
    );
    expect(event).toMatchObject({ status: 'accepted', currency: 'USD', amount: '10.000000000' });

    const budget = await api.ok('GET', '/v1/customers/euro-co/budget');
    expect(budget).toMatchObject({
      currency: 'USD',
      amount: '20.000000000',
      current_period: { spend: '15.000000000', remaining: '5.000000000' },
    });
    expect((await api.ok('GET', '/v1/customers/euro-co/scoped_budgets')).data).toEqual([
      expect.objectContaining({ currency: 'USD', value: 'alpha' }),
    ]);
    const alerts = await api.ok('GET', '/v1/notifications?type=budget.threshold_crossed');
    expect(alerts.data.map((n: any) => [n.payload.currency, n.payload.threshold_percent, n.payload.spend])).toEqual([
      ['USD', 50, '15.000000000'],
    ]);

    const hold = await api.ok('POST', '/v1/customers/euro-co/holds', { id: 'h-1', amount: '2' });
    expect(hold).toMatchObject({ currency: 'USD', amount: '2.000000000', status: 'open' });
    const check = await api.ok('POST', '/v1/customers/euro-co/check', { estimated_cost: '1' });
    expect(check).toMatchObject({
      currency: 'USD',
      held: '2.000000000',
      budget: { amount: '20.000000000', spend: '15.000000000', remaining: '3.000000000' },
    });
    const token = await api.ok('GET', '/v1/customers/euro-co/balance_token');
    expect(token.claims).toMatchObject({ cur: 'USD', held: '2.000000000' });
    await api.ok('POST', '/v1/customers/euro-co/holds/h-1/release');
  });

  it("states spend in USD in the dashboard's directory and the portal, beside the EUR the customer is billed in", async () => {
    const dashboard = await session();
    const directory = await trpc(harness, 'query', 'insights.customers', { query: 'euro-co' }, dashboard);
    expect(directory.status, JSON.stringify(directory.error)).toBe(200);
    expect(directory.body.data).toEqual([
      expect.objectContaining({
        external_id: 'euro-co',
        currency: 'EUR',
        rating_currency: 'USD',
        spend: '15.000000000',
      }),
    ]);
    const overview = await trpc(harness, 'query', 'insights.customer', { id: 'euro-co' }, dashboard);
    expect(overview.body.summary).toMatchObject({
      currency: 'EUR',
      rating_currency: 'USD',
      spend: '15.000000000',
      budget: { amount: '20.000000000', used_percent: '75.00' },
    });

    portalToken = (await api.ok('POST', '/v1/customers/euro-co/portal_tokens', {})).token;
    const summary = await trpc(harness, 'query', 'portal.summary', undefined, portalToken);
    expect(summary.status, JSON.stringify(summary.error)).toBe(200);
    expect(summary.body).toMatchObject({
      customer: { external_id: 'euro-co', currency: 'EUR', rating_currency: 'USD' },
      spend: '15.000000000',
      budget: { amount: '20.000000000' },
    });
  });

  it('bills the period in EUR, converted from USD at the period end', async () => {
    await api.ok('POST', '/v1/fx_rates', {
      rates: [{ base: 'USD', quote: 'EUR', rate: '0.9', as_of: '2026-03-31T00:00:00Z', source: 'bank' }],
    });
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick(); // the close: a draft
    await jobs.tick(); // its finalization (no grace)
    const invoice = await api.invoiceOf('euro-co', march);
    // $115 (the $100 base fee and $15 of tokens) at 0.9.
    expect(invoice).toMatchObject({
      status: 'finalized',
      currency: 'EUR',
      total: '103.500000000',
      fx: { from: 'USD', to: 'EUR', rate: '0.9' },
    });
    const listed = await trpc(harness, 'query', 'portal.invoices', { limit: 20 }, portalToken);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ id: invoice.id, currency: 'EUR', total: '103.500000000' }),
    ]);
    // The new period's spend is still stated in USD.
    expect(await api.ok('GET', '/v1/customers/euro-co/budget')).toMatchObject({ currency: 'USD' });
  });
});
