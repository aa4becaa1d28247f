// Tax end to end: a German tenant registered at home and for the OSS bills customers across the EU and beyond;
// period close taxes each invoice by its rule (domestic, reverse charge, OSS, outside the registrations), the ledger
// holds the tax owed per jurisdiction, credit notes mirror the invoice's tax, the tax report and its CSV sum it,
// and the invoice and credit note documents (PDF read back with pdftotext, HTML) carry the legal fields.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { ensurePoppler, pdfText, renderFirstPage } from '../harness/poppler.ts';
import { billingBook, client, createProPlan, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const settings = {
  legal_name: 'Inferenz GmbH',
  address: 'Torstrasse 1\n10119 Berlin',
  country: 'DE',
  payment_terms_days: 14,
  registrations: [
    { jurisdiction: 'DE', tax_id: 'DE136695976' },
    { jurisdiction: 'EU', tax_id: null },
  ],
};

describe('tax on invoices', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let directory: string;
  let poppler: string | undefined;
  const invoices: Record<string, any> = {};

  const raw = async (pathname: string) => {
    const response = await fetch(harness.url + pathname, { headers: { authorization: `Bearer ${tenant.secretKey}` } });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: Buffer.from(await response.arrayBuffer()),
    };
  };

  beforeAll(async () => {
    poppler = await ensurePoppler();
    directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-tax-'));
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('PUT', '/v1/tax/settings', settings);
    await createProPlan(api, { allowances: { tokens: '1000000' } }, { ...billingBook, id: 'ai-eur', currency: 'EUR' });
    const customers = [
      {
        external_id: 'de-biz',
        name: 'Berliner Daten AG',
        country: 'DE',
        tax_id: 'DE 136 695 976',
        address: 'Unter den Linden 5\n10117 Berlin',
      },
      {
        external_id: 'fr-biz',
        name: 'Société Lyonnaise SA',
        country: 'FR',
        tax_id: 'FR40303265045',
        address: '1 rue de la République\n69001 Lyon',
      },
      { external_id: 'fr-consumer', name: 'Camille Martin', country: 'FR', address: '5 avenue Foch, Paris' },
      { external_id: 'us-consumer', name: 'Jo Smith', country: 'US', region: 'NY' },
      { external_id: 'nowhere', name: 'No Address Ltd' },
    ];
    for (const c of customers) {
      await api.ok('POST', '/v1/customers', { ...c, currency: 'EUR' });
      await api.ok('POST', `/v1/customers/${c.external_id}/subscriptions`, {
        plan: 'pro',
        started_at: '2026-03-01T00:00:00Z',
      });
    }
    harness.clock.set('2026-03-20T00:00:00Z');
    for (const c of customers) {
      // 1.75M tokens: 1M included, 750k over at 0.02 per 1,000 = 15; with the base fee, 115.00 of lines.
      await api.events(
        tokens(`${c.external_id}-1`, c.external_id, 1_000_000, '2026-03-02T00:00:00Z'),
        tokens(`${c.external_id}-2`, c.external_id, 750_000, '2026-03-03T00:00:00Z'),
      );
    }
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    for (const c of customers) invoices[c.external_id] = await api.invoiceOf(c.external_id, '2026-03-01T00:00:00.000Z');
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('taxes a domestic business at the German rate, added on top of the lines', () => {
    expect(invoices['de-biz']).toMatchObject({
      status: 'finalized',
      subtotal: '115.000000000',
      tax_amount: '21.850000000',
      total: '136.850000000',
      amount_due: '136.850000000',
      tax: {
        rule: 'eu_domestic',
        jurisdiction: 'DE',
        mention: null,
        prices_include_tax: false,
        rounding: { scope: 'invoice', mode: 'half_up' },
        components: [
          { tax: 'VAT', jurisdiction: 'DE', rate: '0.19', taxable: '115.000000000', amount: '21.850000000' },
        ],
        line_tax: ['19.000000000', '2.850000000', '0.000000000'],
        supply_date: '2026-03-31',
      },
    });
    expect(invoices['de-biz'].tax.rate_source).toContain('European Commission');
  });

  it('reverse charges a French business with a valid VAT id, naming Article 196', () => {
    expect(invoices['fr-biz']).toMatchObject({
      subtotal: '115.000000000',
      tax_amount: '0.000000000',
      total: '115.000000000',
      tax: { rule: 'eu_reverse_charge', mention: 'Reverse charge', components: [] },
    });
    expect(invoices['fr-biz'].tax.legal_basis).toContain('Article 196 of Directive 2006/112/EC');
  });

  it("charges a French consumer France's rate through the OSS, and an American consumer nothing", () => {
    expect(invoices['fr-consumer']).toMatchObject({
      tax_amount: '23.000000000',
      total: '138.000000000',
      tax: { rule: 'eu_oss', jurisdiction: 'FR', components: [{ rate: '0.20' }] },
    });
    expect(invoices['us-consumer']).toMatchObject({
      tax_amount: '0.000000000',
      total: '115.000000000',
      tax: { rule: 'outside_registrations', jurisdiction: null },
    });
    expect(invoices['us-consumer'].tax.mention).toContain('No tax charged');
  });

  it('leaves a customer without a country as a draft, and finalizing it says why', async () => {
    expect(invoices.nowhere).toMatchObject({ status: 'draft', tax: null, tax_amount: '0.000000000' });
    const response = await api.call('POST', `/v1/invoices/${invoices.nowhere.id}/finalize`);
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'customer_country_missing', details: [{ field: 'country' }] });
    expect((await api.ok('GET', `/v1/invoices/${invoices.nowhere.id}`)).status).toBe('draft');
  });

  it('posts the tax to a liability per tax and jurisdiction, and the ledger balances', async () => {
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    const balance = (code: string) => accounts.find((a) => a.code === code)?.balance;
    expect(balance('tax:VAT:DE:EUR')).toBe('21.850000000');
    expect(balance('tax:VAT:FR:EUR')).toBe('23.000000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('reports the period by jurisdiction, tax, rate and rule, as JSON and CSV', async () => {
    const report = await api.ok('GET', '/v1/tax/report?from=2026-04-01&to=2026-04-30');
    expect(report.data).toEqual([
      {
        jurisdiction: 'DE',
        tax: 'VAT',
        rate: '0.19',
        rule: 'eu_domestic',
        currency: 'EUR',
        documents: 1,
        taxable: '115.000000000',
        tax_amount: '21.850000000',
      },
      {
        jurisdiction: 'FR',
        tax: '',
        rate: '0',
        rule: 'eu_reverse_charge',
        currency: 'EUR',
        documents: 1,
        taxable: '115.000000000',
        tax_amount: '0.000000000',
      },
      {
        jurisdiction: 'FR',
        tax: 'VAT',
        rate: '0.20',
        rule: 'eu_oss',
        currency: 'EUR',
        documents: 1,
        taxable: '115.000000000',
        tax_amount: '23.000000000',
      },
      {
        jurisdiction: 'US',
        tax: '',
        rate: '0',
        rule: 'outside_registrations',
        currency: 'EUR',
        documents: 1,
        taxable: '115.000000000',
        tax_amount: '0.000000000',
      },
    ]);
    const csv = await raw('/v1/tax/report.csv?from=2026-04-01&to=2026-04-30');
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.body.toString().split('\r\n')).toEqual([
      'jurisdiction,tax,rate,rule,currency,documents,taxable,tax_amount',
      'DE,VAT,0.19,eu_domestic,EUR,1,115.000000000,21.850000000',
      'FR,,0,eu_reverse_charge,EUR,1,115.000000000,0.000000000',
      'FR,VAT,0.20,eu_oss,EUR,1,115.000000000,23.000000000',
      'US,,0,outside_registrations,EUR,1,115.000000000,0.000000000',
      '',
    ]);
    const bad = await api.call('GET', '/v1/tax/report?from=2026-04-30&to=2026-04-01');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: 'to', reason: 'must be on or after from' }]);
  });

  it('renders the invoice as a PDF with every legal field, and page 1 as an image', async (context) => {
    if (poppler) context.skip(poppler);
    const invoice = invoices['de-biz'];
    const pdf = await raw(`/v1/invoices/${invoice.id}/pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    const text = (await pdfText(pdf.body, directory, 'de-biz')).replace(/[ \t]+/g, ' ');
    for (const field of [
      `Invoice ${invoice.number}`,
      'Issue date: 2026-04-01',
      'Supply period: 2026-03-01 to 2026-03-31',
      'Currency: EUR',
      'Inferenz GmbH',
      'Torstrasse 1',
      '10119 Berlin',
      'Tax id: DE136695976 (DE)',
      'Berliner Daten AG',
      'Unter den Linden 5',
      'Tax id: DE136695976',
      'Pro base fee',
      'llm/tokens: tokens (model llama-3-70b)',
      'Subtotal 115.00',
      'VAT 19% (DE) on 115.00 21.85',
      'Total due (EUR) 136.85',
      'Payment due within 14 days of the issue date, by 2026-04-15.',
    ]) {
      expect(text).toContain(field);
    }
    const image = await renderFirstPage(pdf.body, directory, 'de-biz');
    expect((await stat(image)).size).toBeGreaterThan(10_000);
  });

  it('prints the reverse-charge mention and its legal basis on the PDF and the HTML', async (context) => {
    const invoice = invoices['fr-biz'];
    const html = await raw(`/v1/invoices/${invoice.id}/html`);
    expect(html.status).toBe(200);
    expect(html.type).toContain('text/html');
    const page = html.body.toString();
    expect(page).toContain('<p class="mention">Reverse charge</p>');
    expect(page).toContain('Article 196 of Directive 2006/112/EC');
    expect(page).toContain('Société Lyonnaise SA');
    expect(page).toContain('FR40303265045');
    if (poppler) context.skip(poppler);
    const text = (await pdfText((await raw(`/v1/invoices/${invoice.id}/pdf`)).body, directory, 'fr-biz')).replace(
      /\s+/g,
      ' ',
    );
    expect(text).toContain('Reverse charge');
    expect(text).toContain('Article 196 of Directive 2006/112/EC');
    expect(text).toContain('Société Lyonnaise SA');
    expect(text).toContain('Total due (EUR) 115.00');
  });

  it("credits half, then the rest, each credit note carrying its mirrored share of the invoice's tax", async (context) => {
    const invoice = invoices['de-biz'];
    const half = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'Outage', amount: '57.50' });
    // 21.85 x 57.50 / 115.00 = 10.925, half up: 10.93.
    expect(half).toMatchObject({
      subtotal: '57.500000000',
      tax_amount: '10.930000000',
      total: '68.430000000',
      tax: { components: [{ tax: 'VAT', jurisdiction: 'DE', amount: '10.930000000' }] },
    });
    const rest = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'Goodwill' });
    // What is left of the tax, exactly: 21.85 - 10.93.
    expect(rest).toMatchObject({ subtotal: '57.500000000', tax_amount: '10.920000000', total: '68.420000000' });
    const accounts = (await api.ok('GET', '/v1/ledger/accounts')).data as any[];
    expect(accounts.find((a) => a.code === 'tax:VAT:DE:EUR').balance).toBe('0.000000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
    const report = await api.ok('GET', '/v1/tax/report?from=2026-04-01&to=2026-04-30');
    expect(report.data[0]).toMatchObject({
      jurisdiction: 'DE',
      rule: 'eu_domestic',
      documents: 3,
      taxable: '0.000000000',
      tax_amount: '0.000000000',
    });
    if (poppler) context.skip(poppler);
    const text = (await pdfText((await raw(`/v1/credit_notes/${half.id}/pdf`)).body, directory, 'credit')).replace(
      /[ \t]+/g,
      ' ',
    );
    for (const field of [
      `Credit note ${half.number}`,
      `Corrects: Invoice ${invoice.number} of 2026-04-01. Reason: Outage`,
      'VAT 19% (DE) on 57.50 10.93',
      'Total credited (EUR) 68.43',
      'Inferenz GmbH',
      'Berliner Daten AG',
    ]) {
      expect(text).toContain(field);
    }
  });

  it('refuses a draft document, malformed and foreign tax ids, and unknown registrations, naming the field', async () => {
    expect((await api.call('GET', `/v1/invoices/${invoices.nowhere.id}/pdf`)).status).toBe(409);
    const malformed = await api.call('POST', '/v1/customers', {
      external_id: 'bad-id',
      currency: 'EUR',
      country: 'DE',
      tax_id: 'DE136695977',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'tax_id_malformed', details: [{ field: 'tax_id' }] });
    const foreign = await api.call('POST', '/v1/customers', {
      external_id: 'foreign-id',
      currency: 'EUR',
      country: 'DE',
      tax_id: 'FR40303265045',
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toMatchObject({
      code: 'tax_id_of_another_country',
      details: [{ field: 'tax_id', reason: 'is a FR tax id, but the customer is in DE' }],
    });
    const moved = await api.call('PATCH', '/v1/customers/fr-biz', { country: 'IT' });
    expect(moved.status).toBe(400);
    expect(moved.body.error.code).toBe('tax_id_of_another_country');
    const exempt = await api.call('PATCH', '/v1/customers/fr-consumer', { tax_status: 'exempt' });
    expect(exempt.status).toBe(400);
    expect(exempt.body.error.details).toEqual([
      { field: 'tax_exempt_reason', reason: 'required when tax_status is exempt' },
    ]);
    const unknown = await api.call('PUT', '/v1/tax/settings', {
      ...settings,
      registrations: [
        { jurisdiction: 'BR', tax_id: null },
        { jurisdiction: 'DE', tax_id: 'DE136695977' },
      ],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.map((d: any) => d.field)).toEqual([
      'registrations.0.jurisdiction',
      'registrations.1.tax_id',
    ]);
  });

  it('checks a VAT id online when it can, and goes on billing when VIES cannot be reached', async () => {
    const check = await api.ok('POST', '/v1/customers/fr-biz/tax_id/verify');
    expect(check.status).toBe('unavailable');
    expect((await api.ok('GET', '/v1/customers/fr-biz')).tax_id_check).toBeNull();
  });
});
