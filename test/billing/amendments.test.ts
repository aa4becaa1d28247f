// A mid-period upgrade over HTTP with a frozen clock: the amendment splits the period at its instant, events
// before it are rated on the old plan (its book, allowance and price) and events from it on the new one, each
// part is invoiced with its base fee prorated by the second, and the next period is on the new plan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, startBillingScenario, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

// The pro book: tokens at $0.01 per 1,000 (the starter book charges $0.02).
const proBook = {
  ...billingBook,
  id: 'ai-platform-pro',
  versions: [
    {
      ...billingBook.versions[0],
      rate_cards: [
        {
          ...billingBook.versions[0].rate_cards[0],
          charges: [
            { dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '0.01', per: '1000' } },
          ],
        },
      ],
    },
  ],
};

describe('subscription amendments', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/price_books', { book: proBook });
    await api.ok('POST', '/v1/plans', {
      code: 'starter',
      name: 'Starter',
      price_book: 'ai-platform',
      base_fee: '100',
      interval: 'month',
      allowances: { tokens: '1000000' },
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'pro',
      name: 'Pro',
      price_book: 'ai-platform-pro',
      base_fee: '300',
      interval: 'month',
      allowances: { tokens: '5000000' },
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/plans', {
      code: 'pro-yearly',
      name: 'Pro yearly',
      price_book: 'ai-platform-pro',
      base_fee: '3000',
      interval: 'year',
    });
    await api.ok('POST', '/v1/customers', { external_id: 'upgrader', currency: 'USD' });
    await api.ok('POST', '/v1/customers/upgrader/subscriptions', {
      plan: 'starter',
      started_at: '2026-03-01T00:00:00Z',
    });
    harness.clock.set('2026-03-10T00:00:00Z');
    // 1.5M tokens on starter: 1M included, 500k at $0.02 per 1,000 = $10.
    const [first] = await api.events(tokens('u-1', 'upgrader', 1_500_000, '2026-03-05T00:00:00Z'));
    expect(first).toMatchObject({ status: 'accepted', amount: '10.000000000' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('refuses amendments it cannot honour, naming the field', async () => {
    const amend = (body: unknown) => api.call('POST', '/v1/customers/upgrader/subscription/amendments', body);
    const cases: [unknown, number, string, string][] = [
      [{ effective_at: '2026-03-09T00:00:00Z', plan: 'pro' }, 422, 'amendment_in_past', 'effective_at'],
      [{ effective_at: '2026-04-05T00:00:00Z', plan: 'pro' }, 422, 'amendment_outside_period', 'effective_at'],
      [{ effective_at: '2026-03-16T00:00:00Z', plan: 'nope' }, 400, 'plan_not_found', 'plan'],
      [{ effective_at: '2026-03-16T00:00:00Z', plan: 'pro-yearly' }, 422, 'interval_mismatch', 'plan'],
      [
        { effective_at: '2026-03-16T00:00:00Z', allowances: { gpu: '1' } },
        400,
        'allowance_not_drawn',
        'allowances.gpu',
      ],
      [{ effective_at: '2026-03-16T00:00:00Z' }, 400, 'invalid_request', 'plan'],
      [{ effective_at: 'soon', plan: 'pro' }, 400, 'invalid_request', 'effective_at'],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await amend(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(response.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect((await api.ok('GET', '/v1/customers/upgrader/subscription/amendments')).data).toEqual([]);
  });

  it('rates usage before a mid-period upgrade on the old plan and after it on the new one, and prorates each base fee by the second', async () => {
    const amendment = await api.ok('POST', '/v1/customers/upgrader/subscription/amendments', {
      effective_at: '2026-03-16T00:00:00Z',
      plan: 'pro',
    });
    expect(amendment).toMatchObject({
      plan: 'pro',
      effective_at: '2026-03-16T00:00:00.000Z',
      allowances: { tokens: '5000000.000000' },
      periods: {
        before: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-16T00:00:00.000Z' },
        after: { start: '2026-03-16T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
      },
    });
    expect(await api.ok('GET', '/v1/customers/upgrader/subscription')).toMatchObject({
      plan: 'starter',
      current_period: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-16T00:00:00.000Z' },
    });

    harness.clock.set('2026-03-25T00:00:00Z');
    const outcomes = await api.events(
      // On pro: 5M included, 1M at $0.01 per 1,000 = $10.
      tokens('u-2', 'upgrader', 6_000_000, '2026-03-20T00:00:00Z'),
      // Stamped before the upgrade (sent late): starter's allowance is used up, $0.02 per 1,000 = $4.
      tokens('u-3', 'upgrader', 200_000, '2026-03-15T12:00:00Z'),
    );
    expect(outcomes.map((o) => [o.status, o.amount, o.period.start, o.period.end])).toEqual([
      ['accepted', '10.000000000', '2026-03-16T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['accepted', '4.000000000', '2026-03-01T00:00:00.000Z', '2026-03-16T00:00:00.000Z'],
    ]);
    expect(
      (await api.ok('GET', '/v1/events/u-2/receipt')).receipt.find((s: any) => s.step === 'allowance'),
    ).toMatchObject({ covered: '5000000.000000', remaining: '0.000000' });

    // The part before the upgrade ended on the 16th: invoiced on starter.
    await jobs.tick();
    const before = await api.invoiceOf('upgrader', '2026-03-01T00:00:00.000Z');
    expect(before).toMatchObject({
      status: 'finalized',
      plan: 'starter',
      period: { end: '2026-03-16T00:00:00.000Z' },
      total: '62.390000000',
    });
    expect(before.lines.map((l: any) => [l.kind, l.description, l.amount_exact, l.amount])).toEqual([
      ['base_fee', 'Starter base fee (prorated: 1296000 of 2678400 seconds)', '48.387096774', '48.390000000'],
      ['usage', 'llm/tokens: tokens (model llama-3-70b)', '14.000000000', '14.000000000'],
      ['allowance', 'Included tokens: 1000000 units', '0.000000000', '0.000000000'],
    ]);

    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const after = await api.invoiceOf('upgrader', '2026-03-16T00:00:00.000Z');
    expect(after).toMatchObject({
      status: 'finalized',
      plan: 'pro',
      period: { end: '2026-04-01T00:00:00.000Z' },
      total: '164.840000000',
    });
    expect(after.lines.map((l: any) => [l.kind, l.description, l.unit_price, l.amount_exact, l.amount])).toEqual([
      [
        'base_fee',
        'Pro base fee (prorated: 1382400 of 2678400 seconds)',
        '154.838709677',
        '154.838709677',
        '154.840000000',
      ],
      ['usage', 'llm/tokens: tokens (model llama-3-70b)', '0.010000000', '10.000000000', '10.000000000'],
      ['allowance', 'Included tokens: 5000000 units', null, '0.000000000', '0.000000000'],
    ]);
    // April is a whole period on pro.
    expect(await api.ok('GET', '/v1/customers/upgrader/subscription')).toMatchObject({
      plan: 'pro',
      current_period: { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' },
    });
    const [april] = await api.events(tokens('u-4', 'upgrader', 5_500_000, '2026-04-01T00:00:01Z'));
    expect(april).toMatchObject({
      amount: '5.000000000',
      period: { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' },
    });
    expect((await api.ok('GET', '/v1/customers/upgrader/subscription/amendments')).data).toHaveLength(1);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('refuses an amendment at or before an event already rated in the period', async () => {
    harness.clock.set('2026-04-10T00:00:00Z');
    await api.events(tokens('u-5', 'upgrader', 1000, '2026-04-10T00:03:00Z'));
    const response = await api.call('POST', '/v1/customers/upgrader/subscription/amendments', {
      effective_at: '2026-04-10T00:02:00Z',
      discount_percent: '10',
    });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'events_after_amendment', details: [{ field: 'effective_at' }] });
  });
});
