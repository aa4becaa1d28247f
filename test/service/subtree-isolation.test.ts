// Reseller subtree isolation (migration 080): tenant -> distributor -> reseller -> end user, and a sibling
// reseller. The reseller's key tries to reach outside its subtree through the API, then the database is asked
// directly, as the service role with app.subtree_root set, and must refuse on its own.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleBook, rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';

const event = (transactionId: string, customerId: string) => ({
  transaction_id: transactionId,
  customer_id: customerId,
  event_type: 'llm.completion',
  timestamp: '2026-03-15T00:00:00Z',
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10 },
});

/** A book with a cost schedule (COGS), which only its owner may see. */
const bookWithCost = (id: string) => {
  const book = exampleBook(id);
  return { ...book, cost: { currency: 'USD', versions: book.versions } };
};

describe('reseller subtree isolation', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let other: TenantFixture;
  let distributorKey: string;
  let distributorKeyId: string;
  let siblingGrantId: string;
  let resellerKey: string;
  let siblingKey: string;
  const ids: Record<string, string> = {};

  const as = (key: string) => (method: string, path: string, body?: unknown) =>
    rest(harness, method, path, { key, body });

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    tenant = await signUpTenant(harness, 'Tenant');
    other = await signUpTenant(harness, 'Other tenant');
    const asTenant = as(tenant.secretKey);
    const customers: [string, string | undefined, boolean][] = [
      ['dist', undefined, true],
      ['res', 'dist', true],
      ['end', 'res', false],
      ['sib', 'dist', true],
      ['sib-end', 'sib', false],
      ['direct', undefined, false],
    ];
    for (const [externalId, parent, isReseller] of customers) {
      const created = await asTenant('POST', '/v1/customers', {
        external_id: externalId,
        currency: 'USD',
        is_reseller: isReseller,
        ...(parent ? { parent_id: parent } : {}),
      });
      expect(created.status).toBe(201);
    }
    for (const row of await harness.database.owner`
      select external_id, id from customers where tenant_id = ${tenant.tenantId}`)
      ids[row.external_id] = row.id;
    expect(
      (await as(other.secretKey)('POST', '/v1/customers', { external_id: 'foreign', currency: 'USD' })).status,
    ).toBe(201);

    // The tenant's book prices the distributor; the distributor's books price its resellers.
    expect((await asTenant('POST', '/v1/price_books', { book: bookWithCost('tenant-book') })).status).toBe(201);
    expect((await asTenant('PUT', '/v1/customers/dist/price_book', { price_book: 'tenant-book' })).status).toBe(200);
    expect((await asTenant('PUT', '/v1/customers/direct/price_book', { price_book: 'tenant-book' })).status).toBe(200);
    const dBook = await asTenant('POST', '/v1/price_books', {
      book: bookWithCost('d-book'),
      owner_customer_id: 'dist',
    });
    expect(dBook.status).toBe(201);
    expect(dBook.body.owner_customer_id).toBe('dist');

    const distributor = await asTenant('POST', '/v1/api_keys', { kind: 'secret', name: 'dist', customer_id: 'dist' });
    expect(distributor.status).toBe(201);
    expect(distributor.body.customer_id).toBe('dist');
    distributorKey = distributor.body.secret;
    distributorKeyId = distributor.body.id;
    const asDistributor = as(distributorKey);
    // The distributor's key makes books it owns and keys for its resellers.
    const dSecret = await asDistributor('POST', '/v1/price_books', { book: bookWithCost('d-secret') });
    expect(dSecret.status).toBe(201);
    expect(dSecret.body.owner_customer_id).toBe('dist');
    expect((await asDistributor('PUT', '/v1/customers/res/price_book', { price_book: 'd-book' })).status).toBe(200);
    expect((await asDistributor('PUT', '/v1/customers/sib/price_book', { price_book: 'd-book' })).status).toBe(200);
    const reseller = await asDistributor('POST', '/v1/api_keys', { kind: 'secret', name: 'res', customer_id: 'res' });
    expect(reseller.status).toBe(201);
    resellerKey = reseller.body.secret;
    siblingKey = (await asDistributor('POST', '/v1/api_keys', { kind: 'secret', name: 'sib', customer_id: 'sib' })).body
      .secret;
    expect((await as(resellerKey)('POST', '/v1/price_books', { book: bookWithCost('r-book') })).status).toBe(201);
    expect((await as(resellerKey)('PUT', '/v1/customers/end/price_book', { price_book: 'r-book' })).status).toBe(200);
    expect((await as(siblingKey)('POST', '/v1/price_books', { book: bookWithCost('s-book') })).status).toBe(201);
    expect((await as(siblingKey)('PUT', '/v1/customers/sib-end/price_book', { price_book: 's-book' })).status).toBe(
      200,
    );
    const siblingGrant = await as(siblingKey)('POST', '/v1/customers/sib-end/credit_grants', {
      kind: 'prepaid',
      amount: '5',
    });
    expect(siblingGrant.status).toBe(201);
    siblingGrantId = siblingGrant.body.id;
    expect((await as(siblingKey)('POST', '/v1/events', { events: [event('sib-tx', 'sib-end')] })).body.accepted).toBe(
      1,
    );
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('keeps every customer path right, through creation and re-parenting of a whole subtree', async () => {
    const paths = async () =>
      Object.fromEntries(
        (
          await harness.database.owner`
            select c.external_id, (select array_agg(a.external_id order by i) from unnest(c.path) with ordinality p(id, i)
              join customers a on a.tenant_id = c.tenant_id and a.id = p.id) as path
            from customers c where c.tenant_id = ${tenant.tenantId}`
        ).map((r) => [r.external_id, r.path.join('/')]),
      );
    expect(await paths()).toMatchObject({
      dist: 'dist',
      res: 'dist/res',
      end: 'dist/res/end',
      sib: 'dist/sib',
      'sib-end': 'dist/sib/sib-end',
      direct: 'direct',
    });
    const asTenant = as(tenant.secretKey);
    expect(
      (
        await asTenant('POST', '/v1/customers', {
          external_id: 'moved',
          currency: 'USD',
          is_reseller: true,
          parent_id: 'direct',
        })
      ).status,
    ).toBe(201);
    expect(
      (await asTenant('POST', '/v1/customers', { external_id: 'moved-end', currency: 'USD', parent_id: 'moved' }))
        .status,
    ).toBe(201);
    expect((await asTenant('PATCH', '/v1/customers/moved', { parent_id: 'sib-end' })).status).toBe(200);
    expect(await paths()).toMatchObject({
      moved: 'dist/sib/sib-end/moved',
      'moved-end': 'dist/sib/sib-end/moved/moved-end',
    });
    expect((await asTenant('PATCH', '/v1/customers/moved', { parent_id: null })).status).toBe(200);
    expect(await paths()).toMatchObject({
      moved: 'moved',
      'moved-end': 'moved/moved-end',
      'sib-end': 'dist/sib/sib-end',
    });
    // A cycle is refused (the service's check; the trigger is the net).
    expect((await asTenant('PATCH', '/v1/customers/dist', { parent_id: 'end' })).status).toBe(400);
  });

  it('lets a book price a customer only when it belongs to whoever sells to that customer', async () => {
    const asTenant = as(tenant.secretKey);
    // The end user's seller is its reseller: neither the tenant's book nor the distributor's may price it.
    for (const book of ['tenant-book', 'd-book']) {
      const refused = await asTenant('PUT', '/v1/customers/end/price_book', {
        price_book: book,
        effective_from: '2026-04-01T00:00:00Z',
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('price_book_not_owned_by_seller');
      expect(refused.body.error.details[0].field).toBe('price_book');
    }
    // A reseller's book cannot price the tenant's direct customer, nor its own reseller's parent.
    const direct = await asTenant('PUT', '/v1/customers/direct/price_book', {
      price_book: 'd-book',
      effective_from: '2026-04-01T00:00:00Z',
    });
    expect(direct.status).toBe(422);
    expect(direct.body.error.details[0].field).toBe('price_book');
    // A tenant key names the owner; only a reseller can own books.
    const notReseller = await asTenant('POST', '/v1/price_books', {
      book: exampleBook('x-book'),
      owner_customer_id: 'end',
    });
    expect(notReseller.status).toBe(400);
    expect(notReseller.body.error.details[0].field).toBe('owner_customer_id');
    // The reseller's own book is what it pays its parent: owned by the distributor.
    const own = await asTenant('GET', '/v1/price_books/d-book');
    expect(own.body.owner_customer_id).toBe('dist');
    // A plan of the tenant's book cannot be sold to an end user of a reseller.
    expect(
      (
        await asTenant('POST', '/v1/plans', {
          code: 't-plan',
          name: 'T',
          price_book: 'tenant-book',
          interval: 'month',
          base_fee: '1',
        })
      ).status,
    ).toBe(201);
    const subscribed = await asTenant('POST', '/v1/customers/end/subscriptions', {
      plan: 't-plan',
      started_at: '2026-04-01T00:00:00Z',
    });
    expect(subscribed.status).toBe(422);
    expect(subscribed.body.error.details[0].field).toBe('plan');
  });

  it("a reseller's key reads and changes its subtree only, over every route it tries", async () => {
    const before = await harness.database.owner`
      select (select json_agg(c order by c.id) from customers c where c.tenant_id = ${tenant.tenantId}) as customers,
             (select json_agg(b order by b.id) from price_books b where b.tenant_id = ${tenant.tenantId}) as books,
             (select count(*) from price_book_versions v where v.tenant_id = ${tenant.tenantId}) as versions,
             (select json_agg(a order by a.customer_id, a.effective_from) from customer_price_books a where a.tenant_id = ${tenant.tenantId}) as assignments,
             (select count(*) from credit_grants g where g.tenant_id = ${tenant.tenantId}) as grants,
             (select count(*) from api_keys k where k.tenant_id = ${tenant.tenantId}) as keys`;
    const asReseller = as(resellerKey);
    const outside = ['dist', 'sib', 'sib-end', 'direct', 'foreign'];
    const statusOf = async (method: string, path: string, body?: unknown) =>
      (await asReseller(method, path, body)).status;

    // Listing: itself and its end user, nothing else.
    const listed = await asReseller('GET', '/v1/customers?limit=100');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((c: { external_id: string }) => c.external_id).sort()).toEqual(['end', 'res']);
    // The list filter by parent cannot reach another subtree.
    const byParent = await asReseller('GET', '/v1/customers?parent_id=dist');
    expect(JSON.stringify(byParent.body)).not.toContain('sib');
    // By external id: everything outside is not found, on every customer route.
    for (const customer of outside) {
      expect(await statusOf('GET', `/v1/customers/${customer}`), customer).toBe(404);
      expect(await statusOf('PATCH', `/v1/customers/${customer}`, { name: 'hijacked' }), customer).toBe(404);
      expect(await statusOf('PUT', `/v1/customers/${customer}/price_book`, { price_book: 'r-book' }), customer).toBe(
        404,
      );
      expect(
        await statusOf('POST', `/v1/customers/${customer}/credit_grants`, { kind: 'prepaid', amount: '1' }),
        customer,
      ).toBe(404);
      expect(await statusOf('GET', `/v1/customers/${customer}/credit_grants`), customer).toBe(404);
      expect(await statusOf('GET', `/v1/customers/${customer}/wallet`), customer).toBe(404);
      expect(await statusOf('PUT', `/v1/customers/${customer}/budget`, { amount: '1' }), customer).toBe(404);
      expect(await statusOf('GET', `/v1/customers/${customer}/usage`), customer).toBe(404);
      expect(await statusOf('GET', `/v1/customers/${customer}/pricing-snapshot`), customer).toBe(404);
      expect(await statusOf('POST', `/v1/customers/${customer}/subscriptions`, { plan: 't-plan' }), customer).toBe(404);
    }
    // Its own account: readable, never changed (its book, credits and parent are its seller's).
    expect(await statusOf('GET', '/v1/customers/res')).toBe(200);
    expect(await statusOf('PATCH', '/v1/customers/res', { name: 'renamed' })).toBe(403);
    expect(
      await statusOf('PUT', '/v1/customers/res/price_book', {
        price_book: 'r-book',
        effective_from: '2026-05-01T00:00:00Z',
      }),
    ).toBe(403);
    expect(await statusOf('POST', '/v1/customers/res/credit_grants', { kind: 'prepaid', amount: '100' })).toBe(403);
    // Re-parenting out of the subtree, or a foreign customer into it.
    const out = await asReseller('PATCH', '/v1/customers/end', { parent_id: null });
    expect(out.status).toBe(400);
    expect(out.body.error.details[0].field).toBe('parent_id');
    const toSibling = await asReseller('PATCH', '/v1/customers/end', { parent_id: 'sib' });
    expect(toSibling.status).toBe(400);
    expect(toSibling.body.error.details[0].field).toBe('parent_id');
    expect(await statusOf('PATCH', '/v1/customers/sib-end', { parent_id: 'res' })).toBe(404);
    expect(await statusOf('POST', '/v1/customers', { external_id: 'new', currency: 'USD', parent_id: 'dist' })).toBe(
      400,
    );
    // Books: its own, and the one it is assigned (without the cost schedule); no other book of its parent's.
    const books = await asReseller('GET', '/v1/price_books?limit=100');
    expect(books.body.data.map((b: { code: string }) => b.code).sort()).toEqual(['d-book', 'r-book']);
    const paid = await asReseller('GET', '/v1/price_books/d-book');
    expect(paid.status).toBe(200);
    expect(paid.body.versions.map((v: { schedule: string }) => v.schedule)).toEqual(['price']);
    expect(paid.body.book.cost).toBeUndefined();
    expect(
      (await asReseller('GET', '/v1/price_books/r-book')).body.versions
        .map((v: { schedule: string }) => v.schedule)
        .sort(),
    ).toEqual(['cost', 'price']);
    for (const book of ['tenant-book', 'd-secret', 's-book'])
      expect(await statusOf('GET', `/v1/price_books/${book}`), book).toBe(404);
    const version = { version: exampleBook('d-book', '2027-01-01T00:00:00Z').versions[0] };
    expect(await statusOf('POST', '/v1/price_books/d-book/versions', version)).toBeGreaterThanOrEqual(400);
    expect(await statusOf('POST', '/v1/price_books/tenant-book/versions', version)).toBe(404);
    // Assigning a book it does not own to its own end user.
    const notOwned = await asReseller('PUT', '/v1/customers/end/price_book', {
      price_book: 'd-book',
      effective_from: '2026-05-01T00:00:00Z',
    });
    expect(notOwned.status).toBe(422);
    expect(notOwned.body.error.details[0].field).toBe('price_book');
    expect(
      await statusOf('PUT', '/v1/customers/end/price_book', {
        price_book: 's-book',
        effective_from: '2026-05-01T00:00:00Z',
      }),
    ).toBe(400);
    // A plan of a book it does not own.
    const plan = await asReseller('POST', '/v1/plans', {
      code: 'r-plan',
      name: 'R',
      price_book: 'd-book',
      interval: 'month',
      base_fee: '1',
    });
    expect(plan.status).toBe(422);
    expect(plan.body.error.details[0].field).toBe('price_book');
    // Keys: only within its subtree.
    const foreignKey = await asReseller('POST', '/v1/api_keys', { kind: 'secret', name: 'x', customer_id: 'dist' });
    expect(foreignKey.status).toBe(400);
    expect(foreignKey.body.error.details[0].field).toBe('customer_id');
    const keys = await asReseller('GET', '/v1/api_keys');
    expect(keys.status).toBe(200);
    expect(keys.body.data.map((k: { customer_id: string }) => k.customer_id)).toEqual(['res']);
    // Tenant-level endpoints.
    for (const [method, path, body] of [
      ['GET', '/v1/tax/settings'],
      ['PUT', '/v1/tax/settings', { legal_name: 'X', address: 'Y', country: 'DE', registrations: [] }],
      ['GET', '/v1/currency_settings'],
      ['PATCH', '/v1/currency_settings', { reporting_currency: 'EUR' }],
      ['GET', '/v1/billing_settings'],
      ['PUT', '/v1/billing_settings', { credit_expiry_notice_days: 3 }],
      ['GET', '/v1/dunning_policy'],
      ['PUT', '/v1/dunning_policy', { retry_after_days: [1], block_after_days: 2 }],
      ['GET', '/v1/webhook_endpoints'],
      ['POST', '/v1/webhook_endpoints', { url: 'https://example.com/hook' }],
      ['GET', '/v1/audit_log'],
      ['POST', '/v1/meters', { code: 'm', name: 'M', event_type: 'x', aggregation: 'count' }],
      ['GET', '/v1/stripe/connection'],
      [
        'POST',
        '/v1/fx_rates',
        { rates: [{ base: 'EUR', quote: 'USD', rate: '1.1', as_of: '2026-03-02T00:00:00Z', source: 'x' }] },
      ],
    ] as [string, string, unknown?][]) {
      const status = await statusOf(method, path, body);
      expect([403, 404], `${method} ${path} answered ${status}`).toContain(status);
    }
    // Events: its end user's are rated; another subtree's customer is unknown to it.
    const ingested = await asReseller('POST', '/v1/events', {
      events: [event('r-tx', 'end'), event('r-sib', 'sib-end')],
    });
    expect(ingested.status).toBe(200);
    expect(ingested.body.accepted).toBe(1);
    expect(ingested.body.rejected).toBe(1);
    expect(JSON.stringify(ingested.body.events[1])).toContain('customer');
    // Its own usage is its children's: an event of the reseller itself is refused by the database.
    // Its end user's event is rated up the whole chain: the levels above it (its own, its parent's) are written too.
    const [levels] = await harness.database.owner`
      select count(distinct customer_id)::int as n from chain_daily
      where tenant_id = ${tenant.tenantId} and end_customer_id = ${ids.end}`;
    expect(levels.n).toBe(2);
    // Batches of a tenant key and of the reseller's key at the same moment are admitted each by its own rule.
    const [tenantBatch, resellerBatch] = await Promise.all([
      as(tenant.secretKey)('POST', '/v1/events', { events: [event('t-direct', 'direct'), event('t-sib', 'sib-end')] }),
      asReseller('POST', '/v1/events', {
        events: [event('r-end-2', 'end'), event('r-sib-2', 'sib-end'), event('r-direct', 'direct')],
      }),
    ]);
    expect(tenantBatch.body.accepted).toBe(2);
    expect(resellerBatch.body.accepted).toBe(1);
    expect(resellerBatch.body.events.map((e: { status: string }) => e.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
    ]);
    const own = await asReseller('POST', '/v1/events', { events: [event('r-self', 'res')] });
    expect(own.body.rejected).toBe(1);
    expect(own.body.events[0].error.code).toBe('customer_not_found');
    // Invoices and ledger: nothing of the sibling's.
    expect(JSON.stringify((await asReseller('GET', '/v1/ledger/transactions')).body)).not.toContain(ids['sib-end']);
    // List filters and ids naming another subtree's objects.
    for (const path of [
      '/v1/invoices?customer_id=sib-end',
      '/v1/credit_notes?customer_id=sib-end',
      '/v1/ledger/transactions?customer_id=sib-end',
      '/v1/notifications?customer_id=sib-end',
      '/v1/reratings',
      '/v1/events/sib-tx/receipt',
      '/v1/events/sib-tx/revisions',
      '/v1/resellers/sib/margins?from=2026-03-01&to=2026-04-01',
      '/v1/resellers/dist/margins?from=2026-03-01&to=2026-04-01',
    ]) {
      const answer = await asReseller('GET', path);
      expect([200, 400, 404], `${path} answered ${answer.status}`).toContain(answer.status);
      const text = JSON.stringify(answer.body);
      expect(text, path).not.toContain(ids['sib-end']);
      // An error may echo the id asked for; an answer must hold nothing of the sibling's.
      if (answer.status === 200) expect(text, path).not.toContain('sib-tx');
    }
    // Revoking the distributor's key.
    expect(await statusOf('DELETE', `/v1/api_keys/${distributorKeyId}`)).toBe(404);
    // Another tenant's customer, by the same routes.
    expect(await statusOf('GET', '/v1/customers/foreign')).toBe(404);

    const after = await harness.database.owner`
      select (select json_agg(c order by c.id) from customers c where c.tenant_id = ${tenant.tenantId}) as customers,
             (select json_agg(b order by b.id) from price_books b where b.tenant_id = ${tenant.tenantId}) as books,
             (select count(*) from price_book_versions v where v.tenant_id = ${tenant.tenantId}) as versions,
             (select json_agg(a order by a.customer_id, a.effective_from) from customer_price_books a where a.tenant_id = ${tenant.tenantId}) as assignments,
             (select count(*) from credit_grants g where g.tenant_id = ${tenant.tenantId}) as grants,
             (select count(*) from api_keys k where k.tenant_id = ${tenant.tenantId}) as keys`;
    expect(after).toEqual(before);
  });

  it("a reseller's key reaches none of another subtree's customers, nor its parent, over every customer route of the API", async () => {
    const document = JSON.parse(await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // Bodies the routes accept, so that each answer is about the customer and not the body.
    const bodies: Record<string, unknown> = {
      'patch /v1/customers/{id}': { name: 'hijacked' },
      'put /v1/customers/{id}/price_book': { price_book: 'r-book' },
      'patch /v1/customers/{id}/wallet': { on_depletion: 'block' },
      'post /v1/customers/{id}/credit_grants': { kind: 'prepaid', amount: '5' },
      'put /v1/customers/{id}/budget': { amount: '5' },
      'post /v1/customers/{id}/check': { estimated_cost: '1' },
      'put /v1/customers/{id}/scoped_budgets/{kind}/{value}': { amount: '5' },
      'post /v1/customers/{id}/subscriptions': { plan: 't-plan' },
      'post /v1/customers/{id}/periods/close': {},
      'post /v1/customers/{id}/sla_credits': { transaction_id: 'sib-tx', reason: 'x' },
      'post /v1/customers/{id}/subscription/amendments': {
        effective_at: '2026-03-20T00:00:00Z',
        discount_percent: '5',
      },
      'post /v1/customers/{id}/payment_setup_link': {},
      'post /v1/customers/{id}/holds': { id: 'r-hold', amount: '1' },
      'post /v1/customers/{id}/holds/{hold_id}/extend': { expires_in: 60 },
      'post /v1/customers/{id}/portal_links': {},
      'post /v1/customers/{id}/portal_tokens': { expires_in: 3600 },
    };
    // Routes whose query is required: a valid one, so that only the customer can be refused.
    const queries: Record<string, string> = {
      'get /v1/customers/{id}/usage/series': '?from=2026-03-01T00:00:00Z&until=2026-03-31T00:00:00Z',
    };
    const before = await harness.database.owner`
      select count(*)::int as n, sum(hashtext(t::text)) as h from (
        select row_to_json(x)::text as t from credit_grants x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customers x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from budgets x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customer_wallets x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from holds x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customer_price_books x where tenant_id = ${tenant.tenantId}) rows`;
    let tried = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      if (!template.startsWith('/v1/customers/{id}')) continue;
      for (const method of Object.keys(operations).filter((m) =>
        ['get', 'post', 'put', 'patch', 'delete'].includes(m),
      )) {
        for (const customer of ['sib-end', 'sib', 'dist', 'direct', 'foreign']) {
          const path = template
            .replace('{id}', customer)
            .replace('{grant_id}', siblingGrantId)
            .replace('{hold_id}', 'r-hold')
            .replace('{kind}', 'project')
            .replace('{value}', 'p')
            .concat(queries[`${method} ${template}`] ?? '');
          const answer = await rest(harness, method.toUpperCase(), path, {
            key: resellerKey,
            body: method === 'get' || method === 'delete' ? undefined : (bodies[`${method} ${template}`] ?? {}),
          });
          expect(answer.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(answer.body)}`).toBe(404);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
    // The sibling's grant by id, through the reseller's own end user.
    expect(
      (
        await rest(harness, 'POST', `/v1/customers/end/credit_grants/${siblingGrantId}/void`, {
          key: resellerKey,
          body: {},
        })
      ).status,
    ).toBe(404);
    const after = await harness.database.owner`
      select count(*)::int as n, sum(hashtext(t::text)) as h from (
        select row_to_json(x)::text as t from credit_grants x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customers x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from budgets x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customer_wallets x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from holds x where tenant_id = ${tenant.tenantId}
        union all select row_to_json(x)::text from customer_price_books x where tenant_id = ${tenant.tenantId}) rows`;
    expect(after).toEqual(before);
  });

  it("a reseller's key runs its own end user's billing: credits, budget, check, hold, snapshot, plan and subscription", async () => {
    const asReseller = as(resellerKey);
    const ok = async (method: string, path: string, body?: unknown) => {
      const answer = await asReseller(method, path, body);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
      return answer.body;
    };
    await ok('POST', '/v1/customers/end/credit_grants', { kind: 'prepaid', amount: '3' });
    await ok('PUT', '/v1/customers/end/budget', { amount: '100' });
    expect((await ok('POST', '/v1/customers/end/check', { estimated_cost: '1' })).allowed).toBe(true);
    await ok('POST', '/v1/customers/end/holds', { id: 'end-hold', amount: '0.5', expires_in: 3600 });
    await ok('GET', '/v1/customers/end/pricing-snapshot');
    await ok('POST', '/v1/plans', {
      code: 'r-plan',
      name: 'R',
      price_book: 'r-book',
      interval: 'month',
      base_fee: '1',
    });
    await ok('POST', '/v1/customers', { external_id: 'end-sub', currency: 'USD' });
    await ok('POST', '/v1/customers/end-sub/subscriptions', { plan: 'r-plan', started_at: '2026-03-01T00:00:00Z' });
    await ok('GET', '/v1/invoices');
  });

  it("a reseller's key is told when a reseller above it refuses, which it cannot otherwise see", async () => {
    const asTenant = as(tenant.secretKey);
    // The distributor blocks on depletion with no credit: every event of its subtree is refused.
    expect((await asTenant('PATCH', '/v1/customers/dist/wallet', { on_depletion: 'block' })).status).toBe(200);
    const check = await as(resellerKey)('POST', '/v1/customers/end/check', { estimated_cost: '0.01' });
    expect(check.status).toBe(200);
    expect(check.body.allowed).toBe(false);
    expect(check.body.reasons).toEqual([
      expect.objectContaining({ code: 'credits_exhausted', level: 2, reseller_id: 'dist' }),
    ]);
    const refused = await as(resellerKey)('POST', '/v1/events', { events: [event('blocked-above', 'end')] });
    expect(refused.body.events[0].error).toMatchObject({ code: 'credits_exhausted' });
    expect(refused.body.events[0].error.message).toContain('reseller "dist" (level 2');
    expect((await asTenant('PATCH', '/v1/customers/dist/wallet', { on_depletion: 'overage' })).status).toBe(200);
    expect((await as(resellerKey)('POST', '/v1/customers/end/check', { estimated_cost: '0.01' })).body.allowed).toBe(
      true,
    );
  });

  it('a subtree key creates customers under its reseller and keys within its subtree', async () => {
    const asReseller = as(resellerKey);
    const created = await asReseller('POST', '/v1/customers', { external_id: 'end-2', currency: 'USD' });
    expect(created.status).toBe(201);
    expect(created.body.parent_id).toBe('res');
    const key = await asReseller('POST', '/v1/api_keys', { kind: 'secret', name: 'mine', role: 'viewer' });
    expect(key.status).toBe(201);
    expect(key.body.customer_id).toBe('res');
    const asViewer = as(key.body.secret);
    expect((await asViewer('GET', '/v1/customers/dist')).status).toBe(404);
    expect((await asViewer('GET', '/v1/customers/end-2')).status).toBe(200);
    // The distributor sees its whole subtree, not its parent's other customers.
    const distributorView = await as(distributorKey)('GET', '/v1/customers?limit=100');
    expect(distributorView.body.data.map((c: { external_id: string }) => c.external_id).sort()).toEqual(
      ['dist', 'end', 'end-2', 'end-sub', 'res', 'sib', 'sib-end'].sort(),
    );
  });

  it("a dashboard user scoped to a reseller sees the reseller's subtree only", async () => {
    const password = 'correct horse battery staple';
    const created = await trpc(
      harness,
      'mutation',
      'users.create',
      { email: 'reseller-user@example.com', password, role: 'admin', customer_id: 'res' },
      tenant.session,
    );
    expect(created.status).toBe(200);
    const notReseller = await trpc(
      harness,
      'mutation',
      'users.create',
      { email: 'x@example.com', password, role: 'admin', customer_id: 'end' },
      tenant.session,
    );
    expect(notReseller.status).toBe(400);
    const login = await trpc(harness, 'mutation', 'auth.login', {
      tenant: tenant.slug,
      email: 'reseller-user@example.com',
      password,
    });
    expect(login.status).toBe(200);
    const session = login.body.session.token as string;
    const listed = await trpc(harness, 'query', 'customers.list', { limit: 100 }, session);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((c: { external_id: string }) => c.external_id).sort()).toEqual([
      'end',
      'end-2',
      'end-sub',
      'res',
    ]);
    expect((await trpc(harness, 'query', 'customers.get', { id: 'sib' }, session)).status).toBe(404);
    expect((await trpc(harness, 'query', 'users.list', undefined, session)).status).toBe(403);
    expect((await trpc(harness, 'query', 'auth.me', undefined, session)).status).toBe(200);
    expect((await trpc(harness, 'mutation', 'auth.resendVerification', undefined, session)).status).toBe(200);
    // Its brand is its own to set; the tenant's and its sibling's are not.
    const brand = await trpc(
      harness,
      'mutation',
      'portal.setBrand',
      { customer_id: 'res', display_name: 'Res' },
      session,
    );
    expect(brand.status).toBe(200);
    expect(brand.body.customer_id).toBe('res');
    expect((await trpc(harness, 'mutation', 'portal.setBrand', { display_name: 'Tenant?' }, session)).status).toBe(400);
    expect(
      (await trpc(harness, 'mutation', 'portal.setBrand', { customer_id: 'sib', display_name: 'Sib?' }, session))
        .status,
    ).toBe(404);
    // The tenant's owner still sees everyone.
    const all = await trpc(harness, 'query', 'customers.list', { limit: 100 }, tenant.session);
    expect(all.body.data.length).toBeGreaterThan(3);
  });

  it('the database refuses on its own: a raw service-role session with app.subtree_root set', async () => {
    const root = ids.res;
    const inSubtree = (fn: (tx: any) => Promise<any>): Promise<any> =>
      harness.database.app.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true), set_config('app.subtree_root', ${root}, true)`;
        return fn(tx);
      });
    const visible = await inSubtree((tx) => tx`select external_id from customers order by 1`);
    expect(visible.map((r: any) => r.external_id)).toEqual(['end', 'end-2', 'end-sub', 'res']);
    const books = await inSubtree((tx) => tx`select code from price_books order by 1`);
    expect(books.map((r: any) => r.code)).toEqual(['d-book', 'r-book']);
    const costs = await inSubtree(
      (tx) => tx`
      select b.code from price_book_versions v join price_books b on b.tenant_id = v.tenant_id and b.id = v.price_book_id
      where v.schedule = 'cost' order by 1`,
    );
    expect(costs.map((r: any) => r.code)).toEqual(['r-book']);
    const subtreeIds = (
      await harness.database.owner`
      select array_agg(id) as ids from customers where tenant_id = ${tenant.tenantId} and path @> array[${root}::uuid]`
    )[0].ids;
    for (const table of [
      'credit_grants',
      'events',
      'customer_price_books',
      'usage_aggregates',
      'customer_wallets',
      'subscriptions',
      'chain_daily',
    ]) {
      const foreign = await inSubtree((tx) =>
        tx.unsafe(`select count(*)::int as n from ${table} where customer_id <> all($1::uuid[])`, [subtreeIds]),
      );
      expect(foreign[0].n, table).toBe(0);
    }
    const ownerTotals = await harness.database.owner`
      select count(*)::int as n from credit_grants where tenant_id = ${tenant.tenantId} and customer_id = ${ids['sib-end']}`;
    expect(ownerTotals[0].n).toBeGreaterThan(0);
    const users = await inSubtree((tx) => tx`select email, scope_customer_id from users`);
    expect(users).toEqual([{ email: 'reseller-user@example.com', scope_customer_id: root }]);
    const tokens = await inSubtree(
      (tx) =>
        tx`select count(*)::int as n, count(*) filter (where email <> 'reseller-user@example.com')::int as others from user_tokens`,
    );
    expect(tokens[0]).toEqual({ n: 2, others: 0 });
    for (const table of ['webhook_endpoints', 'audit_log', 'stripe_connections', 'stripe_events']) {
      const rows = await inSubtree((tx) => tx.unsafe(`select count(*)::int as n from ${table}`));
      expect(rows[0].n, table).toBe(0);
    }
    const keys = await inSubtree((tx) => tx`select scope_customer_id from api_keys`);
    expect(new Set(keys.map((k: any) => k.scope_customer_id))).toEqual(new Set([root]));
    // Writes outside: silently nothing for rows it cannot see, refused for rows it would create or move out.
    const renamed = await inSubtree(
      (tx) => tx`update customers set name = 'x' where id = ${ids['sib-end']} returning id`,
    );
    expect(renamed).toHaveLength(0);
    const rootRenamed = await inSubtree((tx) => tx`update customers set name = 'x' where id = ${root} returning id`);
    expect(rootRenamed).toHaveLength(0);
    await expect(inSubtree((tx) => tx`update customers set parent_id = null where id = ${ids.end}`)).rejects.toThrow(
      /row-level security/,
    );
    await expect(
      inSubtree(
        (tx) => tx`
        insert into customers (tenant_id, id, external_id, currency, parent_id, created_at, updated_at)
        values (${tenant.tenantId}, gen_random_uuid(), 'smuggled', 'USD', ${ids.dist}, now(), now())`,
      ),
    ).rejects.toThrow();
    await expect(
      inSubtree(
        (tx) => tx`
        insert into customer_price_books (tenant_id, customer_id, effective_from, price_book_id, created_at, created_by)
        select ${tenant.tenantId}, ${root}, now() + interval '1 year', id, now(), 'x' from price_books where code = 'r-book'`,
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inSubtree(
        (tx) => tx`
        insert into customer_price_books (tenant_id, customer_id, effective_from, price_book_id, created_at, created_by)
        select ${tenant.tenantId}, ${ids.end}, now() + interval '1 year', id, now(), 'x' from price_books where code = 'd-book'`,
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inSubtree(
        (tx) => tx`
        insert into price_books (tenant_id, id, code, currency, created_at, created_by, owner_customer_id)
        values (${tenant.tenantId}, gen_random_uuid(), 'smuggled', 'USD', now(), 'x', ${ids.dist})`,
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(inSubtree((tx) => tx`update tenants set name = 'x' returning tenant_id`)).resolves.toHaveLength(0);
    // The same session without the subtree setting (a tenant session) sees the whole tenant.
    const all = await harness.database.app.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
      return tx`select count(*)::int as n from customers`;
    });
    expect(all[0].n).toBeGreaterThan(visible.length);
  });

  it('every tenant table but the number sequences has subtree policies', async () => {
    const uncovered = await harness.database.owner`
      select c.relname from pg_class c
      where c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace and c.relrowsecurity
        and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'subtree_read' and not p.polpermissive)
      order by 1`;
    expect(uncovered.map((r) => r.relname)).toEqual(['credit_note_sequences', 'invoice_sequences']);
  });
});
