// Billing answers that were wrong (issue 12, section 4), each driven through the public API with a frozen clock:
// a property a charge needs, currencies that do not match, customers read by Tariff's id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob } from './fixtures.ts';

describe('billing answers', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-10T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('rejects an H100 event without gpu_count, naming it, and rates it with the default the book states', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'gpu-co', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/gpu-co/price_book', { price_book: 'ai-platform', effective_from: '2026-01-01T00:00:00Z' });
    const { gpu_count: _omitted, ...withoutCount } = gpuJob('g-1', 'gpu-co', 1, 3600, '2026-03-09T00:00:00Z').properties;
    const [missing, complete] = await api.events(
      { ...gpuJob('g-1', 'gpu-co', 1, 3600, '2026-03-09T00:00:00Z'), properties: withoutCount },
      gpuJob('g-2', 'gpu-co', 2, 3600, '2026-03-09T00:00:00Z'),
    );
    expect(missing).toMatchObject({ status: 'rejected', error: { code: 'missing_property', field: 'properties.gpu_count' } });
    expect(missing.error.message).toContain('gpu_count');
    expect(complete).toMatchObject({ status: 'accepted', amount: '5.000000000' });
    // Nothing stored for the rejected one: it can be resent, corrected, under the same id.
    expect((await api.call('GET', '/v1/events/g-1/receipt')).status).toBe(404);

    // A book that states a default: one GPU unless the event says otherwise.
    const defaulted = structuredClone(billingBook) as any;
    defaulted.id = 'ai-platform-defaults';
    defaulted.versions[0].rate_cards[1].defaults = { gpu_count: '1' };
    await api.ok('POST', '/v1/price_books', { book: defaulted });
    await api.ok('POST', '/v1/customers', { external_id: 'gpu-default', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/gpu-default/price_book', { price_book: 'ai-platform-defaults', effective_from: '2026-01-01T00:00:00Z' });
    const [rated] = await api.events({ ...gpuJob('g-3', 'gpu-default', 1, 3600, '2026-03-09T00:00:00Z'), properties: withoutCount });
    expect(rated).toMatchObject({ status: 'accepted', amount: '2.500000000' });
  });

  it('refuses a price book or plan in another currency than the customer, and lets the currency change until something is billed in it', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'euro-co', currency: 'EUR' });
    const refused = await api.call('PUT', '/v1/customers/euro-co/price_book', { price_book: 'ai-platform', effective_from: '2026-01-01T00:00:00Z' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'currency_mismatch', details: [{ field: 'price_book' }] });
    expect(refused.body.error.message).toBe('Price book "ai-platform" is in USD and customer "euro-co" is billed in EUR; currencies are not converted');
    await api.ok('POST', '/v1/plans', { code: 'usd-plan', name: 'USD plan', price_book: 'ai-platform', interval: 'month' });
    const plan = await api.call('POST', '/v1/customers/euro-co/subscriptions', { plan: 'usd-plan', started_at: '2026-03-10T00:00:00Z' });
    expect(plan.status).toBe(422);
    expect(plan.body.error).toMatchObject({ code: 'currency_mismatch', details: [{ field: 'plan' }] });
    // Nothing was assigned, so nothing rates the customer.
    expect((await api.ok('GET', '/v1/customers/euro-co')).price_book_assignments).toEqual([]);

    // No invoice, no book, no credit in EUR yet: the currency may change, then the USD book may be assigned.
    expect(await api.ok('PATCH', '/v1/customers/euro-co', { currency: 'USD' })).toMatchObject({ currency: 'USD' });
    await api.ok('PUT', '/v1/customers/euro-co/price_book', { price_book: 'ai-platform', effective_from: '2026-01-01T00:00:00Z' });
    // Now a USD book rates it: changing back to EUR is refused, naming the field and why.
    const locked = await api.call('PATCH', '/v1/customers/euro-co', { currency: 'EUR' });
    expect(locked.status).toBe(422);
    expect(locked.body.error).toMatchObject({ code: 'currency_locked', details: [{ field: 'currency' }] });
    expect(locked.body.error.details[0].reason).toContain('"ai-platform"');
    expect((await api.call('PATCH', '/v1/customers/euro-co', { currency: 'euro' })).body.error.details[0].field).toBe('currency');
    // The same currency again is no change at all.
    expect(await api.ok('PATCH', '/v1/customers/euro-co', { currency: 'USD' })).toMatchObject({ currency: 'USD' });
  });

  it('reads a customer by its Tariff id as well as by its external id', async () => {
    const created = await api.ok('POST', '/v1/customers', { external_id: 'by-id', currency: 'USD' });
    const byExternal = await api.ok('GET', '/v1/customers/by-id');
    const byId = await api.ok('GET', `/v1/customers/${created.id}`);
    expect(byId).toEqual(byExternal);
    expect((await api.ok('GET', `/v1/customers/${created.id.toUpperCase()}`)).external_id).toBe('by-id');
    // An external id that looks like another customer's id still names its own customer first.
    await api.ok('POST', '/v1/customers', { external_id: created.id, currency: 'EUR' });
    expect((await api.ok('GET', `/v1/customers/${created.id}`)).currency).toBe('EUR');
    expect((await api.call('GET', '/v1/customers/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
