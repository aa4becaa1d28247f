// Budgets, alerts and the entitlement check over HTTP: thresholds fire once each per period as events are
// acknowledged (credit-paid usage counts), and the check answers from credit in force, policy and budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';

describe('budgets, alerts and the entitlement check', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-20T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    for (const id of ['spender', 'gated']) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('PUT', `/v1/customers/${id}/price_book`, {
        price_book: 'ai-platform',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('fires 50/80/100% once each per period, counting usage that credits paid for', async () => {
    const budget = await api.ok('PUT', '/v1/customers/spender/budget', { amount: '100' });
    expect(budget).toMatchObject({
      amount: '100.000000000',
      enforcement: 'alert',
      thresholds: [50, 80, 100],
      current_period: null,
    });
    await api.ok('POST', '/v1/customers/spender/credit_grants', { kind: 'promotional', amount: '30' });

    // $40 (all credit): 40% -> nothing. Then $15 -> 55%: the 50% alert.
    await api.events(tokens('s-1', 'spender', 2_000_000, '2026-03-02T00:00:00Z'));
    expect((await api.ok('GET', '/v1/customers/spender/budget_alerts')).data).toEqual([]);
    await api.events(tokens('s-2', 'spender', 750_000, '2026-03-03T00:00:00Z'));
    let alerts = (await api.ok('GET', '/v1/customers/spender/budget_alerts')).data;
    expect(alerts).toEqual([
      {
        period_start: '2026-03-01T00:00:00.000Z',
        threshold: 50,
        budget_amount: '100.000000000',
        spend: '55.000000000',
        fired_at: '2026-03-20T00:00:00.000Z',
      },
    ]);

    // One batch from 55% to 120%: 80% and 100% fire once, with the spend at the end of the batch.
    harness.clock.advance(60_000);
    await api.events(
      tokens('s-3', 'spender', 1_500_000, '2026-03-04T00:00:00Z'),
      tokens('s-4', 'spender', 1_750_000, '2026-03-05T00:00:00Z'),
    );
    // More spend adds nothing: each threshold fires once per period.
    await api.events(tokens('s-5', 'spender', 500_000, '2026-03-06T00:00:00Z'));
    alerts = (await api.ok('GET', '/v1/customers/spender/budget_alerts')).data;
    expect(alerts.map((a: any) => [a.threshold, a.spend])).toEqual([
      [50, '55.000000000'],
      [80, '120.000000000'],
      [100, '120.000000000'],
    ]);
    const read = await api.ok('GET', '/v1/customers/spender/budget');
    expect(read.current_period).toMatchObject({
      start: '2026-03-01T00:00:00.000Z',
      spend: '130.000000000',
      remaining: '-30.000000000',
    });
    expect(read.current_period.alerts).toHaveLength(3);

    // A new period starts from nothing and fires again.
    harness.clock.set('2026-04-10T00:00:00Z');
    await api.events(tokens('s-april', 'spender', 3_000_000, '2026-04-09T00:00:00Z'));
    const april = (
      await api.ok('GET', `/v1/customers/spender/budget_alerts?at=${encodeURIComponent('2026-04-09T00:00:00Z')}`)
    ).data;
    expect(april.map((a: any) => [a.period_start, a.threshold, a.spend])).toEqual([
      ['2026-04-01T00:00:00.000Z', 50, '60.000000000'],
    ]);
    expect((await api.ok('GET', '/v1/customers/spender/budget_alerts')).data).toHaveLength(4);
    const rows = await harness.database
      .owner`select count(*)::int as n from budget_alerts where tenant_id = ${tenant.tenantId}`;
    expect(rows[0].n).toBe(4);
  });

  it('answers the entitlement check from credit in force, the depletion policy and a blocking budget', async () => {
    // Overage, no budget: anything goes.
    let check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '1000' });
    expect(check).toMatchObject({
      allowed: true,
      reasons: [],
      on_depletion: 'overage',
      credit_balance: '0.000000000',
      budget: null,
      currency: 'USD',
    });

    await api.ok('PATCH', '/v1/customers/gated/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/gated/credit_grants', { kind: 'prepaid', amount: '20' });
    await api.ok('POST', '/v1/customers/gated/credit_grants', {
      kind: 'promotional',
      amount: '5',
      scope: { event_types: ['llm.completion'] },
    });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '20' });
    expect(check).toMatchObject({ allowed: true, credit_balance: '20.000000000' });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '24' });
    expect(check).toMatchObject({ allowed: false, reasons: [{ code: 'credits_exhausted' }] });
    // Naming the event type lets the scoped promotion count.
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '24', event_type: 'llm.completion' });
    expect(check).toMatchObject({ allowed: true, credit_balance: '25.000000000' });
    // What the check said is what ingestion does: $24 of tokens passes, then $2 more does not.
    const [passed] = await api.events(tokens('g-1', 'gated', 1_200_000, '2026-04-09T00:00:00Z'));
    expect(passed).toMatchObject({ status: 'accepted', credit_balance: '1.000000000' });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '2', event_type: 'llm.completion' });
    expect(check).toMatchObject({ allowed: false, reasons: [{ code: 'credits_exhausted' }] });
    const [refused] = await api.refusing(tokens('g-2', 'gated', 100_000, '2026-04-09T01:00:00Z'));
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });

    // A blocking budget refuses what would go over it, with both reasons when both apply.
    await api.ok('PATCH', '/v1/customers/gated/wallet', { on_depletion: 'overage' });
    await api.ok('PUT', '/v1/customers/gated/budget', { amount: '30', enforcement: 'block' });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '6' });
    expect(check).toMatchObject({
      allowed: true,
      budget: { amount: '30.000000000', spend: '24.000000000', remaining: '6.000000000', enforcement: 'block' },
    });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '6.000000001' });
    expect(check).toMatchObject({ allowed: false, reasons: [{ code: 'budget_exceeded' }] });
    await api.ok('PATCH', '/v1/customers/gated/wallet', { on_depletion: 'block' });
    check = await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '10' });
    expect(check.reasons.map((r: any) => r.code)).toEqual(['credits_exhausted', 'budget_exceeded']);
    // An alerting budget only reports.
    await api.ok('PUT', '/v1/customers/gated/budget', { amount: '30', enforcement: 'alert' });
    await api.ok('PATCH', '/v1/customers/gated/wallet', { on_depletion: 'overage' });
    expect((await api.ok('POST', '/v1/customers/gated/check', { estimated_cost: '100' })).allowed).toBe(true);
    // A viewer key may check.
    const viewer = await api.ok('POST', '/v1/api_keys', { kind: 'secret', name: 'gateway', role: 'viewer' });
    const asViewer = await fetch(`${harness.url}/v1/customers/gated/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ estimated_cost: '1' }),
    });
    expect(asViewer.status).toBe(200);
  });

  it('refuses bad budgets and checks with 4xx naming the field, and deletes a budget', async () => {
    const cases: [string, string, unknown, string][] = [
      ['PUT', '/v1/customers/gated/budget', { amount: '0' }, 'amount'],
      ['PUT', '/v1/customers/gated/budget', { amount: '10', thresholds: [80, 50] }, 'thresholds'],
      ['PUT', '/v1/customers/gated/budget', { amount: '10', thresholds: [] }, 'thresholds'],
      ['PUT', '/v1/customers/gated/budget', { amount: '10', enforcement: 'warn' }, 'enforcement'],
      ['POST', '/v1/customers/gated/check', { estimated_cost: '-1' }, 'estimated_cost'],
      ['POST', '/v1/customers/gated/check', {}, 'estimated_cost'],
      ['POST', '/v1/customers/gated/check', { estimated_cost: '1', model: 'x' }, 'model'],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await api.call(method, path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect((await api.call('POST', '/v1/customers/nobody/check', { estimated_cost: '1' })).status).toBe(404);
    expect((await api.call('DELETE', '/v1/customers/gated/budget')).body).toEqual({ deleted: true });
    expect((await api.call('GET', '/v1/customers/gated/budget')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/customers/gated/budget')).status).toBe(404);
    const audit = await api.ok('GET', '/v1/audit_log?entity_type=customer&limit=100');
    expect(audit.data.map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['budget.set', 'budget.deleted', 'wallet.updated']),
    );
  });
});
