// Decimals print the same way on create and read (issue 12, section 4): every kind of object with a decimal is
// created with a short form ("12.5") and read back; the create answer and each read are equal, and each decimal is
// in its kind's one printed form: money 9 decimals, quantities 6, percentages 7 (as the kernel's receipts print them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness } from '../service/harness.ts';
import { client } from './fixtures.ts';

describe('decimals on create and read', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;
  const book = {
    id: 'decimals',
    currency: 'USD',
    versions: [
      {
        effective_from: '2026-01-01T00:00:00Z',
        rate_cards: [
          {
            id: 'chat',
            match: { event_type: 'chat' },
            charges: [
              { dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '12.5', per: '1000' } },
            ],
          },
        ],
      },
    ],
  };

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-10T00:00:00Z' });
    api = client(harness, await signUpTenant(harness));
    await api.ok('POST', '/v1/customers', { external_id: 'dec', currency: 'USD' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('prints a price book as it was given, on create and read', async () => {
    const created = await api.ok('POST', '/v1/price_books', { book });
    expect(created.book.versions[0].rate_cards[0].charges[0].price).toEqual({
      model: 'per_unit',
      rate: '12.5',
      per: '1000',
    });
    expect(await api.ok('GET', '/v1/price_books/decimals')).toEqual(created);
  });

  it('prints plan amounts and allowances alike on create, read and list', async () => {
    const created = await api.ok('POST', '/v1/plans', {
      code: 'dec',
      name: 'Dec',
      price_book: 'decimals',
      interval: 'month',
      base_fee: '12.5',
      minimum_spend: '20.25',
      progressive_thresholds: ['12.5', '30'],
      term_commitment: { minimum_spend: '100.5', periods: 3 },
      allowances: { tokens: '1000.5' },
    });
    expect(created).toMatchObject({
      base_fee: '12.500000000',
      minimum_spend: '20.250000000',
      progressive_thresholds: ['12.500000000', '30.000000000'],
      term_commitment: { minimum_spend: '100.500000000', periods: 3 },
      allowances: { tokens: '1000.500000' },
    });
    expect(await api.ok('GET', '/v1/plans/dec')).toEqual(created);
    expect((await api.ok('GET', '/v1/plans')).data).toContainEqual(created);
  });

  it('prints budgets, scoped budgets and credit grants alike on create and read', async () => {
    const budget = await api.ok('PUT', '/v1/customers/dec/budget', { amount: '12.5' });
    expect(budget.amount).toBe('12.500000000');
    expect(await api.ok('GET', '/v1/customers/dec/budget')).toEqual(budget);
    const scoped = await api.ok('PUT', '/v1/customers/dec/scoped_budgets/project/search', { amount: '7.25' });
    expect(scoped.amount).toBe('7.250000000');
    expect((await api.ok('GET', '/v1/customers/dec/scoped_budgets')).data).toEqual([scoped]);
    const grant = await api.ok('POST', '/v1/customers/dec/credit_grants', { kind: 'prepaid', amount: '12.5' });
    const credits = await api.ok('POST', '/v1/customers/dec/credit_grants', {
      kind: 'promotional',
      credits: { amount: '12.5', rate: '0.5' },
    });
    expect([grant.amount, grant.balance]).toEqual(['12.500000000', '12.500000000']);
    expect(credits).toMatchObject({
      amount: '6.250000000',
      credits: { amount: '12.500000000', rate: '0.500000000', balance: '12.500000000' },
    });
    expect((await api.ok('GET', '/v1/customers/dec/credit_grants')).data).toEqual([grant, credits]);
    expect((await api.ok('GET', '/v1/customers/dec/wallet')).grants).toEqual([grant, credits]);
  });

  it("prints a subscription's and an amendment's discount percentage alike on create and read", async () => {
    const subscription = await api.ok('POST', '/v1/customers/dec/subscriptions', {
      plan: 'dec',
      started_at: '2026-03-01T00:00:00Z',
      discount_percent: '12.5',
    });
    expect(subscription.discount_percent).toBe('12.5000000');
    expect(await api.ok('GET', '/v1/customers/dec/subscription')).toEqual(subscription);
    const none = await api.ok('POST', '/v1/customers', { external_id: 'dec-0', currency: 'USD' });
    expect(none.external_id).toBe('dec-0');
    const plain = await api.ok('POST', '/v1/customers/dec-0/subscriptions', {
      plan: 'dec',
      started_at: '2026-03-01T00:00:00Z',
    });
    expect(plain.discount_percent).toBe('0.0000000');
    expect(await api.ok('GET', '/v1/customers/dec-0/subscription')).toEqual(plain);
    const amendment = await api.ok('POST', '/v1/customers/dec/subscription/amendments', {
      effective_at: '2026-03-20T00:00:00Z',
      discount_percent: '7.25',
    });
    expect(amendment.discount_percent).toBe('7.2500000');
    expect((await api.ok('GET', '/v1/customers/dec/subscription/amendments')).data).toEqual([amendment]);
  });
});
