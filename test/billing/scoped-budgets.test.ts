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
  const scoped = async () => Object.fromEntries(((await api.ok('GET', '/v1/customers/acme/scoped_budgets')).data as any[]).map((b) => [`${b.kind}:${b.value}`, b]));
  const thresholdsOf = (budget: any) => budget.current_period.alerts.map((a: any) => a.threshold);

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/acme/price_book', { price_book: 'ai-platform', effective_from: '2026-01-01T00:00:00Z' });
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
    const unknown = await api.call('PUT', `/v1/customers/acme/scoped_budgets/api_key/${crypto.randomUUID()}`, { amount: '10' });
    expect(unknown.status).toBe(404);
    const amount = await api.call('PUT', '/v1/customers/acme/scoped_budgets/project/search', { amount: '-1' });
    expect(amount.status).toBe(400);
    expect(amount.body.error.details[0].field).toBe('amount');
  });

  it('attributes spend to keys and projects, fires each threshold once per period, and the check honours them', async () => {
    // Spend before the first scoped budget: the project's is recovered, the key's cannot be (not recorded).
    harness.clock.set('2026-03-02T00:00:00Z');
    await sendWith(gateway.secret, tagged('early', 50_000, '2026-03-01T12:00:00Z', 'search')); // $1
    const keyBudget = await api.ok('PUT', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`, { amount: '10', enforcement: 'block' });
    expect(keyBudget).toMatchObject({ kind: 'api_key', value: gateway.id, amount: '10.000000000', enforcement: 'block', thresholds: [50, 80, 100], current_period: { spend: '0.000000000' } });
    const projectBudget = await api.ok('PUT', '/v1/customers/acme/scoped_budgets/project/search', { amount: '5' });
    expect(projectBudget.current_period).toMatchObject({ spend: '1.000000000', remaining: '4.000000000', alerts: [] });

    // $5 through the gateway, $3 of it for "search": the key reaches 50%, the project 80% (50 and 80 at once).
    harness.clock.set('2026-03-05T00:00:00Z');
    await sendWith(gateway.secret, tagged('g-1', 150_000, '2026-03-04T00:00:00Z', 'search'), tagged('g-2', 100_000, '2026-03-04T01:00:00Z'));
    let budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period).toMatchObject({ spend: '5.000000000', remaining: '5.000000000' });
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
    expect(budgets[`api_key:${gateway.id}`].current_period.alerts[1]).toMatchObject({ threshold: 80, budget_amount: '10.000000000', spend: '8.000000000', fired_at: '2026-03-05T00:00:00.000Z' });

    // The check: the calling key's budget applies (or the one named); the project's is alert-only.
    const asGateway = (body: unknown) => rest(harness, 'POST', '/v1/customers/acme/check', { key: gateway.secret, body });
    const refused = await asGateway({ estimated_cost: '2.5', project: 'search' });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ allowed: false, reasons: [{ code: 'budget_exceeded' }] });
    expect(refused.body.reasons[0].message).toContain(`API key ${gateway.id}`);
    expect(refused.body.scoped_budgets).toEqual([
      { kind: 'api_key', value: gateway.id, amount: '10.000000000', enforcement: 'block', spend: '8.000000000', remaining: '2.000000000' },
      { kind: 'project', value: 'search', amount: '5.000000000', enforcement: 'alert', spend: '6.000000000', remaining: '-1.000000000' },
    ]);
    expect((await asGateway({ estimated_cost: '2' })).body.allowed).toBe(true);
    expect((await api.ok('POST', '/v1/customers/acme/check', { estimated_cost: '2.5', api_key_id: gateway.id })).allowed).toBe(false);
    const backend = await api.ok('POST', '/v1/customers/acme/check', { estimated_cost: '2.5' });
    expect(backend).toMatchObject({ allowed: true, scoped_budgets: [] });
    expect(backendKeyId).not.toBe(gateway.id);

    // A new period: spend starts again, thresholds fire again.
    harness.clock.set('2026-04-02T00:00:00Z');
    await sendWith(gateway.secret, tagged('g-4', 300_000, '2026-04-01T00:00:00Z', 'search')); // $6
    budgets = await scoped();
    expect(budgets[`api_key:${gateway.id}`].current_period).toMatchObject({ start: '2026-04-01T00:00:00.000Z', spend: '6.000000000' });
    expect(thresholdsOf(budgets[`api_key:${gateway.id}`])).toEqual([50]);
    expect(thresholdsOf(budgets['project:search'])).toEqual([50, 80, 100]);

    // Removing a budget stops its check; its alerts stay history.
    expect(await api.ok('DELETE', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`)).toEqual({ deleted: true });
    expect((await asGateway({ estimated_cost: '100' })).body.allowed).toBe(true);
    expect((await api.call('DELETE', `/v1/customers/acme/scoped_budgets/api_key/${gateway.id}`)).status).toBe(404);
  });
});
