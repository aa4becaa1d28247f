// The entitlement check answers from memory (budgets/check-cache.ts): these scenarios hold every answer to what
// the database says at that moment, right after each kind of write through the API (usage, grants, voids,
// policy, budgets, scoped budgets, expiry, a new period), after a rolled-back transaction, while usage streams in
// concurrently, and after a write by another session or by a transaction of this process that no helper reports
// (which reach memory by NOTIFY, shortly after their commit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCacheHolds, checkCacheStats } from '../../service/src/domains/budgets/check-cache.ts';
import { readCheckState } from '../../service/src/domains/budgets/repo.ts';
import { answerCheck, checkEntitlement } from '../../service/src/domains/budgets/service.ts';
import type { CheckInput } from '../../openapi/src/schemas/budgets.ts';
import type { Actor } from '../../service/src/platform/auth.ts';
import { withTenant } from '../../service/src/platform/db.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { eventually } from '../wait.ts';

const requests: CheckInput[] = [
  { estimated_cost: '1' },
  { estimated_cost: '3', project: 'alpha' },
  { estimated_cost: '25', event_type: 'llm.completion', project: 'alpha' },
];

const usage = (id: string, customer: string, count: number, timestamp: string) => {
  const event = tokens(id, customer, count, timestamp);
  return { ...event, properties: { ...event.properties, project: 'alpha' } };
};

describe('the entitlement check from memory', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: Awaited<ReturnType<typeof startBillingScenario>>['api'];
  let jobs: Jobs;
  let keyId: string;
  let deps: Deps;
  let actor: Actor;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-20T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: (await import('./fixtures.ts')).billingBook });
    for (const id of ['steady', 'streamed', 'stranger']) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('PUT', `/v1/customers/${id}/price_book`, {
        price_book: 'ai-platform',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
    [{ id: keyId }] = await harness.database
      .owner`select id from api_keys where tenant_id = ${tenant.tenantId} and kind = 'secret'`;
    deps = {
      db: harness.database.app,
      clock: harness.clock,
      logger: silentLogger,
      metrics: createMetrics(),
      sessionTtlSeconds: 3600,
    };
    actor = { tenantId: tenant.tenantId, type: 'api_key', id: keyId, principal: 'admin' };
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  /** What the check answers from a fresh read of the database, bypassing memory. */
  async function fromDatabase(customer: string, request: CheckInput) {
    const now = harness.clock.now();
    const state = await withTenant(harness.database.app, tenant.tenantId, (tx) =>
      readCheckState({ db: tx, tenantId: tenant.tenantId }, customer, now),
    );
    return answerCheck(state!, customer, request, keyId, now);
  }
  const check = (customer: string, request: CheckInput) => api.ok('POST', `/v1/customers/${customer}/check`, request);

  /** Checks until the customer's state is held in memory (the LISTEN connection starts with the first check). */
  async function held(customer: string) {
    await eventually(
      `${customer} held in memory`,
      async () => {
        await check(customer, requests[0]);
        return checkCacheHolds(tenant.tenantId, customer);
      },
      { intervalMs: 20 },
    );
  }

  async function expectAnswersAsDatabase(customer: string, step: string) {
    for (const request of requests)
      expect(await check(customer, request), `${step}: ${JSON.stringify(request)}`).toEqual(
        await fromDatabase(customer, request),
      );
  }

  it('answers right after each write through the API as the database does, keeping in memory what carries its rows', async () => {
    let grantId = '';
    // [step, write, whether the state stays in memory (the write's rows applied) or is read again]
    const steps: [string, () => Promise<unknown>, boolean][] = [
      [
        'prepaid grant',
        async () =>
          (grantId = (await api.ok('POST', '/v1/customers/steady/credit_grants', { kind: 'prepaid', amount: '20' }))
            .id),
        true,
      ],
      [
        'scoped promotion',
        () =>
          api.ok('POST', '/v1/customers/steady/credit_grants', {
            kind: 'promotional',
            amount: '5',
            scope: { event_types: ['llm.completion'] },
          }),
        true,
      ],
      ['block on depletion', () => api.ok('PATCH', '/v1/customers/steady/wallet', { on_depletion: 'block' }), false],
      [
        'blocking budget',
        () => api.ok('PUT', '/v1/customers/steady/budget', { amount: '30', enforcement: 'block' }),
        false,
      ],
      [
        'project budget',
        () => api.ok('PUT', '/v1/customers/steady/scoped_budgets/project/alpha', { amount: '5', enforcement: 'block' }),
        false,
      ],
      [
        'key budget',
        () =>
          api.ok('PUT', `/v1/customers/steady/scoped_budgets/api_key/${keyId}`, { amount: '50', enforcement: 'block' }),
        false,
      ],
      ['usage', () => api.events(usage('s-1', 'steady', 100_000, '2026-03-02T00:00:00Z')), true],
      [
        'usage drawing the scoped promotion',
        () =>
          api.events(
            usage('s-2', 'steady', 1_000_000, '2026-03-03T00:00:00Z'),
            usage('s-3', 'steady', 150_000, '2026-03-04T00:00:00Z'),
          ),
        true,
      ],
      ['void', () => api.ok('POST', `/v1/customers/steady/credit_grants/${grantId}/void`, {}), true],
      ['budget deleted', () => api.ok('DELETE', '/v1/customers/steady/budget'), false],
      [
        'top-up',
        () =>
          api.ok('POST', '/v1/customers/steady/credit_grants', {
            kind: 'prepaid',
            amount: '7.5',
            expires_at: '2026-03-25T00:00:00Z',
          }),
        true,
      ],
      // A hold's rows (every insert and update of holds) reach memory by the notice of the statement that wrote them.
      ['hold placed', () => api.ok('POST', '/v1/customers/steady/holds', { id: 'cache-hold', amount: '1' }), true],
      ['hold released', () => api.ok('POST', '/v1/customers/steady/holds/cache-hold/release', {}), true],
    ];
    for (const [step, write, kept] of steps) {
      await held('steady');
      await write();
      expect(checkCacheHolds(tenant.tenantId, 'steady'), `${step}: kept in memory`).toBe(kept);
      const hits = checkCacheStats().hits;
      await expectAnswersAsDatabase('steady', step);
      if (kept) expect(checkCacheStats().hits - hits, `${step}: answered from memory`).toBe(requests.length);
    }
    const answer = await check('steady', requests[2]);
    expect(answer).toMatchObject({ on_depletion: 'block', budget: null, credit_balance: '7.500000000' });
    // The key's budget was set before any usage, so all of it counts for the key as for the project.
    expect(answer.scoped_budgets.map((b: any) => [b.kind, b.spend])).toEqual([
      ['api_key', '25.000000000'],
      ['project', '25.000000000'],
    ]);

    // Expiry by the billing tick's job (a transaction of this process, like any API write).
    await held('steady');
    harness.clock.set('2026-03-26T00:00:00Z');
    await jobs.tick();
    await expectAnswersAsDatabase('steady', 'expiry');
    expect((await check('steady', requests[0])).credit_balance).toBe('0.000000000');
  });

  it('ignores a rolled-back transaction', async () => {
    await held('steady');
    const before = await check('steady', requests[2]);
    await expect(
      withTenant(harness.database.app, tenant.tenantId, async (tx) => {
        await tx`update customer_periods set amount = amount + 1000 where tenant_id = ${tenant.tenantId}`;
        await tx`insert into customer_wallets (tenant_id, customer_id, on_depletion, updated_at)
                 select tenant_id, id, 'overage', now() from customers where tenant_id = ${tenant.tenantId} and external_id = 'steady'
                 on conflict (tenant_id, customer_id) do update set on_depletion = 'overage'`;
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await check('steady', requests[2])).toEqual(before);
    await expectAnswersAsDatabase('steady', 'after the rollback');
  });

  it('never answers behind an acknowledged batch while usage streams in, and ends where the database is', async () => {
    await api.ok('PATCH', '/v1/customers/streamed/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/streamed/credit_grants', { kind: 'prepaid', amount: '1000' });
    await api.ok('PUT', '/v1/customers/streamed/scoped_budgets/project/alpha', { amount: '900', enforcement: 'block' });
    await held('streamed');
    let sent = 0;
    const senders = Array.from({ length: 4 }, async (_, sender) => {
      for (let batch = 0; batch < 15; batch++) {
        const events = Array.from({ length: 10 }, (_, n) =>
          usage(
            `st-${sender}-${batch}-${n}`,
            'streamed',
            10_000 + n,
            `2026-03-${String(10 + (n % 9)).padStart(2, '0')}T00:00:00Z`,
          ),
        );
        const acks = await api.events(...events);
        expect(acks.every((a: any) => a.status === 'accepted')).toBe(true);
        sent += events.length;
      }
    });
    let checks = 0;
    let lastSpend = -1n;
    let lastBalance = 10n ** 30n;
    const done = Promise.all(senders);
    let finished = false;
    void done.then(() => (finished = true));
    const toNanoUnits = (amount: string) => BigInt(amount.replace('.', ''));
    while (!finished) {
      const answer = await checkEntitlement(deps, actor, 'streamed', requests[1]);
      const spend = toNanoUnits(answer.scoped_budgets[0].spend);
      const balance = toNanoUnits(answer.credit_balance);
      // Usage only adds: spend never goes back, credit never comes back.
      expect(spend).toBeGreaterThanOrEqual(lastSpend);
      expect(balance).toBeLessThanOrEqual(lastBalance);
      lastSpend = spend;
      lastBalance = balance;
      checks++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    expect(sent).toBe(600);
    expect(checks).toBeGreaterThan(0);
    await expectAnswersAsDatabase('streamed', 'after the stream');
    const [truth] = await harness.database.owner`
      select (select sum(balance)::text from credit_grants g where g.tenant_id = c.tenant_id and g.customer_id = c.id and g.status = 'active') as balance,
             (select (amount + credits_applied)::text from customer_periods p where p.tenant_id = c.tenant_id and p.customer_id = c.id and p.period_start = '2026-03-01') as spend
      from customers c where c.tenant_id = ${tenant.tenantId} and c.external_id = 'streamed'`;
    const answer = await checkEntitlement(deps, actor, 'streamed', requests[0]);
    expect(toNanoUnits(answer.credit_balance)).toBe(toNanoUnits(truth.balance));
    expect(lastSpend).toBeLessThanOrEqual(toNanoUnits(truth.spend));
  });

  it("learns another session's commit by NOTIFY", async () => {
    await held('stranger');
    expect((await check('stranger', requests[0])).on_depletion).toBe('overage');
    // The owner's pool: a session this process does not watch (as psql or another service process would be).
    await harness.database.owner`
      insert into customer_wallets (tenant_id, customer_id, on_depletion, updated_at)
      select tenant_id, id, 'block', now() from customers where tenant_id = ${tenant.tenantId} and external_id = 'stranger'`;
    await eventually(
      "the check answers the other session's policy",
      async () => (await check('stranger', requests[0])).on_depletion === 'block',
      { intervalMs: 10 },
    );
    await expectAnswersAsDatabase('stranger', 'after the other session');
  });

  it("learns a commit of this process's pool that no transaction helper reports (its one-second safety net)", async () => {
    await held('stranger');
    expect((await check('stranger', requests[0])).budget).toBeNull();
    // BEGIN ... COMMIT by hand on a connection of the service's pool: its notices arrive, its end is never told.
    const connection = await harness.database.app.reserve();
    try {
      await connection`begin`;
      await connection`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
      await connection`
        insert into budgets (tenant_id, customer_id, amount, enforcement, thresholds, created_at, updated_at)
        select tenant_id, id, 12, 'block', '{50,80,100}', now(), now() from customers where tenant_id = ${tenant.tenantId} and external_id = 'stranger'`;
      await connection`commit`;
    } finally {
      connection.release();
    }
    const budget = await eventually(
      'the check answers the unreported budget',
      async () => (await check('stranger', requests[0])).budget,
      { intervalMs: 20 },
    );
    expect(budget).toMatchObject({ amount: '12.000000000', enforcement: 'block' });
    await expectAnswersAsDatabase('stranger', 'after the unreported commit');
  });

  it('moves to the next period with the clock, and absorbs its first usage', async () => {
    await held('steady');
    harness.clock.set('2026-04-02T00:00:00Z');
    await expectAnswersAsDatabase('steady', 'new period, no usage yet');
    expect((await check('steady', requests[1])).scoped_budgets[0].spend).toBe('0.000000000');
    // No credit is left and the customer blocks on depletion: overage, so that April's usage is accepted.
    await api.ok('PATCH', '/v1/customers/steady/wallet', { on_depletion: 'overage' });
    await held('steady');
    const [accepted] = await api.events(usage('s-april', 'steady', 50_000, '2026-04-01T12:00:00Z'));
    expect(accepted.status).toBe('accepted');
    expect(checkCacheHolds(tenant.tenantId, 'steady')).toBe(true);
    await expectAnswersAsDatabase('steady', 'first usage of the period');
    expect((await check('steady', requests[1])).scoped_budgets[0].spend).toBe('1.000000000');
  });
});
