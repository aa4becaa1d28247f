// Reseller chains over the public API: tenant -> distributor -> reseller -> end users. Each end user's event is
// rated at every level of its chain in one pass, each level draws its own credits, a distributor out of credit
// under `block` refuses its whole subtree (naming itself), and the invoices of every level reconcile with what
// each level billed its children and paid its parent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../service/harness.ts';
import { startBillingScenario, tokenBook, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';

describe('reseller chains', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const customer = async (id: string, bookId: string, extra: Record<string, unknown> = {}) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD', ...extra });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: bookId,
      effective_from: '2026-01-01T00:00:00Z',
    });
  };

  beforeAll(async () => {
    ({ harness, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    // What the tenant charges the distributor, the distributor the resellers, the resellers their end users.
    // Each book belongs to the seller of the customers it prices (migration 080).
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-to-dist', '0.010') });
    await customer('dist', 'tenant-to-dist', { is_reseller: true });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('dist-to-resellers', '0.015'),
      owner_customer_id: 'dist',
    });
    await customer('res-a', 'dist-to-resellers', { is_reseller: true, parent_id: 'dist' });
    await customer('res-b', 'dist-to-resellers', { is_reseller: true, parent_id: 'dist' });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('reseller-a-retail', '0.020'),
      owner_customer_id: 'res-a',
    });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('reseller-b-retail', '0.025'),
      owner_customer_id: 'res-b',
    });
    await customer('user-a1', 'reseller-a-retail', { parent_id: 'res-a' });
    await customer('user-a2', 'reseller-a-retail', { parent_id: 'res-a' });
    await customer('user-b1', 'reseller-b-retail', { parent_id: 'res-b' });
    // Credits at two levels: reseller A has $10 prepaid; the distributor $30 and blocks when it runs out.
    await api.ok('POST', '/v1/customers/res-a/credit_grants', { kind: 'prepaid', amount: '10', name: 'A prepaid' });
    await api.ok('POST', '/v1/customers/dist/credit_grants', { kind: 'prepaid', amount: '30', name: 'Dist prepaid' });
    await api.ok('PATCH', '/v1/customers/dist/wallet', { on_depletion: 'block' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('rates an end user event at every level, each with its own credits, and refuses a subtree at the blocked level', async () => {
    harness.clock.set('2026-03-10T00:00:00Z');
    // 1M tokens: user-a1 pays res-a $20; res-a pays dist $15 ($10 from its credit); dist pays the tenant $10 (credit).
    const [first] = await api.events(tokens('c-1', 'user-a1', 1_000_000, '2026-03-05T00:00:00Z'));
    expect(first).toMatchObject({ status: 'accepted', amount: '20.000000000', credits_applied: '0.000000000' });
    // The receipt explains every level: what each pays its parent, its credits, its margin, its own steps.
    const receipt = await api.ok('GET', '/v1/events/c-1/receipt');
    expect(
      receipt.chain.map((l: any) => [
        l.level,
        l.customer_id,
        l.price_book,
        l.amount,
        l.net,
        l.credits_applied,
        l.margin,
      ]),
    ).toEqual([
      [1, 'res-a', 'dist-to-resellers', '5.000000000', '15.000000000', '10.000000000', '5.000000000'],
      [2, 'dist', 'tenant-to-dist', '0.000000000', '10.000000000', '10.000000000', '5.000000000'],
    ]);
    expect(receipt.chain[1].receipt.filter((s: any) => s.step === 'credit')).toEqual([
      expect.objectContaining({ step: 'credit', amount: '10.000000000', balance: '20.000000000' }),
    ]);
    // Same batch, two end users of two resellers sharing the distributor: 1M tokens each. The distributor has $20
    // left: user-a2's $10 at its level fits, user-b1's brings it to $20 exactly: both fit.
    const acks = await api.events(
      tokens('c-2', 'user-a2', 1_000_000, '2026-03-06T00:00:00Z'),
      tokens('c-3', 'user-b1', 1_000_000, '2026-03-06T01:00:00Z'),
    );
    expect(acks.map((a) => [a.status, a.amount])).toEqual([
      ['accepted', '20.000000000'],
      ['accepted', '25.000000000'],
    ]);
    expect((await api.ok('GET', '/v1/customers/dist/wallet')).balance).toBe('0.000000000');
    // The reseller in the middle blocks too once its own credit is gone: its end users are refused at its level,
    // the first level up the chain that refuses.
    await api.ok('PATCH', '/v1/customers/res-a/wallet', { on_depletion: 'block' });
    const [middle] = await api.events(tokens('c-mid', 'user-a2', 1_000, '2026-03-06T02:00:00Z'));
    expect(middle).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });
    expect(middle.error.message).toContain('reseller "res-a" (level 1');
    await api.ok('PATCH', '/v1/customers/res-a/wallet', { on_depletion: 'overage' });
    // The distributor is out of credit and blocks: every event of its subtree is refused, naming it and its level.
    const [refused] = await api.events(tokens('c-4', 'user-b1', 1_000, '2026-03-07T00:00:00Z'));
    expect(refused.status).toBe('rejected');
    expect(refused.error.code).toBe('credits_exhausted');
    expect(refused.error.message).toContain('reseller "dist" (level 2');
    // Nothing of the refused event is stored at any level.
    const stored = await harness.database.owner`select count(*)::int as n from events where transaction_id = 'c-4'`;
    expect(stored[0].n).toBe(0);
    // The entitlement check says so before the request, naming the level; the sibling reseller's own credit is fine.
    const check = await api.ok('POST', '/v1/customers/user-b1/check', { estimated_cost: '0.01' });
    expect(check.allowed).toBe(false);
    expect(check.reasons).toEqual([
      expect.objectContaining({ code: 'credits_exhausted', level: 2, reseller_id: 'dist' }),
    ]);
    // A top-up at the distributor lets the subtree through again.
    await api.ok('POST', '/v1/customers/dist/credit_grants', { kind: 'prepaid', amount: '5', name: 'Top-up' });
    const [again] = await api.events(tokens('c-5', 'user-b1', 1_000, '2026-03-07T00:00:00Z'));
    expect(again).toMatchObject({ status: 'accepted', amount: '0.025000000' });
    expect(await api.ok('POST', '/v1/customers/user-b1/check', { estimated_cost: '0.01' })).toMatchObject({
      allowed: true,
      reasons: [],
    });
    // A blocking budget at a reseller is a hard limit for its subtree too, whatever the request's on_block says.
    await api.ok('PUT', '/v1/customers/res-b/budget', { amount: '15.02', enforcement: 'block' });
    const overBudget = await api.call('POST', '/v1/customers/user-b1/check', { estimated_cost: '0.01' });
    expect(overBudget.body.reasons).toEqual([
      expect.objectContaining({ code: 'budget_exceeded', level: 1, reseller_id: 'res-b' }),
    ]);
    const [refusedByBudget] = await api.events(tokens('c-6', 'user-b1', 1_000, '2026-03-07T01:00:00Z'));
    expect(refusedByBudget).toMatchObject({ status: 'rejected', error: { code: 'budget_exceeded' } });
    expect(refusedByBudget.error.message).toContain('reseller "res-b" (level 1');
    expect(refusedByBudget.error.details).toEqual([expect.objectContaining({ field: 'customer_id' })]);
    await api.ok('DELETE', '/v1/customers/res-b/budget');
  });

  it("prices an end user's snapshot and quotes from its own book only, and honours its quote through the chain", async () => {
    harness.clock.set('2026-03-20T00:00:00Z');
    const snapshot = await api.ok('GET', '/v1/customers/user-a1/pricing-snapshot');
    const text = JSON.stringify(snapshot);
    expect(text).toContain('reseller-a-retail');
    // Nothing of what its reseller pays, or the distributor: neither their books nor their rates.
    for (const hidden of ['dist-to-resellers', 'tenant-to-dist', '"0.015', '"0.01"', '"0.010'])
      expect(text).not.toContain(hidden);
    const quote = await api.ok('POST', '/v1/quotes', {
      event: tokens('q-1', 'user-a1', 100_000, '2026-03-20T00:00:00Z'),
    });
    expect(quote).toMatchObject({ amount: '2.000000000', price_book: 'reseller-a-retail' });
    expect(JSON.stringify(quote)).not.toContain('dist');
    const [quoted] = await api.events({
      ...tokens('q-1', 'user-a1', 100_000, '2026-03-20T00:00:00Z'),
      quote: quote.quote,
    });
    expect(quoted, JSON.stringify(quoted)).toMatchObject({ status: 'accepted', amount: '2.000000000' });
    const receipt = await api.ok('GET', '/v1/events/q-1/receipt');
    expect(receipt.chain.map((l: any) => [l.customer_id, l.net])).toEqual([
      ['res-a', '1.500000000'],
      ['dist', '1.000000000'],
    ]);
  });

  it('previews a retroactive price change of a reseller-owned book through the whole chain, level by level', async () => {
    await api.ok('POST', '/v1/price_books/reseller-a-retail/versions', {
      version: { ...tokenBook('x', '0.018').versions[0], effective_from: '2026-03-01T00:00:00Z' },
      retroactive: true,
    });
    await jobs.tick();
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=reseller-a-retail')).data;
    expect(rerating.status).toBe('previewed');
    expect(rerating.preview.unratable).toEqual([]);
    // Reseller A's end users pay 10% less; the levels above them are replayed with them and do not move.
    const byCustomer = Object.fromEntries(
      rerating.preview.customers.map((c: any) => [c.customer_id, [c.old_amount, c.new_amount]]),
    );
    expect(byCustomer['user-a1'][1]).toBe('19.800000000'); // c-1 $18, q-1 $1.80 (its quote is not re-honoured)
    expect(byCustomer['user-a2']).toEqual(['20.000000000', '18.000000000']);
    for (const level of ['res-a', 'dist']) expect(byCustomer[level][0]).toBe(byCustomer[level][1]);
  });

  it('invoices every level; what each level bills its children minus what it pays its parent is its margin', async () => {
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const total = async (id: string) => {
      const invoice = await api.invoiceOf(id, '2026-03-01T00:00:00.000Z');
      expect(invoice, id).toBeDefined();
      return invoice.total as string;
    };
    // End users: their reseller's retail prices.
    expect(await total('user-a1')).toBe('22.000000000');
    expect(await total('user-a2')).toBe('20.000000000');
    expect(await total('user-b1')).toBe('25.020000000'); // $25.025 to the cent, half to even
    // Resellers at the distributor's price, less their credits: A $31.50 - $10 credit; B $15.015 to the cent.
    expect(await total('res-a')).toBe('21.500000000');
    expect(await total('res-b')).toBe('15.020000000');
    // The distributor at the tenant's price: $31.01, all of it from its credits.
    expect(await total('dist')).toBe('0.000000000');

    // The margin report, level by level (from chain_daily, never the raw events): resale - charge.
    const report = await api.ok('GET', '/v1/resellers/dist/margins?from=2026-03-01&to=2026-03-31&group_by=level');
    expect(report.data.map((m: any) => [m.reseller_id, m.resale, m.charge, m.margin, m.events])).toEqual([
      ['dist', '46.515000000', '31.010000000', '15.505000000', 5],
      ['res-a', '42.000000000', '31.500000000', '10.500000000', 3],
      ['res-b', '25.025000000', '15.015000000', '10.010000000', 2],
    ]);
    // Reconciliation: what the end users paid = every reseller's margin + what the top one paid the tenant.
    const nano = (amount: string) => BigInt(amount.replace('.', ''));
    const margins = report.data.reduce((sum: bigint, m: any) => sum + nano(m.margin), 0n);
    expect(margins + nano('31.010000000')).toBe(nano('22.000000000') + nano('20.000000000') + nano('25.025000000'));
    // By end user at the distributor's level.
    const byUser = await api.ok('GET', '/v1/resellers/dist/margins?from=2026-03-01&to=2026-03-31&group_by=end_user');
    expect(byUser.data.map((m: any) => [m.end_user_id, m.events])).toEqual([
      ['user-a1', 2],
      ['user-a2', 1],
      ['user-b1', 2],
    ]);
  });
  it('applies the re-rating through the chain: end users revised, levels above unchanged, margins follow', async () => {
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=reseller-a-retail')).data;
    await api.ok('POST', `/v1/reratings/${rerating.id}/approve`);
    await jobs.tick();
    const applied = await api.ok('GET', `/v1/reratings/${rerating.id}`);
    expect(applied.status, applied.error).toBe('applied');
    // Reseller A's end users' invoices (drafts in their grace hour) are rebuilt at the new price.
    expect(await api.invoiceOf('user-a2', '2026-03-01T00:00:00.000Z')).toMatchObject({ total: '18.000000000' });
    // The receipt: revision 2, the end user's new amount, the levels above as they were.
    const receipt = await api.ok('GET', '/v1/events/c-1/receipt');
    expect([receipt.revision, receipt.amount]).toEqual([2, '18.000000000']);
    expect(receipt.chain.map((l: any) => [l.customer_id, l.net, l.margin])).toEqual([
      ['res-a', '15.000000000', '3.000000000'],
      ['dist', '10.000000000', '5.000000000'],
    ]);
    // Reseller A resells for $4.20 less (c-1 $2, q-1 $0.20, c-2 $2); what it pays and the distributor's margin stay.
    const report = await api.ok('GET', '/v1/resellers/dist/margins?from=2026-03-01&to=2026-03-31&group_by=level');
    expect(report.data.map((m: any) => [m.reseller_id, m.resale, m.charge, m.margin, m.events])).toEqual([
      ['dist', '46.515000000', '31.010000000', '15.505000000', 5],
      ['res-a', '37.800000000', '31.500000000', '6.300000000', 3],
      ['res-b', '25.025000000', '15.015000000', '10.010000000', 2],
    ]);
  });
});
