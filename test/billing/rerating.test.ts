// Re-rating over HTTP with a frozen clock: a retroactive price cut is previewed (per customer, period and line:
// old, new, difference), approved, and applied by a job: rated lines get a second revision (the first stays),
// a finalized invoice gets a credit note, a draft is rebuilt, an open period's totals move, credit an event no
// longer needs goes back to its grant; then a retroactive price rise is billed as an adjustment line on the
// next invoice. The ledger balances throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, startBillingScenario, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const version = (effectiveFrom: string, rate: string) => ({
  ...billingBook.versions[0],
  effective_from: effectiveFrom,
  rate_cards: [
    {
      ...billingBook.versions[0].rate_cards[0],
      charges: [{ dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate, per: '1000' } }],
    },
    billingBook.versions[0].rate_cards[1],
  ],
});

describe('re-rating after a retroactive price change', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'payg',
      name: 'Pay as you go',
      price_book: 'ai-platform',
      base_fee: '10',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'payg-grace',
      name: 'Pay as you go (grace)',
      price_book: 'ai-platform',
      base_fee: '10',
      interval: 'month',
      invoice_grace_hours: 96,
    });
    for (const [id, plan] of [
      ['cut-co', 'payg'],
      ['draft-co', 'payg-grace'],
      ['wallet-co', 'payg'],
    ]) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${id}/subscriptions`, { plan, started_at: '2026-03-01T00:00:00Z' });
    }
    await api.ok('POST', '/v1/customers/wallet-co/credit_grants', { kind: 'prepaid', amount: '50', name: 'Wallet' });
    await api.ok('POST', '/v1/meters', {
      code: 'tokens',
      name: 'tokens',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'tokens',
    });
    harness.clock.set('2026-03-25T00:00:00Z');
    // $0.02 per 1,000 tokens.
    await api.events(
      tokens('a-1', 'cut-co', 1_000_000, '2026-03-10T00:00:00Z'), // $20, before the cut
      tokens('a-2', 'cut-co', 500_000, '2026-03-20T00:00:00Z'), // $10, after it
      tokens('b-1', 'draft-co', 1_000_000, '2026-03-16T00:00:00Z'), // $20
      tokens('c-1', 'wallet-co', 1_000_000, '2026-03-18T00:00:00Z'), // $20, paid by the wallet
    );
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    expect(await api.invoiceOf('cut-co', '2026-03-01T00:00:00.000Z')).toMatchObject({
      status: 'finalized',
      total: '40.000000000',
    });
    expect(await api.invoiceOf('draft-co', '2026-03-01T00:00:00.000Z')).toMatchObject({
      status: 'draft',
      total: '30.000000000',
    });
    expect(await api.invoiceOf('wallet-co', '2026-03-01T00:00:00.000Z')).toMatchObject({
      status: 'finalized',
      total: '10.000000000',
    });
    harness.clock.set('2026-04-03T00:00:00Z');
    const [april] = await api.events(tokens('a-3', 'cut-co', 200_000, '2026-04-02T00:00:00Z'));
    expect(april).toMatchObject({ status: 'accepted', amount: '4.000000000' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('previews a retroactive price cut per customer, period and line, then applies it on approval', async () => {
    // A version in the past is refused unless it is retroactive.
    const refused = await api.call('POST', '/v1/price_books/ai-platform/versions', {
      version: version('2026-03-15T00:00:00Z', '0.01'),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'version_in_past',
      details: [{ field: 'version.effective_from' }],
    });
    await api.ok('POST', '/v1/price_books/ai-platform/versions', {
      version: version('2026-03-15T00:00:00Z', '0.01'),
      retroactive: true,
    });
    const [pending] = (await api.ok('GET', '/v1/reratings?price_book=ai-platform')).data;
    expect(pending).toMatchObject({ status: 'pending', effective_from: '2026-03-15T00:00:00.000Z', preview: null });
    const early = await api.call('POST', `/v1/reratings/${pending.id}/approve`);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('rerating_not_previewed');

    await jobs.tick();
    const previewed = await api.ok('GET', `/v1/reratings/${pending.id}`);
    expect(previewed.status).toBe('previewed');
    const byCustomer = Object.fromEntries(previewed.preview.customers.map((c: any) => [c.customer_id, c]));
    expect(byCustomer['cut-co']).toMatchObject({
      old_amount: '34.000000000',
      new_amount: '27.000000000',
      difference: '-7.000000000',
    });
    expect(
      byCustomer['cut-co'].periods.map((p: any) => [
        p.start,
        p.invoice?.status ?? null,
        p.events,
        p.old_amount,
        p.new_amount,
        p.difference,
      ]),
    ).toEqual([
      ['2026-03-01T00:00:00.000Z', 'finalized', '2', '30.000000000', '25.000000000', '-5.000000000'],
      ['2026-04-01T00:00:00.000Z', null, '1', '4.000000000', '2.000000000', '-2.000000000'],
    ]);
    expect(byCustomer['cut-co'].periods[0].lines).toEqual([
      {
        card: 'llm/tokens',
        dimension: 'tokens',
        group: { model: 'llama-3-70b' },
        old_amount: '30.000000000',
        new_amount: '25.000000000',
        difference: '-5.000000000',
      },
    ]);
    expect(byCustomer['draft-co'].periods[0]).toMatchObject({
      invoice: { status: 'draft' },
      old_amount: '20.000000000',
      new_amount: '10.000000000',
    });
    // The wallet paid the whole event: what is left to bill stays 0, the line halves.
    expect(byCustomer['wallet-co'].periods[0]).toMatchObject({
      old_amount: '0.000000000',
      new_amount: '0.000000000',
      lines: [{ old_amount: '20.000000000', new_amount: '10.000000000' }],
    });
    expect(previewed.preview.unratable).toEqual([]);
    // Usage per meter before: the wallet's event is $20 gross, nothing left to bill.
    const walletMeter = async () => {
      const usage = await api.ok('GET', '/v1/customers/wallet-co/usage?at=2026-03-20T00:00:00Z');
      const group = usage.meters.find((m: any) => m.code === 'tokens').groups[0];
      return [group.gross_amount, group.amount];
    };
    expect(await walletMeter()).toEqual(['20.000000000', '0.000000000']);
    // A preview changes nothing.
    expect((await api.ok('GET', '/v1/events/a-2/revisions')).data).toHaveLength(1);
    expect(await api.invoiceOf('draft-co', '2026-03-01T00:00:00.000Z')).toMatchObject({ total: '30.000000000' });

    const approved = await api.ok('POST', `/v1/reratings/${pending.id}/approve`);
    expect(approved).toMatchObject({ status: 'approved', approved_by: expect.stringMatching(/^api_key:/) });
    await jobs.tick();
    const applied = await api.ok('GET', `/v1/reratings/${pending.id}`);
    expect(applied.status).toBe('applied');
    const results = Object.fromEntries(
      applied.result.periods.map((p: any) => [`${p.customer_id} ${p.start.slice(0, 7)}`, p]),
    );
    expect(results['cut-co 2026-03']).toMatchObject({
      action: 'credit_note',
      difference: '-5.000000000',
      events: '1',
      credit_note: { number: 'CN-000001', total: '5.000000000' },
    });
    expect(results['cut-co 2026-04']).toMatchObject({ action: 'none', difference: '-2.000000000' });
    expect(results['draft-co 2026-03']).toMatchObject({ action: 'draft_rebuilt' });
    expect(results['wallet-co 2026-03']).toMatchObject({ action: 'none', credit_returned: '10.000000000' });

    // The finalized invoice is unchanged; the credit note credits its usage line.
    const march = await api.invoiceOf('cut-co', '2026-03-01T00:00:00.000Z');
    expect(march.total).toBe('40.000000000');
    const [note] = (await api.ok('GET', `/v1/credit_notes?invoice_id=${march.id}`)).data;
    expect(note).toMatchObject({ origin: 'rerating', rerating_id: pending.id, total: '5.000000000' });
    expect(note.lines).toEqual([
      expect.objectContaining({
        invoice_line: 1,
        kind: 'usage',
        amount: '5.000000000',
        description: 'Re-rated: llm/tokens: tokens (model llama-3-70b) (was 30.000000000, now 25.000000000)',
      }),
    ]);
    // Receipts keep both versions: the event before the cut was not re-rated.
    const revisions = (await api.ok('GET', '/v1/events/a-2/revisions')).data;
    expect(revisions.map((r: any) => [r.revision, r.book_version, r.amount])).toEqual([
      [1, '2026-01-01T00:00:00.000Z', '10.000000000'],
      [2, '2026-03-15T00:00:00.000Z', '5.000000000'],
    ]);
    expect((await api.ok('GET', '/v1/events/a-1/revisions')).data).toHaveLength(1);
    expect(await api.ok('GET', '/v1/events/a-2/receipt')).toMatchObject({ revision: 2, amount: '5.000000000' });
    // The draft is rebuilt, the open period and its aggregates moved.
    expect(await api.invoiceOf('draft-co', '2026-03-01T00:00:00.000Z')).toMatchObject({
      status: 'draft',
      total: '20.000000000',
    });
    const usage = await api.ok('GET', '/v1/customers/cut-co/usage');
    expect(usage).toMatchObject({ amount: '2.000000000' });
    // The wallet got back the $10 its event no longer needs.
    expect(await walletMeter()).toEqual(['10.000000000', '0.000000000']);
    const wallet = await api.ok('GET', '/v1/customers/wallet-co/wallet');
    expect(wallet.balance).toBe('40.000000000');
    expect(
      (await api.ok('GET', '/v1/events/c-1/revisions')).data[1].receipt.filter((s: any) => s.step === 'credit'),
    ).toEqual([expect.objectContaining({ amount: '10.000000000', balance: '40.000000000' })]);
    await checkLedger(harness.database.owner, tenant.tenantId);
    // Applying again does nothing.
    await jobs.tick();
    expect((await api.ok('GET', '/v1/events/a-2/revisions')).data).toHaveLength(2);
  });

  it('bills a retroactive price rise on a finalized invoice as an adjustment line on the next invoice', async () => {
    harness.clock.set('2026-04-10T00:00:00Z');
    await api.ok('POST', '/v1/price_books/ai-platform/versions', {
      version: version('2026-03-20T00:00:00Z', '0.04'),
      retroactive: true,
    });
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=ai-platform&status=pending')).data;
    await jobs.tick();
    await api.ok('POST', `/v1/reratings/${rerating.id}/approve`);
    await jobs.tick();
    const applied = await api.ok('GET', `/v1/reratings/${rerating.id}`);
    const march = applied.result.periods.find((p: any) => p.customer_id === 'cut-co' && p.start.startsWith('2026-03'));
    // a-2: 500k tokens at $0.04 per 1,000 = $20 instead of $5.
    expect(march).toMatchObject({ action: 'adjustment', adjustment: '15.000000000', difference: '15.000000000' });
    expect((await api.ok('GET', '/v1/events/a-2/revisions')).data.map((r: any) => r.amount)).toEqual([
      '10.000000000',
      '5.000000000',
      '20.000000000',
    ]);

    harness.clock.set('2026-05-01T00:00:05Z');
    await jobs.tick();
    const april = await api.invoiceOf('cut-co', '2026-04-01T00:00:00.000Z');
    // Base fee 10, April usage 200k at $0.04 = 8, and March's adjustment with its period's instant.
    expect(april.lines.map((l: any) => [l.kind, l.amount])).toEqual([
      ['base_fee', '10.000000000'],
      ['usage', '8.000000000'],
      ['allowance', '0.000000000'],
      ['adjustment', '15.000000000'],
    ]);
    expect(april.lines[3].description).toMatch(
      /^Re-rating of INV-\d{6} \(price book ai-platform from 2026-03-20T00:00:00.000Z\) \(2026-03-01T00:00:00.000Z\)$/,
    );
    expect(april.total).toBe('33.000000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('lists events the new version cannot rate in the preview and refuses to approve it', async () => {
    // Clock: 2026-05-01T00:00:05Z. A GPU job in May, then a version from May 1st without the GPU card.
    const [job] = await api.events({
      transaction_id: 'gpu-1',
      customer_id: 'cut-co',
      event_type: 'gpu.job',
      timestamp: '2026-05-01T00:00:01Z',
      properties: { gpu_type: 'h100', gpu_count: 1, duration_seconds: 3600 },
    });
    expect(job.status).toBe('accepted');
    const tokensOnly = {
      ...version('2026-05-01T00:00:00Z', '0.03'),
      rate_cards: [version('2026-05-01T00:00:00Z', '0.03').rate_cards[0]],
    };
    await api.ok('POST', '/v1/price_books/ai-platform/versions', { version: tokensOnly, retroactive: true });
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=ai-platform&status=pending')).data;
    await jobs.tick();
    const previewed = await api.ok('GET', `/v1/reratings/${rerating.id}`);
    expect(previewed.preview.unratable).toEqual([
      expect.objectContaining({ transaction_id: 'gpu-1', customer_id: 'cut-co', code: 'no_rate_card' }),
    ]);
    const refused = await api.call('POST', `/v1/reratings/${rerating.id}/approve`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('rerating_unratable_events');
    expect((await api.ok('GET', '/v1/events/gpu-1/revisions')).data).toHaveLength(1);
  });

  it('refuses a retroactive cost version and re-ratings of another tenant', async () => {
    const cost = await api.call('POST', '/v1/price_books/ai-platform/versions', {
      schedule: 'cost',
      version: {
        effective_from: '2026-04-20T00:00:00Z',
        rate_cards: [
          {
            id: 'llm/tokens',
            match: { event_type: 'llm.completion' },
            charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.01', per: '1000' } }],
          },
        ],
      },
      retroactive: true,
    });
    expect(cost.status).toBe(400);
    expect(cost.body.error).toMatchObject({ code: 'retroactive_cost_version', details: [{ field: 'retroactive' }] });
    expect((await api.call('GET', '/v1/reratings/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api.call('GET', '/v1/events/nope/revisions')).status).toBe(404);
  });
});
