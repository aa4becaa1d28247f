// Invoices over HTTP with a frozen clock advanced through periods: the hybrid plan ($100/month, 1M tokens
// included, $0.02 per 1,000 tokens over), prepaid wallets on the invoice under both depletion policies, a
// prorated partial period, a statement for a zero total, minor units of other currencies, numbering without
// gaps, pay and void, immutability, and a ledger that balances throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

describe('invoices at period close', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const invoiceOf = async (customer: string, periodStart: string) => {
    const list = await api.ok('GET', `/v1/invoices?customer_id=${customer}&limit=100`);
    return list.data.find((i: any) => i.period.start === periodStart);
  };
  const customer = async (id: string, plan: string, extra: Record<string, unknown> = {}, currency = 'USD') => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency });
    await api.ok('POST', `/v1/customers/${id}/subscriptions`, { plan, started_at: '2026-03-01T00:00:00Z', ...extra });
  };

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/price_books', {
      book: {
        ...billingBook,
        id: 'ai-platform-jpy',
        currency: 'JPY',
        versions: [
          {
            ...billingBook.versions[0],
            rate_cards: [
              {
                ...billingBook.versions[0].rate_cards[0],
                charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.15', per: '1000' } }],
              },
            ],
          },
        ],
      },
    });
    await api.ok('POST', '/v1/plans', {
      code: 'hybrid',
      name: 'Hybrid',
      price_book: 'ai-platform',
      base_fee: '100',
      interval: 'month',
      allowances: { tokens: '1000000' },
    });
    await api.ok('POST', '/v1/plans', {
      code: 'free',
      name: 'Free',
      price_book: 'ai-platform',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'yen',
      name: 'Yen',
      price_book: 'ai-platform-jpy',
      base_fee: '1000',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await customer('hybrid-co', 'hybrid');
    await customer('wallet-overage', 'hybrid');
    await customer('wallet-block', 'hybrid');
    await customer('free-co', 'free');
    await customer('yen-co', 'yen', {}, 'JPY');
    await api.ok('POST', '/v1/customers', { external_id: 'mid-month', currency: 'USD' });
    await api.ok('POST', '/v1/customers/mid-month/subscriptions', {
      plan: 'hybrid',
      started_at: '2026-03-15T12:00:00Z',
      anchor_day: 1,
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('bills the hybrid plan: base fee, included tokens, overage at $0.02 per 1,000, with late events landing in the draft during the grace', async () => {
    harness.clock.set('2026-03-25T00:00:00Z');
    // 1.75M tokens: 1M included, 750k over = $15.
    await api.events(
      tokens('h-1', 'hybrid-co', 600_000, '2026-03-02T00:00:00Z'),
      tokens('h-2', 'hybrid-co', 400_000, '2026-03-03T00:00:00Z'),
      tokens('h-3', 'hybrid-co', 500_000, '2026-03-04T00:00:00Z'),
      tokens('h-4', 'hybrid-co', 250_000, '2026-03-05T00:00:00Z', 'llama-3-8b'),
    );
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const draft = await invoiceOf('hybrid-co', '2026-03-01T00:00:00.000Z');
    expect(draft).toMatchObject({
      status: 'draft',
      number: null,
      total: '115.000000000',
      amount_due: '0.000000000',
      finalize_at: '2026-04-01T01:00:00.000Z',
      plan: 'hybrid',
      minor_unit: 2,
    });
    expect(draft.lines.map((l: any) => [l.kind, l.description, l.quantity, l.unit_price, l.per, l.amount])).toEqual([
      ['base_fee', 'Hybrid base fee', '1.000000', '100.000000000', '1.000000', '100.000000000'],
      [
        'usage',
        'llm/tokens: tokens (model llama-3-70b)',
        '500000.000000',
        '0.020000000',
        '1000.000000',
        '10.000000000',
      ],
      ['usage', 'llm/tokens: tokens (model llama-3-8b)', '250000.000000', '0.020000000', '1000.000000', '5.000000000'],
      ['allowance', 'Included tokens: 1000000 units', '1000000.000000', null, null, '0.000000000'],
    ]);
    expect(draft.lines[1]).toMatchObject({
      card: 'llm/tokens',
      dimension: 'tokens',
      group: { model: 'llama-3-70b' },
      event_count: '3',
    });

    // A late event during the grace lands in March; finalization rebuilds the draft with it.
    const [late] = await api.events(tokens('h-late', 'hybrid-co', 100_000, '2026-03-31T23:30:00Z'));
    expect(late).toMatchObject({
      status: 'accepted',
      amount: '2.000000000',
      period: { start: '2026-03-01T00:00:00.000Z' },
    });
    harness.clock.set('2026-04-01T01:00:00Z');
    await jobs.tick();
    const final = await api.ok('GET', `/v1/invoices/${draft.id}`);
    expect(final).toMatchObject({
      status: 'finalized',
      kind: 'invoice',
      total: '117.000000000',
      amount_due: '117.000000000',
      finalized_at: '2026-04-01T01:00:00.000Z',
    });
    expect(final.number).toMatch(/^INV-\d{6}$/);
    expect(final.lines.find((l: any) => l.group?.model === 'llama-3-70b')).toMatchObject({
      quantity: '600000.000000',
      amount: '12.000000000',
      event_count: '4',
    });

    // The ledger: receivable against subscription and usage revenue.
    const posting = (await api.ok('GET', `/v1/ledger/transactions?reference=${draft.id}`)).data;
    expect(posting).toEqual([
      expect.objectContaining({
        kind: 'invoice_finalized',
        entries: [
          { account: expect.stringMatching(/^receivable:/), amount: '117.000000000' },
          { account: 'revenue:subscription:USD', amount: '-100.000000000' },
          { account: 'revenue:usage:USD', amount: '-17.000000000' },
        ],
      }),
    ]);
    const paid = await api.ok('POST', `/v1/invoices/${draft.id}/pay`, { paid_at: '2026-04-03T00:00:00Z' });
    expect(paid).toMatchObject({ status: 'paid', paid_at: '2026-04-03T00:00:00.000Z', amount_due: '0.000000000' });
    expect((await api.call('POST', `/v1/invoices/${draft.id}/pay`, {})).status).toBe(409);
    expect((await api.call('POST', `/v1/invoices/${draft.id}/void`, { reason: 'x' })).status).toBe(409);
    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    const receivable = (await api.ok('GET', '/v1/ledger/accounts?customer_id=hybrid-co')).data.find((a: any) =>
      a.code.startsWith('receivable:'),
    );
    expect(receivable.balance).toBe('0.000000000');
    expect(balances.get('clearing:payments:USD')).toBe(nano('117'));
  });

  it('shows a $500 prepaid wallet drawn to zero as credit lines, under both depletion policies', async () => {
    // April on the hybrid plan: the allowance covers 1M tokens, then $0.02 per 1,000.
    harness.clock.set('2026-04-20T00:00:00Z');
    for (const id of ['wallet-overage', 'wallet-block']) {
      await api.ok('POST', `/v1/customers/${id}/credit_grants`, {
        kind: 'prepaid',
        amount: '500',
        name: 'Prepaid wallet',
      });
    }
    await api.ok('PATCH', '/v1/customers/wallet-block/wallet', { on_depletion: 'block' });
    // The block customer's events are sent as a gateway sends them before serving: refused past the credit.
    const send = (customer: string) =>
      (customer === 'wallet-block' ? api.refusing : api.events)(
        tokens(`${customer}-1`, customer, 16_000_000, '2026-04-02T00:00:00Z'), // 15M over: $300
        tokens(`${customer}-2`, customer, 10_000_000, '2026-04-03T00:00:00Z'), // $200: the wallet reaches zero
        gpuJob(`${customer}-job`, customer, 8, 36_000, '2026-04-04T00:00:00Z'), // the batch job after depletion: $200
      );
    const overage = await send('wallet-overage');
    expect(overage.map((a) => [a.status, a.amount, a.credit_balance])).toEqual([
      ['accepted', '0.000000000', '200.000000000'],
      ['accepted', '0.000000000', '0.000000000'],
      ['accepted', '200.000000000', '0.000000000'],
    ]);
    const block = await send('wallet-block');
    expect(block.map((a) => [a.status, a.error?.code ?? a.credit_balance])).toEqual([
      ['accepted', '200.000000000'],
      ['accepted', '0.000000000'],
      ['rejected', 'credits_exhausted'],
    ]);

    harness.clock.set('2026-05-01T01:00:00Z');
    await jobs.tick();
    const overageInvoice = await invoiceOf('wallet-overage', '2026-04-01T00:00:00.000Z');
    const blockInvoice = await invoiceOf('wallet-block', '2026-04-01T00:00:00.000Z');
    const summary = (invoice: any) => invoice.lines.map((l: any) => [l.kind, l.amount]);
    expect(summary(overageInvoice)).toEqual([
      ['base_fee', '100.000000000'],
      ['usage', '200.000000000'],
      ['usage', '500.000000000'],
      ['allowance', '0.000000000'],
      ['credit', '-500.000000000'],
    ]);
    expect(overageInvoice.lines[4].description).toBe('Credit applied: Prepaid wallet');
    expect(overageInvoice.total).toBe('300.000000000');
    expect(summary(blockInvoice)).toEqual([
      ['base_fee', '100.000000000'],
      ['usage', '500.000000000'],
      ['allowance', '0.000000000'],
      ['credit', '-500.000000000'],
    ]);
    expect(blockInvoice.total).toBe('100.000000000');
    // Credit revenue was recognised as it was drawn; the invoice adds only what it bills.
    const posting = (await api.ok('GET', `/v1/ledger/transactions?reference=${overageInvoice.id}`)).data[0];
    expect(
      posting.entries.map((e: any) => [e.account.split(':')[0] + ':' + e.account.split(':')[1], e.amount]),
    ).toEqual([
      ['receivable:' + posting.entries[0].account.split(':')[1], '300.000000000'],
      ['revenue:subscription', '-100.000000000'],
      ['revenue:usage', '-200.000000000'],
    ]);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('prorates a partial first period by the second, issues a zero total as a statement, rounds yen to whole units', async () => {
    const march = await invoiceOf('mid-month', '2026-03-15T12:00:00.000Z');
    // $100 x 1,425,600 s of 2,678,400 s.
    expect(march).toMatchObject({ status: 'finalized', total: '53.230000000', total_exact: '53.225806452' });
    expect(march.lines).toEqual([
      expect.objectContaining({
        kind: 'base_fee',
        description: 'Hybrid base fee (prorated: 1425600 of 2678400 seconds)',
        amount_exact: '53.225806452',
        amount: '53.230000000',
      }),
    ]);
    // The full April that followed is not prorated.
    expect((await invoiceOf('mid-month', '2026-04-01T00:00:00.000Z')).lines[0]).toMatchObject({
      description: 'Hybrid base fee',
      amount: '100.000000000',
    });

    const free = await invoiceOf('free-co', '2026-03-01T00:00:00.000Z');
    expect(free).toMatchObject({
      kind: 'statement',
      status: 'paid',
      total: '0.000000000',
      amount_due: '0.000000000',
      lines: [],
    });
    expect(free.number).toMatch(/^INV-\d{6}$/);
    expect((await api.ok('GET', `/v1/ledger/transactions?reference=${free.id}`)).data).toEqual([]);

    // 12,345 tokens at JPY 0.15 per 1,000 = 1.85175 yen: one rounding, to whole yen.
    harness.clock.set('2026-05-10T00:00:00Z');
    await api.events(tokens('yen-1', 'yen-co', 12_345, '2026-05-02T00:00:00Z'));
    harness.clock.set('2026-06-01T00:00:01Z');
    await jobs.tick();
    const yen = await invoiceOf('yen-co', '2026-05-01T00:00:00.000Z');
    expect(yen).toMatchObject({
      currency: 'JPY',
      minor_unit: 0,
      total: '1002.000000000',
      total_exact: '1001.851750000',
    });
    expect(yen.lines.map((l: any) => [l.amount_exact, l.amount])).toEqual([
      ['1000.000000000', '1000.000000000'],
      ['1.851750000', '2.000000000'],
    ]);
  });

  it('numbers finalized invoices per tenant without gaps, voids with a reversing posting, and never changes a finalized invoice', async () => {
    const all: any[] = [];
    let page = await api.ok('GET', '/v1/invoices?limit=100');
    all.push(...page.data);
    expect(page.has_more).toBe(false);
    const numbers = all
      .filter((i) => i.number)
      .map((i) => Number(i.number.slice(4)))
      .sort((a, b) => a - b);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    expect(all.filter((i) => i.status === 'draft').every((i) => i.number === null)).toBe(true);

    const target = all.find((i) => i.customer_id === 'wallet-block' && i.status === 'finalized');
    const voided = await api.ok('POST', `/v1/invoices/${target.id}/void`, { reason: 'billed in error' });
    expect(voided).toMatchObject({
      status: 'void',
      void_reason: 'billed in error',
      number: target.number,
      amount_due: '0.000000000',
    });
    const postings = (await api.ok('GET', `/v1/ledger/transactions?reference=${target.id}`)).data;
    expect(postings.map((p: any) => p.kind)).toEqual(['invoice_voided', 'invoice_finalized']);
    expect(postings[0].entries.map((e: any) => e.amount)).toEqual(
      postings[1].entries.map((e: any) => (e.amount.startsWith('-') ? e.amount.slice(1) : `-${e.amount}`)),
    );
    // The receivable is what the customer's finalized, unpaid invoices still ask for.
    const receivable = (await api.ok('GET', '/v1/ledger/accounts?customer_id=wallet-block')).data.find((a: any) =>
      a.code.startsWith('receivable:'),
    );
    const open = (await api.ok('GET', '/v1/invoices?customer_id=wallet-block&status=finalized')).data;
    expect(open.map((i: any) => i.total)).toEqual(['100.000000000']);
    expect(receivable.balance).toBe('100.000000000');

    // Finalizing by hand: a draft whose period has ended, before its grace runs out; not a finalized one.
    harness.clock.set('2026-06-01T00:30:00Z');
    await jobs.tick();
    const draft = await invoiceOf('hybrid-co', '2026-05-01T00:00:00.000Z');
    expect(draft.status).toBe('draft');
    const finalized = await api.ok('POST', `/v1/invoices/${draft.id}/finalize`);
    expect(Number(finalized.number.slice(4))).toBe(numbers.length + 1);
    expect((await api.call('POST', `/v1/invoices/${draft.id}/finalize`)).status).toBe(409);
    expect((await api.call('GET', '/v1/invoices/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api.call('POST', `/v1/invoices/${draft.id}/void`, {})).body.error.details[0].field).toBe('reason');
    expect((await api.call('GET', '/v1/invoices?status=sent')).body.error.details[0].field).toBe('query.status');

    // The service role cannot rewrite a finalized invoice or its lines (the lines' guard: per statement, migration 018).
    const asService = (statement: string) =>
      harness.database.app.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        await tx.unsafe(statement);
      });
    for (const statement of [
      `update invoices set total = 1 where id = '${draft.id}'`,
      `update invoices set status = 'draft' where id = '${draft.id}'`,
    ]) {
      await expect(asService(statement)).rejects.toThrow(/cannot change|permission denied/);
    }
    for (const statement of [
      `delete from invoice_lines where invoice_id = '${draft.id}'`,
      `insert into invoice_lines (tenant_id, invoice_id, line, kind, description, amount_exact, amount) values ('${tenant.tenantId}', '${draft.id}', 99, 'usage', 'x', 0, 0)`,
    ]) {
      await expect(asService(statement)).rejects.toThrow(/lines of invoice .* cannot change after finalization/);
    }
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('expires credit at its expiry: the kernel stops drawing it at once, and the expiry job writes the lapsed rest to the ledger', async () => {
    harness.clock.set('2026-06-05T00:00:00Z');
    await api.ok('POST', '/v1/customers', { external_id: 'expiring', currency: 'USD' });
    await api.ok('POST', '/v1/customers/expiring/subscriptions', { plan: 'free', started_at: '2026-06-01T00:00:00Z' });
    const prepaid = await api.ok('POST', '/v1/customers/expiring/credit_grants', {
      kind: 'prepaid',
      amount: '50',
      expires_at: '2026-06-10T00:00:00Z',
    });
    const promo = await api.ok('POST', '/v1/customers/expiring/credit_grants', {
      kind: 'promotional',
      amount: '20',
      expires_at: '2026-06-10T00:00:00Z',
    });
    const drawn = await api.events(
      tokens('x-1', 'expiring', 1_000_000, '2026-06-04T00:00:00Z'),
      tokens('x-2', 'expiring', 500_000, '2026-06-04T01:00:00Z'),
    );
    expect(drawn.map((a) => [a.credits_applied, a.credit_balance])).toEqual([
      ['20.000000000', '50.000000000'],
      ['10.000000000', '40.000000000'],
    ]);
    // Past the expiry, before any job ran: nothing is drawn, and the balance in force is zero.
    harness.clock.set('2026-06-11T00:00:00Z');
    const [after] = await api.events(tokens('x-3', 'expiring', 500_000, '2026-06-10T12:00:00Z'));
    expect(after).toMatchObject({
      amount: '10.000000000',
      credits_applied: '0.000000000',
      credit_balance: '0.000000000',
    });
    expect((await api.ok('GET', '/v1/customers/expiring/wallet')).balance).toBe('0.000000000');

    await jobs.tick();
    expect((await jobs.counts())['billing.expire-grant']).toBe(2);
    const grants = (await api.ok('GET', '/v1/customers/expiring/credit_grants')).data;
    expect(grants.map((g: any) => [g.id, g.status, g.balance, g.ended_at])).toEqual([
      [prepaid.id, 'expired', '0.000000000', '2026-06-11T00:00:00.000Z'],
      [promo.id, 'expired', '0.000000000', '2026-06-11T00:00:00.000Z'],
    ]);
    // Unused prepaid credit is breakage revenue; the promotion had nothing left, so nothing is posted for it.
    const lapsed = (await api.ok('GET', `/v1/ledger/transactions?reference=${prepaid.id}`)).data[0];
    expect(lapsed).toMatchObject({
      kind: 'grant_expired',
      occurred_at: '2026-06-10T00:00:00.000Z',
      entries: [
        { account: `grant:${prepaid.id}`, amount: '40.000000000' },
        { account: 'revenue:breakage:USD', amount: '-40.000000000' },
      ],
    });
    expect((await api.ok('GET', `/v1/ledger/transactions?reference=${promo.id}`)).data.map((t: any) => t.kind)).toEqual(
      ['grant_issued'],
    );
    await jobs.tick();
    expect((await jobs.counts())['billing.expire-grant']).toBe(2);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
