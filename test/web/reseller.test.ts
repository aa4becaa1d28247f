// A reseller's pages in Chromium (issue 14): its brand viewed and edited on its customer page, its margins by day
// with the CSV download, and an end user's portal under the reseller's brand. Every figure the page shows is
// compared with the REST answer; each page is screenshot and checked by axe.
import crypto from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../harness/png.ts';
import { restAs, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
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
    await call('POST', '/v1/meters', {
      code: 'input_tokens',
      name: 'Input tokens',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'input_tokens',
    });
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
  afterEach((context) => screenshotIfFailed(context, page));
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

  it("uploads the brand's logo and edits where it collects tax, region and prices, the server's problems at their fields", async () => {
    await page.goto('/dashboard/customers/res');
    await page.getByTestId('reseller-brand').waitFor();
    const logoInput = page.getByLabel('Logo on invoices (PNG or JPEG, at most 256 KiB)');
    // First a GIF named .png and a German VAT number with a wrong check digit: each refused at its own field.
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    await logoInput.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: gif });
    await page.getByLabel('Seller country (ISO code)').fill('DE');
    await page.getByRole('button', { name: 'Add a registration' }).click();
    await page.getByLabel('Jurisdiction 1').fill('DE');
    await page.getByLabel('Tax id 1').fill('DE136695977');
    await page.getByRole('button', { name: 'Save the brand' }).click();
    const logoError = page.locator('[data-field="logo"]');
    const rowError = page.locator('[data-registration="0"] [data-field="tax_registrations.0.tax_id"]');
    await rowError.waitFor();
    // The same body over REST names the same fields with the same reasons.
    const refused = await fetch(`${harness.url}/v1/customers/res/brand`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        country: 'DE',
        logo: `data:image/png;base64,${gif.toString('base64')}`,
        tax_registrations: [{ jurisdiction: 'DE', tax_id: 'DE136695977' }],
      }),
    });
    expect(refused.status).toBe(400);
    const reasons = new Map<string, string>(
      ((await refused.json()).error.details as { field: string; reason: string }[]).map((d) => [d.field, d.reason]),
    );
    expect(await rowError.textContent()).toBe(reasons.get('tax_registrations.0.tax_id'));
    expect(await logoError.textContent()).toBe(reasons.get('logo'));
    expect(reasons.get('logo')).toMatch(/neither a PNG nor a JPEG/);
    expect((await call('GET', '/v1/customers/res/brand')).tax_registrations).toEqual([]);

    // Then a real PNG, a valid number, a region and prices that include tax.
    const logo = png(6, 4).bytes;
    await logoInput.setInputFiles({ name: 'res.png', mimeType: 'image/png', buffer: logo });
    await page.getByRole('img', { name: 'New logo res.png (not saved yet)' }).waitFor();
    await page.getByLabel('Tax id 1').fill('DE136695976');
    await page.getByLabel('Seller region').fill('BY');
    await page.getByLabel('Its prices include tax').check();
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await page.getByText(/^Saved: its end users' portal/).waitFor();
    const brand = await call('GET', '/v1/customers/res/brand');
    expect(brand).toMatchObject({
      country: 'DE',
      region: 'BY',
      prices_include_tax: true,
      tax_registrations: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
      logo: {
        media_type: 'image/png',
        width: 6,
        height: 4,
        bytes: logo.length,
        digest: crypto.createHash('sha256').update(logo).digest('hex'),
      },
    });
    // The preview is the stored logo: the very bytes uploaded.
    const preview = page.getByTestId('brand-logo');
    await expect.poll(() => preview.getAttribute('data-digest')).toBe(brand.logo.digest);
    const src = (await preview.getAttribute('src'))!;
    expect(src.startsWith('data:image/png;base64,')).toBe(true);
    expect(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64').equals(logo)).toBe(true);
    expect(await preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(6);
    expect(await page.locator('[data-brand-field="region"]').textContent()).toBe('BY');
    expect(await page.locator('[data-brand-field="prices_include_tax"]').textContent()).toBe('include tax');
    expect(await page.locator('[data-brand-field="tax_registrations"]').textContent()).toBe('DE DE136695976');
    await capture(page, '53-reseller-brand-logo');

    // Removing the logo removes it from the brand and the page.
    await page.getByRole('button', { name: 'Remove the logo' }).click();
    await page.getByText('The logo is removed when you save.').waitFor();
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await expect.poll(async () => (await call('GET', '/v1/customers/res/brand')).logo).toBeNull();
    await expect.poll(() => preview.count()).toBe(0);
    expect((await call('GET', '/v1/customers/res/brand')).tax_registrations).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("edits the tax numbers printed on the reseller's invoices, a wrong one refused at its field as over REST", async () => {
    await page.goto('/dashboard/customers/res');
    await page.getByTestId('reseller-brand').waitFor();
    expect(await page.locator('[data-brand-field="tax_ids"]').textContent()).toBe('—');
    // A German VAT number with a wrong check digit beside a valid British one: refused at its row's field.
    await page.getByRole('button', { name: 'Add a tax number' }).click();
    await page.getByLabel('Country of tax number 1').fill('DE');
    await page.getByLabel('Tax number 1', { exact: true }).fill('DE 136 695 977');
    await page.getByRole('button', { name: 'Add a tax number' }).click();
    await page.getByLabel('Country of tax number 2').fill('GB');
    await page.getByLabel('Tax number 2', { exact: true }).fill('GB980780684');
    await page.getByRole('button', { name: 'Save the brand' }).click();
    const rowError = page.locator('[data-field="tax_ids.0.tax_id"]');
    await rowError.waitFor();
    const refused = await fetch(`${harness.url}/v1/customers/res/brand`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tax_ids: [
          { jurisdiction: 'DE', tax_id: 'DE 136 695 977' },
          { jurisdiction: 'GB', tax_id: 'GB980780684' },
        ],
      }),
    });
    expect(refused.status).toBe(400);
    const details = (await refused.json()).error.details as { field: string; reason: string }[];
    expect(details.map((d) => d.field)).toEqual(['tax_ids.0.tax_id']);
    expect(await rowError.textContent()).toBe(details[0].reason);
    expect((await call('GET', '/v1/customers/res/brand')).tax_ids).toEqual([]);

    // Corrected: stored as checked (compact), shown on the page as the API gives them.
    await page.getByLabel('Tax number 1', { exact: true }).fill('DE 136 695 976');
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await page.getByText(/^Saved: its end users' portal/).waitFor();
    const saved = (await call('GET', '/v1/customers/res/brand')).tax_ids;
    expect(saved).toEqual([
      { jurisdiction: 'DE', tax_id: 'DE136695976' },
      { jurisdiction: 'GB', tax_id: 'GB980780684' },
    ]);
    await expect
      .poll(() => page.locator('[data-brand-field="tax_ids"]').textContent())
      .toBe('DE DE136695976, GB GB980780684');
    expect(await page.getByLabel('Tax number 1', { exact: true }).inputValue()).toBe('DE136695976');
    // The registrations where it collects tax are another list, left as they were.
    expect((await call('GET', '/v1/customers/res/brand')).tax_registrations).toHaveLength(1);
    await capture(page, '54-reseller-brand-tax-ids');

    // Removing one keeps the other.
    await page.getByRole('button', { name: 'Remove tax number 1' }).click();
    await page.getByRole('button', { name: 'Save the brand' }).click();
    await expect
      .poll(async () => (await call('GET', '/v1/customers/res/brand')).tax_ids)
      .toEqual([{ jurisdiction: 'GB', tax_id: 'GB980780684' }]);
    await expect.poll(() => page.locator('[data-brand-field="tax_ids"]').textContent()).toBe('GB GB980780684');
    expect(errors).toEqual([]);
  });

  it("charts the reseller's end users' usage per meter, equal to the REST series, where it said no usage", async () => {
    await page.goto('/dashboard/customers/res');
    await page.getByTestId('subtree-usage').waitFor();
    const chart = page.locator('[data-meter="input_tokens"]');
    await chart.waitFor();
    expect(await page.getByText('No metered usage in this range.').count()).toBe(0);
    for (const granularity of ['day', 'hour'] as const) {
      if (granularity === 'hour') {
        await page.getByLabel('Granularity').selectOption('hour');
        await page.locator('[data-meter="input_tokens"][data-granularity="hour"]').waitFor();
      }
      const holder = page.getByTestId('usage-series');
      const from = (await holder.getAttribute('data-from'))!;
      const until = (await holder.getAttribute('data-until'))!;
      const series = await call(
        'GET',
        `/v1/customers/res/usage/series?from=${from}&until=${until}&granularity=${granularity}`,
      );
      const [tokens] = series.series;
      expect(series.series).toHaveLength(1);
      const shown = await page
        .locator('[data-meter="input_tokens"] table[aria-label$="figures"] tbody tr')
        .evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('td'), (td) => td.textContent)));
      expect(shown).toEqual(tokens.points.map((p: { at: string; value: string }) => [p.at, p.value]));
      // Its end user's usage, which is where the events are: 1M on the 18th, 2M + 0.5M on the 19th.
      if (granularity === 'day')
        expect(tokens.points.map((p: { value: string }) => p.value)).toEqual(['1000000', '2500000']);
      else expect(tokens.points.map((p: { value: string }) => p.value)).toEqual(['1000000', '2000000', '500000']);
    }
    const own = await call('GET', '/v1/customers/eu-1/usage');
    expect(own.meters[0].groups[0].value).toBe('3500000');
    await capture(page, '54-reseller-usage');
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
