// Tax, currency and breakdowns per reseller level, over the public API (issue 17). The tenant (US, registered
// nowhere) sells to a German reseller registered in DE and for the OSS; the reseller's children are taxed as the
// reseller's sales (German VAT at home, the reverse charge for a French business, French VAT through the OSS for a
// French consumer), each billed in its own currency; the reseller's own invoice is the tenant's sale to it, in EUR
// converted from the chain's USD, itemised by child (its threshold invoice too, frozen as issued). Two levels
// down, a French reseller's invoice is the German reseller's sale to it. A reseller registered nowhere charges no
// tax and says so. The reseller's uploaded logo is embedded in the PDF (pdfimages).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../harness/png.ts';
import { ensurePoppler } from '../harness/poppler.ts';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { startBillingScenario, tokenBook, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';

const execute = promisify(execFile);
const march = '2026-03-01T00:00:00.000Z';

const nano = (amount: string) => BigInt(amount.replace('.', ''));
const sum = (values: string[]) => values.reduce((total, v) => total + nano(v), 0n);

describe('tax, currency and breakdowns per reseller level', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let directory: string;
  const logo = png(5, 3);
  const invoices: Record<string, any> = {};
  let thresholdBefore: any;

  const customer = async (id: string, bookId: string, extra: Record<string, unknown>) => {
    await api.ok('POST', '/v1/customers', { external_id: id, ...extra });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: bookId,
      effective_from: '2026-01-01T00:00:00Z',
    });
  };
  const raw = async (pathname: string) => {
    const response = await fetch(harness.url + pathname, {
      headers: { authorization: `Bearer ${tenant.secretKey}` },
    });
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-tax-levels-'));
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('PUT', '/v1/tax/settings', {
      legal_name: 'Tenant Platform Inc',
      address: '1 Market St, San Francisco',
      country: 'US',
      registrations: [],
    });
    // 1 USD = 0.9 EUR, for the threshold invoice (issued on March 10th) and the period end.
    await api.ok('POST', '/v1/fx_rates', {
      rates: [
        { base: 'USD', quote: 'EUR', rate: '0.9', as_of: '2026-03-08T00:00:00Z', source: 'bank' },
        { base: 'USD', quote: 'EUR', rate: '0.9', as_of: '2026-03-31T00:00:00Z', source: 'bank' },
      ],
    });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-to-resellers', '0.010') });
    await api.ok('POST', '/v1/plans', {
      code: 'reseller',
      name: 'Reseller',
      price_book: 'tenant-to-resellers',
      interval: 'month',
      invoice_grace_hours: 0,
      progressive_thresholds: ['15'],
    });
    // The German reseller: billed in EUR by the tenant, a VAT-registered business.
    await customer('de-res', 'tenant-to-resellers', {
      is_reseller: true,
      name: 'Rhein Compute',
      currency: 'EUR',
      country: 'DE',
      tax_id: 'DE136695976',
    });
    await api.ok('POST', '/v1/customers/de-res/subscriptions', { plan: 'reseller', started_at: march });
    await customer('plain-res', 'tenant-to-resellers', { is_reseller: true, currency: 'USD', country: 'US' });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('de-res-retail', '0.020'), owner_customer_id: 'de-res' });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('plain-retail', '0.020'),
      owner_customer_id: 'plain-res',
    });
    await customer('u-de', 'de-res-retail', {
      parent_id: 'de-res',
      currency: 'USD',
      country: 'DE',
      tax_status: 'consumer',
    });
    await customer('u-fr-biz', 'de-res-retail', {
      parent_id: 'de-res',
      currency: 'USD',
      country: 'FR',
      tax_id: 'FR40303265045',
    });
    // Billed in EUR from its reseller's USD book.
    await customer('u-fr', 'de-res-retail', { parent_id: 'de-res', currency: 'EUR', country: 'FR' });
    await customer('u-plain', 'plain-retail', { parent_id: 'plain-res', currency: 'USD', country: 'DE' });
    // Two levels down: a French reseller buying from the German one (its seller), registered nowhere itself.
    await customer('sub-res', 'de-res-retail', {
      is_reseller: true,
      parent_id: 'de-res',
      currency: 'USD',
      country: 'FR',
      tax_id: 'FR40303265045',
    });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('sub-retail', '0.030'), owner_customer_id: 'sub-res' });
    await customer('u-sub', 'sub-retail', { parent_id: 'sub-res', currency: 'USD', country: 'DE' });
  }, 120_000);
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("sets a reseller's tax registrations and logo; refuses bad ones naming each field", async () => {
    const brand = await api.ok('PUT', '/v1/customers/de-res/brand', {
      legal_name: 'Rhein Compute GmbH',
      address: 'Rheinallee 1, 55116 Mainz',
      country: 'DE',
      tax_ids: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
      tax_registrations: [
        { jurisdiction: 'DE', tax_id: 'DE 136 695 976' },
        { jurisdiction: 'EU', tax_id: null },
      ],
      invoice_prefix: 'RHEIN',
      logo: `data:image/png;base64,${logo.bytes.toString('base64')}`,
    });
    expect(brand).toMatchObject({
      country: 'DE',
      region: null,
      prices_include_tax: false,
      tax_registrations: [
        { jurisdiction: 'DE', tax_id: 'DE136695976' },
        { jurisdiction: 'EU', tax_id: null },
      ],
      logo: { media_type: 'image/png', width: 5, height: 3, bytes: logo.bytes.length, digest: expect.any(String) },
    });
    expect(await api.ok('GET', '/v1/customers/de-res/brand')).toEqual(brand);
    await api.ok('PUT', '/v1/customers/plain-res/brand', { legal_name: 'Plain Resale LLC' });

    const refused = await api.call('PUT', '/v1/customers/plain-res/brand', {
      tax_registrations: [
        { jurisdiction: 'XX', tax_id: null },
        { jurisdiction: 'US', tax_id: null },
        { jurisdiction: 'FR', tax_id: 'FR00000000000' },
      ],
      logo: Buffer.from('GIF89a not an image we print').toString('base64'),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((d: any) => d.field).sort()).toEqual([
      'country',
      'logo',
      'tax_registrations.0.jurisdiction',
      'tax_registrations.1.jurisdiction',
      'tax_registrations.2.tax_id',
    ]);
    for (const bad of [
      '%%%',
      Buffer.alloc(300 * 1024, 1).toString('base64'),
      logo.bytes.subarray(0, 40).toString('base64'),
    ]) {
      const response = await api.call('PUT', '/v1/customers/plain-res/brand', { logo: bad });
      expect(response.status, bad.slice(0, 20)).toBe(400);
      expect(response.body.error.details).toEqual([{ field: 'logo', reason: expect.any(String) }]);
    }
    // Nothing of the refused bodies was stored.
    expect(await api.ok('GET', '/v1/customers/plain-res/brand')).toMatchObject({ tax_registrations: [], logo: null });
  });

  it("itemises the reseller's converted threshold invoice by child, frozen as issued", async () => {
    // 1M tokens each: the end user pays 20.00 USD, the reseller 10.00 USD for it. 20.00 crosses its 15.00.
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(
      tokens('de-1', 'u-de', 1_000_000, '2026-03-05T00:00:00Z'),
      tokens('fr-biz-1', 'u-fr-biz', 1_000_000, '2026-03-05T00:00:00Z'),
    );
    await jobs.tick();
    thresholdBefore = (await api.ok('GET', '/v1/invoices?customer_id=de-res')).data.find(
      (i: any) => i.billing_reason === 'threshold',
    );
    expect(thresholdBefore).toMatchObject({
      status: 'finalized',
      currency: 'EUR',
      fx: { from: 'USD', to: 'EUR', rate: '0.9' },
      subtotal: '18.000000000',
      total: '18.000000000',
      tax: { rule: 'eu_reverse_charge', mention: 'Reverse charge' },
    });
    expect(thresholdBefore.breakdown).toEqual({
      currency: 'EUR',
      children: [
        { customer_id: 'u-de', name: null, events: '1', amount: '9.000000000', amount_exact: '9.000000000' },
        { customer_id: 'u-fr-biz', name: null, events: '1', amount: '9.000000000', amount_exact: '9.000000000' },
      ],
      own_usage: { amount: '0.000000000', amount_exact: '0.000000000' },
      usage_subtotal: { amount: '18.000000000', amount_exact: '18.000000000' },
    });
  });

  it("taxes each child's invoice as the reseller's sale, in the child's currency, totals = lines + tax", async () => {
    harness.clock.set('2026-03-20T00:00:00Z');
    await api.events(
      tokens('fr-1', 'u-fr', 1_000_000, '2026-03-15T00:00:00Z'),
      tokens('plain-1', 'u-plain', 1_000_000, '2026-03-15T00:00:00Z'),
      tokens('sub-1', 'u-sub', 1_000_000, '2026-03-15T00:00:00Z'),
    );
    harness.clock.set('2026-04-01T02:00:00Z');
    await jobs.tick();
    await jobs.tick();
    for (const id of ['u-de', 'u-fr-biz', 'u-fr', 'u-plain', 'de-res', 'plain-res', 'sub-res', 'u-sub'])
      invoices[id] = (await api.ok('GET', '/v1/invoices?customer_id=' + id)).data.find(
        (i: any) => i.billing_reason === 'period_end' && i.period.start === march,
      );
    for (const [id, invoice] of Object.entries(invoices)) {
      expect(invoice?.status, id).toBe('finalized');
      const lines = sum(invoice.lines.map((l: any) => l.amount));
      expect(nano(invoice.total), id).toBe(lines + nano(invoice.tax_amount));
    }
    // At home: German VAT, 19% of 20.00.
    expect(invoices['u-de']).toMatchObject({
      number: expect.stringMatching(/^RHEIN-\d{6}$/),
      currency: 'USD',
      subtotal: '20.000000000',
      tax_amount: '3.800000000',
      total: '23.800000000',
      tax: { rule: 'eu_domestic', jurisdiction: 'DE', components: [{ rate: '0.19', amount: '3.800000000' }] },
    });
    // A French business with a VAT id: the reverse charge, and its mention.
    expect(invoices['u-fr-biz']).toMatchObject({
      currency: 'USD',
      tax_amount: '0.000000000',
      total: '20.000000000',
      tax: { rule: 'eu_reverse_charge', jurisdiction: 'FR', mention: 'Reverse charge' },
    });
    // A French consumer, billed in EUR (20.00 USD at 0.9): French VAT through the reseller's OSS registration.
    expect(invoices['u-fr']).toMatchObject({
      currency: 'EUR',
      fx: { from: 'USD', to: 'EUR', rate: '0.9' },
      subtotal: '18.000000000',
      tax_amount: '3.600000000',
      total: '21.600000000',
      tax: { rule: 'eu_oss', jurisdiction: 'FR', components: [{ rate: '0.20', amount: '3.600000000' }] },
    });
    // A reseller registered nowhere charges no tax, and says so.
    expect(invoices['u-plain']).toMatchObject({
      tax_amount: '0.000000000',
      total: '20.000000000',
      tax: { rule: 'outside_registrations', mention: expect.stringContaining('No tax charged') },
    });
    // The reseller's own invoice is the tenant's sale (US, registered nowhere) to a German business: reverse charge.
    expect(invoices['de-res']).toMatchObject({
      issuer: null,
      currency: 'EUR',
      fx: { from: 'USD', to: 'EUR', rate: '0.9' },
      tax: { rule: 'eu_reverse_charge', jurisdiction: 'DE', mention: 'Reverse charge' },
      tax_amount: '0.000000000',
    });
    // Two levels down, each level is its seller's sale: the French reseller's invoice is the German reseller's
    // (reverse charge to a French business, 1M tokens at its 0.020), its end user's is its own (registered nowhere).
    expect(invoices['sub-res']).toMatchObject({
      issuer: { customer_id: 'de-res' },
      subtotal: '20.000000000',
      tax: { rule: 'eu_reverse_charge', jurisdiction: 'FR', mention: 'Reverse charge' },
      total: '20.000000000',
    });
    expect(invoices['u-sub']).toMatchObject({
      issuer: { customer_id: 'sub-res' },
      subtotal: '30.000000000',
      tax: { rule: 'outside_registrations' },
      total: '30.000000000',
    });
    // The tax record names each invoice's seller: the reseller for its children, the tenant for the reseller.
    const document = async (id: string) => (await raw(`/v1/invoices/${invoices[id].id}/html`)).bytes.toString();
    expect(await document('u-de')).toContain('Rhein Compute GmbH');
    expect(await document('de-res')).toContain('Tenant Platform Inc');
    expect(await document('u-fr-biz')).toContain('Reverse charge');
  });

  it("itemises the reseller's converted period invoice by child, reconciling exactly; the threshold's stays as issued", async () => {
    const invoice = invoices['de-res'];
    // 40.00 USD of usage at 0.9, less the 18.00 EUR the threshold invoice billed.
    expect(invoice.lines.find((l: any) => l.kind === 'progressive_billing').amount).toBe('-18.000000000');
    expect(invoice.total).toBe('18.000000000');
    expect(invoice.breakdown.children.map((c: any) => [c.customer_id, c.amount_exact, c.amount])).toEqual([
      ['sub-res', '9.000000000', '9.000000000'],
      ['u-de', '9.000000000', '9.000000000'],
      ['u-fr', '9.000000000', '9.000000000'],
      ['u-fr-biz', '9.000000000', '9.000000000'],
    ]);
    const parts = [...invoice.breakdown.children, invoice.breakdown.own_usage];
    const usage = invoice.lines.filter((l: any) => ['usage', 'allowance', 'discount', 'commitment'].includes(l.kind));
    expect(sum(parts.map((p: any) => p.amount_exact))).toBe(sum(usage.map((l: any) => l.amount_exact)));
    expect(sum(parts.map((p: any) => p.amount))).toBe(sum(usage.map((l: any) => l.amount)));
    expect(invoice.breakdown.usage_subtotal.amount).toBe('36.000000000');
    const threshold = await api.ok('GET', `/v1/invoices/${thresholdBefore.id}`);
    expect(threshold.breakdown).toEqual(thresholdBefore.breakdown);
  });

  it("embeds the reseller's logo in its children's PDF and HTML, pixel for pixel", async () => {
    expect(await ensurePoppler()).toBeUndefined();
    const pdf = await raw(`/v1/invoices/${invoices['u-de'].id}/pdf`);
    expect(pdf.status).toBe(200);
    const file = path.join(directory, 'u-de.pdf');
    await writeFile(file, pdf.bytes);
    const list = (await execute('pdfimages', ['-list', file])).stdout.trim().split('\n').slice(2);
    expect(list).toHaveLength(1);
    expect(list[0].trim().split(/\s+/).slice(2, 8)).toEqual(['image', '5', '3', 'rgb', '3', '8']);
    // Extracted as PPM (P6): the same pixels as uploaded.
    await execute('pdfimages', [file, path.join(directory, 'logo')]);
    const ppm = await readFile(path.join(directory, 'logo-000.ppm'));
    const header = 'P6\n5 3\n255\n';
    expect(ppm.subarray(0, header.length).toString('latin1')).toBe(header);
    expect(ppm.subarray(header.length).equals(logo.rgb)).toBe(true);
    const html = (await raw(`/v1/invoices/${invoices['u-de'].id}/html`)).bytes.toString();
    expect(html).toContain(`<img src="data:image/png;base64,${logo.bytes.toString('base64')}"`);
    // The tenant's own invoice (to the reseller) carries no logo.
    const own = path.join(directory, 'de-res.pdf');
    await writeFile(own, (await raw(`/v1/invoices/${invoices['de-res'].id}/pdf`)).bytes);
    expect((await execute('pdfimages', ['-list', own])).stdout.trim().split('\n').slice(2)).toEqual([]);
  });

  it('refuses a book in another currency than the rest of its reseller chain, naming price_book', async () => {
    // Each level is billed in its own currency (above), but the chain rates in one: the reseller's USD.
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('plain-eur', '0.020', 'EUR'),
      owner_customer_id: 'plain-res',
    });
    await api.ok('POST', '/v1/customers', { external_id: 'u-new', parent_id: 'plain-res', currency: 'EUR' });
    const refused = await api.call('PUT', '/v1/customers/u-new/price_book', {
      price_book: 'plain-eur',
      effective_from: '2026-04-01T00:00:00Z',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'chain_currency_mismatch',
      details: [{ field: 'price_book', reason: expect.stringContaining('plain-res') }],
    });
    // The reseller's own book may not leave its children's currency either.
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-eur', '0.010', 'EUR') });
    const reseller = await api.call('PUT', '/v1/customers/plain-res/price_book', {
      price_book: 'tenant-eur',
      effective_from: '2026-04-02T00:00:00Z',
    });
    expect(reseller.status).toBe(422);
    expect(reseller.body.error.details).toEqual([{ field: 'price_book', reason: expect.any(String) }]);
    // A book in the chain's currency is taken, for a child billed in EUR.
    await api.ok('PUT', '/v1/customers/u-new/price_book', {
      price_book: 'plain-retail',
      effective_from: '2026-04-01T00:00:00Z',
    });
  });
});
