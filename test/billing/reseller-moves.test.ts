// Moving a customer (PATCH parent_id) over the public API: the books that price it from now on must be its new
// seller's (a book of reseller A never prices a customer of reseller B), else the move is refused naming
// parent_id, or the same request assigns the new seller's book; events already rated keep the chain that billed
// them. Concurrent opposite moves are serialised: exactly one succeeds and no cycle forms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../service/harness.ts';
import { startBillingScenario, tokenBook, tokens, type client } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';

describe('moving customers between resellers', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const customer = async (id: string, bookId: string | null, extra: Record<string, unknown> = {}) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD', ...extra });
    if (bookId)
      await api.ok('PUT', `/v1/customers/${id}/price_book`, {
        price_book: bookId,
        effective_from: '2026-01-01T00:00:00Z',
      });
  };

  beforeAll(async () => {
    ({ harness, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-book', '0.010') });
    await customer('res-a', 'tenant-book', { is_reseller: true });
    await customer('res-b', 'tenant-book', { is_reseller: true });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('a-retail', '0.020'), owner_customer_id: 'res-a' });
    await api.ok('POST', '/v1/price_books', { book: tokenBook('b-retail', '0.030'), owner_customer_id: 'res-b' });
    await customer('user', 'a-retail', { parent_id: 'res-a' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it("refuses a move that would leave a reseller's book pricing another seller's customer, or takes the new seller's book with it", async () => {
    harness.clock.set('2026-03-10T00:00:00Z');
    const [before] = await api.events(tokens('m-1', 'user', 1_000_000, '2026-03-05T00:00:00Z'));
    expect(before).toMatchObject({ status: 'accepted', amount: '20.000000000' });

    // Under res-b, res-a's book would price it: refused, naming parent_id; nothing changes.
    const refused = await api.call('PATCH', '/v1/customers/user', { parent_id: 'res-b' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'parent_price_book_conflict',
      details: [{ field: 'parent_id', reason: 'price book "a-retail" is not the new seller\'s' }],
    });
    expect(await api.ok('GET', '/v1/customers/user')).toMatchObject({
      parent_id: 'res-a',
      price_book: { code: 'a-retail' },
    });
    // Moving it to the tenant (no parent) is refused the same way: res-a's book would price a tenant's customer.
    const toTenant = await api.call('PATCH', '/v1/customers/user', { parent_id: null });
    expect(toTenant.status).toBe(409);
    expect(toTenant.body.error.details[0].field).toBe('parent_id');
    // A book the new seller does not own is no way out either.
    const wrongBook = await api.call('PATCH', '/v1/customers/user', { parent_id: 'res-b', price_book: 'a-retail' });
    expect(wrongBook.status).toBe(422);
    expect(wrongBook.body.error).toMatchObject({
      code: 'price_book_not_owned_by_seller',
      details: [{ field: 'price_book' }],
    });

    // With the new seller's book, the move goes through, and the book prices it from now on.
    const moved = await api.ok('PATCH', '/v1/customers/user', { parent_id: 'res-b', price_book: 'b-retail' });
    expect(moved).toMatchObject({ parent_id: 'res-b', price_book: { code: 'b-retail' } });
    const [after] = await api.events(tokens('m-2', 'user', 1_000_000, '2026-03-10T00:00:00Z'));
    expect(after).toMatchObject({ status: 'accepted', amount: '30.000000000' });
    expect((await api.ok('GET', '/v1/events/m-2/receipt')).chain.map((l: any) => [l.customer_id, l.net])).toEqual([
      ['res-b', '10.000000000'],
    ]);
    // The event rated before the move keeps the chain that billed it.
    expect((await api.ok('GET', '/v1/events/m-1/receipt')).chain.map((l: any) => [l.customer_id, l.net])).toEqual([
      ['res-a', '10.000000000'],
    ]);
    // A customer with no book moves freely.
    await customer('bare', null, { parent_id: 'res-a' });
    expect(await api.ok('PATCH', '/v1/customers/bare', { parent_id: 'res-b' })).toMatchObject({ parent_id: 'res-b' });
  });

  it('serialises concurrent opposite moves: exactly one succeeds, never a cycle', async () => {
    const owner = harness.database.owner;
    for (const round of [1, 2, 3]) {
      const [x, y] = [`x-${round}`, `y-${round}`];
      await customer(x, null);
      await customer(y, null);
      // Both requests are let go at once: a transaction holding both rows makes each wait (on the rows, or on
      // the other's move) until both are waiting, then ends.
      let responses: Promise<Awaited<ReturnType<typeof api.call>>[]> | undefined;
      await owner.begin(async (sql) => {
        await sql`select 1 from customers where external_id in (${x}, ${y}) for update`;
        responses = Promise.all([
          api.call('PATCH', `/v1/customers/${x}`, { parent_id: y }),
          api.call('PATCH', `/v1/customers/${y}`, { parent_id: x }),
        ]);
        for (let waited = 0; ; waited++) {
          const [{ n }] = await owner`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`;
          if (n >= 2) break;
          expect(waited, 'both moves waiting').toBeLessThan(500);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      });
      const statuses = (await responses!).map((r) => r.status);
      expect(statuses.sort(), `round ${round}`).toEqual([200, 400]);
      const refused = (await responses!).find((r) => r.status === 400)!;
      expect(refused.body.error).toMatchObject({ code: 'customer_hierarchy_cycle', details: [{ field: 'parent_id' }] });
      const rows = await owner`select external_id, parent_id from customers where external_id in (${x}, ${y})`;
      expect(rows.filter((r) => r.parent_id !== null)).toHaveLength(1);
    }
  });

  it("checks a move's book against the new parent's currency, not the old parent's", async () => {
    await api.ok('POST', '/v1/price_books', { book: tokenBook('tenant-eur', '0.010', 'EUR') });
    await customer('res-eur', 'tenant-eur', { is_reseller: true, currency: 'EUR' });
    await api.ok('POST', '/v1/price_books', {
      book: tokenBook('eur-owned-usd', '0.020'),
      owner_customer_id: 'res-eur',
    });
    await customer('mover', 'a-retail', { parent_id: 'res-a' });
    // Under res-eur (rated in EUR) its USD book would split the chain's currency: refused, naming price_book.
    const refused = await api.call('PATCH', '/v1/customers/mover', {
      parent_id: 'res-eur',
      price_book: 'eur-owned-usd',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'chain_currency_mismatch',
      details: [{ field: 'price_book', reason: expect.stringContaining('res-eur') }],
    });
    expect(await api.ok('GET', '/v1/customers/mover')).toMatchObject({
      parent_id: 'res-a',
      price_book: { code: 'a-retail' },
    });
  });

  it('refuses to stop reselling while the reseller has children, naming is_reseller', async () => {
    // res-b has "user" and "bare" (moved under it above).
    const refused = await api.call('PATCH', '/v1/customers/res-b', { is_reseller: false });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'reseller_has_children',
      details: [{ field: 'is_reseller', reason: expect.any(String) }],
    });
    expect(refused.body.error.message).toContain('"bare", "user"');
    expect(await api.ok('GET', '/v1/customers/res-b')).toMatchObject({ is_reseller: true });
    // Once its children are moved away, it may stop.
    harness.clock.set('2026-03-11T00:00:00Z');
    await api.ok('PATCH', '/v1/customers/bare', { parent_id: 'res-a' });
    await api.ok('PATCH', '/v1/customers/user', { parent_id: 'res-a', price_book: 'a-retail' });
    expect(await api.ok('PATCH', '/v1/customers/res-b', { is_reseller: false })).toMatchObject({ is_reseller: false });
  });
});
