// Re-rating through a reseller chain over the public API: tenant -> reseller -> two end users. A retroactive
// price change at the reseller's level (the tenant's book for it) and then at the end users' level (the
// reseller's book for them) re-rates the events through the whole chain: the preview shows each level's
// difference, applying it writes one revision per event with its new chain, gives credit back at the level that
// drew it, settles each level's final invoice (credit note or adjustment), and moves the margin aggregate, so
// what each level bills minus what it pays is its margin report, to the nano-unit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { startBillingScenario, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

/** Tokens at `rate` per 1,000 from `from`. */
const version = (from: string, rate: string) => ({
  effective_from: from,
  rate_cards: [
    {
      id: 'llm/tokens',
      match: { event_type: 'llm.completion' },
      charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate, per: '1000' } }],
    },
  ],
});
const book = (id: string, rate: string) => ({
  id,
  currency: 'USD',
  versions: [version('2026-01-01T00:00:00Z', rate)],
});

describe('re-rating through a reseller chain', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const customer = async (id: string, bookId: string, extra: Record<string, unknown> = {}) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD', ...extra });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: bookId,
      effective_from: '2026-01-01T00:00:00Z',
    });
  };
  const march = '2026-03-01T00:00:00.000Z';

  /** Re-rates after a retroactive version: preview, approve, apply; the applied re-rating. */
  const rerate = async (bookId: string, from: string, rate: string) => {
    await api.ok('POST', `/v1/price_books/${bookId}/versions`, { version: version(from, rate), retroactive: true });
    const [pending] = (await api.ok('GET', `/v1/reratings?price_book=${bookId}&status=pending`)).data;
    await jobs.tick();
    const previewed = await api.ok('GET', `/v1/reratings/${pending.id}`);
    expect(previewed.status).toBe('previewed');
    expect(previewed.preview.unratable).toEqual([]);
    await api.ok('POST', `/v1/reratings/${pending.id}/approve`);
    await jobs.tick();
    const applied = await api.ok('GET', `/v1/reratings/${pending.id}`);
    expect(applied.status, applied.error).toBe('applied');
    return { preview: previewed.preview, result: applied.result };
  };
  const differences = (preview: any) =>
    Object.fromEntries(preview.customers.map((c: any) => [c.customer_id, [c.old_amount, c.new_amount]]));
  const margin = async () =>
    (await api.ok('GET', '/v1/resellers/res/margins?from=2026-03-01&to=2026-03-31')).data.map((m: any) => [
      m.resale,
      m.charge,
      m.margin,
      m.events,
    ]);
  const chainOf = async (id: string) => {
    const receipt = await api.ok('GET', `/v1/events/${id}/receipt`);
    return [
      receipt.revision,
      receipt.amount,
      ...receipt.chain.map((l: any) => [l.customer_id, l.net, l.credits_applied, l.amount, l.margin]),
    ];
  };

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: book('tenant-to-res', '0.010') });
    await customer('res', 'tenant-to-res', { is_reseller: true });
    await api.ok('POST', '/v1/price_books', { book: book('res-retail', '0.020'), owner_customer_id: 'res' });
    await customer('user-1', 'res-retail', { parent_id: 'res' });
    await customer('user-2', 'res-retail', { parent_id: 'res' });
    // The reseller's own credit: $15 prepaid.
    await api.ok('POST', '/v1/customers/res/credit_grants', { kind: 'prepaid', amount: '15', name: 'Res prepaid' });
    harness.clock.set('2026-03-25T00:00:00Z');
    // 1M tokens each: the end users pay $20; the reseller pays $10 for each, $15 of it from its credit.
    const acks = await api.events(
      tokens('e-1', 'user-1', 1_000_000, '2026-03-05T00:00:00Z'),
      tokens('e-2', 'user-2', 1_000_000, '2026-03-20T00:00:00Z'),
    );
    expect(acks.map((a) => [a.status, a.amount])).toEqual([
      ['accepted', '20.000000000'],
      ['accepted', '20.000000000'],
    ]);
    expect(await chainOf('e-1')).toEqual([
      1,
      '20.000000000',
      ['res', '10.000000000', '10.000000000', '0.000000000', '10.000000000'],
    ]);
    expect(await chainOf('e-2')).toEqual([
      1,
      '20.000000000',
      ['res', '10.000000000', '5.000000000', '5.000000000', '10.000000000'],
    ]);
    // March closes; an hour's grace (usage-only customers), then every level's invoice is final.
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    harness.clock.set('2026-04-01T01:00:10Z');
    await jobs.tick();
    for (const [id, total] of [
      ['user-1', '20.000000000'],
      ['user-2', '20.000000000'],
      ['res', '5.000000000'],
    ])
      expect(await api.invoiceOf(id, march), id).toMatchObject({ status: 'finalized', total });
    expect(await margin()).toEqual([['40.000000000', '20.000000000', '20.000000000', 2]]);
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it("re-rates the reseller's level when its parent's price falls: credit back at that level, a credit note for it", async () => {
    harness.clock.set('2026-04-02T00:00:00Z');
    const { preview, result } = await rerate('tenant-to-res', '2026-03-01T00:00:00Z', '0.008');
    // Per level: the reseller's March went from $5 to bill to $3 ($8 each; e-1 keeps $8 of its $10 credit, e-2
    // its $5); its end users' charges do not move.
    expect(differences(preview)).toEqual({
      res: ['5.000000000', '3.000000000'],
      'user-1': ['20.000000000', '20.000000000'],
      'user-2': ['20.000000000', '20.000000000'],
    });
    const byCustomer = Object.fromEntries(result.periods.map((p: any) => [p.customer_id, p]));
    expect(byCustomer.res).toMatchObject({
      action: 'credit_note',
      difference: '-2.000000000',
      credit_returned: '2.000000000',
      events: '2',
    });
    expect(byCustomer.res.credit_note.total).toBe('2.000000000');
    // The receipts show the new chain: revision 2, the reseller's new net, credit and margin.
    expect(await chainOf('e-1')).toEqual([
      2,
      '20.000000000',
      ['res', '8.000000000', '8.000000000', '0.000000000', '12.000000000'],
    ]);
    expect(await chainOf('e-2')).toEqual([
      2,
      '20.000000000',
      ['res', '8.000000000', '5.000000000', '3.000000000', '12.000000000'],
    ]);
    expect((await api.ok('GET', '/v1/customers/res/wallet')).balance).toBe('2.000000000');
    expect(await margin()).toEqual([['40.000000000', '16.000000000', '24.000000000', 2]]);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it("re-rates the end users' level when the reseller's price rises: adjustments for them, none for it", async () => {
    const { preview, result } = await rerate('res-retail', '2026-03-10T00:00:00Z', '0.025');
    // Only e-2 is from the 10th: user-2's March $20 -> $25; user-1 and the reseller unchanged.
    expect(differences(preview)).toEqual({
      res: ['3.000000000', '3.000000000'],
      'user-1': ['20.000000000', '20.000000000'],
      'user-2': ['20.000000000', '25.000000000'],
    });
    const byCustomer = Object.fromEntries(result.periods.map((p: any) => [p.customer_id, p]));
    expect(byCustomer['user-2']).toMatchObject({ action: 'adjustment', adjustment: '5.000000000' });
    expect(byCustomer.res).toMatchObject({ action: 'none', difference: '0.000000000' });
    expect(await chainOf('e-2')).toEqual([
      3,
      '25.000000000',
      ['res', '8.000000000', '5.000000000', '3.000000000', '17.000000000'],
    ]);
    expect(await margin()).toEqual([['45.000000000', '16.000000000', '29.000000000', 2]]);

    // April: a little usage (2,000 tokens each: $0.05 to the end users, $0.016 to the reseller, from its
    // credit), then April closes and user-2's adjustment is billed with it.
    harness.clock.set('2026-04-10T00:00:00Z');
    await api.events(
      tokens('a-1', 'user-1', 2_000, '2026-04-10T00:00:00Z'),
      tokens('a-2', 'user-2', 2_000, '2026-04-10T00:00:00Z'),
    );
    harness.clock.set('2026-05-01T00:00:05Z');
    await jobs.tick();
    harness.clock.set('2026-05-01T01:00:10Z');
    await jobs.tick();
    const april = '2026-04-01T00:00:00.000Z';
    expect(await api.invoiceOf('user-1', april)).toMatchObject({ total: '0.050000000' });
    expect(await api.invoiceOf('user-2', april)).toMatchObject({ total: '5.050000000' });

    // Reconciliation per level. The end users paid the reseller: their invoices. The reseller paid the tenant:
    // its invoice less its credit note, plus the credit it drew. Billed minus paid is its margin report.
    const total = async (id: string, start: string) => nano((await api.invoiceOf(id, start))?.total ?? '0');
    const billed =
      (await total('user-1', march)) +
      (await total('user-1', april)) +
      (await total('user-2', march)) +
      (await total('user-2', april));
    const resMarch = await api.invoiceOf('res', march);
    const notes = (await api.ok('GET', `/v1/credit_notes?invoice_id=${resMarch.id}`)).data;
    const wallet = await api.ok('GET', '/v1/customers/res/wallet');
    const paid =
      nano(resMarch.total) -
      notes.reduce((sum: bigint, n: any) => sum + nano(n.total), 0n) +
      (await total('res', april)) +
      (nano('15') - nano(wallet.balance));
    const [[, charge, reported]] = (
      await api.ok('GET', '/v1/resellers/res/margins?from=2026-03-01&to=2026-04-30')
    ).data.map((m: any) => [m.resale, m.charge, m.margin]);
    expect(paid).toBe(nano(charge));
    expect(billed - paid).toBe(nano(reported));
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
