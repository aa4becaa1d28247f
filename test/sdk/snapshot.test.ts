// GET /v1/customers/{id}/pricing-snapshot and Estimator.fromServer against the real service and PostgreSQL: the
// snapshot holds the state ingestion gives the kernel (plan terms, grants at live balances, policy), an ETag that
// answers 304 until something rating depends on changes, a signed token; the SDK estimates from it to the byte.
import crypto from 'node:crypto';
import { Kernel } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TariffClient, TariffError } from '../../sdk/src/client.ts';
import { Estimator } from '../../sdk/src/estimator.ts';
import { type Harness, type TenantFixture, rest, signUpTenant, startService } from '../service/harness.ts';

let harness: Harness;
let tenant: TenantFixture;
let client: TariffClient;
let kernel: Kernel;

/** input tokens draw the plan's free pool first; a graduated output price over the period's output counter. */
const book = {
  id: 'snap-book',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      allowances: { free_input: { included: '0' } },
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: 'gpt-4o' },
          charges: [
            { dimension: 'input_tokens', allowance: 'free_input', price: { model: 'per_unit', rate: '2.5' } },
            {
              dimension: 'output_tokens',
              price: { model: 'graduated', counter: 'output', tiers: [{ up_to: '20000', rate: '10' }, { rate: '8' }] },
            },
          ],
        },
      ],
    },
  ],
};

const event = (id: string, customer: string, input: number, output: number, timestamp = '2026-03-14T10:00:00Z') => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output },
});

async function as(key: string, method: string, path: string, body?: unknown) {
  return rest(harness, method, path, { key, body });
}

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
  tenant = await signUpTenant(harness);
  client = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
  kernel = await Kernel.create(wasmBytes());
  const key = tenant.secretKey;
  expect((await as(key, 'POST', '/v1/price_books', { book })).status).toBe(201);
  expect(
    (
      await as(key, 'POST', '/v1/plans', {
        code: 'pro',
        name: 'Pro',
        price_book: 'snap-book',
        interval: 'month',
        allowances: { free_input: '5000' },
        minimum_spend: '50',
      })
    ).status,
  ).toBe(201);
  // acme: subscribed with a discount, a promotion and a prepaid top-up, blocking when credit runs out, a budget.
  expect((await as(key, 'POST', '/v1/customers', { external_id: 'acme', currency: 'USD' })).status).toBe(201);
  expect(
    (
      await as(key, 'POST', '/v1/customers/acme/subscriptions', {
        plan: 'pro',
        started_at: '2026-03-01T00:00:00Z',
        discount_percent: '12.5',
      })
    ).status,
  ).toBe(201);
  expect(
    (await as(key, 'POST', '/v1/customers/acme/credit_grants', { kind: 'promotional', amount: '0.05', priority: 1 }))
      .status,
  ).toBe(201);
  expect(
    (
      await as(key, 'POST', '/v1/customers/acme/credit_grants', {
        kind: 'prepaid',
        amount: '0.40',
        expires_at: '2026-06-01T00:00:00Z',
      })
    ).status,
  ).toBe(201);
  expect((await as(key, 'PATCH', '/v1/customers/acme/wallet', { on_depletion: 'block' })).status).toBe(200);
  expect((await as(key, 'PUT', '/v1/customers/acme/budget', { amount: '2', enforcement: 'block' })).status).toBe(200);
  expect((await as(key, 'POST', '/v1/events', { events: [event('warm-1', 'acme', 3000, 15000)] })).body.accepted).toBe(
    1,
  );
  // bare: no book at all.
  expect((await as(key, 'POST', '/v1/customers', { external_id: 'bare', currency: 'USD' })).status).toBe(201);
});

afterAll(async () => {
  await harness?.close();
});

describe('GET /v1/customers/{id}/pricing-snapshot', () => {
  it('holds the state ingestion gives the kernel: plan allowances, minimum and discount, grants at live balances, policy', async () => {
    const snapshot = (await as(tenant.secretKey, 'GET', '/v1/customers/acme/pricing-snapshot')).body;
    expect(snapshot).toMatchObject({
      customer_id: 'acme',
      currency: 'USD',
      price_book: 'snap-book',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z', status: 'open' },
      valid_until: '2026-04-01T00:00:00.000Z',
      on_depletion: 'block',
      budget: { amount: '2.000000000', enforcement: 'block' },
      watermark: '2026-03-15T00:00:00.000Z',
      expires_at: '2026-03-15T00:05:00.000Z',
    });
    const state = snapshot.state;
    // 3,000 of the plan's 5,000 free input tokens used; 15,000 output tokens on the counter.
    expect(state.allowances).toEqual({ free_input: '2000.000000' });
    expect(state.counters).toEqual({ output: '15000.000000' });
    expect(state.discount_percent).toBe('12.5000000');
    expect(state.commitment).toMatchObject({ mode: 'postpaid' });
    expect(state.on_depletion).toBe('block');
    // The first event (0.15 * 0.875 = 0.13125) drew the promotion (0.05) and 0.08125 of the top-up.
    // A drawn-down grant is no longer handed to the kernel (as at ingestion).
    expect(state.grants.map((g: any) => [g.kind, g.balance, g.expires_at])).toEqual([
      ['prepaid', '0.318750000', '2026-06-01T00:00:00.000Z'],
    ]);
    expect(snapshot.credit_balance).toBe('0.318750000');
    expect(snapshot.spend).toBe('0.131250000');
    expect(snapshot.book.versions).toEqual(book.versions);
  });

  it('the SDK estimates from it what ingestion then charges, receipt for receipt, and refuses what the service refuses', async () => {
    const estimator = await Estimator.fromServer(client, 'acme', { wasm: kernel });
    const next = event('next-1', 'acme', 4000, 10000);
    const local = estimator.estimate(next);
    expect(local.status).toBe('rated');
    // 2,000 free input tokens left, then the rest; output crosses the 20,000 tier bound.
    expect(local.receipt!.some((s) => s.step === 'allowance')).toBe(true);
    expect(local.receipt!.filter((s) => s.step === 'tier')).toHaveLength(2);
    const ack = (await as(tenant.secretKey, 'POST', '/v1/events', { events: [next] })).body.events[0];
    expect(ack).toMatchObject({
      status: 'accepted',
      amount: local.amount,
      book_version: local.book_version,
      card: local.card,
    });
    const receipt = (await as(tenant.secretKey, 'GET', '/v1/events/next-1/receipt')).body;
    expect(receipt.receipt).toEqual(local.receipt);

    // The rest of the credit cannot pay for a big request: blocked locally and by the service alike.
    await estimator.refresh();
    const big = event('big-1', 'acme', 400_000, 100_000);
    const check = estimator.check(big);
    expect(check).toMatchObject({ allowed: false, reason: 'credits_exhausted' });
    const refused = (await as(tenant.secretKey, 'POST', '/v1/events', { events: [big], on_block: 'refuse' })).body
      .events[0];
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });
  });

  it("flags or refuses what crosses a blocking budget or a blocking wallet's credit exactly as POST /v1/events does, in both on_block modes", async () => {
    const key = tenant.secretKey;
    // capped-r: a blocking budget of 1, overage on depletion; capped-a: the same budget, 0.20 of credit, blocks on depletion.
    for (const customer of ['capped-r', 'capped-a']) {
      expect((await as(key, 'POST', '/v1/customers', { external_id: customer, currency: 'USD' })).status).toBe(201);
      expect(
        (
          await as(key, 'PUT', `/v1/customers/${customer}/price_book`, {
            price_book: 'snap-book',
            effective_from: '2026-01-01T00:00:00Z',
          })
        ).status,
      ).toBeLessThan(300);
      expect(
        (await as(key, 'PUT', `/v1/customers/${customer}/budget`, { amount: '1', enforcement: 'block' })).status,
      ).toBe(200);
    }
    expect(
      (await as(key, 'POST', '/v1/customers/capped-a/credit_grants', { kind: 'promotional', amount: '0.20' })).status,
    ).toBe(201);
    expect((await as(key, 'PATCH', '/v1/customers/capped-a/wallet', { on_depletion: 'block' })).status).toBe(200);
    // 0.60, then 1.00 (over the budget), then 0.30.
    const batch = (customer: string) => [
      event(`${customer}-1`, customer, 200_000, 10_000),
      event(`${customer}-2`, customer, 400_000, 0),
      event(`${customer}-3`, customer, 100_000, 5_000),
    ];
    const compare = async (customer: string, onBlock: 'accept' | 'refuse') => {
      const estimator = await Estimator.fromServer(client, customer, { wasm: kernel, onBlock, updateState: true });
      const local = estimator.estimateMany(batch(customer));
      const ack = (await as(key, 'POST', '/v1/events', { events: batch(customer), on_block: onBlock })).body.events;
      local.forEach((result, k) => {
        if (result.status === 'rated')
          expect({ status: ack[k].status, amount: ack[k].amount, blocked: ack[k].blocked }, `${customer} ${k}`).toEqual(
            { status: 'accepted', amount: result.amount, blocked: result.blocked },
          );
        else
          expect({ status: ack[k].status, code: ack[k].error.code }, `${customer} ${k}`).toEqual({
            status: 'rejected',
            code: result.error!.code,
          });
      });
      expect(estimator.snapshot().spend[customer]).toBe(
        (await as(key, 'GET', `/v1/customers/${customer}/pricing-snapshot`)).body.spend,
      );
      return local;
    };
    // refuse: the second event is refused for the budget and the third, rated without it, fits (0.90).
    const refused = await compare('capped-r', 'refuse');
    expect(refused.map((r) => r.error?.code ?? r.amount)).toEqual(['0.600000000', 'budget_exceeded', '0.300000000']);
    // accept: every event is billed; the credit covers part of the first, the second and third cross the budget too.
    const accepted = await compare('capped-a', 'accept');
    expect(accepted.map((r) => r.blocked?.map((b) => `${b.code} ${b.exceeded_by}`))).toEqual([
      ['credits_exhausted 0.400000000'],
      ['budget_exceeded 0.600000000', 'credits_exhausted 1.000000000'],
      ['budget_exceeded 0.900000000', 'credits_exhausted 0.300000000'],
    ]);
  });

  it('answers 304 to its ETag until an event, a grant or a budget changes it; refresh() follows', async () => {
    const get = (etag?: string) =>
      fetch(`${harness.url}/v1/customers/acme/pricing-snapshot`, {
        headers: { authorization: `Bearer ${tenant.secretKey}`, ...(etag ? { 'if-none-match': etag } : {}) },
      });
    const first = await get();
    const body = await first.json();
    expect(first.headers.get('etag')).toBe(body.etag);
    const again = await get(body.etag);
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(body.etag);
    expect(await again.text()).toBe('');
    expect((await get(`"other", W/${body.etag}`)).status).toBe(304);

    // The watermark moves on, the ETag does not.
    harness.clock.set('2026-03-15T00:01:00Z');
    expect((await get(body.etag)).status).toBe(304);

    const estimator = await Estimator.fromServer(client, 'acme', { wasm: kernel, updateState: true });
    expect(await estimator.refresh()).toBe(false);
    expect(estimator.snapshotInfo!.etag).toBe(body.etag);

    const changes: [string, () => Promise<unknown>][] = [
      [
        'an event',
        () =>
          as(tenant.secretKey, 'POST', '/v1/events', {
            events: [event('etag-1', 'acme', 10, 10, '2026-03-14T12:00:00Z')],
          }),
      ],
      [
        'a grant',
        () => as(tenant.secretKey, 'POST', '/v1/customers/acme/credit_grants', { kind: 'prepaid', amount: '1' }),
      ],
      [
        'a budget',
        () => as(tenant.secretKey, 'PUT', '/v1/customers/acme/budget', { amount: '3', enforcement: 'block' }),
      ],
      ['the policy', () => as(tenant.secretKey, 'PATCH', '/v1/customers/acme/wallet', { on_depletion: 'overage' })],
      [
        'a book version',
        () =>
          as(tenant.secretKey, 'POST', '/v1/price_books/snap-book/versions', {
            version: { ...book.versions[0], effective_from: '2026-03-20T00:00:00Z' },
          }),
      ],
    ];
    expect(estimator.book.price.versions).toHaveLength(1);
    let etag = body.etag;
    for (const [what, change] of changes) {
      await change();
      const response = await get(etag);
      expect(response.status, what).toBe(200);
      const changed = await response.json();
      expect(changed.etag, what).not.toBe(etag);
      etag = changed.etag;
      expect(await estimator.refresh(), what).toBe(true);
      expect(estimator.snapshotInfo!.etag).toBe(etag);
      expect(estimator.state('acme')).toEqual(changed.state);
    }
    // The new version reached the local kernel: an event after it is rated with it, as the service will.
    expect(estimator.book.price.versions).toHaveLength(2);
    expect(
      estimator.estimate(event('later', 'acme', 10, 10, '2026-03-21T00:00:00Z'), { updateState: false }).book_version,
    ).toBe('2026-03-20T00:00:00.000Z');
    expect(estimator.snapshotInfo!.budget).toEqual({ amount: '3.000000000', enforcement: 'block' });
    expect(estimator.snapshot().spend.acme).toBe((await (await get()).json()).spend);
  });

  it("signs a token stating balance, spend and watermark with the tenant's key, valid five minutes", async () => {
    harness.clock.set('2026-03-15T00:02:00Z');
    const snapshot = (await as(tenant.secretKey, 'GET', '/v1/customers/acme/pricing-snapshot')).body;
    const [header, payload, signature] = snapshot.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    expect(claims).toEqual({
      typ: 'tariff.pricing_snapshot',
      tid: tenant.tenantId,
      sub: 'acme',
      etag: snapshot.etag,
      cur: 'USD',
      bal: snapshot.credit_balance,
      spd: snapshot.spend,
      wm: '2026-03-15T00:02:00.000Z',
      iat: Date.parse('2026-03-15T00:02:00Z') / 1000,
      exp: Date.parse('2026-03-15T00:07:00Z') / 1000,
    });
    const [key] = await harness.database
      .owner`select secret from signing_keys where tenant_id = ${tenant.tenantId} and key_id = 'k1'`;
    expect(crypto.createHmac('sha256', key.secret).update(`${header}.${payload}`).digest('base64url')).toBe(signature);
    const estimator = await Estimator.fromServer(client, 'acme', { wasm: kernel });
    expect(estimator.snapshotInfo!.claims.bal).toBe(snapshot.credit_balance);
    // The key never leaves the database: another tenant's key is another secret.
    const other = await signUpTenant(harness);
    await as(other.secretKey, 'POST', '/v1/price_books', { book });
    await as(other.secretKey, 'POST', '/v1/customers', { external_id: 'acme', currency: 'USD' });
    await as(other.secretKey, 'PUT', '/v1/customers/acme/price_book', {
      price_book: 'snap-book',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await as(other.secretKey, 'GET', '/v1/customers/acme/pricing-snapshot');
    const keys = await harness.database
      .owner`select tenant_id, secret from signing_keys where tenant_id in (${tenant.tenantId}, ${other.tenantId})`;
    expect(keys).toHaveLength(2);
    expect(keys[0].secret.equals(keys[1].secret)).toBe(false);
  });

  it('refuses publishable keys, unknown customers and customers without a book, naming why', async () => {
    const publishable = await as(tenant.publishableKey, 'GET', '/v1/customers/acme/pricing-snapshot');
    expect(publishable.status).toBe(403);
    expect(publishable.body.error.code).toBe('permission_denied');
    const sdk = new TariffClient({ baseUrl: harness.url, apiKey: tenant.publishableKey });
    await expect(Estimator.fromServer(sdk, 'acme', { wasm: kernel })).rejects.toMatchObject({
      status: 403,
      code: 'permission_denied',
    });
    expect((await as(tenant.secretKey, 'GET', '/v1/customers/nobody/pricing-snapshot')).body.error.code).toBe(
      'customer_not_found',
    );
    const bare = await as(tenant.secretKey, 'GET', '/v1/customers/bare/pricing-snapshot');
    expect([bare.status, bare.body.error.code]).toEqual([422, 'no_price_book']);
    const bad = await as(tenant.secretKey, 'GET', `/v1/customers/${'x'.repeat(300)}/pricing-snapshot`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('path.id');
    await expect(Estimator.fromServer(client, 'nobody', { wasm: kernel })).rejects.toBeInstanceOf(TariffError);
  });
});
