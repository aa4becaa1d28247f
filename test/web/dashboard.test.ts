// The dashboard after the first run (issue 14), in Chromium: customers paged, a customer's usage chart, budget and
// credits, a receipt, the price editor with compiler messages at the field and the wasm live estimate, publishing,
// an invoice finalized and credited; and a viewer who can read but not finalize. Every figure the page shows is
// compared with the REST answer for the same customer.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rest, restAs, startService, type Harness } from '../service/harness.ts';
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

/**
 * An invoice figure as a page shows it: the API's decimal string cut to the currency's minor unit (the digits cut
 * off all zeros), then the currency; never the API's nine decimals.
 */
function expectMinorUnits(shown: string | null, amount: string, minorUnit: number, currency: string) {
  const [figure, code, ...rest] = (shown ?? '').trim().split(' ');
  expect(rest, `"${shown}"`).toEqual([]);
  expect(code).toBe(currency);
  expect(figure).toMatch(minorUnit === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${minorUnit}}$`));
  expect(amount.startsWith(figure), `${figure} is ${amount} cut`).toBe(true);
  expect(amount.slice(figure.length)).toMatch(/^\.?0*$/);
}

describe('the dashboard in the browser', () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let call: ReturnType<typeof restAs>;
  let key: string;
  const email = 'ops@inference.example';
  let slug: string;

  beforeAll(async () => {
    requireBuiltDashboard();
    harness = await startService({ now: '2026-11-20T12:00:00Z' });
    const signup = await rest(harness, 'POST', '/v1/auth/signup', {
      body: { tenant_name: 'Inference Co', email, password },
    });
    slug = signup.body.tenant.slug;
    const created = await fetch(`${harness.url}/trpc/apiKeys.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.body.session.token}` },
      body: JSON.stringify({ kind: 'secret', name: 'setup', role: 'admin' }),
    });
    key = ((await created.json()) as any).result.data.secret;
    call = restAs(harness, key);
    await call('POST', '/v1/price_books', { name: 'Starter', book: starterBook });
    await call('POST', '/v1/meters', {
      code: 'tokens',
      name: 'Input tokens',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'input_tokens',
      group_by: ['model'],
    });
    // 55 customers: more than one page of 50.
    for (let index = 0; index < 55; index++) {
      const id = `cust-${String(index).padStart(3, '0')}`;
      await call('POST', '/v1/customers', { external_id: id, name: `Customer ${index}`, currency: 'USD' });
    }
    await call('POST', '/v1/customers', { external_id: 'acme', name: 'Acme AI', currency: 'USD' });
    await call('PUT', '/v1/customers/acme/price_book', {
      price_book: 'starter-llm',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('PUT', '/v1/customers/cust-001/price_book', {
      price_book: 'starter-llm',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('PUT', '/v1/customers/acme/budget', { amount: '50', enforcement: 'alert' });
    await call('POST', '/v1/customers/acme/credit_grants', {
      kind: 'promotional',
      amount: '1.5',
      name: 'Welcome credit',
    });
    await call('POST', '/v1/events', {
      events: [
        llmEvent('acme-1', 'acme', '2026-11-17T09:00:00Z', 1_000_000, 100_000),
        llmEvent('acme-2', 'acme', '2026-11-18T10:00:00Z', 2_000_000, 200_000),
        llmEvent('acme-3', 'acme', '2026-11-18T16:00:00Z', 500_000, 0),
        llmEvent('acme-4', 'acme', '2026-11-20T08:00:00Z', 1_000_000, 1_000_000),
        llmEvent('other-1', 'cust-001', '2026-11-19T08:00:00Z', 1_000_000, 0),
      ],
    });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, harness.url));
    await logIn(page, slug, email, password);
  });
  afterEach((context) => screenshotIfFailed(context, page));
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('pages through the customers as the API lists them', async () => {
    const first = await call('GET', '/v1/customers?limit=50');
    await page.locator('table[aria-label="Customers"] tbody tr').first().waitFor();
    const shown = await page
      .locator('table[aria-label="Customers"] tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-row')));
    expect(shown).toEqual(first.data.map((c: { external_id: string }) => c.external_id));
    await capture(page, '10-customers');
    await page.getByRole('button', { name: 'Next page' }).click();
    const second = await call('GET', `/v1/customers?limit=50&starting_after=${first.data.at(-1).external_id}`);
    await expect
      .poll(() =>
        page
          .locator('table[aria-label="Customers"] tbody tr')
          .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-row'))),
      )
      .toEqual(second.data.map((c: { external_id: string }) => c.external_id));
    expect(second.data).toHaveLength(6);
    // Search by prefix, and the customer's spend against budget as the budget API counts it.
    await page.getByLabel('Search by id, name or email').fill('acm');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() =>
        page
          .locator('table[aria-label="Customers"] tbody tr')
          .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-row'))),
      )
      .toEqual(['acme']);
    const budget = await call('GET', '/v1/customers/acme/budget');
    expect(await amountsIn(page, 'tr[data-row="acme"] td[data-column="spend"] [data-amount]')).toEqual([
      budget.current_period.spend,
    ]);
    await capture(page, '10b-customers-search');
  });

  it("shows a customer's usage chart, budget and credits with the API's figures", async () => {
    await page.goto('/dashboard/customers/acme');
    await page.getByRole('heading', { name: /Acme AI/ }).waitFor();
    const usage = await call('GET', '/v1/customers/acme/usage');
    await expect.poll(() => amountsIn(page, '[data-testid="period-amount"] [data-amount]')).toEqual([usage.amount]);
    expect(await page.getByTestId('event-count').textContent()).toBe(usage.event_count);
    // uPlot drew the chart, and its figures are the API's days.
    await page.locator('[data-meter="tokens"] canvas').first().waitFor();
    const days = usage.meters.find((m: { code: string }) => m.code === 'tokens').groups[0].days as {
      day: string;
      value: string;
    }[];
    expect(days.length).toBe(3);
    const figures = (granularity: string) =>
      page
        .locator(`[data-meter="tokens"][data-granularity="${granularity}"] table[aria-label$="figures"] tbody tr`)
        .evaluateAll((rows) =>
          rows.map(
            (row) =>
              [row.querySelector('td')!.textContent!, row.querySelector('td[data-series]')!.textContent!] as [
                string,
                string,
              ],
          ),
        );
    const daily = await figures('day');
    expect(daily.map(([at, value]) => [at.slice(0, 10), value])).toEqual(
      days.map((d) => [d.day.slice(0, 10), String(d.value)]),
    );
    // Hourly: the hours of each day add up to the API's day.
    await page.getByLabel('Granularity').selectOption('hour');
    await page.locator('[data-meter="tokens"][data-granularity="hour"] canvas').waitFor();
    const hourly = await figures('hour');
    expect(hourly.length).toBe(4); // one event per hour here
    const byDay = new Map<string, bigint>();
    for (const [at, value] of hourly)
      byDay.set(at.slice(0, 10), (byDay.get(at.slice(0, 10)) ?? 0n) + BigInt(value.split('.')[0]));
    expect([...byDay].map(([day, total]) => [day, total.toString()])).toEqual(
      days.map((d) => [d.day.slice(0, 10), String(d.value).split('.')[0]]),
    );
    await capture(page, '11a-customer-hourly');
    await page.getByLabel('Granularity').selectOption('day');
    const budget = await call('GET', '/v1/customers/acme/budget');
    await expect
      .poll(() => amountsIn(page, '[data-testid="budget-spend"] [data-amount]'))
      .toEqual([budget.current_period.spend]);
    expect(await amountsIn(page, '[data-testid="budget-amount"] [data-amount]')).toEqual([budget.amount]);
    const wallet = await call('GET', '/v1/customers/acme/wallet');
    expect(await amountsIn(page, '[data-testid="credit-balance"] [data-amount]')).toEqual([wallet.balance]);
    await capture(page, '11-customer');
  });

  it("explains an event's cost step by step, as its receipt on the API", async () => {
    await page.getByLabel('Transaction id').fill('acme-2');
    await page.getByRole('button', { name: 'Show the receipt' }).click();
    const receipt = await call('GET', '/v1/events/acme-2/receipt');
    const section = page.getByRole('region', { name: 'Receipt of acme-2' });
    await section.waitFor();
    expect(await amountsIn(page, '[data-testid="receipt-amount"] [data-amount]')).toEqual([receipt.amount]);
    const steps = await section
      .locator('li[data-step]')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-step')));
    expect(steps).toEqual(receipt.receipt.map((step: { step: string }) => step.step));
    expect(steps).toContain('price');
    await capture(page, '12-receipt');
  });

  it('edits a price with compiler messages at the field and a live estimate from the wasm kernel, then publishes it', async () => {
    await page.goto('/dashboard/price-books/starter-llm');
    const rate = page.locator('input[data-path="rate_cards.0.charges.0.price.rate"]');
    await rate.waitFor();
    expect(await rate.inputValue()).toBe('2.5');
    await rate.fill('two');
    const message = page.locator('[data-problem-path="rate_cards.0.charges.0.price.rate"]');
    await message.waitFor();
    expect(await message.textContent()).toMatch(/decimal|number/i);
    expect(await page.getByTestId('compile-status').textContent()).toMatch(/compiler message/);
    await capture(page, '13-price-editor-problem');

    await rate.fill('5');
    await expect.poll(() => page.getByTestId('compile-status').textContent()).toBe('Compiles: ready to publish');
    const row = page.locator('tr[data-sample="sample-1"]');
    await expect.poll(() => row.locator('td[data-new]').getAttribute('data-new')).toBe('1.500000000');
    const old = await row.locator('td[data-old]').getAttribute('data-old');
    const effectiveFrom = await page.locator('input[data-path="effective_from"]').inputValue();
    const sample = JSON.parse(await page.getByLabel('Sample events (JSON array)').inputValue())[0];
    await capture(page, '14-price-editor-live');

    await page.getByRole('button', { name: 'Publish version' }).click();
    await page.getByText(/^Published: version 2/).waitFor();
    const published = await call('GET', '/v1/price_books/starter-llm');
    expect(
      published.versions.map((v: { version: number; effective_from: string }) => [v.version, v.effective_from]),
    ).toEqual([
      [1, '2020-01-01T00:00:00.000Z'],
      [2, new Date(effectiveFrom).toISOString()],
    ]);
    expect(published.book.versions[1].rate_cards[0].charges[0].price.rate).toBe('5');
    // The service's own estimate of the sample under each version is what the browser's kernel showed.
    const under = async (timestamp: string) =>
      (await call('POST', '/v1/estimates', { price_book: 'starter-llm', events: [{ ...sample, timestamp }] }))
        .results[0].amount;
    expect(await under('2026-11-20T12:00:00Z')).toBe(old);
    expect(await under(new Date(Date.parse(effectiveFrom) + 1000).toISOString())).toBe('1.500000000');
    await page.getByText('v2 from').waitFor();
    await capture(page, '15-price-book-published');
  });

  let invoiceId: string;
  let otherInvoiceId: string;

  it("shows the closed period's invoice as the API does, finalizes it and issues a credit note", async () => {
    // Within the hour of grace after the period's end: the invoice is still a draft.
    harness.clock.set('2026-12-01T00:10:00Z');
    const closed = await call('POST', '/v1/customers/acme/periods/close', {});
    invoiceId = closed.data[0].id;
    otherInvoiceId = (await call('POST', '/v1/customers/cust-001/periods/close', {})).data[0].id;
    await page.goto('/dashboard/invoices');
    await page.locator(`table[aria-label="Invoices"] tr[data-row="${invoiceId}"]`).waitFor();
    await capture(page, '16-invoices');
    await page.locator(`tr[data-row="${invoiceId}"] a`).first().click();
    const draft = await call('GET', `/v1/invoices/${invoiceId}`);
    await expect.poll(() => amountsIn(page, '[data-testid="invoice-total"] [data-amount]')).toEqual([draft.total]);
    expectMinorUnits(
      await page.getByTestId('invoice-total').locator('[data-amount]').textContent(),
      draft.total,
      draft.minor_unit,
      draft.currency,
    );
    const lines = await page
      .locator('table[aria-label="Invoice lines"] tbody tr td[data-column="amount"] [data-amount]')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-amount')));
    expect(lines).toEqual(draft.lines.map((line: { amount: string }) => line.amount));
    await capture(page, '17-invoice-draft');

    await page.getByRole('button', { name: 'Finalize now' }).click();
    await expect.poll(() => page.getByTestId('invoice-status').textContent()).toBe('finalized');
    const finalized = await call('GET', `/v1/invoices/${invoiceId}`);
    expect(finalized.status).toBe('finalized');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(finalized.number);
    expect(await amountsIn(page, '[data-testid="invoice-due"] [data-amount]')).toEqual([finalized.amount_due]);

    await page.getByLabel('Credit amount').fill('1');
    await page.getByLabel('Reason for the credit').fill('Goodwill for the outage');
    await page.getByRole('button', { name: 'Issue credit note' }).click();
    const note = page.locator('[data-credit-note]');
    await note.waitFor();
    const notes = await call('GET', `/v1/credit_notes?invoice_id=${invoiceId}`);
    expect(notes.data).toHaveLength(1);
    expect(await note.textContent()).toContain(notes.data[0].number);
    expect(await note.locator('[data-amount]').getAttribute('data-amount')).toBe(notes.data[0].total);
    await capture(page, '18-invoice-finalized');
  });

  it('lets a viewer read the invoice but not finalize or void it, in the page or by calling the server from it', async () => {
    await call('POST', '/v1/users', { email: 'viewer@inference.example', password, role: 'viewer' });
    const viewer = await openPage(browser, harness.url);
    try {
      await logIn(viewer.page, slug, 'viewer@inference.example', password);
      expect(await viewer.page.getByTestId('role').textContent()).toBe('viewer');
      await viewer.page.goto(`/dashboard/invoices/${invoiceId}`);
      await viewer.page.getByText('Your role can read invoices but not change them.').waitFor();
      expect(await viewer.page.getByRole('button', { name: 'Void' }).count()).toBe(0);
      // The page's own session, with its CSRF token: the server refuses the viewer all the same.
      const answer = await viewer.page.evaluate(async (id) => {
        const csrf = /(?:^|; )tariff_csrf=([^;]*)/.exec(document.cookie)?.[1];
        const response = await fetch('/trpc/invoices.void', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(csrf ? { 'x-csrf-token': decodeURIComponent(csrf) } : {}),
          },
          body: JSON.stringify({ id, reason: 'not allowed' }),
        });
        return { status: response.status, body: await response.json() };
      }, invoiceId);
      expect(answer.status).toBe(403);
      expect(answer.body.error.data.app.code).toBe('permission_denied');
      // Without the CSRF token, the session cookie alone opens nothing.
      const forged = await viewer.page.evaluate(async () => {
        const response = await fetch('/trpc/auth.resendVerification', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        return { status: response.status, body: await response.json() };
      });
      expect(forged.status).toBe(403);
      expect(forged.body.error.code).toBe('csrf_token_invalid');
      expect((await call('GET', `/v1/invoices/${invoiceId}`)).status).toBe('finalized');
      await capture(viewer.page, '19-invoice-as-viewer');
      // Team management is above a viewer: the page shows the server's refusal.
      await viewer.page.goto('/dashboard/team');
      await viewer.page.getByRole('alert').waitFor();
      expect(viewer.errors).toEqual([]);
    } finally {
      await viewer.context.close();
    }
  });

  it('lists the team, API keys, webhooks and audit log', async () => {
    for (const [path, name, text] of [
      ['team', '20-team', 'viewer@inference.example'],
      ['api-keys', '21-api-keys', 'setup'],
      ['webhooks', '22-webhooks', 'No endpoints yet.'],
      ['audit', '23-audit', 'invoice.finalized'],
    ] as const) {
      await page.goto(`/dashboard/${path}`);
      await page.getByText(text, { exact: false }).first().waitFor();
      await capture(page, name);
    }
    expect(errors).toEqual([]);
  });

  it("sets the tenant's portal brand", async () => {
    await page.goto('/dashboard/brand');
    await page.getByLabel('Display name').fill('Inference Cloud');
    await page.getByLabel('Accent colour (#rrggbb)').fill('#0B5D3B');
    await page.getByRole('button', { name: 'Save brand' }).click();
    // The server's rule shows at its field: lower case only.
    await page.locator('[data-field="accent_color"]').waitFor();
    await page.getByLabel('Accent colour (#rrggbb)').fill('#0b5d3b');
    await page.getByRole('button', { name: 'Save brand' }).click();
    await page.getByText('Saved: portal links show it from now on.').waitFor();
    await capture(page, '23b-brand');
  });

  it("opens the customer's portal by its signed link, with the API's figures, and the link reaches no other customer", async () => {
    await page.goto('/dashboard/customers/acme');
    await page.getByRole('button', { name: 'Create a portal link' }).click();
    const href = (await page.getByTestId('portal-link').getAttribute('href'))!;
    const link = new URL(href);
    expect(link.pathname).toBe('/portal');
    const token = new URLSearchParams(link.hash.slice(1)).get('token')!;
    expect(token).toBeTruthy();

    // The customer's browser: no dashboard session at all.
    const customer = await openPage(browser, harness.url);
    try {
      await customer.page.goto(link.pathname + link.hash);
      await expect.poll(() => customer.page.getByTestId('portal-brand').textContent()).toBe('Inference Cloud');
      expect(
        await customer.page
          .locator('.portal')
          .evaluate((node) => getComputedStyle(node).getPropertyValue('--brand').trim()),
      ).toBe('#0b5d3b');
      const wallet = await call('GET', '/v1/customers/acme/wallet');
      await expect
        .poll(() => amountsIn(customer.page, '[data-testid="portal-credit-balance"] [data-amount]'))
        .toEqual([wallet.balance]);
      const budget = await call('GET', '/v1/customers/acme/budget');
      expect(await amountsIn(customer.page, '[data-testid="portal-budget"] [data-amount]')).toEqual([budget.amount]);
      const usage = await call('GET', '/v1/customers/acme/usage');
      await expect
        .poll(() => amountsIn(customer.page, '[data-testid="portal-period-amount"] [data-amount]'))
        .toEqual([usage.amount]);
      const invoice = await call('GET', `/v1/invoices/${invoiceId}`);
      const listed = customer.page.locator(`[data-invoice="${invoiceId}"]`);
      await listed.waitFor();
      expect(await listed.locator('[data-amount]').first().getAttribute('data-amount')).toBe(invoice.total);
      // Shown to the currency's minor unit ("9.95 USD", not "9.950000000"), the total and each line.
      expectMinorUnits(
        await listed.locator('[data-amount]').first().textContent(),
        invoice.total,
        invoice.minor_unit,
        invoice.currency,
      );
      await listed.getByRole('button').click();
      await expect.poll(() => listed.locator('[data-line] [data-amount]').count()).toBe(invoice.lines.length);
      const shownLines = await listed
        .locator('[data-line] [data-amount]')
        .evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('data-amount'), n.textContent]));
      expect(shownLines.map(([amount]) => amount)).toEqual(
        invoice.lines.map((line: { amount: string }) => line.amount),
      );
      for (const [amount, text] of shownLines) expectMinorUnits(text, amount!, invoice.minor_unit, invoice.currency);
      expect(await customer.page.locator('[data-invoice]').count()).toBe(1);
      await capture(customer.page, '24-portal');

      // From the portal page, with its token: another customer's invoice is not found, the dashboard's procedures
      // are closed, and a token changed by a character opens nothing.
      const attempts = await customer.page.evaluate(
        async ({ token, other }) => {
          const get = async (procedure: string, input: unknown, bearer = token) => {
            const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
            const response = await fetch(`/trpc/${procedure}${query}`, {
              headers: { authorization: `Bearer ${bearer}` },
              credentials: 'omit',
            });
            return response.status;
          };
          const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
          return {
            otherInvoice: await get('portal.invoice', { id: other }),
            customers: await get('insights.customers', {}),
            invoices: await get('invoices.get', { id: other }),
            tampered: await get('portal.summary', undefined, tampered),
          };
        },
        { token, other: otherInvoiceId },
      );
      expect(attempts).toEqual({ otherInvoice: 404, customers: 401, invoices: 401, tampered: 401 });
      expect(customer.errors).toEqual([]);
    } finally {
      await customer.context.close();
    }
  });
});
