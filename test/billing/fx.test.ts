// Multi-currency billing over HTTP: a customer billed in EUR and one in KWD from a USD price book. Without a
// rate the invoice is rated and drafted in USD and its finalization waits (a clear error, a notification);
// once the rates are imported (an ECB file, after a malformed one changed nothing) the billing tick finalizes
// it, converted under the tenant's policy, stating the rate. Unknown currencies are refused naming the field,
// and the revenue report converts into the reporting currency with the rates used.
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, trpc, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, createProPlan, logIn, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const Reference = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_EVEN });
const march = '2026-03-01T00:00:00.000Z';

describe('invoices in another currency than the price book', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await createProPlan(api);
    for (const [id, currency] of [
      ['euro-co', 'EUR'],
      ['kuwait-co', 'KWD'],
    ]) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency });
      await api.ok('POST', `/v1/customers/${id}/subscriptions`, { plan: 'pro', started_at: '2026-03-01T00:00:00Z' });
    }
  });
  const session = () => logIn(harness, tenant);
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('refuses unknown currency codes with a 400 naming the field', async () => {
    const customer = await api.call('POST', '/v1/customers', { external_id: 'x', currency: 'ABC' });
    expect(customer.status).toBe(400);
    expect(customer.body.error.details).toContainEqual({
      field: 'currency',
      reason: 'is not an active ISO 4217 currency with a minor unit',
    });
    const book = await api.call('POST', '/v1/price_books', { book: { ...billingBook, id: 'gold', currency: 'XAU' } });
    expect(book.status).toBe(400);
    expect(book.body.error.details).toContainEqual({
      field: 'book.currency',
      reason: '"XAU" is not an active ISO 4217 currency with a minor unit',
    });
    const rate = await api.call('POST', '/v1/fx_rates', {
      rates: [{ base: 'USD', quote: 'EUX', rate: '0.9', as_of: '2026-03-31T00:00:00Z', source: 'bank' }],
    });
    expect(rate.status).toBe(400);
    expect(rate.body.error.details).toContainEqual({
      field: 'rates.0.quote',
      reason: 'is not an active ISO 4217 currency with a minor unit',
    });
    const settings = await api.call('PATCH', '/v1/currency_settings', { reporting_currency: 'usd' });
    expect(settings.status).toBe(400);
    expect(settings.body.error.details[0].field).toBe('reporting_currency');
  });

  it('rates in USD, drafts in USD and waits for the rate with a clear error and a notification', async () => {
    harness.clock.set('2026-03-20T00:00:00Z');
    // 750,000 tokens at $0.02 per 1,000 = $15, plus the $100 base fee.
    const [event] = await api.events(
      tokens('e-1', 'euro-co', 500_000, '2026-03-02T00:00:00Z'),
      tokens('e-2', 'euro-co', 250_000, '2026-03-03T00:00:00Z', 'llama-3-8b'),
      tokens('k-1', 'kuwait-co', 123_457, '2026-03-04T00:00:00Z'),
    );
    expect(event).toMatchObject({ status: 'accepted', currency: 'USD', amount: '10.000000000' });

    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const draft = await api.invoiceOf('euro-co', march);
    expect(draft).toMatchObject({
      status: 'draft',
      currency: 'USD',
      total: '115.000000000',
      fx: null,
      fx_blocked: {
        code: 'fx_rate_missing',
        from: 'USD',
        to: 'EUR',
        at: '2026-04-01T00:00:00.000Z',
        policy: 'period_end',
      },
    });
    const finalize = await api.call('POST', `/v1/invoices/${draft.id}/finalize`);
    expect(finalize.status).toBe(422);
    expect(finalize.body.error.code).toBe('fx_rate_missing');
    expect(finalize.body.error.message).toContain('No USD/EUR rate for 2026-04-01T00:00:00.000Z (policy period_end)');

    const notices = await api.ok('GET', '/v1/notifications?type=invoice.finalization_blocked');
    expect(
      notices.data
        .map((n: any) => [n.customer_id, n.payload.from, n.payload.to, n.payload.at, n.payload.error.code])
        .sort(),
    ).toEqual([
      ['euro-co', 'USD', 'EUR', '2026-04-01T00:00:00.000Z', 'fx_rate_missing'],
      ['kuwait-co', 'USD', 'KWD', '2026-04-01T00:00:00.000Z', 'fx_rate_missing'],
    ]);
    // The next ticks retry; the tenant is told once per invoice and missing pair.
    harness.clock.set('2026-04-01T00:02:00Z');
    await jobs.tick();
    expect((await api.ok('GET', '/v1/invoices/' + draft.id)).status).toBe('draft');
    expect((await api.ok('GET', '/v1/notifications?type=invoice.finalization_blocked')).data).toHaveLength(2);
  });

  it('imports an ECB file all or nothing: a malformed row names its line and stores no rate', async () => {
    const bad = await rest(harness, 'POST', '/v1/fx_rates/ecb', {
      key: tenant.secretKey,
      contentType: 'text/csv',
      rawBody: 'Date,USD,JPY,KWD,\n2026-03-31,1.0834,157.83,0.3334,\n2026-03-30,1.08x,N/A,0.3331,\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'invalid_rate_file',
      details: [{ field: 'csv.line 3, column 2 (USD)', reason: expect.stringContaining('"1.08x" must be a decimal') }],
    });
    expect((await api.ok('GET', '/v1/fx_rates')).data).toEqual([]);

    const imported = await rest(harness, 'POST', '/v1/fx_rates/ecb', {
      key: tenant.secretKey,
      contentType: 'text/csv',
      rawBody: 'Date,USD,JPY,KWD,\n2026-03-31,1.0834,157.83,0.3334,\n2026-03-30,1.0811,N/A,0.3331,\n',
    });
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({
      days: 2,
      rates: 5,
      inserted: 5,
      replaced: 0,
      pairs: ['EUR/JPY', 'EUR/KWD', 'EUR/USD'],
    });
    // The same file again replaces, adds nothing.
    expect(
      (
        await rest(harness, 'POST', '/v1/fx_rates/ecb', {
          key: tenant.secretKey,
          contentType: 'text/csv',
          rawBody: 'Date,USD\n2026-03-31,1.0834\n',
        })
      ).body,
    ).toMatchObject({ inserted: 0, replaced: 1 });
    const inForce = await api.ok('GET', '/v1/fx_rates?at=2026-04-01T00:00:00Z');
    expect(inForce.data.map((r: any) => `${r.base}/${r.quote} ${r.rate} ${r.as_of} ${r.source}`)).toEqual([
      'EUR/JPY 157.83 2026-03-31T00:00:00.000Z ecb',
      'EUR/KWD 0.3334 2026-03-31T00:00:00.000Z ecb',
      'EUR/USD 1.0834 2026-03-31T00:00:00.000Z ecb',
    ]);
  });

  it('finalizes on the next tick once the rate is there, converted at the period end and stating the rate', async () => {
    harness.clock.set('2026-04-01T00:03:00Z');
    await jobs.tick();
    const invoice = await api.invoiceOf('euro-co', march);
    // USD -> EUR: the inverse of the ECB's EUR/USD, rounded half-even to 15 significant digits.
    const rate = new Reference(1).div('1.0834').toSignificantDigits(15, Reference.ROUND_HALF_EVEN);
    expect(invoice).toMatchObject({
      status: 'finalized',
      currency: 'EUR',
      minor_unit: 2,
      fx_blocked: null,
      fx: {
        from: 'USD',
        to: 'EUR',
        rate: rate.toFixed(),
        source: 'ecb',
        as_of: '2026-03-31T00:00:00.000Z',
        policy: 'period_end',
        method: 'inverse',
      },
    });
    // Each line: its USD amount x rate rounded half-even to the nano-unit; the total: their sum to the cent.
    const exact = ['100', '10', '5'].map((usd) =>
      new Reference(usd).times(rate).toDecimalPlaces(9, Reference.ROUND_HALF_EVEN),
    );
    expect(invoice.lines.filter((l: any) => l.amount !== '0.000000000').map((l: any) => l.amount_exact)).toEqual(
      exact.map((e) => e.toFixed(9)),
    );
    const total = exact.reduce((a, b) => a.plus(b), new Reference(0)).toDecimalPlaces(2, Reference.ROUND_HALF_EVEN);
    expect(invoice.total).toBe(total.toFixed(9));
    expect(invoice.lines.reduce((sum: Decimal, l: any) => sum.plus(l.amount), new Reference(0)).toFixed(9)).toBe(
      invoice.total,
    );

    // KWD (3 decimals): crossed through EUR, EUR/KWD / EUR/USD.
    const kuwait = await api.invoiceOf('kuwait-co', march);
    const cross = new Reference('0.3334').div('1.0834').toSignificantDigits(15, Reference.ROUND_HALF_EVEN);
    expect(kuwait).toMatchObject({
      status: 'finalized',
      currency: 'KWD',
      minor_unit: 3,
      fx: { rate: cross.toFixed(), method: 'cross_eur', source: 'ecb' },
    });
    const kuwaitExact = ['100', '2.46914'].map((usd) =>
      new Reference(usd).times(cross).toDecimalPlaces(9, Reference.ROUND_HALF_EVEN),
    );
    expect(kuwait.total).toBe(
      kuwaitExact
        .reduce((a, b) => a.plus(b), new Reference(0))
        .toDecimalPlaces(3, Reference.ROUND_HALF_EVEN)
        .toFixed(9),
    );
    expect(new Reference(kuwait.total).times(1000).isInteger()).toBe(true);

    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('reports revenue and margin in the reporting currency with the rates used (REST, CSV and tRPC)', async () => {
    expect(await api.ok('PATCH', '/v1/currency_settings', { reporting_currency: 'JPY' })).toMatchObject({
      reporting_currency: 'JPY',
      fx_policy: 'period_end',
    });
    const report = await api.ok('GET', '/v1/reports/revenue?from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(report).toMatchObject({
      reporting_currency: 'JPY',
      missing_rates: [],
      totals: { invoices: 2, converted: 2 },
    });
    const euro = report.invoices.find((i: any) => i.customer_id === 'euro-co');
    const invoice = await api.invoiceOf('euro-co', march);
    // EUR -> JPY at the finalization instant: the ECB's EUR/JPY as it is.
    expect(euro).toMatchObject({
      currency: 'EUR',
      revenue: invoice.total,
      cost_currency: 'USD',
      cost: '0.000000000',
      rates: [
        { from: 'EUR', to: 'JPY', rate: '157.83', method: 'direct' },
        { from: 'USD', to: 'JPY' },
      ],
    });
    expect(euro.reporting.revenue).toBe(
      new Reference(invoice.total).times('157.83').toDecimalPlaces(9, Reference.ROUND_HALF_EVEN).toFixed(9),
    );
    const sum = report.invoices.reduce((s: Decimal, i: any) => s.plus(i.reporting.revenue), new Reference(0));
    expect(report.totals.revenue).toBe(sum.toFixed(9));

    const csv = await fetch(
      `${harness.url}/v1/reports/revenue?from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z&format=csv`,
      { headers: { authorization: `Bearer ${tenant.secretKey}` } },
    );
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = (await csv.text()).trim().split('\n');
    expect(rows[0]).toBe(
      'invoice_number,customer_id,billing_reason,finalized_at,currency,revenue,cost_currency,cost,reporting_currency,reporting_revenue,reporting_cost,reporting_margin,rates',
    );
    expect(rows).toHaveLength(3);

    const viaTrpc = await trpc(
      harness,
      'query',
      'currency.revenueReport',
      { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' },
      await session(),
    );
    expect(viaTrpc.body?.totals, JSON.stringify(viaTrpc.error)).toEqual(report.totals);
  });

  it('takes rates and ECB files through tRPC too, with the same checks', async () => {
    const token = await session();
    const supplied = await trpc(
      harness,
      'mutation',
      'currency.supplyRates',
      { rates: [{ base: 'USD', quote: 'CHF', rate: '0.8812', as_of: '2026-04-02T00:00:00Z', source: 'bank' }] },
      token,
    );
    expect(supplied.body, JSON.stringify(supplied.error)).toMatchObject({ inserted: 1, pairs: ['USD/CHF'] });
    const bad = await trpc(harness, 'mutation', 'currency.importEcb', { csv: 'Date,USD\n2026-04-02,abc\n' }, token);
    expect(bad.error?.data.app).toMatchObject({
      code: 'invalid_rate_file',
      details: [{ field: 'csv.line 2, column 2 (USD)' }],
    });
    const good = await trpc(harness, 'mutation', 'currency.importEcb', { csv: 'Date,USD\n2026-04-02,1.0901\n' }, token);
    expect(good.body).toMatchObject({ days: 1, inserted: 1 });
    const rates = await trpc(harness, 'query', 'currency.rates', { base: 'EUR', quote: 'USD', limit: 1 }, token);
    expect(rates.body.data).toMatchObject([{ rate: '1.0901', as_of: '2026-04-02T00:00:00.000Z' }]);
  });

  it('holds a credit grant given in the billing currency in the rating currency, converted when issued, and draws it in rating', async () => {
    harness.clock.set('2026-04-01T00:04:00Z');
    await api.ok('POST', '/v1/customers', { external_id: 'euro-credit', currency: 'EUR' });
    await api.ok('PUT', '/v1/customers/euro-credit/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-04-01T00:00:00Z',
    });
    const grant = await api.ok('POST', '/v1/customers/euro-credit/credit_grants', {
      kind: 'promotional',
      amount: '10',
    });
    // EUR 10 at the ECB's EUR/USD of 2026-03-31 (1.0834): USD 10.834, the conversion kept on the grant.
    expect(grant).toMatchObject({
      currency: 'USD',
      amount: '10.834000000',
      fx: { from: 'EUR', to: 'USD', rate: '1.0834', policy: 'issue', method: 'direct', amount_given: '10.000000000' },
    });
    const [event] = await api.events(tokens('c-1', 'euro-credit', 500_000, '2026-04-01T00:04:00Z'));
    expect(event).toMatchObject({
      currency: 'USD',
      amount: '0.000000000',
      credits_applied: '10.000000000',
      credit_balance: '0.834000000',
    });
    expect(await api.ok('GET', '/v1/customers/euro-credit/wallet')).toMatchObject({
      currency: 'USD',
      balance: '0.834000000',
    });

    // No rate in force (the latest is more than 7 days old): refused, naming the field, nothing granted.
    harness.clock.set('2026-04-20T00:00:00Z');
    const refused = await api.call('POST', '/v1/customers/euro-credit/credit_grants', {
      kind: 'promotional',
      amount: '5',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'fx_rate_missing', details: [{ field: 'amount' }] });
    expect((await api.ok('GET', '/v1/customers/euro-credit/wallet')).grants).toHaveLength(1);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
