// The dashboard's billing pages in Chromium (issue 14): plans and subscriptions, an invoice's PDF, the Stripe, tax
// and dunning settings, a retroactive version's re-rating previewed then applied, a catalogue import, a portal
// embed token and the portal's payment method. Each page's figures are compared with the REST answer for the
// same object; a viewer sees none of the actions.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importCatalogue } from '../../core-wasm/src/importers/catalogue.ts';
import { loadPaymentSettings } from '../../service/src/platform/config.ts';
import { restAs, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { startJobRunner } from '../billing/jobs-harness.ts';
import { secretsKey } from '../payments/setup.ts';
import { startStripeDouble, type StripeDouble } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import {
  amountsIn,
  capture,
  launchBrowser,
  llmEvent,
  logIn,
  openPage,
  requireBuiltDashboard,
  screenshotIfFailed,
  starterBook,
} from './pages.ts';

const password = 'correct horse battery staple';

describe('billing pages in the browser', () => {
  let double: StripeDouble;
  let harness: Harness;
  let tenant: TenantFixture;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let viewer: Awaited<ReturnType<typeof openPage>>;
  let call: ReturnType<typeof restAs>;

  beforeAll(async () => {
    requireBuiltDashboard();
    double = await startStripeDouble();
    const payments = loadPaymentSettings({
      STRIPE_API_BASE: double.url,
      SECRETS_KEY: secretsKey(),
      STRIPE_MAX_NETWORK_RETRIES: '0',
    });
    harness = await startService({ now: '2026-11-20T12:00:00Z', app: { payments } });
    tenant = await signUpTenant(harness, 'Billing Co');
    call = restAs(harness, tenant.secretKey);
    await call('POST', '/v1/price_books', { name: 'Starter', book: starterBook });
    await call('POST', '/v1/plans', {
      code: 'pro',
      name: 'Pro',
      price_book: 'starter-llm',
      base_fee: '49.5',
      interval: 'month',
      minimum_spend: '100',
    });
    for (const id of ['acme', 'globex'])
      await call('POST', '/v1/customers', {
        external_id: id,
        name: id === 'acme' ? 'Acme AI' : 'Globex',
        currency: 'USD',
        email: `${id}@example.com`,
        country: 'DE',
      });
    await call('POST', '/v1/users', { email: 'viewer@billing.example', password, role: 'viewer' });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, harness.url));
    await logIn(page, tenant.slug, tenant.email, password);
    viewer = await openPage(browser, harness.url);
    await logIn(viewer.page, tenant.slug, 'viewer@billing.example', password);
  });
  afterEach((context) => screenshotIfFailed(context, page));
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await double?.close();
  });

  it("lists plans, creates one, subscribes a customer and amends its subscription, with the API's figures", async () => {
    await page.goto('/dashboard/plans');
    const row = page.locator('table[aria-label="Plans"] tr[data-row="pro"]');
    await row.waitFor();
    const pro = await call('GET', '/v1/plans/pro');
    expect(await amountsIn(page, 'tr[data-row="pro"] td[data-column="base_fee"] [data-amount]')).toEqual([
      pro.base_fee,
    ]);
    expect(await amountsIn(page, 'tr[data-row="pro"] td[data-column="minimum_spend"] [data-amount]')).toEqual([
      pro.minimum_spend,
    ]);

    // A plan made in the page is the API's plan; a code the server refuses shows at its field.
    await page.getByLabel('Code').fill('Team Plan');
    await page.getByLabel('Name').fill('Team');
    await page.getByLabel('Price book').selectOption('starter-llm');
    await page.getByLabel('Base fee per period').fill('20');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.locator('[data-field="code"]').waitFor();
    await capture(page, '30-plans');
    await page.getByLabel('Code').fill('team');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.waitForURL(/\/dashboard\/plans\/team$/);
    const team = await call('GET', '/v1/plans/team');
    expect(team).toMatchObject({ name: 'Team', price_book: 'starter-llm', interval: 'month', currency: 'USD' });
    await expect.poll(() => amountsIn(page, '[data-testid="plan-base-fee"] [data-amount]')).toEqual([team.base_fee]);

    await page.getByLabel('Customer id').fill('acme');
    await page.getByLabel('Negotiated discount (%)').fill('10');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByTestId('subscribed-customer').waitFor();
    const subscription = await call('GET', '/v1/customers/acme/subscription');
    expect(subscription).toMatchObject({
      plan: 'team',
      discount_percent: '10.0000000',
      started_at: '2026-11-20T12:00:00.000Z',
    });
    await capture(page, '31-plan');

    // The customer's page shows the subscription as the API does, and amends it.
    await page.getByTestId('subscribed-customer').click();
    await page.getByTestId('subscription-plan').waitFor();
    expect(await page.getByTestId('subscription-plan').textContent()).toContain(subscription.plan);
    expect(await page.getByTestId('subscription-discount').textContent()).toBe(`${subscription.discount_percent}%`);
    await page.getByLabel('Amend from').fill('2026-11-25T00:00:00Z');
    await page.getByLabel('New plan').fill('pro');
    await page.getByRole('button', { name: 'Amend' }).click();
    const amendment = page.locator('table[aria-label="Amendments"] tbody tr');
    await amendment.waitFor();
    const amendments = await call('GET', '/v1/customers/acme/subscription/amendments');
    expect(amendments.data).toHaveLength(1);
    expect(await amendment.getAttribute('data-row')).toBe(amendments.data[0].id);
    expect(await amendment.locator('td[data-column="plan"]').textContent()).toBe(amendments.data[0].plan);
    // Not before now: the server's rule at its field.
    await page.getByLabel('Amend from').fill('2026-11-01T00:00:00Z');
    await page.getByLabel('New discount (%)').fill('5');
    await page.getByRole('button', { name: 'Amend' }).click();
    await page.locator('[data-field="effective_at"]').waitFor();
    await capture(page, '32-customer-subscription');

    // A viewer reads the same plan and subscription, with no form to change them.
    await viewer.page.goto('/dashboard/plans/pro');
    await viewer.page.getByTestId('plan-base-fee').waitFor();
    expect(
      await viewer.page
        .getByRole('button')
        .filter({ hasText: /Subscribe|Create plan/ })
        .count(),
    ).toBe(0);
    await viewer.page.goto('/dashboard/customers/acme');
    await viewer.page.getByTestId('subscription-plan').waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Amend' }).count()).toBe(0);
    await capture(viewer.page, '33-customer-as-viewer');
    expect(errors).toEqual([]);
  });

  it("creates a plan with allowances, thresholds and a term commitment, and amends a subscription's allowances, as the API keeps them", async () => {
    const meteredBook = structuredClone(starterBook);
    meteredBook.id = 'metered-llm';
    Object.assign(meteredBook.versions[0].rate_cards[0].charges[0], { allowance: 'tokens' });
    await call('POST', '/v1/price_books', { name: 'Metered', book: meteredBook });
    await page.goto('/dashboard/plans');
    await page.getByLabel('Code').fill('scale');
    await page.getByLabel('Name').fill('Scale');
    await page.getByLabel('Price book').selectOption('metered-llm');
    await page.getByLabel('Base fee per period').fill('10');
    await page.getByRole('button', { name: 'Add an allowance' }).click();
    await page.getByLabel('Allowance pool 1').fill('images');
    await page.getByLabel('Included quantity 1').fill('1000000');
    await page.getByLabel('Progressive billing thresholds').fill('200, 100');
    await page.getByLabel('Term commitment: minimum spend').fill('1200');
    await page.getByLabel('Term commitment: periods').fill('1');
    // The schema's problems, each at its field: thresholds out of order, a term of one period.
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.locator('[data-field="progressive_thresholds"]').waitFor();
    await page.locator('[data-field="term_commitment.periods"]').waitFor();
    await page.getByLabel('Progressive billing thresholds').fill('100, 250.5');
    await page.getByLabel('Term commitment: periods').fill('12');
    // Then the service's: the book draws no "images" pool; the reason is at that allowance's row.
    await page.getByRole('button', { name: 'Create plan' }).click();
    const poolError = page.locator('[data-field="allowances.0"]');
    await poolError.waitFor();
    expect(await poolError.textContent()).toContain('draws this pool (it draws: tokens)');
    await capture(page, '30b-plan-terms-errors');
    await page.getByLabel('Allowance pool 1').fill('tokens');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.waitForURL(/\/dashboard\/plans\/scale$/);
    const scale = await call('GET', '/v1/plans/scale');
    expect(scale).toMatchObject({
      allowances: { tokens: expect.any(String) },
      progressive_thresholds: [expect.any(String), expect.any(String)],
      term_commitment: { minimum_spend: expect.any(String), periods: 12 },
    });
    const shown = page.locator('[data-testid="plan-allowances"] [data-pool]');
    await shown.first().waitFor();
    expect(
      await shown.evaluateAll((nodes) =>
        nodes.map((n) => [n.getAttribute('data-pool'), n.getAttribute('data-quantity')]),
      ),
    ).toEqual(Object.entries(scale.allowances));
    expect(await amountsIn(page, '[data-testid="plan-thresholds"] [data-amount]')).toEqual(
      scale.progressive_thresholds,
    );
    expect(await amountsIn(page, '[data-testid="plan-term-commitment"] [data-amount]')).toEqual([
      scale.term_commitment.minimum_spend,
    ]);
    expect(await page.getByTestId('plan-term-commitment').getAttribute('data-periods')).toBe(
      String(scale.term_commitment.periods),
    );
    await capture(page, '30c-plan-terms');

    // A subscription's allowances amended from a day in this period: a pool the book does not draw is refused at
    // its row, then the amendment is the API's.
    await call('POST', '/v1/customers', { external_id: 'initech', name: 'Initech', currency: 'USD', country: 'DE' });
    await call('POST', '/v1/customers/initech/subscriptions', { plan: 'scale' });
    await page.goto('/dashboard/customers/initech');
    await page.getByTestId('subscription-plan').waitFor();
    await page.getByLabel('Amend from').fill('2026-11-25T00:00:00Z');
    await page.getByRole('button', { name: 'Add an allowance' }).click();
    await page.getByLabel('Allowance pool 1').fill('images');
    await page.getByLabel('Included quantity 1').fill('5000');
    await page.getByRole('button', { name: 'Amend' }).click();
    await page.locator('[data-field="allowances.0"]').waitFor();
    await page.getByLabel('Allowance pool 1').fill('tokens');
    await page.getByRole('button', { name: 'Amend' }).click();
    const amendment = page.locator('table[aria-label="Amendments"] tbody tr[data-row]');
    await amendment.waitFor();
    const [amended] = (await call('GET', '/v1/customers/initech/subscription/amendments')).data;
    expect(amended).toMatchObject({ allowances_overridden: true, allowances: { tokens: expect.any(String) } });
    expect(await amendment.getAttribute('data-row')).toBe(amended.id);
    expect(await amendment.locator('td[data-column="allowances"]').textContent()).toBe(
      `${amended.allowances.tokens} tokens`,
    );
    await capture(page, '30d-amended-allowances');
    expect(errors).toEqual([]);
  });

  let invoiceId: string;

  it("offers a finalized invoice's PDF, the same bytes as the API's document", async () => {
    await call('PUT', '/v1/customers/globex/price_book', {
      price_book: 'starter-llm',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('POST', '/v1/events', {
      events: [llmEvent('globex-1', 'globex', '2026-11-19T08:00:00Z', 1_000_000, 200_000)],
    });
    harness.clock.set('2026-12-01T00:10:00Z');
    invoiceId = (await call('POST', '/v1/customers/globex/periods/close', {})).data[0].id;
    // A draft has no document yet: no link.
    await page.goto(`/dashboard/invoices/${invoiceId}`);
    await page.getByTestId('invoice-status').waitFor();
    expect(await page.getByTestId('invoice-pdf').count()).toBe(0);
    await page.getByRole('button', { name: 'Finalize now' }).click();
    const link = page.getByTestId('invoice-pdf');
    await link.waitFor();
    const invoice = await call('GET', `/v1/invoices/${invoiceId}`);
    expect(await link.getAttribute('download')).toBe(`${invoice.number}.pdf`);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const fromPage = await readStream(await download.createReadStream());
    const fromApi = Buffer.from(
      await (
        await fetch(`${harness.url}/v1/invoices/${invoiceId}/pdf`, {
          headers: { authorization: `Bearer ${tenant.secretKey}` },
        })
      ).arrayBuffer(),
    );
    expect(fromPage.subarray(0, 5).toString()).toBe('%PDF-');
    expect(fromPage.equals(fromApi)).toBe(true);
    await capture(page, '34-invoice-pdf');
    // A viewer reads it too.
    await viewer.page.goto(`/dashboard/invoices/${invoiceId}`);
    await viewer.page.getByTestId('invoice-pdf').waitFor();
    expect(errors).toEqual([]);
  });

  it('connects Stripe without showing its secrets back, and sets the tax profile and the dunning schedule as the API keeps them', async () => {
    await page.goto('/dashboard/settings');
    await expect.poll(() => page.getByTestId('stripe-status').textContent()).toMatch(/^Not connected/);
    // A key of the wrong shape: the server's reason at the field.
    await page.getByLabel('Restricted key').fill('pk_test_notasecret');
    await page.getByLabel('Webhook signing secret').fill('whsec_abcdefgh12345');
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    await page.locator('[data-field="secret_key"]').waitFor();
    const account = double.createAccount();
    const endpoint = double.addWebhookEndpoint({
      url: `${harness.url}/v1/stripe/events/${tenant.slug}`,
      account: account.id,
    });
    await page.getByLabel('Restricted key').fill(account.restrictedKey);
    await page.getByLabel('Webhook signing secret').fill(endpoint.secret);
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    await expect.poll(() => page.getByTestId('stripe-status').textContent()).toMatch(/^Connected/);
    const connection = await call('GET', '/v1/stripe/connection');
    expect(connection).toMatchObject({ connected: true, mode: 'test', key_last4: account.restrictedKey.slice(-4) });
    expect(await page.getByTestId('stripe-status').textContent()).toContain(`key ending ${connection.key_last4}`);
    // Never shown back: neither the fields nor the page hold them.
    expect(await page.getByLabel('Restricted key').inputValue()).toBe('');
    const html = await page.content();
    expect(html).not.toContain(account.restrictedKey);
    expect(html).not.toContain(endpoint.secret);

    await expect.poll(() => page.getByTestId('tax-status').textContent()).toMatch(/^No tax settings/);
    await page.getByLabel('Legal name').fill('Billing Co GmbH');
    await page.getByLabel('Address (as printed on invoices)').fill('Unter den Linden 1\n10117 Berlin');
    await page.getByLabel('Country (ISO code)').fill('DE');
    await page.getByRole('button', { name: 'Add a registration' }).click();
    await page.getByLabel('Jurisdiction 1').fill('XX');
    await page.getByRole('button', { name: 'Save tax settings' }).click();
    await page.locator('[data-field="registrations.0.jurisdiction"]').waitFor();
    await page.getByLabel('Jurisdiction 1').fill('DE');
    await page.getByLabel('Tax id 1').fill('DE136695976');
    await page.getByLabel('Payment terms (days)').fill('14');
    await page.getByRole('button', { name: 'Save tax settings' }).click();
    await expect.poll(() => page.getByTestId('tax-status').textContent()).toMatch(/^Billing Co GmbH/);
    const tax = await call('GET', '/v1/tax/settings');
    expect(tax).toMatchObject({
      legal_name: 'Billing Co GmbH',
      country: 'DE',
      payment_terms_days: 14,
      registrations: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
    });
    expect(await page.getByTestId('tax-status').textContent()).toContain(
      `registered in ${tax.registrations[0].jurisdiction}`,
    );

    const before = await call('GET', '/v1/dunning_policy');
    await expect
      .poll(() => page.getByLabel('Retry after (days, ascending, comma-separated)').inputValue())
      .toBe(before.retry_after_days.join(', '));
    await page.getByLabel('Retry after (days, ascending, comma-separated)').fill('3, 1');
    await page.getByRole('button', { name: 'Save dunning schedule' }).click();
    await page.locator('[data-field="retry_after_days"]').waitFor();
    await page.getByLabel('Retry after (days, ascending, comma-separated)').fill('1, 2.5');
    await page.getByLabel('Block usage after (days)').fill('10');
    await page.getByRole('button', { name: 'Save dunning schedule' }).click();
    await page.getByText(/^Saved: invoices already failing/).waitFor();
    const policy = await call('GET', '/v1/dunning_policy');
    expect(policy).toEqual({ retry_after_days: [1, 2.5], block_after_days: 10 });
    expect(await page.getByTestId('dunning-status').textContent()).toContain(
      `retries ${policy.retry_after_days.join(', ')} days after it`,
    );
    await capture(page, '35-settings');

    // A viewer sees the tax profile and the schedule, not the Stripe connection, and no form.
    await viewer.page.goto('/dashboard/settings');
    await expect.poll(() => viewer.page.getByTestId('dunning-status').textContent()).toContain('blocked 10 days');
    expect(await viewer.page.getByTestId('stripe-status').count()).toBe(0);
    expect(await viewer.page.locator('form').count()).toBe(0);
    await capture(viewer.page, '36-settings-as-viewer');
    expect(errors).toEqual([]);
  });

  it("publishes a version dated in the past only through its re-rating preview, with the API's figures, then applies it", async () => {
    const jobs = await startJobRunner(harness);
    try {
      await page.goto('/dashboard/price-books/starter-llm');
      const rate = page.locator('input[data-path="rate_cards.0.charges.0.price.rate"]');
      await rate.waitFor();
      await page.locator('input[data-path="effective_from"]').fill('2026-11-10T00:00:00Z');
      await rate.fill('1.25');
      await page.getByTestId('retroactive-notice').waitFor();
      await page.getByRole('button', { name: 'Publish and preview the re-rating' }).click();
      await page.getByText(/^Published: version 2/).waitFor();
      const [pending] = (await call('GET', '/v1/reratings?price_book=starter-llm')).data;
      expect(pending.status).toBe('pending');
      // Nothing is billed anew before the preview is applied.
      const invoice = await call('GET', `/v1/invoices/${invoiceId}`);
      await jobs.tick();
      const rerating = await call('GET', `/v1/reratings/${pending.id}`);
      expect(rerating.status).toBe('previewed');
      const globex = rerating.preview.customers.find((c: { customer_id: string }) => c.customer_id === 'globex');
      const row = page.locator(`[data-rerating="${pending.id}"] tr[data-customer="globex"]`);
      await row.waitFor();
      expect(
        await amountsIn(
          page,
          `[data-rerating="${pending.id}"] tr[data-customer="globex"] td[data-column="new"] [data-amount]`,
        ),
      ).toEqual([globex.new_amount]);
      expect(
        await amountsIn(
          page,
          `[data-rerating="${pending.id}"] tr[data-customer="globex"] td[data-column="difference"] [data-amount]`,
        ),
      ).toEqual([globex.difference]);
      expect(globex.difference.startsWith('-')).toBe(true);
      expect((await call('GET', `/v1/invoices/${invoiceId}`)).total).toBe(invoice.total);
      await capture(page, '37-rerating-preview');
      // A viewer sees the preview, not the button.
      await viewer.page.goto('/dashboard/price-books/starter-llm');
      await viewer.page.locator(`[data-rerating="${pending.id}"] tr[data-customer="globex"]`).waitFor();
      expect(await viewer.page.getByRole('button', { name: 'Apply the re-rating' }).count()).toBe(0);

      await page.getByRole('button', { name: 'Apply the re-rating' }).click();
      await expect
        .poll(() => page.locator(`[data-rerating="${pending.id}"]`).getAttribute('data-status'))
        .toBe('approved');
      await jobs.tick();
      await expect
        .poll(() => page.locator(`[data-rerating="${pending.id}"]`).getAttribute('data-status'), { timeout: 30_000 })
        .toBe('applied');
      expect((await call('GET', `/v1/reratings/${pending.id}`)).status).toBe('applied');
      await capture(page, '38-rerating-applied');
      expect(errors).toEqual([]);
    } finally {
      await jobs.stop();
    }
  });

  it('imports a public catalogue as a new price book, listing what the importer skipped', async () => {
    const file = new URL('../../core-wasm/src/importers/data/litellm/model_prices.2026-07-24.json', import.meta.url);
    await page.goto('/dashboard/price-books');
    await page.getByLabel('Catalogue file').setInputFiles(fileURLToPath(file));
    await expect.poll(async () => (await page.getByLabel('Catalogue JSON').inputValue()).length).toBeGreaterThan(1000);
    await page.getByLabel('New book id').fill('litellm-import');
    await page.getByRole('button', { name: 'Import as a new book' }).click();
    await page.getByTestId('imported-book').waitFor();
    const book = await call('GET', '/v1/price_books/litellm-import');
    expect(book).toMatchObject({ code: 'litellm-import', currency: 'USD' });
    const expected = importCatalogue('litellm', JSON.parse(readFileSync(file, 'utf8')));
    expect(
      await page
        .locator('[data-skipped]')
        .evaluateAll((items) => items.map((item) => item.getAttribute('data-skipped'))),
    ).toEqual(expected.skipped.map((s) => s.path));
    expect(book.book.versions[0].rate_cards.length).toBe(expected.book.versions[0].rate_cards.length);
    await capture(page, '39-catalogue-import');
    await viewer.page.goto('/dashboard/price-books');
    await viewer.page.locator('table[aria-label="Price books"] tr[data-row="litellm-import"]').waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Import as a new book' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("creates a portal embed token on the customer's page; the card saved on Stripe's setup page shows in the portal", async () => {
    await page.goto('/dashboard/customers/acme');
    await page.getByRole('button', { name: 'Create an embed token' }).click();
    const token = (await page.getByTestId('embed-token').textContent())!;
    expect(token.length).toBeGreaterThan(20);
    await capture(page, '40-embed-token');
    // The viewer has no portal actions at all.
    await viewer.page.goto('/dashboard/customers/acme');
    await viewer.page.getByTestId('subscription-plan').waitFor();
    expect(await viewer.page.getByRole('button', { name: /portal link|embed token/ }).count()).toBe(0);

    const customer = await openPage(browser, harness.url);
    try {
      await customer.page.goto(`/portal#token=${token}`);
      const method = customer.page.getByTestId('portal-payment-method');
      await method.waitFor();
      const payment = await call('GET', '/v1/customers/acme/payment');
      expect(await method.getAttribute('data-payment-method')).toBe(payment.default_payment_method ?? '');
      // Stripe is connected (the settings test): the portal's customer gets its own Checkout setup session.
      await customer.page
        .getByRole('button', { name: payment.default_payment_method ? 'Change the card' : 'Add a card' })
        .click();
      const link = customer.page.getByTestId('payment-setup-link');
      await link.waitFor();
      const url = (await link.getAttribute('href'))!;
      expect(url.startsWith(double.url)).toBe(true);
      const after = await call('GET', '/v1/customers/acme/payment');
      expect(after.stripe_customer_id).toMatch(/^cus_/);
      await capture(customer.page, '41-portal-payment-method');
      // The service's public URL (PUBLIC_URL, unset here: http://localhost:3000) is where Stripe sends the customer
      // back; this browser reaches that service at the harness's port.
      await customer.context.route(/^http:\/\/localhost:3000\//, (route) =>
        route.fulfill({
          status: 307,
          headers: { location: route.request().url().replace('http://localhost:3000', harness.url) },
        }),
      );
      // The customer types a test card on Stripe's (the double's) page; a number Stripe refuses is named there.
      await link.click();
      await customer.page.waitForURL((page) => page.href.startsWith(double.url));
      await customer.page.getByLabel('Card number').fill('4242 4242 4242 4241');
      await customer.page.getByLabel('Expiration (MM / YY)').fill('12 / 34');
      await customer.page.getByLabel('CVC').fill('123');
      await customer.page.getByRole('button', { name: 'Save card' }).click();
      await customer.page.getByRole('alert').waitFor();
      await capture(customer.page, '42-stripe-checkout-card');
      await customer.page.getByLabel('Card number').fill('4242 4242 4242 4242');
      await customer.page.getByLabel('Expiration (MM / YY)').fill('12 / 34');
      await customer.page.getByLabel('CVC').fill('123');
      await customer.page.getByRole('button', { name: 'Save card' }).click();
      // Stripe's way back, then its signed events reach the tenant's endpoint and the portal names the new card.
      await customer.page.getByText(/^Your card is saved/).waitFor();
      expect(new URL(customer.page.url()).pathname).toBe('/portal/payment-method');
      const saved = await eventually('the card saved through Checkout', async () => {
        const state = await call('GET', '/v1/customers/acme/payment');
        return state.card ? state : undefined;
      });
      const session = double.find(new URL(url).pathname.split('/').at(-1)!)!;
      expect(session.status).toBe('complete');
      expect(saved).toMatchObject({ card: { brand: 'visa', last4: '4242' } });
      expect(saved.default_payment_method).toBe((double.find(session.setup_intent as string) as any).payment_method);
      await customer.page.goto(`/portal#token=${token}`);
      await expect.poll(() => customer.page.getByTestId('portal-card-last4').textContent()).toBe(saved.card.last4);
      expect(await method.getAttribute('data-payment-method')).toBe(saved.default_payment_method);
      await capture(customer.page, '43-portal-card-saved');
      expect(customer.errors).toEqual([]);
    } finally {
      await customer.context.close();
    }
    expect(errors).toEqual([]);
  });
});

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
