// Plans and subscriptions over HTTP: periods from the subscription's anchor (partial first period, yearly
// plans), the plan's allowances, discount and minimum in every event's receipt, and period close as pg-boss
// jobs driven by the frozen clock: one job per customer-period, the next period opened, late events refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';

describe('plans, subscriptions and period close', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const subscribe = async (customer: string, body: Record<string, unknown>) => {
    await api.ok('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
    return api.ok('POST', `/v1/customers/${customer}/subscriptions`, body);
  };

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('creates plans, refusing allowances the book does not draw and unknown books, naming the field', async () => {
    const plan = await api.ok('POST', '/v1/plans', {
      code: 'hybrid',
      name: 'Hybrid',
      price_book: 'ai-platform',
      base_fee: '100',
      interval: 'month',
      allowances: { tokens: 1_000_000 },
    });
    expect(plan).toMatchObject({
      code: 'hybrid',
      currency: 'USD',
      base_fee: '100.000000000',
      allowances: { tokens: '1000000.000000' },
      minimum_spend: null,
      invoice_grace_hours: 1,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'yearly',
      name: 'Yearly',
      price_book: 'ai-platform',
      base_fee: '1000',
      interval: 'year',
    });
    await api.ok('POST', '/v1/plans', {
      code: 'committed',
      name: 'Committed',
      price_book: 'ai-platform',
      interval: 'month',
      minimum_spend: '50',
      invoice_grace_hours: 0,
    });
    const cases: [unknown, number, string][] = [
      [
        { code: 'x', name: 'X', price_book: 'ai-platform', interval: 'month', allowances: { gpu_hours: '10' } },
        400,
        'allowances.gpu_hours',
      ],
      [{ code: 'x', name: 'X', price_book: 'nope', interval: 'month' }, 400, 'price_book'],
      [{ code: 'x', name: 'X', price_book: 'ai-platform', interval: 'week' }, 400, 'interval'],
      [{ code: 'x', name: 'X', price_book: 'ai-platform', interval: 'month', base_fee: '-1' }, 400, 'base_fee'],
      [
        { code: 'x', name: 'X', price_book: 'ai-platform', interval: 'month', allowances: { tokens: '1.5555555' } },
        400,
        'allowances.tokens',
      ],
      [{ code: 'Bad Code', name: 'X', price_book: 'ai-platform', interval: 'month' }, 400, 'code'],
      [{ code: 'hybrid', name: 'X', price_book: 'ai-platform', interval: 'month' }, 409, 'code'],
    ];
    for (const [body, status, field] of cases) {
      const response = await api.call('POST', '/v1/plans', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect((await api.ok('GET', '/v1/plans')).data.map((p: any) => p.code)).toEqual(['committed', 'hybrid', 'yearly']);
    expect((await api.call('GET', '/v1/plans/nope')).status).toBe(404);
  });

  it("bills subscribed usage in subscription periods, with the plan's allowance, discount and minimum in each receipt", async () => {
    const sub = await subscribe('hybrid-co', { plan: 'hybrid', started_at: '2026-03-01T00:00:00Z' });
    expect(sub).toMatchObject({
      plan: 'hybrid',
      interval: 'month',
      anchor_day: 1,
      anchor_month: null,
      current_period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    });
    // The plan's book now rates the customer.
    expect((await api.ok('GET', '/v1/customers/hybrid-co')).price_book).toMatchObject({
      code: 'ai-platform',
      effective_from: '2026-03-01T00:00:00.000Z',
    });

    harness.clock.set('2026-03-20T00:00:00Z');
    const acks = await api.events(
      tokens('h-1', 'hybrid-co', 800_000, '2026-03-05T00:00:00Z'),
      tokens('h-2', 'hybrid-co', 300_000, '2026-03-06T00:00:00Z'),
    );
    // 800k included; then 200k included and 100k at $0.02 per 1,000 = $2.
    expect(acks.map((a) => [a.amount, a.period.start, a.period.end])).toEqual([
      ['0.000000000', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['2.000000000', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ]);
    const receipt = await api.ok('GET', '/v1/events/h-2/receipt');
    expect(receipt.receipt.find((s: any) => s.step === 'allowance')).toEqual({
      step: 'allowance',
      charge: 0,
      pool: 'tokens',
      covered: '200000.000000',
      remaining: '0.000000',
    });

    // Mid-month start: a partial first period; a 10% discount and a $50 minimum in every receipt.
    const partial = await subscribe('late-joiner', {
      plan: 'committed',
      started_at: '2026-03-15T12:00:00.750Z',
      anchor_day: 1,
      discount_percent: '10',
    });
    expect(partial).toMatchObject({
      started_at: '2026-03-15T12:00:00.000Z',
      discount_percent: '10.0000000',
      current_period: { start: '2026-03-15T12:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    });
    const [joined] = await api.events(tokens('lj-1', 'late-joiner', 500_000, '2026-03-16T00:00:00Z'));
    expect(joined).toMatchObject({
      status: 'accepted',
      amount: '9.000000000',
      period: { start: '2026-03-15T12:00:00.000Z' },
    });
    const steps = (await api.ok('GET', '/v1/events/lj-1/receipt')).receipt.filter(
      (s: any) => s.step === 'discount' || s.step === 'commitment',
    );
    expect(steps).toEqual([
      { step: 'discount', percent: '10.0000000', amount: '1.000000000' },
      { step: 'commitment', mode: 'postpaid', amount: '9.000000000', consumed: '9.000000000' },
    ]);
    // Before the subscription started there was no price book for it.
    const [early] = await api.events(tokens('lj-0', 'late-joiner', 1, '2026-03-10T00:00:00Z'));
    expect(early).toMatchObject({ status: 'rejected', error: { code: 'no_price_book' } });

    // Yearly: anchored on the start's month and day.
    const yearly = await subscribe('annual-co', { plan: 'yearly', started_at: '2026-03-15T00:00:00Z' });
    expect(yearly).toMatchObject({
      anchor_day: 15,
      anchor_month: 3,
      current_period: { start: '2026-03-15T00:00:00.000Z', end: '2027-03-15T00:00:00.000Z' },
    });
    expect((await api.ok('GET', '/v1/customers/annual-co/subscription')).current_period.end).toBe(
      '2027-03-15T00:00:00.000Z',
    );
  });

  it('refuses subscriptions that would overlap billed periods, a second one, and bad input', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'payg', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/payg/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.events(tokens('payg-1', 'payg', 1000, '2026-03-02T00:00:00Z'));
    const overlap = await api.call('POST', '/v1/customers/payg/subscriptions', {
      plan: 'hybrid',
      started_at: '2026-03-15T00:00:00Z',
    });
    expect(overlap.status).toBe(422);
    expect(overlap.body.error).toMatchObject({
      code: 'period_overlap',
      details: [{ field: 'started_at', reason: 'must be at or after 2026-04-01T00:00:00.000Z' }],
    });
    expect((await api.call('POST', '/v1/customers/hybrid-co/subscriptions', { plan: 'hybrid' })).status).toBe(409);
    // Billed in EUR, rated in JPY (its book's currency): a USD plan would rate it in a second currency.
    await api.ok('POST', '/v1/customers', { external_id: 'euro', currency: 'EUR' });
    await api.ok('POST', '/v1/price_books', { book: { ...billingBook, id: 'ai-platform-jpy', currency: 'JPY' } });
    await api.ok('PUT', '/v1/customers/euro/price_book', {
      price_book: 'ai-platform-jpy',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const currency = await api.call('POST', '/v1/customers/euro/subscriptions', { plan: 'hybrid' });
    expect(currency.status).toBe(422);
    expect(currency.body.error).toMatchObject({ code: 'currency_mismatch', details: [{ field: 'plan' }] });
    for (const [body, field] of [
      [{ plan: 'nope' }, 'plan'],
      [{ plan: 'hybrid', anchor_day: 32 }, 'anchor_day'],
      [{ plan: 'hybrid', discount_percent: '101' }, 'discount_percent'],
      [{ plan: 'hybrid', discount_percent: 10 }, 'discount_percent'],
      [{ plan: 'hybrid', started_at: 'yesterday' }, 'started_at'],
    ] as const) {
      const response = await api.call('POST', '/v1/customers/euro/subscriptions', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details[0].field).toBe(field);
    }
    expect((await api.call('GET', '/v1/customers/euro/subscription')).status).toBe(404);
  });

  it('closes ended periods with one pg-boss job per customer-period, keeps them open for late events during the grace, then takes later ones as adjustments', async () => {
    // Nothing is due before the end.
    await jobs.tick();
    expect((await jobs.counts())['billing.close-period'] ?? 0).toBe(0);

    harness.clock.set('2026-04-01T00:00:30Z');
    await jobs.tick();
    const statuses = async () =>
      (
        await harness.database.owner`
          select c.external_id, p.period_start, p.status, i.status as invoice from customer_periods p
          join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
          left join invoices i on i.tenant_id = p.tenant_id and i.customer_id = p.customer_id and i.period_start = p.period_start
          where p.tenant_id = ${tenant.tenantId} order by c.external_id, p.period_start`
      ).map((r) => [r.external_id, r.period_start.toISOString(), r.status, r.invoice]);
    // Hybrid (1 hour of grace) and pay-as-you-go (1 hour) have drafts and stay open; the committed plan has no grace.
    expect(await statuses()).toEqual([
      ['annual-co', '2026-03-15T00:00:00.000Z', 'open', null],
      ['hybrid-co', '2026-03-01T00:00:00.000Z', 'open', 'draft'],
      ['hybrid-co', '2026-04-01T00:00:00.000Z', 'open', null],
      ['late-joiner', '2026-03-15T12:00:00.000Z', 'closed', 'finalized'],
      ['late-joiner', '2026-04-01T00:00:00.000Z', 'open', null],
      ['payg', '2026-03-01T00:00:00.000Z', 'open', 'draft'],
    ]);
    // Three customer-periods were due (however many events they had): three close jobs from one tick.
    expect(await jobs.counts()).toMatchObject({ 'billing.close-period': 3, 'billing.tick': 2 });
    await jobs.tick();
    expect((await jobs.counts())['billing.close-period']).toBe(3);

    // During the grace a late event still lands in March.
    const [late] = await api.events(tokens('h-late', 'hybrid-co', 10, '2026-03-31T23:59:00Z'));
    expect(late).toMatchObject({ status: 'accepted', period: { start: '2026-03-01T00:00:00.000Z' } });
    // After it, the drafts are finalized (one job each); a later event for March is billed on April's invoice.
    harness.clock.set('2026-04-01T01:00:00Z');
    await jobs.tick();
    expect(await jobs.counts()).toMatchObject({ 'billing.close-period': 3, 'billing.finalize-invoice': 2 });
    expect((await statuses()).filter((r) => r[1] === '2026-03-01T00:00:00.000Z').map((r) => [r[2], r[3]])).toEqual([
      ['closed', 'finalized'],
      ['closed', 'finalized'],
    ]);
    const [tooLate] = await api.events(tokens('h-too-late', 'hybrid-co', 10, '2026-03-31T23:59:30Z'));
    expect(tooLate).toMatchObject({ status: 'accepted', period: { start: '2026-03-01T00:00:00.000Z' } });
    // April starts with the whole allowance again.
    const [april] = await api.events(tokens('h-april', 'hybrid-co', 1_000_000, '2026-04-01T00:00:10Z'));
    expect(april).toMatchObject({
      status: 'accepted',
      amount: '0.000000000',
      period: { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' },
    });
    const audit = await api.ok('GET', '/v1/audit_log?entity_type=invoice&limit=100');
    expect(audit.data.filter((e: any) => e.action === 'invoice.drafted')).toHaveLength(3);
    expect(audit.data.filter((e: any) => e.action === 'invoice.finalized')).toHaveLength(3);
  });
});
