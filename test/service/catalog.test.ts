// Customers, meters, price books and assignments over the REST API, and the 4xx contract for bad input.
import fs from 'node:fs/promises';
import { GENAI_PRICES_SNAPSHOT_PATH } from '../../core-wasm/src/importers/genai-prices-snapshot.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleBook, rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';

// The catalogue as published: the repository's dated copy.
const catalogueFile = GENAI_PRICES_SNAPSHOT_PATH;

describe('catalogue', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const call = (method: string, path: string, body?: unknown) =>
    rest(harness, method, path, { key: tenant.secretKey, body });

  beforeAll(async () => {
    harness = await startService({ bodyLimitBytes: 1024 * 1024 });
    tenant = await signUpTenant(harness);
  });
  afterAll(async () => {
    await harness?.close();
  });

  describe('customers', () => {
    it('creates a customer with every field and reads it back by external id', async () => {
      const created = await call('POST', '/v1/customers', {
        external_id: 'org_42/eu',
        name: 'Org 42',
        email: 'billing@org42.example',
        currency: 'EUR',
        country: 'DE',
        tax_id: 'DE136695976',
        is_reseller: true,
        metadata: { plan: 'scale' },
      });
      expect(created.status).toBe(201);
      const read = await call('GET', `/v1/customers/${encodeURIComponent('org_42/eu')}`);
      expect(read.body).toMatchObject({
        external_id: 'org_42/eu',
        currency: 'EUR',
        country: 'DE',
        tax_id: 'DE136695976',
        is_reseller: true,
        parent_id: null,
        metadata: { plan: 'scale' },
        price_book: null,
      });
    });

    it('rejects a duplicate external id with 409 and invalid codes with the field to blame', async () => {
      await call('POST', '/v1/customers', { external_id: 'dup', currency: 'USD' });
      const duplicate = await call('POST', '/v1/customers', { external_id: 'dup', currency: 'USD' });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error).toMatchObject({
        code: 'customer_exists',
        details: [{ field: 'external_id', reason: 'already in use' }],
      });
      const bad = await call('POST', '/v1/customers', { external_id: 'x', currency: 'usd', country: 'XX', unknown: 1 });
      expect(bad.status).toBe(400);
      const fields = bad.body.error.details.map((d: any) => d.field).sort();
      expect(fields).toEqual(['country', 'currency', 'unknown']);
      const notIso = await call('POST', '/v1/customers', { external_id: 'x', currency: 'ABC' });
      expect(notIso.body.error.details).toEqual([
        { field: 'currency', reason: 'is not an active ISO 4217 currency with a minor unit' },
      ]);
    });

    it('builds a hierarchy and refuses cycles', async () => {
      await call('POST', '/v1/customers', { external_id: 'reseller', currency: 'USD', is_reseller: true });
      const child = await call('POST', '/v1/customers', {
        external_id: 'end-user',
        currency: 'USD',
        parent_id: 'reseller',
      });
      expect(child.body.parent_id).toBe('reseller');
      await call('POST', '/v1/customers', { external_id: 'grandchild', currency: 'USD', parent_id: 'end-user' });
      const cycle = await call('PATCH', '/v1/customers/reseller', { parent_id: 'grandchild' });
      expect(cycle.status).toBe(400);
      expect(cycle.body.error.code).toBe('customer_hierarchy_cycle');
      const self = await call('PATCH', '/v1/customers/reseller', { parent_id: 'reseller' });
      expect(self.body.error.code).toBe('customer_hierarchy_cycle');
      const missing = await call('POST', '/v1/customers', {
        external_id: 'orphan',
        currency: 'USD',
        parent_id: 'nope',
      });
      expect(missing.body.error.details).toEqual([{ field: 'parent_id', reason: 'no such customer' }]);
      const detached = await call('PATCH', '/v1/customers/end-user', { parent_id: null });
      expect(detached.body.parent_id).toBeNull();
    });

    it('merges metadata and clears fields set to null', async () => {
      await call('POST', '/v1/customers', {
        external_id: 'meta',
        currency: 'USD',
        tax_id: 'T1',
        metadata: { a: '1', b: '2' },
      });
      const updated = await call('PATCH', '/v1/customers/meta', { metadata: { b: null, c: '3' }, tax_id: null });
      expect(updated.body.metadata).toEqual({ a: '1', c: '3' });
      expect(updated.body.tax_id).toBeNull();
      // Nothing billed yet: the currency may still change (test/billing/answers.test.ts: when it may not).
      expect((await call('PATCH', '/v1/customers/meta', { currency: 'EUR' })).body.currency).toBe('EUR');
    });

    it('pages through customers in external id order', async () => {
      const other = await signUpTenant(harness);
      for (const id of ['c', 'a', 'b'])
        await rest(harness, 'POST', '/v1/customers', {
          key: other.secretKey,
          body: { external_id: id, currency: 'USD' },
        });
      const first = await rest(harness, 'GET', '/v1/customers?limit=2', { key: other.secretKey });
      expect(first.body.data.map((c: any) => c.external_id)).toEqual(['a', 'b']);
      expect(first.body.has_more).toBe(true);
      const second = await rest(harness, 'GET', '/v1/customers?limit=2&starting_after=b', { key: other.secretKey });
      expect(second.body.data.map((c: any) => c.external_id)).toEqual(['c']);
      expect(
        (await rest(harness, 'GET', '/v1/customers?limit=0', { key: other.secretKey })).body.error.details[0].field,
      ).toBe('query.limit');
    });

    it('returns 404 for an unknown customer', async () => {
      const response = await call('GET', '/v1/customers/unknown');
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('customer_not_found');
    });
  });

  describe('meters', () => {
    it('creates meters of every aggregation and checks the property rule', async () => {
      for (const aggregation of ['sum', 'max', 'unique_count', 'latest', 'time_weighted_sum']) {
        const created = await call('POST', '/v1/meters', {
          code: `m_${aggregation}`,
          name: aggregation,
          event_type: 'llm.request',
          aggregation,
          property: 'input_tokens',
          group_by: ['model', 'region'],
          filters: [{ property: 'provider', op: 'in', values: ['openai', 'anthropic'] }],
        });
        expect(created.status, aggregation).toBe(201);
      }
      const count = await call('POST', '/v1/meters', {
        code: 'requests',
        name: 'Requests',
        event_type: 'llm.request',
        aggregation: 'count',
      });
      expect(count.body).toMatchObject({ aggregation: 'count', property: null, group_by: [], filters: [] });
      const countWithProperty = await call('POST', '/v1/meters', {
        code: 'x',
        name: 'x',
        event_type: 'e',
        aggregation: 'count',
        property: 'p',
      });
      expect(countWithProperty.body.error.details).toEqual([
        { field: 'property', reason: 'count aggregates no property: leave it out' },
      ]);
      const sumWithout = await call('POST', '/v1/meters', {
        code: 'y',
        name: 'y',
        event_type: 'e',
        aggregation: 'sum',
      });
      expect(sumWithout.body.error.details).toEqual([{ field: 'property', reason: 'required for sum' }]);
      const badAggregation = await call('POST', '/v1/meters', {
        code: 'z',
        name: 'z',
        event_type: 'e',
        aggregation: 'avg',
        property: 'p',
      });
      expect(badAggregation.body.error.details[0].field).toBe('aggregation');
      const badFilter = await call('POST', '/v1/meters', {
        code: 'w',
        name: 'w',
        event_type: 'e',
        aggregation: 'count',
        filters: [{ property: 'a', op: 'in' }],
      });
      expect(badFilter.body.error.details[0].field).toBe('filters.0.values');
      expect(
        (await call('POST', '/v1/meters', { code: 'requests', name: 'again', event_type: 'e', aggregation: 'count' }))
          .status,
      ).toBe(409);
    });

    it('renames and archives a meter but never changes its definition', async () => {
      await call('POST', '/v1/meters', {
        code: 'gpu_seconds',
        name: 'GPU',
        event_type: 'gpu.job',
        aggregation: 'sum',
        property: 'duration_seconds',
      });
      const renamed = await call('PATCH', '/v1/meters/gpu_seconds', { name: 'GPU seconds', archived: true });
      expect(renamed.body).toMatchObject({ name: 'GPU seconds', aggregation: 'sum', property: 'duration_seconds' });
      expect(renamed.body.archived_at).not.toBeNull();
      expect((await call('PATCH', '/v1/meters/gpu_seconds', { aggregation: 'max' })).status).toBe(400);
      const active = await call('GET', '/v1/meters?limit=1000');
      expect(active.body.data.map((m: any) => m.code)).not.toContain('gpu_seconds');
      const all = await call('GET', '/v1/meters?include_archived=true&limit=1000');
      expect(all.body.data.map((m: any) => m.code)).toContain('gpu_seconds');
    });
  });

  describe('price books', () => {
    it('stores a valid book and reports every problem of an invalid one with its JSON path', async () => {
      const created = await call('POST', '/v1/price_books', { name: 'LLM list prices', book: exampleBook('list') });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        code: 'list',
        currency: 'USD',
        versions: [{ schedule: 'price', version: 1, effective_from: '2026-01-01T00:00:00.000Z' }],
      });
      expect(created.body.book).toEqual(exampleBook('list'));

      const broken = exampleBook('broken') as any;
      broken.currency = 'dollars';
      broken.versions[0].rate_cards[0].charges[1].price.rate = '-x';
      const invalid = await call('POST', '/v1/price_books', { book: broken });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('invalid_price_book');
      const fields = invalid.body.error.details.map((d: any) => d.field);
      expect(fields).toContain('book.currency');
      expect(fields).toContain('book.versions.0.rate_cards.0.charges.1.price.rate');
      expect((await call('POST', '/v1/price_books', { book: exampleBook('list') })).status).toBe(409);
    });

    it('adds versions without touching old ones, never in the past nor out of order', async () => {
      await call('POST', '/v1/price_books', { book: exampleBook('versioned') });
      const before = await call('GET', '/v1/price_books/versioned');
      harness.clock.set('2026-03-01T12:00:00Z');

      const next = structuredClone(exampleBook('versioned', '2026-04-01T00:00:00Z').versions[0]);
      next.rate_cards[0].charges[0].price.rate = '2';
      const added = await call('POST', '/v1/price_books/versioned/versions', { version: next });
      expect(added.status).toBe(201);
      expect(added.body.versions.map((v: any) => v.version)).toEqual([1, 2]);
      expect(added.body.book.versions[0]).toEqual(before.body.book.versions[0]);
      expect(added.body.book.versions[1].rate_cards[0].charges[0].price.rate).toBe('2');

      const past = await call('POST', '/v1/price_books/versioned/versions', {
        version: { ...next, effective_from: '2026-02-01T00:00:00Z' },
      });
      expect(past.status).toBe(400);
      expect(past.body.error.details).toEqual([
        { field: 'version.effective_from', reason: 'versions must be in strictly ascending effective_from order' },
      ]);
      const inPast = await call('POST', '/v1/price_books/versioned/versions', {
        version: { ...exampleBook('x', '2026-05-01T00:00:00Z').versions[0] },
      });
      expect(inPast.status).toBe(201);
      harness.clock.set('2026-07-01T00:00:00Z');
      const stale = await call('POST', '/v1/price_books/versioned/versions', {
        version: { ...exampleBook('x', '2026-06-01T00:00:00Z').versions[0] },
      });
      expect(stale.status).toBe(422);
      expect(stale.body.error.code).toBe('version_in_past');
      const invalidVersion = await call('POST', '/v1/price_books/versioned/versions', {
        version: { effective_from: '2026-08-01T00:00:00Z', rate_cards: 'none' },
      });
      expect(invalidVersion.body.error.details[0].field).toBe('version.rate_cards');
      harness.clock.set('2026-03-01T12:00:00Z');
    });

    it('gives the service role no way to change or delete a stored version', async () => {
      await expect(
        harness.database.app.begin(async (tx) => {
          await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
          await tx`update price_book_versions set body = '{}'`;
        }),
      ).rejects.toThrow(/permission denied/);
      await expect(
        harness.database.app.begin(async (tx) => {
          await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
          await tx`delete from price_book_versions`;
        }),
      ).rejects.toThrow(/permission denied/);
    });

    it('imports the genai-prices catalogue as a book that rates events, and names what it cannot import', async () => {
      const catalogue = JSON.parse(await fs.readFile(catalogueFile, 'utf8'));
      const imported = await call('POST', '/v1/price_books/import', {
        source: 'genai-prices',
        catalogue,
        book_id: 'catalogue',
        regex: 'widen',
      });
      expect(imported.status, JSON.stringify(imported.body).slice(0, 500)).toBe(201);
      expect(imported.body.price_book).toMatchObject({ code: 'catalogue', currency: 'USD' });
      const cards = imported.body.price_book.book.versions.at(-1).rate_cards;
      expect(cards.length).toBeGreaterThan(100);
      const quote = await call('POST', '/v1/estimates', {
        price_book: 'catalogue',
        events: [
          {
            transaction_id: 'q',
            customer_id: 'c',
            event_type: 'llm',
            timestamp: '2026-03-01T12:00:00Z',
            properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000000 },
          },
        ],
      });
      expect(quote.body.results[0]).toMatchObject({ status: 'rated' });
      expect(Number(quote.body.results[0].amount)).toBeGreaterThan(0);

      const broken = await call('POST', '/v1/price_books/import', {
        source: 'genai-prices',
        catalogue: [{ id: 'x', models: [{ id: 'm', match: { regex: '(a|b)+c' }, prices: { input_mtok: 'free' } }] }],
        book_id: 'broken',
      });
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('catalogue_not_importable');
      expect(broken.body.error.details[0].field).toMatch(/^catalogue\.0/);
    });

    it('assigns a book to a customer, append-only and in effective order', async () => {
      await call('POST', '/v1/price_books', { book: exampleBook('assigned') });
      await call('POST', '/v1/price_books', { book: exampleBook('assigned-2') });
      await call('POST', '/v1/customers', { external_id: 'assignee', currency: 'USD' });
      const first = await call('PUT', '/v1/customers/assignee/price_book', {
        price_book: 'assigned',
        effective_from: '2026-01-01T00:00:00Z',
      });
      expect(first.status).toBe(200);
      expect(first.body.price_book).toEqual({ code: 'assigned', effective_from: '2026-01-01T00:00:00.000Z' });
      const future = await call('PUT', '/v1/customers/assignee/price_book', {
        price_book: 'assigned-2',
        effective_from: '2026-06-01T00:00:00Z',
      });
      expect(future.body.price_book.code).toBe('assigned');
      expect(future.body.price_book_assignments.map((a: any) => a.price_book)).toEqual(['assigned', 'assigned-2']);
      const earlier = await call('PUT', '/v1/customers/assignee/price_book', {
        price_book: 'assigned',
        effective_from: '2026-05-01T00:00:00Z',
      });
      expect(earlier.status).toBe(422);
      expect(earlier.body.error.code).toBe('assignment_not_after_latest');
      const unknown = await call('PUT', '/v1/customers/assignee/price_book', { price_book: 'nope' });
      expect(unknown.body.error.details).toEqual([{ field: 'price_book', reason: 'no such price book' }]);
      const listed = await call('GET', '/v1/customers?limit=1000');
      expect(listed.body.data.find((c: any) => c.external_id === 'assignee').price_book.code).toBe('assigned');
    });
  });

  describe('bad input is a 4xx with a reason, never a 500', () => {
    it('malformed JSON -> 400', async () => {
      const response = await rest(harness, 'POST', '/v1/customers', {
        key: tenant.secretKey,
        rawBody: '{"external_id": ',
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('malformed_json');
    });
    it('wrong content type -> 415', async () => {
      const response = await rest(harness, 'POST', '/v1/customers', {
        key: tenant.secretKey,
        rawBody: 'external_id=x',
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(response.status).toBe(415);
      expect(response.body.error.details[0].field).toBe('(headers).content-type');
    });
    it('oversized body -> 413', async () => {
      const response = await rest(harness, 'POST', '/v1/customers', {
        key: tenant.secretKey,
        body: { external_id: 'big', currency: 'USD', name: 'x'.repeat(1_100_000) },
      });
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('body_too_large');
    });
    it('a JSON body that is not an object -> 400', async () => {
      for (const rawBody of ['[]', '"text"', '42', 'null']) {
        const response = await rest(harness, 'POST', '/v1/customers', { key: tenant.secretKey, rawBody });
        expect(response.status, rawBody).toBe(400);
      }
    });
    it('serves the OpenAPI document without a key', async () => {
      const response = await rest(harness, 'GET', '/v1/openapi.json');
      expect(response.status).toBe(200);
      expect(response.body.openapi).toBe('3.1.0');
      expect(Object.keys(response.body.paths)).toContain('/v1/events');
    });
    it('unknown route -> 404 JSON', async () => {
      const response = await rest(harness, 'GET', '/v1/nothing-here', { key: tenant.secretKey });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('route_not_found');
    });
    it('tRPC: malformed JSON, wrong content type and bad input are 4xx too', async () => {
      const malformed = await fetch(`${harness.url}/trpc/customers.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.session}` },
        body: '{',
      });
      expect(malformed.status).toBe(400);
      const wrongType = await fetch(`${harness.url}/trpc/customers.create`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${tenant.session}` },
        body: 'x',
      });
      expect(wrongType.status).toBe(415);
      const invalid = await trpc(
        harness,
        'mutation',
        'customers.create',
        { external_id: '', currency: 'USD' },
        tenant.session,
      );
      expect(invalid.status).toBe(400);
      expect(invalid.error?.data.app?.details[0].field).toBe('external_id');
    });
  });
});
