// Spend holds at every level of a reseller chain (issue 18): a hold for an end user sets aside the same amount at
// each reseller above it, is refused naming the level whose balance cannot cover it, and capture, release and
// expiry settle every level. Many end users holding at once under one reseller never overdraw it under block.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { startBillingScenario, tokenBook, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('holds through reseller chains', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  const at = '2026-03-10T00:00:00Z';

  const customer = async (id: string, bookId: string, extra: Record<string, unknown> = {}) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD', ...extra });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: bookId,
      effective_from: '2026-01-01T00:00:00Z',
    });
  };
  const held = async (id: string) =>
    (await api.ok('POST', `/v1/customers/${id}/check`, { estimated_cost: '0' })).held as string;
  const levelRows = async (holdId: string) =>
    (
      await harness.database.owner`
        select h.level, c.external_id, h.status, h.amount::text, h.captured::text from holds h
        join customers c on c.tenant_id = h.tenant_id and c.id = h.customer_id
        where h.id = ${holdId} order by h.level`
    ).map((r) => [r.level, r.external_id, r.status, r.amount, r.captured]);

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario(at));
    // The tenant charges the reseller $0.010 per 1,000 tokens; the reseller its end users $0.020.
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-to-res', '0.010') });
    for (const id of ['res', 'res-many']) {
      await customer(id, 'tenant-to-res', { is_reseller: true });
      await api.ok('PATCH', `/v1/customers/${id}/wallet`, { on_depletion: 'block' });
    }
    await api.ok('POST', '/v1/price_books', { book: tokenBook('res-retail', '0.020'), owner_customer_id: 'res' });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('res-many-retail', '0.020'),
      owner_customer_id: 'res-many',
    });
    // The reseller's credit ($5) covers less than its end user's ($20).
    await api.ok('POST', '/v1/customers/res/credit_grants', { kind: 'prepaid', amount: '5' });
    await customer('user', 'res-retail', { parent_id: 'res' });
    await api.ok('PATCH', '/v1/customers/user/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/user/credit_grants', { kind: 'prepaid', amount: '20' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('refuses at the level that cannot cover the hold, naming it', async () => {
    const refused = await api.call('POST', '/v1/customers/user/holds', { id: 'too-big', amount: '8' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('insufficient_balance');
    expect(refused.body.error.message).toContain('reseller "res" (level 1');
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'level', reason: '1' },
        { field: 'reseller_id', reason: 'res' },
        { field: 'available.balance', reason: '5.000000000' },
      ]),
    );
    // Nothing was set aside at either level.
    expect(await levelRows('too-big')).toEqual([]);
    expect([await held('user'), await held('res')]).toEqual(['0.000000000', '0.000000000']);
  });

  it('holds at both levels, and a capture settles both with what each level was charged', async () => {
    const placed = await api.call('POST', '/v1/customers/user/holds', { id: 'run', amount: '4', expires_in: 600 });
    expect(placed.status).toBe(201);
    expect(await levelRows('run')).toEqual([
      [0, 'user', 'open', '4.000000000', '0'],
      [1, 'res', 'open', '4.000000000', '0'],
    ]);
    // The reseller's check counts what its end user's hold sets aside at its level.
    expect(await held('res')).toBe('4.000000000');
    const check = await api.ok('POST', '/v1/customers/user/check', { estimated_cost: '2' });
    expect(check.reasons).toEqual([
      expect.objectContaining({ code: 'credits_exhausted', level: 1, reseller_id: 'res' }),
    ]);
    // 100,000 tokens: the end user is charged $2, the reseller $1.
    const [ack] = await api.events({ ...tokens('run-1', 'user', 100_000, at), hold_id: 'run', hold_final: true });
    expect(ack).toMatchObject({ status: 'accepted', hold: { id: 'run', status: 'captured', captured: '2.000000000' } });
    expect(await levelRows('run')).toEqual([
      [0, 'user', 'captured', '4.000000000', '2.000000000'],
      [1, 'res', 'captured', '4.000000000', '1.000000000'],
    ]);
    const captures = await harness.database.owner`
      select level, amount::text, final from hold_captures where hold_id = 'run' order by level`;
    expect(captures.map((c) => [c.level, c.amount, c.final])).toEqual([
      [0, '2.000000000', true],
      [1, '1.000000000', true],
    ]);
    expect([await held('user'), await held('res')]).toEqual(['0.000000000', '0.000000000']);
    expect((await api.ok('GET', '/v1/customers/res/wallet')).balance).toBe('4.000000000');
  });

  it('releases and expires every level', async () => {
    await api.ok('POST', '/v1/customers/user/holds', { id: 'released', amount: '1', expires_in: 600 });
    await api.ok('POST', '/v1/customers/user/holds', { id: 'crashed', amount: '3', expires_in: 60 });
    expect(await held('res')).toBe('4.000000000');
    await api.ok('POST', '/v1/customers/user/holds/released/release');
    expect((await levelRows('released')).map((r) => r[2])).toEqual(['released', 'released']);
    expect(await held('res')).toBe('3.000000000');
    harness.clock.advance(61_000);
    await jobs.tick();
    expect((await levelRows('crashed')).map((r) => r[2])).toEqual(['expired', 'expired']);
    expect(await held('res')).toBe('0.000000000');
    // Expired once: one notification for the hold, none for its level row.
    const expired = (await api.ok('GET', '/v1/notifications?type=hold.expired')).data;
    expect(expired.map((n: any) => n.payload.hold_id)).toEqual(['crashed']);
  });

  it('prices an estimate at each of two reseller levels by its own book, shows every level, and an extension prices each level again', async () => {
    // top resells to mid ($0.005 per 1,000 tokens), mid to its end user deep-user ($0.010), who pays $0.020.
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-to-top', '0.005') });
    await customer('top', 'tenant-to-top', { is_reseller: true });
    await api.ok('PATCH', '/v1/customers/top/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/top/credit_grants', { kind: 'prepaid', amount: '1.5' });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('top-to-mid', '0.010'), owner_customer_id: 'top' });
    await customer('mid', 'top-to-mid', { is_reseller: true, parent_id: 'top' });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('mid-retail', '0.020'), owner_customer_id: 'mid' });
    await customer('deep-user', 'mid-retail', { parent_id: 'mid' });
    const estimate = (count: number) => ({ event_type: 'llm.completion', properties: { tokens: count } });
    const level = (k: number, id: string, amount: string, captured = '0.000000000') => ({
      level: k,
      reseller_id: id,
      amount,
      captured,
      held: (Number(amount) - Number(captured)).toFixed(9),
    });

    const placed = await api.call('POST', '/v1/customers/deep-user/holds', {
      id: 'deep',
      estimate: estimate(100_000),
      expires_in: 600,
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ amount: '2.000000000', held: '2.000000000' });
    expect(placed.body.levels).toEqual([level(1, 'mid', '1.000000000'), level(2, 'top', '0.500000000')]);
    expect(await levelRows('deep')).toEqual([
      [0, 'deep-user', 'open', '2.000000000', '0'],
      [1, 'mid', 'open', '1.000000000', '0'],
      [2, 'top', 'open', '0.500000000', '0'],
    ]);
    // Every read shows the levels: the hold, the list, a replay of the placement.
    expect((await api.ok('GET', '/v1/customers/deep-user/holds/deep')).levels).toEqual(placed.body.levels);
    expect((await api.ok('GET', '/v1/customers/deep-user/holds')).data[0].levels).toEqual(placed.body.levels);
    const replayed = await api.call('POST', '/v1/customers/deep-user/holds', {
      id: 'deep',
      estimate: estimate(100_000),
      expires_in: 600,
    });
    expect(replayed.body.levels).toEqual(placed.body.levels);
    // A direct customer's hold has no levels above it.
    await api.ok('POST', '/v1/customers/top/holds', { id: 'top-own', amount: '0.1' });
    expect((await api.ok('GET', '/v1/customers/top/holds/top-own')).levels).toEqual([]);
    await api.ok('POST', '/v1/customers/top/holds/top-own/release');

    // Extended to 250,000 tokens: each level priced again by its own book (not raised by the end user's increase).
    const extended = await api.ok('POST', '/v1/customers/deep-user/holds/deep/extend', { estimate: estimate(250_000) });
    expect(extended).toMatchObject({ amount: '5.000000000', held: '5.000000000', estimate: estimate(250_000) });
    expect(extended.levels).toEqual([level(1, 'mid', '2.500000000'), level(2, 'top', '1.250000000')]);
    expect(await levelRows('deep')).toEqual([
      [0, 'deep-user', 'open', '5.000000000', '0'],
      [1, 'mid', 'open', '2.500000000', '0'],
      [2, 'top', 'open', '1.250000000', '0'],
    ]);
    expect(await held('top')).toBe('1.250000000');
    // 350,000 tokens would cost top $1.75 of its $1.50: refused at level 2, nothing changed.
    const refused = await api.call('POST', '/v1/customers/deep-user/holds/deep/extend', {
      estimate: estimate(350_000),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('insufficient_balance');
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'level', reason: '2' },
        { field: 'reseller_id', reason: 'top' },
      ]),
    );
    expect((await levelRows('deep')).map((r) => r[3])).toEqual(['5.000000000', '2.500000000', '1.250000000']);
    // An amount is held at every level, as a placement with an amount holds it: $5.50 is more than top's $1.50.
    const byAmount = await api.call('POST', '/v1/customers/deep-user/holds/deep/extend', { amount: '5.5' });
    expect(byAmount.status).toBe(422);
    expect(byAmount.body.error.details).toContainEqual({ field: 'reseller_id', reason: 'top' });
    await api.ok('POST', '/v1/customers/deep-user/holds/deep/release');
    expect([await held('mid'), await held('top')]).toEqual(['0.000000000', '0.000000000']);
  });

  it('never overdraws the reseller when many end users hold and capture at once', async () => {
    // res-many has $5 and blocks; 20 end users without limits of their own each place 5 holds of $0.30 at once.
    await api.ok('POST', '/v1/customers/res-many/credit_grants', { kind: 'prepaid', amount: '5' });
    const users = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    for (const id of users) await customer(id, 'res-many-retail', { parent_id: 'res-many' });
    const placements = users.flatMap((id) => Array.from({ length: 5 }, (_, k) => ({ id, hold: `${id}-h${k}` })));
    const answers = await Promise.all(
      placements.map((p) =>
        api.call('POST', `/v1/customers/${p.id}/holds`, { id: p.hold, amount: '0.3', expires_in: 600 }),
      ),
    );
    const accepted = placements.filter((_, i) => answers[i].status === 201);
    for (const [i, a] of answers.entries())
      if (a.status !== 201) {
        expect(a.status).toBe(422);
        expect(a.body.error).toMatchObject({ code: 'insufficient_balance' });
        expect(a.body.error.details).toContainEqual({ field: 'reseller_id', reason: 'res-many' });
        expect(placements[i]).toBeDefined();
      }
    // $5 holds 16 holds of $0.30 at the reseller's level, and not one more.
    expect(accepted).toHaveLength(16);
    expect(await held('res-many')).toBe('4.800000000');
    // Usage sent without a hold may not spend what the holds set aside at the reseller's level: $0.20 is free
    // there, and each of these costs the reseller $0.50.
    const free = await Promise.all(users.map((id, i) => api.events(tokens(`free-${i}`, id, 50_000, at))));
    for (const [ack] of free) {
      expect(ack).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });
      expect(ack.error.message).toContain('reseller "res-many" (level 1');
    }
    // Each hold captures up to its amount ($0.30 = 15,000 tokens at the end user's price; the reseller pays half),
    // while smaller usage without holds arrives at once: every capture is honoured, the reseller never overdrawn.
    const acks = await Promise.all([
      ...accepted.map((p, i) =>
        api.events({
          ...tokens(`cap-${p.hold}`, p.id, 5_000 + (i % 3) * 5_000, at),
          hold_id: p.hold,
          hold_final: true,
        }),
      ),
      ...users.map((id, i) => api.events(tokens(`small-${i}`, id, 10_000, at))),
    ]);
    const captured = acks.slice(0, accepted.length).map(([a]) => a);
    expect(captured.every((a) => a.status === 'accepted' && a.hold.status === 'captured')).toBe(true);
    const wallet = await api.ok('GET', '/v1/customers/res-many/wallet');
    expect(BigInt(wallet.balance.replace('.', ''))).toBeGreaterThanOrEqual(0n);
    for (const p of accepted) expect((await levelRows(p.hold)).map((r) => r[2])).toEqual(['captured', 'captured']);
    expect(await held('res-many')).toBe('0.000000000');
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
