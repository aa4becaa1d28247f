// Resellers as issuers, over the public API: a reseller's brand (portal look plus seller profile) with its errors
// naming fields; its children's invoices numbered from its own gapless sequence (two resellers and the tenant
// interleaved, one at a time and in the scheduler's batch), printed with its legal name, address, tax ids, logo and
// reply-to as the seller, and collected through its Stripe account (Connect: the Stripe-Account header on every
// request); and the reseller's own invoice from the tenant itemised by child from chain_daily, reconciling with the
// invoice's usage subtotal.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePoppler, pdfText } from '../harness/poppler.ts';
import { exampleBook } from '../service/harness.ts';
import {
  connectStripe,
  saveCard,
  startPaymentsScenario,
  stopPaymentsScenario,
  type PaymentsScenario,
} from '../payments/setup.ts';
import { eventually } from '../wait.ts';

const feb = '2026-02-01T00:00:00.000Z';
const mar = '2026-03-01T00:00:00.000Z';

describe('reseller brands and reseller-issued invoices', () => {
  let scenario: PaymentsScenario;
  let resellerAccount: { id: string };
  let directory: string;
  /** The reseller's own March event (its ack), itemised beside its children's in the last test. */
  const resellerUsage: Record<string, any> = {};

  const raw = async (pathname: string) => {
    const response = await fetch(scenario.harness.url + pathname, {
      headers: { authorization: `Bearer ${scenario.tenant.secretKey}` },
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: bytes.toString(), bytes };
  };

  /** Usage of one event: 1M input and 1M output tokens of gpt-4o = 12.50 USD at the example book. */
  const usage = async (id: string, customer: string, timestamp: string, tokens = 1_000_000) => {
    const [event] = await scenario.api.events({
      transaction_id: id,
      customer_id: customer,
      event_type: 'llm.completion',
      timestamp,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: tokens, output_tokens: tokens },
    });
    expect(event.status, JSON.stringify(event)).toBe('accepted');
    return event;
  };

  /** Closes the customer's ended period and finalizes its invoice now. */
  const issue = async (customer: string, periodStart: string) => {
    const closed = await scenario.api.ok('POST', `/v1/customers/${customer}/periods/close`, {
      period_start: periodStart,
    });
    const [invoice] = closed.data;
    return invoice.status === 'draft' ? scenario.api.ok('POST', `/v1/invoices/${invoice.id}/finalize`) : invoice;
  };

  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-reseller-'));
    scenario = await startPaymentsScenario({ now: '2026-03-01T12:00:00Z' });
    const { api, double, harness, tenant } = scenario;
    const { account: platform } = await connectStripe(api, double, harness.url, tenant.slug);
    // The reseller's own Stripe account, connected to the tenant's: its events reach the tenant's Connect endpoint.
    resellerAccount = double.createAccount({ platform: platform.id });
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    const customers = [
      { external_id: 'r-one', name: 'Reseller One', is_reseller: true },
      { external_id: 'r-two', name: 'Reseller Two', is_reseller: true },
      { external_id: 'a1', name: 'Alpha One', parent_id: 'r-one' },
      { external_id: 'a2', name: 'Alpha Two', parent_id: 'r-one' },
      { external_id: 'b1', name: 'Beta One', parent_id: 'r-two' },
      { external_id: 'b2', name: 'Beta Two', parent_id: 'r-two' },
      { external_id: 'd1', name: 'Direct One' },
      { external_id: 'd2', name: 'Direct Two' },
    ];
    for (const c of customers)
      await api.ok('POST', '/v1/customers', { currency: 'USD', email: `${c.external_id}@example.com`, ...c });
    // A reseller's end users are priced by a book the reseller owns (migration 080).
    for (const reseller of ['r-one', 'r-two'])
      await api.ok('POST', '/v1/price_books', { book: exampleBook(`llm-${reseller}`), owner_customer_id: reseller });
    for (const c of customers)
      await api.ok('PUT', `/v1/customers/${c.external_id}/price_book`, {
        price_book: 'parent_id' in c ? `llm-${c.parent_id}` : 'llm',
        effective_from: '2020-01-01T00:00:00Z',
      });
  }, 120_000);
  afterAll(() => stopPaymentsScenario(scenario));

  it('sets and reads a reseller brand; refuses bad input naming each field, and non-resellers', async () => {
    const { api } = scenario;
    const brand = await api.ok('PUT', '/v1/customers/r-one/brand', {
      display_name: 'One Cloud',
      logo_url: 'https://one.example/logo.png',
      accent_color: '#112233',
      legal_name: 'One Cloud GmbH',
      address: 'Hauptstrasse 1\n10115 Berlin',
      country: 'DE',
      tax_ids: [{ jurisdiction: 'DE', tax_id: 'DE 136 695 976' }],
      invoice_prefix: 'ONE',
      currency: 'EUR',
      reply_to: 'billing@one.example',
      stripe_account: resellerAccount.id,
    });
    expect(brand).toEqual({
      customer_id: 'r-one',
      display_name: 'One Cloud',
      logo_url: 'https://one.example/logo.png',
      accent_color: '#112233',
      legal_name: 'One Cloud GmbH',
      address: 'Hauptstrasse 1\n10115 Berlin',
      country: 'DE',
      region: null,
      tax_ids: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
      tax_registrations: [],
      prices_include_tax: false,
      logo: null,
      invoice_prefix: 'ONE',
      currency: 'EUR',
      reply_to: 'billing@one.example',
      stripe_account: resellerAccount.id,
      updated_at: expect.any(String),
    });
    // A child created without a currency gets the reseller's.
    const child = await api.ok('POST', '/v1/customers', { external_id: 'a-eur', parent_id: 'r-one' });
    expect(child.currency).toBe('EUR');
    // Absent fields stay; null clears.
    const changed = await api.ok('PUT', '/v1/customers/r-one/brand', { currency: null });
    expect(changed).toEqual({ ...brand, currency: null, updated_at: expect.any(String) });
    expect(await api.ok('GET', '/v1/customers/r-one/brand')).toEqual(changed);
    // The portal's brand of its children is the same look.
    await api.ok('PUT', '/v1/customers/r-two/brand', { legal_name: 'Two Ltd', invoice_prefix: 'TWO' });

    const refused = await api.call('PUT', '/v1/customers/r-two/brand', {
      invoice_prefix: 'two-',
      currency: 'XYZ',
      stripe_account: 'acc_123',
      reply_to: 'not an email',
      tax_ids: [{ jurisdiction: 'Ger', tax_id: 'x' }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((d: any) => d.field).sort()).toEqual([
      'currency',
      'invoice_prefix',
      'reply_to',
      'stripe_account',
      'tax_ids.0.jurisdiction',
    ]);
    const badTaxId = await api.call('PUT', '/v1/customers/r-two/brand', {
      tax_ids: [
        { jurisdiction: 'GB', tax_id: 'GB980780684' },
        { jurisdiction: 'DE', tax_id: 'DE136695977' },
      ],
    });
    expect(badTaxId.status).toBe(400);
    expect(badTaxId.body.error).toMatchObject({
      code: 'invalid_tax_id',
      details: [{ field: 'tax_ids.1.tax_id', reason: expect.stringContaining('DE') }],
    });
    const notReseller = await api.call('PUT', '/v1/customers/d1/brand', { legal_name: 'Direct' });
    expect(notReseller.status).toBe(422);
    expect(notReseller.body.error).toMatchObject({ code: 'not_a_reseller', details: [{ field: 'id' }] });
    expect((await api.call('GET', '/v1/customers/nobody/brand')).status).toBe(404);
    // Without a brand currency (or any parent), a new customer must name its currency.
    for (const body of [{ external_id: 'a-none', parent_id: 'r-one' }, { external_id: 'no-parent' }]) {
      const missing = await api.call('POST', '/v1/customers', body);
      expect(missing.status).toBe(400);
      expect(missing.body.error.details).toEqual([
        { field: 'currency', reason: expect.stringContaining('is required') },
      ]);
    }
    // Nothing of the refused bodies was stored.
    expect(await api.ok('GET', '/v1/customers/r-two/brand')).toMatchObject({
      invoice_prefix: 'TWO',
      currency: null,
      tax_ids: [],
      stripe_account: null,
    });
  });

  it("numbers each reseller's children's invoices from its own gapless sequence, the tenant's untouched", async () => {
    for (const customer of ['a1', 'a2', 'b1', 'b2', 'd1', 'd2'])
      await usage(`${customer}-feb`, customer, '2026-02-10T00:00:00Z');
    const numbers: Record<string, string> = {};
    for (const customer of ['a1', 'b1', 'd1', 'a2', 'd2', 'b2']) {
      const invoice = await issue(customer, feb);
      expect(invoice).toMatchObject({ status: 'finalized', total: '12.500000000' });
      numbers[customer] = invoice.number;
    }
    expect(numbers).toEqual({
      a1: 'ONE-000001',
      a2: 'ONE-000002',
      b1: 'TWO-000001',
      b2: 'TWO-000002',
      d1: 'INV-000001',
      d2: 'INV-000002',
    });
    const a1 = await scenario.api.invoiceOf('a1', feb);
    expect(a1.issuer).toEqual({
      customer_id: 'r-one',
      name: 'One Cloud',
      legal_name: 'One Cloud GmbH',
      address: 'Hauptstrasse 1\n10115 Berlin',
      country: 'DE',
      tax_ids: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
      logo_url: 'https://one.example/logo.png',
      reply_to: 'billing@one.example',
    });
    expect((await scenario.api.invoiceOf('d1', feb)).issuer).toBeNull();

    // March closed by the scheduler's batch: each issuer's sequence goes on where it stopped.
    scenario.harness.clock.set(new Date('2026-03-20T00:00:00Z'));
    for (const customer of ['a1', 'b1', 'd1', 'a2']) await usage(`${customer}-mar`, customer, '2026-03-10T00:00:00Z');
    // The reseller's March usage at its cost: what its children's events cost it (the chain rating bills each
    // reseller level) and one event of its own; the last test says which child each part came from.
    await usage('a2-mar-b', 'a2', '2026-03-13T00:00:00Z', 123_457);
    resellerUsage.own = await usage('r-one-own', 'r-one', '2026-03-14T00:00:00Z', 333_333);
    scenario.harness.clock.set(new Date('2026-04-01T12:00:00Z'));
    await scenario.jobs.tick();
    const march: Record<string, string> = {};
    for (const customer of ['a1', 'b1', 'd1', 'a2']) {
      const invoice = await scenario.api.invoiceOf(customer, mar);
      expect(invoice.status, customer).not.toBe('draft');
      march[customer] = invoice.number;
    }
    expect(new Set([march.a1, march.a2])).toEqual(new Set(['ONE-000003', 'ONE-000004']));
    expect(march.b1).toBe('TWO-000003');
    // The resellers' own invoices (what their children's usage cost them, February's and March's) are the
    // tenant's (their parent's): the batch numbers them beside the direct customer's, gapless.
    const tenantIssued = [march.d1];
    for (const customer of ['r-one', 'r-two'])
      for (const start of [feb, mar]) {
        const invoice = await scenario.api.invoiceOf(customer, start);
        expect(invoice.issuer, `${customer} ${start}`).toBeNull();
        tenantIssued.push(invoice.number);
      }
    expect(new Set(tenantIssued)).toEqual(
      new Set(['INV-000003', 'INV-000004', 'INV-000005', 'INV-000006', 'INV-000007']),
    );
  });

  it("prints the reseller as the seller of its child's invoice, never the tenant", async () => {
    const { api } = scenario;
    await api.ok('PUT', '/v1/tax/settings', {
      legal_name: 'Tenant Platform Inc',
      address: '1 Market St\nSan Francisco',
      country: 'US',
      registrations: [],
    });
    const a1 = await api.invoiceOf('a1', feb);
    const html = await raw(`/v1/invoices/${a1.id}/html`);
    expect(html.status).toBe(200);
    expect(html.type).toContain('text/html');
    const seller = html.text.slice(html.text.indexOf('<h2>Seller</h2>'), html.text.indexOf('<h2>Bill to</h2>'));
    expect(seller).toContain('One Cloud GmbH');
    expect(seller).toContain('Hauptstrasse 1<br>10115 Berlin');
    expect(seller).toContain('Tax id: DE136695976 (DE)');
    expect(seller).toContain('billing@one.example');
    expect(html.text).toContain('<img src="https://one.example/logo.png"');
    expect(html.text).toContain('ONE-000001');
    expect(html.text).not.toContain('Tenant Platform Inc');
    const pdf = await raw(`/v1/invoices/${a1.id}/pdf`);
    expect(pdf.status).toBe(200);
    expect(await ensurePoppler()).toBeUndefined();
    const printed = await pdfText(pdf.bytes, directory, 'a1');
    expect(printed).toContain('One Cloud GmbH');
    expect(printed).toContain('Tax id: DE136695976 (DE)');
    expect(printed).toContain('Contact: billing@one.example');
    expect(printed).not.toContain('Tenant Platform Inc');

    // The tenant's own invoice keeps the tenant as seller, and no logo.
    const d1 = await api.invoiceOf('d1', feb);
    const direct = await raw(`/v1/invoices/${d1.id}/html`);
    expect(direct.text).toContain('Tenant Platform Inc');
    expect(direct.text).not.toContain('One Cloud');
    expect(direct.text).not.toContain('<img');
  });

  it("numbers credit notes of a reseller's invoices from the reseller's own credit note sequence", async () => {
    const { api } = scenario;
    const credit = async (customer: string) => {
      const invoice = await api.invoiceOf(customer, feb);
      return api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'Goodwill', amount: '1' });
    };
    const numbers = [];
    for (const customer of ['b1', 'd2', 'b2']) numbers.push((await credit(customer)).number);
    expect(numbers).toEqual(['TWO-CN-000001', 'CN-000001', 'TWO-CN-000002']);
    const notes = await api.ok('GET', '/v1/credit_notes?customer_id=b1');
    const html = await raw(`/v1/credit_notes/${notes.data[0].id}/html`);
    expect(html.status).toBe(200);
    const seller = html.text.slice(html.text.indexOf('<h2>Seller</h2>'), html.text.indexOf('<h2>Bill to</h2>'));
    expect(seller).toContain('Two Ltd');
    expect(html.text).toContain('TWO-CN-000001');
    expect(html.text).not.toContain('Tenant Platform Inc');
  });

  it("collects a reseller's child through the reseller's Stripe account, and the tenant's customer through its own", async () => {
    const { api, double, jobs } = scenario;
    // The double's Checkout hook completes a connected account's session without naming the account on its events
    // (Stripe names it), so the service cannot read that card back: it is saved, not named.
    await saveCard(api, double, 'a1', 'pm_card_visa', { named: false });
    await saveCard(api, double, 'd1');
    // The reseller's child is a customer of the reseller's account, made and saved through Stripe-Account.
    const creates = double.state.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
    expect(creates.map((r) => r.stripeAccount)).toEqual([resellerAccount.id, null]);
    const sessions = double.state.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
    expect(sessions.map((r) => r.stripeAccount)).toEqual([resellerAccount.id, null]);

    await jobs.tick();
    const a1 = await api.invoiceOf('a1', feb);
    const d1 = await api.invoiceOf('d1', feb);
    const intents = double.state.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    const intentOf = (invoiceId: string) => intents.find((r) => r.idempotencyKey?.includes(invoiceId));
    expect(intentOf(a1.id)).toMatchObject({ stripeAccount: resellerAccount.id, account: resellerAccount.id });
    expect(intentOf(d1.id)).toMatchObject({ stripeAccount: null });
    expect(intentOf(d1.id)!.account).not.toBe(resellerAccount.id);
    // The reseller's account was charged for its child's invoice, and its event paid the invoice.
    expect(double.state.charges.withMetadata('tariff_invoice_id', a1.id)).toHaveLength(1);
    await eventually('the reseller-collected invoice to be paid', async () =>
      (await api.ok('GET', `/v1/invoices/${a1.id}`)).status === 'paid' ? true : undefined,
    );
  });

  it("itemises the reseller's invoice by child from chain_daily, reconciling with its usage subtotal", async () => {
    const { api, harness } = scenario;
    // chain_daily, as the chain rating wrote it, says which child each part of the reseller's usage came from:
    // each child event's receipt names what the reseller paid for it.
    const { own } = resellerUsage;
    const levelCost = async (id: string) => (await api.ok('GET', `/v1/events/${id}/receipt`)).chain[0].net as string;
    const fromA1 = { amount: await levelCost('a1-mar') };
    const fromA2 = { amount: await levelCost('a2-mar') };
    const fromA2Later = { amount: await levelCost('a2-mar-b') };

    const invoice = await api.ok('GET', `/v1/invoices/${(await api.invoiceOf('r-one', mar)).id}`);
    expect(invoice.status).not.toBe('draft');
    const nano = (amount: string) => BigInt(amount.replace('.', ''));
    const a2Exact = nano(fromA2.amount) + nano(fromA2Later.amount);
    expect(invoice.breakdown.children).toEqual([
      { customer_id: 'a1', name: 'Alpha One', events: '1', amount: expect.any(String), amount_exact: fromA1.amount },
      {
        customer_id: 'a2',
        name: 'Alpha Two',
        events: '2',
        amount: expect.any(String),
        amount_exact: expect.stringMatching(/^\d+\.\d{9}$/),
      },
    ]);
    expect(nano(invoice.breakdown.children[1].amount_exact)).toBe(a2Exact);
    // What is left is exactly the reseller's own event.
    expect(invoice.breakdown.own_usage.amount_exact).toBe(own.amount);
    const usageLines = invoice.lines.filter((l: any) =>
      ['usage', 'allowance', 'discount', 'commitment'].includes(l.kind),
    );
    const sum = (values: string[]) => values.reduce((total, v) => total + nano(v), 0n);
    expect(sum(usageLines.map((l: any) => l.amount_exact))).toBe(nano(invoice.breakdown.usage_subtotal.amount_exact));
    expect(sum(usageLines.map((l: any) => l.amount))).toBe(nano(invoice.breakdown.usage_subtotal.amount));
    // Exact and rounded: children plus own usage add up to the usage subtotal, to the nano-unit and to the cent.
    const parts = [...invoice.breakdown.children, invoice.breakdown.own_usage];
    expect(sum(parts.map((p: any) => p.amount_exact))).toBe(nano(invoice.breakdown.usage_subtotal.amount_exact));
    expect(sum(parts.map((p: any) => p.amount))).toBe(nano(invoice.breakdown.usage_subtotal.amount));
    for (const p of parts) expect(nano(p.amount) % 10_000_000n).toBe(0n);
    // The same in the list, and on the document.
    const listed = await api.invoiceOf('r-one', mar);
    expect(listed.breakdown).toEqual(invoice.breakdown);
    const html = await raw(`/v1/invoices/${invoice.id}/html`);
    expect(html.text).toContain('Usage by customer');
    expect(html.text).toContain('Alpha One (a1)');
    expect(html.text).toContain('Alpha Two (a2)');
    expect(html.text).toContain('Own usage');
    const printed = await pdfText((await raw(`/v1/invoices/${invoice.id}/pdf`)).bytes, directory, 'r-one');
    expect(printed).toContain('Usage by customer');
    expect(printed).toMatch(/Alpha One \(a1\)\s+1\s/);

    // A customer that is not a reseller has no breakdown.
    expect((await api.invoiceOf('d1', mar)).breakdown).toBeNull();
  });
});
