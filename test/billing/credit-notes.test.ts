// Credit notes over HTTP against a finalized invoice: by line, by amount (spread over the lines), the rest, bad
// requests refused by field with nothing written, numbering without gaps in the notes' own sequence, and the
// reversing ledger postings (a paid invoice's receivable goes below zero).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

describe('credit notes', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let invoice: any;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'hybrid',
      name: 'Hybrid',
      price_book: 'ai-platform',
      base_fee: '100',
      interval: 'month',
      allowances: { tokens: '1000000' },
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/customers', { external_id: 'cn-co', currency: 'USD' });
    await api.ok('POST', '/v1/customers/cn-co/subscriptions', { plan: 'hybrid', started_at: '2026-03-01T00:00:00Z' });
    harness.clock.set('2026-03-20T00:00:00Z');
    // 1.75M tokens: 1M included, 750k over at $0.02 per 1,000 = $15.
    await api.events(
      tokens('cn-1', 'cn-co', 1_000_000, '2026-03-02T00:00:00Z'),
      tokens('cn-2', 'cn-co', 750_000, '2026-03-03T00:00:00Z'),
    );
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    invoice = (await api.ok('GET', '/v1/invoices?customer_id=cn-co')).data[0];
    expect(invoice).toMatchObject({ status: 'finalized', total: '115.000000000' });
    expect(invoice.lines.map((l: any) => [l.line, l.kind, l.amount])).toEqual([
      [0, 'base_fee', '100.000000000'],
      [1, 'usage', '15.000000000'],
      [2, 'allowance', '0.000000000'],
    ]);
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('credits part of one line, numbered CN-000001, and posts the reversal against usage revenue', async () => {
    const note = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, {
      reason: 'Slow responses on March 3',
      lines: [{ line: 1, amount: '5' }],
    });
    expect(note).toMatchObject({
      number: 'CN-000001',
      invoice_id: invoice.id,
      invoice_number: invoice.number,
      customer_id: 'cn-co',
      origin: 'manual',
      rerating_id: null,
      total: '5.000000000',
      lines: [
        {
          line: 0,
          invoice_line: 1,
          kind: 'usage',
          amount: '5.000000000',
          description: 'Credit: llm/tokens: tokens (model llama-3-70b)',
        },
      ],
    });
    const [posting] = (await api.ok('GET', `/v1/ledger/transactions?reference=${note.id}`)).data;
    expect(posting).toMatchObject({
      kind: 'credit_note_issued',
      entries: [
        { account: 'revenue:usage:USD', amount: '5.000000000' },
        { account: expect.stringMatching(/^receivable:/), amount: '-5.000000000' },
      ],
    });
    // The invoice itself never changes.
    expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toMatchObject({
      total: '115.000000000',
      status: 'finalized',
    });
  });

  it('refuses bad requests with the field to blame, writes nothing and leaves no gap in the numbers', async () => {
    const post = (body: unknown) => api.call('POST', `/v1/invoices/${invoice.id}/credit_notes`, body);
    const cases: [unknown, number, string, string][] = [
      [{ reason: 'x', amount: '1.005' }, 400, 'invalid_credit_note', 'amount'],
      [{ reason: 'x', amount: '1', lines: [{ line: 0 }] }, 400, 'invalid_request', 'amount'],
      [{ reason: 'x', lines: [{ line: 9 }] }, 400, 'invalid_credit_note', 'lines.0.line'],
      [{ reason: 'x', lines: [{ line: 2 }] }, 400, 'invalid_credit_note', 'lines.0.line'],
      [{ reason: 'x', lines: [{ line: 0 }, { line: 0 }] }, 400, 'invalid_credit_note', 'lines.1.line'],
      [{ reason: 'x', lines: [{ line: 1, amount: '10.01' }] }, 422, 'credit_exceeds_invoice', 'lines.0.amount'],
      [{ reason: 'x', amount: '110.01' }, 422, 'credit_exceeds_invoice', 'amount'],
      [{ reason: 'x', amount: '-1' }, 400, 'invalid_request', 'amount'],
      [{ amount: '1' }, 400, 'invalid_request', 'reason'],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(response.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect(
      (await api.call('POST', '/v1/invoices/00000000-0000-4000-8000-000000000000/credit_notes', { reason: 'x' }))
        .status,
    ).toBe(404);
    expect((await api.ok('GET', `/v1/credit_notes?invoice_id=${invoice.id}`)).data).toHaveLength(1);
  });

  it('spreads an amount over the lines in proportion to what is left of each, then credits the rest, then nothing more', async () => {
    // Left: base fee 100, usage 10 (110). $20: 18.1818... and 1.8181... -> 18.18 and 1.82 (the larger remainder gets the cent).
    const byAmount = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, {
      reason: 'Goodwill',
      amount: '20',
    });
    expect(byAmount).toMatchObject({ number: 'CN-000002', total: '20.000000000' });
    expect(byAmount.lines.map((l: any) => [l.invoice_line, l.kind, l.amount])).toEqual([
      [0, 'base_fee', '18.180000000'],
      [1, 'usage', '1.820000000'],
    ]);
    const rest = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'Cancelled' });
    expect(rest).toMatchObject({ number: 'CN-000003', total: '90.000000000' });
    expect(rest.lines.map((l: any) => [l.invoice_line, l.amount])).toEqual([
      [0, '81.820000000'],
      [1, '8.180000000'],
    ]);
    const more = await api.call('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'again' });
    expect(more.status).toBe(409);
    expect(more.body.error.code).toBe('invoice_fully_credited');
    const list = await api.ok('GET', `/v1/credit_notes?customer_id=cn-co`);
    expect(list.data.map((n: any) => n.number)).toEqual(['CN-000003', 'CN-000002', 'CN-000001']);
    expect(await api.ok('GET', `/v1/credit_notes/${rest.id}`)).toEqual(rest);
  });

  it('keeps the ledger balanced: the credited invoice, paid, leaves the customer owed what was credited', async () => {
    await api.ok('POST', `/v1/invoices/${invoice.id}/pay`, { paid_at: '2026-04-02T00:00:00Z' });
    const receivable = (await api.ok('GET', '/v1/ledger/accounts?customer_id=cn-co')).data.find((a: any) =>
      a.code.startsWith('receivable:'),
    );
    // 115 invoiced, 115 credited, 115 paid: the customer is owed 115 (an asset below zero).
    expect(receivable.balance).toBe('-115.000000000');
    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    expect(balances.get('revenue:usage:USD')).toBe(0n);
    expect(balances.get('revenue:subscription:USD')).toBe(nano('0'));
    // Credit notes cannot be changed or removed by the service.
    const app = harness.database.app;
    await expect(
      app.begin(async (tx) => {
        await tx`select set_config('role', 'tariff_app', true), set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        await tx`update credit_notes set total = 1`;
      }),
    ).rejects.toThrow(/permission denied/);
  });

  it('only credits finalized or paid invoices', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'cn-draft', currency: 'USD' });
    await api.ok('POST', '/v1/plans', {
      code: 'slow',
      name: 'Slow',
      price_book: 'ai-platform',
      base_fee: '10',
      interval: 'month',
      invoice_grace_hours: 48,
    });
    await api.ok('POST', '/v1/customers/cn-draft/subscriptions', { plan: 'slow', started_at: '2026-04-01T00:00:00Z' });
    harness.clock.set('2026-05-01T00:00:05Z');
    await jobs.tick();
    const draft = (await api.ok('GET', '/v1/invoices?customer_id=cn-draft')).data[0];
    expect(draft.status).toBe('draft');
    const response = await api.call('POST', `/v1/invoices/${draft.id}/credit_notes`, { reason: 'x' });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('invoice_not_creditable');
  });
});
