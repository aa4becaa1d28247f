// Budgets per API key and per project tag over HTTP with a frozen clock: spend is attributed at ingestion to the
// key that sent each event and to its `project` property; each scope's 50/80/100% alerts fire once per period
// (again in the next one); the entitlement check refuses a request of a key whose blocking budget it would
// exceed, and names the scope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';

describe('budgets per API key and project tag', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let gateway: { id: string; secret: string };
  let backendKeyId: string;

  const tagged = (id: string, count: number, timestamp: string, project?: string) => {
    const event = tokens(id, 'acme', count, timestamp);
    return project ? { ...event, properties: { ...event.properties, project } } : event;
  };
  const sendWith = async (key: string, ...events: unknown[]) => {
    const response = await rest(harness, 'POST', '/v1/events', { key, body: { events } });
    expect(response.status).toBe(200);
    expect(response.body.events.map((e: any) => e.status)).toEqual(events.map(() => 'accepted'));
  };
  const scoped = async () =>
    Object.fromEntries(
      ((await api.ok('GET', '/v1/customers/acme/scoped_budgets')).data as any[]).map((b) => [
        `${b.kind}:${b.value}`,
        b,
      ]),
    );
  const thresholdsOf = (budget: any) => budget.current_period.alerts.map((a: any) => a.threshold);

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/acme/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const created = await api.ok('POST', '/v1/api_keys', { kind: 'secret', name: 'gateway', role: 'billing' });
    gateway = { id: created.id, secret: created.secret };
    backendKeyId = (await api.ok('GET', '/v1/api_keys')).data.find((k: any) => k.name === 'backend').id;
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('refuses bad scopes, naming the field', async () => {
    const notUuid = await api.call('PUT', '/v1/customers/acme/scoped_budgets/api_key/gateway', { amount: '10' });
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.error.details[0].field).toBe('path.value');
    const kind = await api.call('PUT', '/v1/customers/acme/scoped_budgets/team/x', { amount: '10' });
    expect(kind.status).toBe(400);
    expect(kind.body.error.details[0].field).toBe('path.kind');
    const unknown = await api.call('PUT', `/v1/customers/acme/scoped_budgets/api_key/${crypto.randomUUID()}`, {
      amount: '10',
    });
    expect(unknown.status).toBe(404);
    const amount = await api.call('PUT', '/v1/customers/acme/scoped_budgets/project/search', { amount: '-1' });
    expect(amount.status).toBe(400);
    expect(amount.body.error.details[0].field).toBe('amount');
  });

  it('attributes spend to keys and projects, fires each threshold once per period, and the check honours them', async () => {
    // Spend before the first scoped budget: the project's is recovered, the key's cannot be (not recorded).
    harness.clock.set('2026-03-02T00:00:00Z');
    await sendWith(gateway.secret, tagged('early', 50_000, '2026-03-01T12:00:00Z', 'search')); // $1
    const keyBudget = await api.ok('PUT', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`, {
      amount: '10',
      enforcement: 'block',
    });
    expect(keyBudget).toMatchObject({
      kind: 'api_key',
      value: gateway.id,
      amount: '10.000000000',
      enforcement: 'block',
      thresholds: [50, 80, 100],
      current_period: { spend: '0.000000000' },
    });
    const projectBudget = await api.ok('PUT', '/v1/customers/acme/scoped_budgets/project/search', { amount: '5' });
    expect(projectBudget.current_period).toMatchObject({ spend: '1.000000000', remaining: '4.000000000', alerts: [] });

    // $5 through the gateway, $3 of it for "search": the key reaches 50%, the project 80% (50 and 80 at once).
    harness.clock.set('2026-03-05T00:00:00Z');
    await sendWith(
      gateway.secret,
      tagged('g-1', 150_000, '2026-03-04T00:00:00Z', 'search'),
      tagged('g-2', 100_000, '2026-03-04T01:00:00Z'),
    );
    let budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period).toMatchObject({
      spend: '5.000000000',
      remaining: '5.000000000',
    });
    expect(thresholdsOf(budgets[`api_key:${gateway.id}`])).toEqual([50]);
    expect(budgets['project:search'].current_period).toMatchObject({ spend: '4.000000000' });
    expect(thresholdsOf(budgets['project:search'])).toEqual([50, 80]);

    // The backend key's events count for the project, not for the gateway key.
    await sendWith(tenant.secretKey, tagged('b-1', 100_000, '2026-03-04T02:00:00Z', 'search')); // $2
    budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period.spend).toBe('5.000000000');
    expect(budgets['project:search'].current_period.spend).toBe('6.000000000');
    expect(thresholdsOf(budgets['project:search'])).toEqual([50, 80, 100]);

    // $3 more through the gateway: 80% fires; 50% does not fire again.
    await sendWith(gateway.secret, tagged('g-3', 150_000, '2026-03-04T03:00:00Z', 'chat'));
    budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period.spend).toBe('8.000000000');
    expect(thresholdsOf(budgets[`api_key:${gateway.id}`])).toEqual([50, 80]);
    expect(budgets[`api_key:${gateway.id}`].current_period.alerts[1]).toMatchObject({
      threshold: 80,
      budget_amount: '10.000000000',
      spend: '8.000000000',
      fired_at: '2026-03-05T00:00:00.000Z',
    });

    // The check: the calling key's budget applies (or the one named); the project's is alert-only.
    const asGateway = (body: unknown) =>
      rest(harness, 'POST', '/v1/customers/acme/check', { key: gateway.secret, body });
    const refused = await asGateway({ estimated_cost: '2.5', project: 'search' });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ allowed: false, reasons: [{ code: 'budget_exceeded' }] });
    expect(refused.body.reasons[0].message).toContain(`API key ${gateway.id}`);
    expect(refused.body.scoped_budgets).toEqual([
      {
        kind: 'api_key',
        value: gateway.id,
        amount: '10.000000000',
        enforcement: 'block',
        spend: '8.000000000',
        remaining: '2.000000000',
      },
      {
        kind: 'project',
        value: 'search',
        amount: '5.000000000',
        enforcement: 'alert',
        spend: '6.000000000',
        remaining: '-1.000000000',
      },
    ]);
    expect((await asGateway({ estimated_cost: '2' })).body.allowed).toBe(true);
    expect(
      (await api.ok('POST', '/v1/customers/acme/check', { estimated_cost: '2.5', api_key_id: gateway.id })).allowed,
    ).toBe(false);
    const backend = await api.ok('POST', '/v1/customers/acme/check', { estimated_cost: '2.5' });
    expect(backend).toMatchObject({ allowed: true, scoped_budgets: [] });
    expect(backendKeyId).not.toBe(gateway.id);

    // A new period: spend starts again, thresholds fire again.
    harness.clock.set('2026-04-02T00:00:00Z');
    await sendWith(gateway.secret, tagged('g-4', 300_000, '2026-04-01T00:00:00Z', 'search')); // $6
    budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period).toMatchObject({
      start: '2026-04-01T00:00:00.000Z',
      spend: '6.000000000',
    });
    expect(thresholdsOf(budgets[`api_key:${gateway.id}`])).toEqual([50]);
    expect(thresholdsOf(budgets['project:search'])).toEqual([50, 80, 100]);

    // Removing a budget stops its check; its alerts stay history.
    expect(await api.ok('DELETE', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`)).toEqual({
      deleted: true,
    });
    expect((await asGateway({ estimated_cost: '100' })).body.allowed).toBe(true);
    expect((await api.call('DELETE', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`)).status).toBe(404);
  });

  it('enforces a blocking budget per key or project at ingestion as a customer budget: the ack flags the crossing, on_block refuse rejects it', async () => {
    harness.clock.set('2026-04-10T00:00:00Z');
    await api.ok('POST', '/v1/customers', { external_id: 'scoped-co', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/scoped-co/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.ok('PUT', `/v1/customers/scoped-co/scoped_budgets/api_key/${gateway.id}`, {
      amount: '1',
      enforcement: 'block',
    });
    await api.ok('PUT', '/v1/customers/scoped-co/scoped_budgets/project/search', {
      amount: '0.5',
      enforcement: 'block',
    });
    // $0.02 per 1,000 tokens.
    const event = (id: string, count: number, project?: string) => {
      const e = tokens(id, 'scoped-co', count, '2026-04-09T00:00:00Z');
      return project ? { ...e, properties: { ...e.properties, project } } : e;
    };
    const send = async (key: string, events: unknown[], onBlock?: 'refuse') => {
      const response = await rest(harness, 'POST', '/v1/events', {
        key,
        body: { events, ...(onBlock ? { on_block: onBlock } : {}) },
      });
      expect(response.status).toBe(200);
      return response.body.events as any[];
    };

    // The gateway key: $0.60 fits its $1 budget, $0.50 more takes it to $1.10: accepted and flagged.
    const [fits, crosses] = await send(gateway.secret, [event('s-1', 30_000), event('s-2', 25_000)]);
    expect(fits).toMatchObject({ status: 'accepted', amount: '0.600000000' });
    expect(fits.blocked).toBeUndefined();
    expect(crosses).toMatchObject({
      status: 'accepted',
      blocked: [
        {
          code: 'budget_exceeded',
          limit: 'api_key_budget',
          scope_value: gateway.id,
          limit_amount: '1.000000000',
          spend: '1.100000000',
          exceeded_by: '0.100000000',
        },
      ],
    });
    expect(crosses.blocked[0].message).toContain(`API key ${gateway.id}`);
    // The key is blocked from then on at the check.
    const check = await rest(harness, 'POST', '/v1/customers/scoped-co/check', {
      key: gateway.secret,
      body: { estimated_cost: '0.000000001' },
    });
    expect(check.body).toMatchObject({ allowed: false, reasons: [{ code: 'budget_exceeded' }] });

    // The project, through another key (no budget of its own): $0.60 against $0.50.
    const [tagged] = await send(tenant.secretKey, [event('s-3', 30_000, 'search')]);
    expect(tagged.blocked).toEqual([
      expect.objectContaining({
        limit: 'project_budget',
        scope_value: 'search',
        spend: '0.600000000',
        exceeded_by: '0.100000000',
      }),
    ]);

    // Asked to refuse: the event over a scoped budget is rejected and nothing of it stored; the rest are rated.
    const [refused, other] = await send(
      tenant.secretKey,
      [event('s-4', 1_000, 'search'), event('s-5', 1_000, 'chat')],
      'refuse',
    );
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'budget_exceeded' } });
    expect(refused.error.message).toContain('project "search"');
    expect(other).toMatchObject({ status: 'accepted', amount: '0.020000000' });
    expect(other.blocked).toBeUndefined();
    expect((await api.call('GET', '/v1/events/s-4/receipt')).status).toBe(404);
    const [viaGateway] = await send(gateway.secret, [event('s-6', 1_000)], 'refuse');
    expect(viaGateway).toMatchObject({ status: 'rejected', error: { code: 'budget_exceeded' } });
    // The refused events counted for no scope.
    const budgets = Object.fromEntries(
      ((await api.ok('GET', '/v1/customers/scoped-co/scoped_budgets')).data as any[]).map((b) => [
        b.kind,
        b.current_period.spend,
      ]),
    );
    expect(budgets).toEqual({ api_key: '1.100000000', project: '0.600000000' });

    // One notification per scope and period, however many events cross after it.
    await send(gateway.secret, [event('s-7', 1_000, 'search')]);
    const sent = (await api.ok('GET', '/v1/notifications?type=budget.blocked&customer_id=scoped-co')).data as any[];
    expect(sent.map((n) => [n.payload.limit, n.payload.scope_value, n.payload.transaction_id]).sort()).toEqual([
      ['api_key_budget', gateway.id, 's-2'],
      ['project_budget', 'search', 's-3'],
    ]);
  });
});
