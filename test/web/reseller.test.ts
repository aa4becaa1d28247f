// A reseller's pages in Chromium (issue 14): its brand viewed and edited on its customer page, its margins by day
// with the CSV download, and an end user's portal under the reseller's brand. Every figure the page shows is
// compared with the REST answer; each page is screenshot and checked by axe.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import {
  amountsIn,
  capture,
  launchBrowser,
  llmEvent,
  logIn,
  openPage,
  requireBuiltDashboard,
  screenshotFolder,
  starterBook,
} from './pages.ts';

const password = 'correct horse battery staple';

/** The starter book under another id and rates (per million input and output tokens). */
function bookAt(id: string, input: string, output: string) {
  const book = structuredClone(starterBook);
  book.id = id;
  const [inputCharge, outputCharge] = book.versions[0].rate_cards[0].charges;
  inputCharge.price.rate = input;
  outputCharge.price.rate = output;
  return book;
}

describe("a reseller's pages in the browser", () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let call: ReturnType<typeof restAs>;

  beforeAll(async () => {
    requireBuiltDashboard();
    harness = await startService({ now: '2026-11-20T12:00:00Z' });
    tenant = await signUpTenant(harness, 'Wholesale Co');
    call = restAs(harness, tenant.secretKey);
    // The tenant sells to the reseller at 2.5/10; the reseller resells to its end user at 4/16.
    await call('POST', '/v1/price_books', { name: 'Wholesale', book: bookAt('wholesale', '2.5', '10') });
    await call('POST', '/v1/customers', { external_id: 'res', name: 'Res AI', currency: 'USD', is_reseller: true });
    await call('PUT', '/v1/customers/res/price_book', {
      price_book: 'wholesale',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('POST', '/v1/price_books', {
      name: 'Res retail',
      book: bookAt('res-retail', '4', '16'),
      owner_customer_id: 'res',
    });
    await call('POST', '/v1/customers', {
      external_id: 'eu-1',
      name: 'End User One',
      parent_id: 'res',
      currency: 'USD',
    });
    await call('PUT', '/v1/customers/eu-1/price_book', {
      price_book: 'res-retail',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await call('POST', '/v1/events', {
      events: [
        llmEvent('eu-1-a', 'eu-1', '2026-11-18T09:00:00Z', 1_000_000, 100_000),
        llmEvent('eu-1-b', 'eu-1', '2026-11-19T10:00:00Z', 2_000_000, 300_000),
        llmEvent('eu-1-c', 'eu-1', '2026-11-19T11:00:00Z', 500_000, 50_000),
      ],
    });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, harness.url));
    await logIn(page, tenant.slug, tenant.email, password);
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail')
      await page.screenshot({
        path: new URL(`failed-${context.task.name.slice(0, 40).replace(/\W+/g, '-')}.png`, screenshotFolder).pathname,
        fullPage: true,
      });
  });
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it("views and edits the reseller's brand on its page, the server's rule at its field, as the API keeps it", async () => {
    await page.goto('/dashboard/customers/res');
    await page.getByTestId('reseller-brand').waitFor();
    expect(await page.locator('[data-brand-field="display_name"]').textContent()).toBe('—');
    await page.getByLabel('Brand name').fill('Res Cloud');
    await page.getByLabel('Brand colour (#rrggbb)').fill('#AA2200');
    await page.getByLabel('Logo URL (https)').fill('https://logo.invalid/res.png');
    await page.getByLabel('Legal name (seller on invoices)').fill('Res AI Ltd');
    await page.getByLabel('Invoice prefix').fill('RES');
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await page.locator('[data-field="accent_color"]').waitFor();
    await page.getByLabel('Brand colour (#rrggbb)').fill('#aa2200');
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await page.getByText(/^Saved: its end users' portal/).waitFor();
    const brand = await call('GET', '/v1/customers/res/brand');
    expect(brand).toMatchObject({
      display_name: 'Res Cloud',
      accent_color: '#aa2200',
      logo_url: 'https://logo.invalid/res.png',
      legal_name: 'Res AI Ltd',
      invoice_prefix: 'RES',
    });
    for (const field of ['display_name', 'accent_color', 'logo_url', 'legal_name', 'invoice_prefix'] as const)
      await expect.poll(() => page.locator(`[data-brand-field="${field}"]`).textContent()).toBe(brand[field]);
    await capture(page, '50-reseller-brand');
    expect(errors).toEqual([]);
  });

  it("shows the reseller's margins by day as the API reports them, and downloads the API's CSV", async () => {
    await page.goto('/dashboard/customers/res');
    await page.getByLabel('From (UTC day)').fill('2026-11-20');
    await page.getByLabel('To (UTC day, inclusive)').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show margins' }).click();
    await page.locator('[data-field="to"]').waitFor();
    await page.getByLabel('From (UTC day)').fill('2026-11-01');
    await page.getByLabel('To (UTC day, inclusive)').fill('2026-11-20');
    await page.getByRole('checkbox', { name: 'Day' }).check();
    await page.getByRole('button', { name: 'Show margins' }).click();
    const rows = page.locator('table[aria-label="Margins"] tbody tr[data-row]');
    await rows.first().waitFor();
    const query = 'from=2026-11-01&to=2026-11-20&group_by=day';
    const report = await call('GET', `/v1/resellers/res/margins?${query}`);
    expect(report.data.map((r: { day: string }) => r.day)).toEqual(['2026-11-18', '2026-11-19']);
    expect(await rows.count()).toBe(report.data.length);
    for (const [index, row] of report.data.entries()) {
      const shown = rows.nth(index);
      expect(await shown.locator('td[data-column="day"]').textContent()).toBe(row.day);
      expect(await shown.locator('td[data-column="events"]').textContent()).toBe(String(row.events));
      for (const column of ['resale', 'charge', 'margin'])
        expect(await shown.locator(`td[data-column="${column}"] [data-amount]`).getAttribute('data-amount')).toBe(
          row[column],
        );
    }
    const [total] = report.totals;
    expect(Number(total.margin)).toBeGreaterThan(0);
    expect(await amountsIn(page, '[data-testid="margin-totals"] [data-currency="USD"] [data-amount]')).toEqual([
      total.resale,
      total.charge,
      total.margin,
    ]);
    await page.getByRole('button', { name: 'Prepare CSV' }).click();
    const link = page.getByTestId('margins-csv');
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const fromPage = await readText(await download.createReadStream());
    const fromApi = await (
      await fetch(`${harness.url}/v1/resellers/res/margins?${query}&format=csv`, {
        headers: { authorization: `Bearer ${tenant.secretKey}` },
      })
    ).text();
    expect(fromPage).toBe(fromApi);
    expect(fromApi.split('\n').filter(Boolean).length).toBeGreaterThan(report.data.length);
    await capture(page, '51-reseller-margins');
    expect(errors).toEqual([]);
  });

  it("opens an end user's portal under its reseller's brand, with the API's figures", async () => {
    await page.goto('/dashboard/customers/eu-1');
    await page.getByRole('button', { name: 'Create a portal link' }).click();
    const link = new URL((await page.getByTestId('portal-link').getAttribute('href'))!);
    const brand = await call('GET', '/v1/customers/res/brand');
    const customer = await openPage(browser, harness.url);
    try {
      await customer.page.goto(link.pathname + link.hash);
      await expect.poll(() => customer.page.getByTestId('portal-brand').textContent()).toBe(brand.display_name);
      expect(
        await customer.page
          .locator('.portal')
          .evaluate((node) => getComputedStyle(node).getPropertyValue('--brand').trim()),
      ).toBe(brand.accent_color);
      expect(await customer.page.getByRole('img', { name: brand.display_name }).getAttribute('src')).toBe(
        brand.logo_url,
      );
      const usage = await call('GET', '/v1/customers/eu-1/usage');
      await expect
        .poll(() => amountsIn(customer.page, '[data-testid="portal-period-amount"] [data-amount]'))
        .toEqual([usage.amount]);
      await capture(customer.page, '52-portal-reseller-brand');
      expect(customer.errors).toEqual([]);
    } finally {
      await customer.context.close();
    }
    expect(errors).toEqual([]);
  });
});

async function readText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
