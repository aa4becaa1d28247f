// Advance notice of credit expiry with a frozen clock: the billing tick records one credit_grant.expiring
// notification per grant when its notice period begins (the grant's own days, else the tenant's setting, else
// 7), with the balance left; never again for the same grant, never for a used-up or non-expiring grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('credit expiry notice', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const notices = async () =>
    (await api.ok('GET', '/v1/notifications?type=credit_grant.expiring&customer_id=notice-co')).data as any[];

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'payg',
      name: 'Pay as you go',
      price_book: 'ai-platform',
      interval: 'month',
    });
    await api.ok('POST', '/v1/customers', { external_id: 'notice-co', currency: 'USD' });
    await api.ok('POST', '/v1/customers/notice-co/subscriptions', { plan: 'payg', started_at: '2026-03-01T00:00:00Z' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('refuses bad notice settings, naming the field', async () => {
    const grant = await api.call('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'prepaid',
      amount: '1',
      expiry_notice_days: -1,
    });
    expect(grant.status).toBe(400);
    expect(grant.body.error.details[0].field).toBe('expiry_notice_days');
    const settings = await api.call('PUT', '/v1/billing_settings', { credit_expiry_notice_days: 'soon' });
    expect(settings.status).toBe(400);
    expect(settings.body.error.details[0].field).toBe('credit_expiry_notice_days');
    expect(await api.ok('GET', '/v1/billing_settings')).toEqual({ credit_expiry_notice_days: 7, invoice_emails: true });
  });

  it('notifies once per grant when its notice period begins, with the balance left', async () => {
    // Tenant default 10 days; one grant asks for 2; a third is used up before its notice; a fourth never expires.
    expect(await api.ok('PUT', '/v1/billing_settings', { credit_expiry_notice_days: 10 })).toEqual({
      credit_expiry_notice_days: 10,
      invoice_emails: true,
    });
    const tenDays = await api.ok('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'prepaid',
      amount: '100',
      name: 'Q1 prepaid',
      expires_at: '2026-03-31T00:00:00Z',
    });
    const twoDays = await api.ok('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'promotional',
      amount: '10',
      priority: 1,
      expires_at: '2026-03-31T00:00:00Z',
      expiry_notice_days: 2,
    });
    const usedUp = await api.ok('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'promotional',
      amount: '5',
      priority: 0,
      expires_at: '2026-03-25T00:00:00Z',
    });
    await api.ok('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'goodwill',
      amount: '3',
      reason: 'outage',
      priority: 5,
    });
    expect(twoDays.expiry_notice_days).toBe(2);
    expect(tenDays.expiry_notice_days).toBeNull();

    // $5 of usage uses up the first promotional grant; $25 more: free credit first ($10 of the 2-day promotion, the $3
    // goodwill), then $12 of the prepaid.
    harness.clock.set('2026-03-05T00:00:00Z');
    await api.events(tokens('n-1', 'notice-co', 250_000, '2026-03-04T00:00:00Z'));
    await api.events(tokens('n-2', 'notice-co', 1_250_000, '2026-03-04T01:00:00Z'));
    await jobs.tick();
    expect(await notices()).toEqual([]);

    // 2026-03-20 is before 10 days ahead of the 31st: still nothing (and the used-up grant never gets one).
    harness.clock.set('2026-03-20T23:59:59Z');
    await jobs.tick();
    expect(await notices()).toEqual([]);

    harness.clock.set('2026-03-21T00:00:00Z');
    await jobs.tick();
    const [first] = await notices();
    expect(await notices()).toHaveLength(1);
    expect(first).toMatchObject({
      type: 'credit_grant.expiring',
      customer_id: 'notice-co',
      subject_id: tenDays.id,
      created_at: '2026-03-21T00:00:00.000Z',
      payload: {
        grant_id: tenDays.id,
        kind: 'prepaid',
        name: 'Q1 prepaid',
        currency: 'USD',
        balance: '88.000000000',
        expires_at: '2026-03-31T00:00:00.000Z',
        notice_days: 10,
      },
    });
    // Ticks go on; the grant is not notified again.
    harness.clock.set('2026-03-25T00:00:00Z');
    await jobs.tick();
    expect(await notices()).toHaveLength(1);

    // The 2-day grant was used up by n-2, so it gets none either; a fresh one with 2 days does, 2 days ahead.
    const fresh = await api.ok('POST', '/v1/customers/notice-co/credit_grants', {
      kind: 'promotional',
      amount: '4',
      expires_at: '2026-03-31T00:00:00Z',
      expiry_notice_days: 2,
    });
    await jobs.tick();
    expect(await notices()).toHaveLength(1);
    harness.clock.set('2026-03-29T00:00:00Z');
    await jobs.tick();
    const all = await notices();
    expect(all.map((n) => [n.subject_id, n.payload.balance, n.payload.notice_days])).toEqual([
      [tenDays.id, '88.000000000', 10],
      [fresh.id, '4.000000000', 2],
    ]);
    expect(all.map((n) => n.subject_id)).not.toContain(usedUp.id);
    expect(all.map((n) => n.subject_id)).not.toContain(twoDays.id);

    // Expiry itself still runs at the expiry instant; no further notices after it.
    harness.clock.set('2026-03-31T00:00:01Z');
    await jobs.tick();
    const grants = (await api.ok('GET', '/v1/customers/notice-co/credit_grants')).data as any[];
    expect(grants.find((g) => g.id === tenDays.id).status).toBe('expired');
    expect(await notices()).toHaveLength(2);
    // Paging: oldest first, after a given id.
    const page = await api.ok(
      'GET',
      `/v1/notifications?type=credit_grant.expiring&limit=1&starting_after=${all[0].id}`,
    );
    expect(page.data.map((n: any) => n.id)).toEqual([all[1].id]);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
