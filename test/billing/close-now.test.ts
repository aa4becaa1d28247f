// An operator closes a customer's ended periods now through the API (REST and tRPC) instead of waiting for the
// billing tick: role-checked, audited as the caller, never cutting a running period short, and the tick after it
// bills nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, trpc } from '../service/harness.ts';
import { billingBook, startBillingScenario, tokens } from './fixtures.ts';

describe('closing periods now', () => {
  let scenario: Awaited<ReturnType<typeof startBillingScenario>>;
  let viewerKey: string;

  beforeAll(async () => {
    scenario = await startBillingScenario('2026-03-01T00:00:00Z');
    const { api, harness, tenant } = scenario;
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'graceful',
      name: 'Graceful',
      price_book: 'ai-platform',
      base_fee: '20',
      interval: 'month',
      invoice_grace_hours: 24,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'prompt',
      name: 'Prompt',
      price_book: 'ai-platform',
      base_fee: '5',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    for (const [customer, plan] of [
      ['grace-co', 'graceful'],
      ['prompt-co', 'prompt'],
      ['dash-co', 'prompt'],
    ]) {
      await api.ok('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${customer}/subscriptions`, { plan, started_at: '2026-03-01T00:00:00Z' });
    }
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(tokens('t-1', 'grace-co', 100_000, '2026-03-05T00:00:00Z'));
    const viewer = await trpc(
      harness,
      'mutation',
      'apiKeys.create',
      { kind: 'secret', name: 'reader', role: 'viewer' },
      tenant.session,
    );
    viewerKey = viewer.body.secret;
  });
  afterAll(async () => {
    await scenario?.jobs.stop();
    await scenario?.harness.close();
  });

  it('refuses a running period, an unknown one, a bad instant and a viewer', async () => {
    const { api, harness } = scenario;
    const running = await api.call('POST', '/v1/customers/grace-co/periods/close', {
      period_start: '2026-03-01T00:00:00Z',
    });
    expect(running.status).toBe(422);
    expect(running.body.error).toMatchObject({ code: 'period_not_ended', details: [{ field: 'period_start' }] });
    const unknown = await api.call('POST', '/v1/customers/grace-co/periods/close', {
      period_start: '2026-02-01T00:00:00Z',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('period_not_found');
    const bad = await api.call('POST', '/v1/customers/grace-co/periods/close', { period_start: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.field)).toEqual(['period_start']);
    const noCustomer = await api.call('POST', '/v1/customers/nobody/periods/close', {});
    expect(noCustomer.status).toBe(404);
    const viewer = await rest(harness, 'POST', '/v1/customers/grace-co/periods/close', { key: viewerKey, body: {} });
    expect(viewer.status).toBe(403);
    // Nothing has ended yet: closing everything closes nothing.
    expect(await api.ok('POST', '/v1/customers/grace-co/periods/close', {})).toEqual({ data: [] });
    expect(await api.invoiceOf('grace-co', '2026-03-01T00:00:00.000Z')).toBeUndefined();
  });

  it('drafts an ended period within its grace and finalizes one without grace, audited as the caller', async () => {
    const { api, harness, tenant } = scenario;
    harness.clock.set('2026-04-01T00:10:00Z');
    const graceful = await api.ok('POST', '/v1/customers/grace-co/periods/close', {});
    expect(graceful.data).toHaveLength(1);
    expect(graceful.data[0]).toMatchObject({
      status: 'draft',
      total: '22.000000000',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
      finalize_at: '2026-04-02T00:00:00.000Z',
    });
    const prompt = await api.ok('POST', '/v1/customers/prompt-co/periods/close', {
      period_start: '2026-03-01T00:00:00Z',
    });
    expect(prompt.data).toHaveLength(1);
    expect(prompt.data[0]).toMatchObject({ status: 'finalized', total: '5.000000000' });
    expect(prompt.data[0].number).toMatch(/^INV-\d{6}$/);

    const audit = await api.ok('GET', `/v1/audit_log?entity_type=invoice&entity_id=${prompt.data[0].id}`);
    expect(audit.data.map((e: any) => [e.action, e.actor.type]).sort()).toEqual([
      ['invoice.drafted', 'api_key'],
      ['invoice.finalized', 'api_key'],
    ]);

    // The dashboard closes through tRPC with the owner's session (a new one: a month has passed).
    const login = await trpc(harness, 'mutation', 'auth.login', {
      tenant: tenant.slug,
      email: tenant.email,
      password: 'correct horse battery staple',
    });
    expect(login.status).toBe(200);
    const dashboard = await trpc(
      harness,
      'mutation',
      'invoices.closePeriods',
      { id: 'dash-co' },
      login.body.session.token,
    );
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.data.map((i: any) => [i.status, i.total])).toEqual([['finalized', '5.000000000']]);
    const dashboardAudit = await api.ok(
      'GET',
      `/v1/audit_log?entity_type=invoice&entity_id=${dashboard.body.data[0].id}`,
    );
    expect(dashboardAudit.data.map((e: any) => e.actor.type)).toEqual(['user', 'user']);

    // Again: nothing left to close, and the period is named as invoiced.
    expect(await api.ok('POST', '/v1/customers/grace-co/periods/close', {})).toEqual({ data: [] });
    const again = await api.call('POST', '/v1/customers/grace-co/periods/close', {
      period_start: '2026-03-01T00:00:00Z',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('period_already_invoiced');
  });

  it('leaves the billing tick nothing to bill twice', async () => {
    const { api, jobs } = scenario;
    await jobs.tick();
    for (const customer of ['grace-co', 'prompt-co', 'dash-co']) {
      const list = await api.ok('GET', `/v1/invoices?customer_id=${customer}`);
      expect(
        list.data.filter((i: any) => i.period.start === '2026-03-01T00:00:00.000Z'),
        customer,
      ).toHaveLength(1);
    }
    expect((await jobs.counts())['billing.close-period'] ?? 0).toBe(0);
  });
});
