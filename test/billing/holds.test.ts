// Spend holds over HTTP (issue 18): placing (by amount or priced from an estimate), idempotency by the caller's id,
// refusals with what is available, captures at ingestion (several per hold, a final one, overruns by policy),
// release, extension, expiry by the billing tick, the check and the usage reads counting holds, webhooks'
// notifications, and the signed balance token verified with the published key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBalanceToken } from '../../sdk/src/balance-token.ts';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, client, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('spend holds', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  const at = '2026-03-20T00:00:00Z';
  // $0.02 per 1,000 tokens: 50,000 tokens = $1.
  const capture = (id: string, customer: string, count: number, holdId?: string, final?: boolean) => ({
    ...tokens(id, customer, count, at),
    ...(holdId === undefined ? {} : { hold_id: holdId }),
    ...(final === undefined ? {} : { hold_final: final }),
  });

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-20T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    for (const id of ['agent-co', 'budgeted']) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('PUT', `/v1/customers/${id}/price_book`, {
        price_book: 'ai-platform',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
    await api.ok('PATCH', '/v1/customers/agent-co/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/agent-co/credit_grants', { kind: 'prepaid', amount: '10' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('places a hold once per id, counts it in the check, and refuses what is not available', async () => {
    const placed = await api.call('POST', '/v1/customers/agent-co/holds', {
      id: 'run-1',
      amount: '4',
      expires_in: 300,
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      id: 'run-1',
      status: 'open',
      amount: '4.000000000',
      held: '4.000000000',
      captured: '0.000000000',
      overrun: 'charge',
      expires_at: '2026-03-20T00:05:00.000Z',
    });
    // The same request again: the same hold, not a second one.
    const again = await api.call('POST', '/v1/customers/agent-co/holds', { id: 'run-1', amount: '4', expires_in: 300 });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: 'run-1', amount: '4.000000000', created_at: placed.body.created_at });
    const reused = await api.call('POST', '/v1/customers/agent-co/holds', { id: 'run-1', amount: '5' });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'hold_id_reused', details: [{ field: 'id' }] });

    let check = await api.ok('POST', '/v1/customers/agent-co/check', { estimated_cost: '6' });
    expect(check).toMatchObject({
      allowed: true,
      credit_balance: '10.000000000',
      held: '4.000000000',
      available_balance: '6.000000000',
    });
    check = await api.ok('POST', '/v1/customers/agent-co/check', { estimated_cost: '6.01' });
    expect(check).toMatchObject({ allowed: false, reasons: [{ code: 'credits_exhausted' }] });

    const refused = await api.call('POST', '/v1/customers/agent-co/holds', { id: 'run-2', amount: '7' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('insufficient_balance');
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'available.balance', reason: '6.000000000' },
        { field: 'available.held', reason: '4.000000000' },
      ]),
    );
    // Nothing was stored for the refusal: the id is free.
    expect((await api.call('GET', '/v1/customers/agent-co/holds/run-2')).status).toBe(404);

    // Bad input names its field.
    const both = await api.call('POST', '/v1/customers/agent-co/holds', {
      id: 'x',
      amount: '1',
      estimate: { event_type: 'llm.completion', properties: {} },
    });
    expect(both.status).toBe(400);
    expect(both.body.error.details[0].field).toBe('estimate');
    const tooLong = await api.call('POST', '/v1/customers/agent-co/holds', {
      id: 'x',
      amount: '1',
      expires_in: 86_401,
    });
    expect(tooLong.body.error.details[0].field).toBe('expires_in');
  });

  it('prices an estimate with the kernel at the price in force, before credits', async () => {
    const hold = await api.ok('POST', '/v1/customers/agent-co/holds', {
      id: 'estimated',
      estimate: { event_type: 'llm.completion', properties: { model: 'llama-3-70b', tokens: 100_000 } },
    });
    expect(hold).toMatchObject({
      amount: '2.000000000',
      card: 'llm/tokens',
      held: '2.000000000',
      estimate: { event_type: 'llm.completion' },
    });
    // Expires after the default ten minutes.
    expect(hold.expires_at).toBe('2026-03-20T00:10:00.000Z');
    // A GPU job's worst case: its maximum duration. Two H100s for an hour at $2.50 per GPU-hour.
    const gpu = await api.ok('POST', '/v1/customers/budgeted/holds', {
      id: 'gpu-job',
      estimate: {
        event_type: 'gpu.job',
        properties: { gpu_type: 'h100', gpu_count: 2, duration_seconds: 3600, region: 'us-east' },
      },
    });
    expect(gpu).toMatchObject({ amount: '5.000000000', card: 'gpu/h100' });
    await api.ok('POST', '/v1/customers/budgeted/holds/gpu-job/release');
    const unpriced = await api.call('POST', '/v1/customers/agent-co/holds', {
      id: 'nothing',
      estimate: { event_type: 'unknown.kind', properties: {} },
    });
    expect(unpriced.status).toBe(400);
    expect(unpriced.body.error.details[0].field).toMatch(/^estimate/);
  });

  it('captures a hold several times at ingestion, releasing the rest on the final capture', async () => {
    // $3 of the $4 hold, then $0.50 with hold_final: the remaining $0.50 is freed.
    let [outcome] = await api.events(capture('cap-1', 'agent-co', 150_000, 'run-1'));
    expect(outcome).toMatchObject({
      status: 'accepted',
      amount: '0.000000000',
      credits_applied: '3.000000000',
      hold: { id: 'run-1', status: 'open', captured: '3.000000000', held: '1.000000000' },
    });
    [outcome] = await api.events(capture('cap-2', 'agent-co', 25_000, 'run-1', true));
    expect(outcome).toMatchObject({
      status: 'accepted',
      hold: { id: 'run-1', status: 'captured', captured: '0.500000000', held: '0.000000000' },
    });
    // Sending a capture again is a duplicate: nothing captured twice.
    [outcome] = await api.events(capture('cap-2', 'agent-co', 25_000, 'run-1', true));
    expect(outcome.status).toBe('duplicate');
    const hold = await api.ok('GET', '/v1/customers/agent-co/holds/run-1');
    expect(hold).toMatchObject({ status: 'captured', captured: '3.500000000', held: '0.000000000', capture_count: 2 });
    expect(hold.captures.map((c: any) => [c.transaction_id, c.amount, c.final])).toEqual([
      ['cap-1', '3.000000000', false],
      ['cap-2', '0.500000000', true],
    ]);
    // Credit 6.50, held 2 (the estimate's hold): 4.50 available.
    const check = await api.ok('POST', '/v1/customers/agent-co/check', { estimated_cost: '0' });
    expect(check).toMatchObject({
      credit_balance: '6.500000000',
      held: '2.000000000',
      available_balance: '4.500000000',
    });
    // The balance and usage reads count the open hold too.
    expect(await api.ok('GET', '/v1/customers/agent-co/wallet')).toMatchObject({
      balance: '6.500000000',
      held: '2.000000000',
      available_balance: '4.500000000',
    });
    expect(await api.ok('GET', '/v1/customers/agent-co/usage')).toMatchObject({
      held: '2.000000000',
      event_count: '2',
    });
    // A closed hold captures nothing more: the event is rated as if it named none.
    [outcome] = await api.events(capture('cap-3', 'agent-co', 5_000, 'run-1'));
    expect(outcome).toMatchObject({
      status: 'accepted',
      hold: { id: 'run-1', status: 'captured', captured: '0.000000000' },
    });
    // An unknown hold is the event's error.
    [outcome] = await api.events(capture('cap-4', 'agent-co', 5_000, 'no-such-hold'));
    expect(outcome).toMatchObject({ status: 'rejected', error: { code: 'hold_not_found', field: 'hold_id' } });
  });

  it('keeps what holds set aside from events that carry none, and refuses overruns by policy', async () => {
    // Credit 6.40, held 2: an unheld $5 event sent with on_block "refuse" would spend the estimate's hold.
    let [outcome] = await api.refusing(capture('free-1', 'agent-co', 250_000));
    expect(outcome).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });
    [outcome] = await api.refusing(capture('free-2', 'agent-co', 200_000));
    expect(outcome).toMatchObject({ status: 'accepted', credits_applied: '4.000000000' });

    // Credit 2.40, held 2. A hold that refuses overruns: a capture beyond it is rejected, the hold stays open.
    await api.ok('POST', '/v1/customers/agent-co/holds', { id: 'strict', amount: '0.4', overrun: 'refuse' });
    [outcome] = await api.events(capture('strict-1', 'agent-co', 25_000, 'strict'));
    expect(outcome).toMatchObject({
      status: 'rejected',
      error: { code: 'hold_exceeded', details: [{ field: 'hold_id' }] },
    });
    [outcome] = await api.events(capture('strict-2', 'agent-co', 20_000, 'strict', true));
    expect(outcome).toMatchObject({ status: 'accepted', hold: { status: 'captured', captured: '0.400000000' } });

    // Extending beyond what is available is refused like a new hold; a later expiry is fine.
    const bigger = await api.call('POST', '/v1/customers/agent-co/holds/estimated/extend', { amount: '3' });
    expect(bigger.status).toBe(422);
    expect(bigger.body.error.code).toBe('insufficient_balance');
    const later = await api.ok('POST', '/v1/customers/agent-co/holds/estimated/extend', { expires_in: 3600 });
    expect(later).toMatchObject({ status: 'open', amount: '2.000000000', expires_at: '2026-03-20T01:00:00.000Z' });
    // An extension states one new worst case: an amount or an estimate, not both; nothing changes when refused.
    const both = await api.call('POST', '/v1/customers/agent-co/holds/estimated/extend', {
      amount: '2.5',
      estimate: later.estimate,
    });
    expect(both.status).toBe(400);
    expect(both.body.error.details).toContainEqual(expect.objectContaining({ field: 'estimate' }));
    // An estimate that prices below what is held would lower the hold: refused, naming the estimate.
    const smaller = await api.call('POST', '/v1/customers/agent-co/holds/estimated/extend', {
      estimate: { ...later.estimate, properties: { ...later.estimate.properties, tokens: 1 } },
    });
    expect(smaller.status).toBe(400);
    expect(smaller.body.error).toMatchObject({ code: 'hold_amount_decreased', details: [{ field: 'estimate' }] });
    expect((await api.ok('GET', '/v1/customers/agent-co/holds/estimated')).amount).toBe('2.000000000');

    // Release is idempotent; afterwards the credit is free again.
    const released = await api.ok('POST', '/v1/customers/agent-co/holds/estimated/release');
    expect(released).toMatchObject({ status: 'released', held: '0.000000000' });
    expect(await api.ok('POST', '/v1/customers/agent-co/holds/estimated/release')).toMatchObject({
      status: 'released',
      closed_at: released.closed_at,
    });
    expect(
      (await api.call('POST', '/v1/customers/agent-co/holds/estimated/extend', { expires_in: 60 })).body.error.code,
    ).toBe('hold_closed');
    const check = await api.ok('POST', '/v1/customers/agent-co/check', { estimated_cost: '2' });
    expect(check).toMatchObject({ allowed: true, held: '0.000000000', available_balance: '2.000000000' });

    const list = await api.ok('GET', '/v1/customers/agent-co/holds');
    expect(list.held).toBe('0.000000000');
    expect(list.data.map((h: any) => [h.id, h.status]).sort()).toEqual([
      ['estimated', 'released'],
      ['run-1', 'captured'],
      ['strict', 'captured'],
    ]);
    // The ledger holds the events' drawdowns only: holds move no money.
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('holds against a blocking budget, and refuses a blocked customer', async () => {
    await api.ok('PUT', '/v1/customers/budgeted/budget', { amount: '5', enforcement: 'block' });
    await api.ok('POST', '/v1/customers/budgeted/holds', { id: 'b-1', amount: '3' });
    const over = await api.call('POST', '/v1/customers/budgeted/holds', { id: 'b-2', amount: '3' });
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe('budget_exceeded');
    expect(over.body.error.details).toEqual(
      expect.arrayContaining([{ field: 'available.budget', reason: '2.000000000' }]),
    );
    const check = await api.ok('POST', '/v1/customers/budgeted/check', { estimated_cost: '2.5' });
    expect(check).toMatchObject({ allowed: false, budget: { spend: '0.000000000', remaining: '2.000000000' } });
    // $6 of usage accepted past the budget (on_block accept): the customer is blocked, so no hold is placed.
    await api.ok('POST', '/v1/customers/budgeted/holds/b-1/release');
    await api.events(capture('b-usage', 'budgeted', 300_000));
    const blocked = await api.call('POST', '/v1/customers/budgeted/holds', { id: 'b-3', amount: '0.01' });
    expect(blocked.body.error.code).toBe('blocked');
  });

  it('lets a customer who blocks on depletion hold again once a grant covers it, as the check and ingestion do', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'topped-up', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/topped-up/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.ok('PATCH', '/v1/customers/topped-up/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/topped-up/credit_grants', { kind: 'prepaid', amount: '1' });
    // $2 of usage accepted past its $1 credit (on_block accept): $1 is billed beyond it, and nothing is left.
    const [past] = await api.events(capture('t-usage', 'topped-up', 100_000));
    expect(past).toMatchObject({ status: 'accepted', amount: '1.000000000' });
    const empty = await api.call('POST', '/v1/customers/topped-up/holds', { id: 't-1', amount: '0.5' });
    expect(empty.body.error.code).toBe('insufficient_balance');
    // A top-up: the check allows, ingestion accepts, and a hold is placed too.
    await api.ok('POST', '/v1/customers/topped-up/credit_grants', { kind: 'prepaid', amount: '5' });
    expect(await api.ok('POST', '/v1/customers/topped-up/check', { estimated_cost: '0.5' })).toMatchObject({
      allowed: true,
    });
    const placed = await api.call('POST', '/v1/customers/topped-up/holds', { id: 't-2', amount: '0.5' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const [covered] = await api.refusing(capture('t-usage-2', 'topped-up', 25_000, 't-2', true));
    expect(covered).toMatchObject({ status: 'accepted', amount: '0.000000000' });
  });

  it('expires holds by the billing tick, telling webhooks, and says balance.low when holds drain the balance', async () => {
    // The "strict" hold earlier left nothing available (2.40 credit, 2.40 held): told once this period.
    await api.ok('POST', '/v1/customers/agent-co/holds', { id: 'crashed', amount: '1.5', expires_in: 60 });
    const low = (await api.ok('GET', '/v1/notifications?type=balance.low&customer_id=agent-co')).data;
    expect(low).toHaveLength(1);
    expect(low[0].payload).toMatchObject({
      customer_id: 'agent-co',
      credit_balance: '2.400000000',
      held: '2.400000000',
      available_balance: '0.000000000',
    });
    // Not yet due.
    await jobs.tick();
    expect((await api.ok('GET', '/v1/customers/agent-co/holds/crashed')).status).toBe('open');
    harness.clock.advance(61_000);
    // Past its expiry the check stops counting it at once, before the scheduler closes it.
    expect(await api.ok('POST', '/v1/customers/agent-co/check', { estimated_cost: '0' })).toMatchObject({
      held: '0.000000000',
    });
    await jobs.tick();
    expect(await api.ok('GET', '/v1/customers/agent-co/holds/crashed')).toMatchObject({
      status: 'expired',
      held: '0.000000000',
    });
    const expired = (await api.ok('GET', '/v1/notifications?type=hold.expired')).data;
    expect(expired.map((n: any) => [n.payload.hold_id, n.payload.released])).toEqual([['crashed', '1.500000000']]);
    // A second tick finds nothing more to do.
    await jobs.tick();
    expect((await api.ok('GET', '/v1/notifications?type=hold.expired')).data).toHaveLength(1);
  });

  it('signs a balance token with the open holds, verifiable with the published key only', async () => {
    await api.ok('POST', '/v1/customers/agent-co/holds', { id: 'gateway', amount: '0.25', expires_in: 600 });
    const token = await api.ok('GET', '/v1/customers/agent-co/balance_token');
    expect(token.claims).toMatchObject({
      typ: 'tariff.balance',
      sub: 'agent-co',
      dep: 'block',
      bal: '2.000000000',
      held: '0.250000000',
      avl: '1.750000000',
    });
    expect(token.claims.holds.map((h: any) => [h.id, h.held])).toEqual([['gateway', '0.250000000']]);
    // The publishable key reads the public keys: a gateway needs no secret.
    const keys = (
      await client(harness, { ...tenant, secretKey: tenant.publishableKey }).ok('GET', '/v1/balance_token_keys')
    ).keys;
    expect(keys).toHaveLength(1);
    const now = new Date(harness.clock.now().getTime());
    const verified = verifyBalanceToken(token.token, keys, now);
    expect(verified).toMatchObject({ ok: true, claims: { avl: '1.750000000', tid: tenant.tenantId } });
    // A changed claim, a changed signature, another key, a lapsed token: all refused.
    const [head, body, signature] = token.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...token.claims, avl: '1000.000000000' })).toString('base64url');
    expect(verifyBalanceToken(`${head}.${forged}.${signature}`, keys, now)).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
    const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
    expect(verifyBalanceToken(`${head}.${body}.${flipped}`, keys, now)).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
    expect(verifyBalanceToken(token.token, [], now)).toEqual({ ok: false, problem: 'unknown_key' });
    expect(verifyBalanceToken(token.token, keys, new Date(now.getTime() + 61_000))).toEqual({
      ok: false,
      problem: 'expired',
    });
  });
});
