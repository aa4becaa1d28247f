// Catalogue imports over the API: the same importer as the CLI (skips reported, never the whole catalogue refused for
// a few models), LiteLLM's map, and updates from a newer catalogue as new versions of the same book, previewed first.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCatalogue } from '../../core-wasm/src/importers/catalogue.ts';
import { rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';

const litellmFile = new URL('../../core-wasm/src/importers/data/litellm/model_prices.2026-07-24.json', import.meta.url);

const provider = (id: string, models: unknown[]) => ({ id, models });
const model = (id: string, prices: unknown) => ({ id, match: { equals: id }, prices });
const v1 = [
  provider('acme', [
    model('a', { input_mtok: 1, output_mtok: 2 }),
    model('b', { input_mtok: 3 }),
    model('gone', { input_mtok: 4 }),
  ]),
];
const v2 = [
  provider('acme', [
    model('a', { input_mtok: 1, output_mtok: 2.5 }),
    model('b', { input_mtok: 3 }),
    model('new', { input_mtok: 7 }),
    model('odd', { furlongs_mtok: 1 }),
  ]),
];

describe('catalogue import over the API', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const call = (method: string, path: string, body?: unknown) =>
    rest(harness, method, path, { key: tenant.secretKey, body });

  beforeAll(async () => {
    harness = await startService();
    tenant = await signUpTenant(harness);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('imports the npm package genai-prices catalogue, skipping what the CLI skips, and rates with the book', async () => {
    const { waitForUpdate } = await import('@pydantic/genai-prices');
    const catalogue = JSON.parse(JSON.stringify(await waitForUpdate())) as unknown[];
    const imported = await call('POST', '/v1/price_books/import', {
      source: 'genai-prices',
      catalogue,
      book_id: 'genai',
    });
    expect(imported.status, JSON.stringify(imported.body).slice(0, 500)).toBe(201);
    // One importer for both: the report is the library's (which the CLI prints).
    expect(imported.body.skipped).toEqual(importCatalogue('genai-prices', catalogue).skipped);
    const quote = await call('POST', '/v1/estimates', {
      price_book: 'genai',
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
  }, 300_000);

  it("imports LiteLLM's map with its skip report, and refuses it under strict with the report in the details", async () => {
    const map = JSON.parse(readFileSync(litellmFile, 'utf8'));
    const imported = await call('POST', '/v1/price_books/import', {
      source: 'litellm',
      catalogue: map,
      book_id: 'litellm',
    });
    expect(imported.status, JSON.stringify(imported.body).slice(0, 500)).toBe(201);
    expect(imported.body.price_book).toMatchObject({ code: 'litellm', currency: 'USD', name: 'litellm catalogue' });
    expect(imported.body.skipped).toContainEqual({
      provider: 'openai',
      model: 'dall-e-3',
      path: '$["dall-e-3"]',
      reason: 'prices with no Tariff usage key: input_cost_per_image',
    });
    expect(imported.body.skipped).toEqual(importCatalogue('litellm', map).skipped);
    const quote = await call('POST', '/v1/estimates', {
      price_book: 'litellm',
      // gpt-4o: 2.50 per million input tokens, 10 per million output tokens in the file.
      events: [
        {
          transaction_id: 'q',
          customer_id: 'c',
          event_type: 'llm',
          timestamp: '2026-03-01T12:00:00Z',
          properties: {
            provider: 'openai',
            model: 'gpt-4o',
            input_tokens: 1000,
            output_tokens: 100,
            cache_read_tokens: 0,
          },
        },
      ],
    });
    expect(quote.body.results[0]).toMatchObject({ status: 'rated', amount: '0.003500000' });

    const strict = await call('POST', '/v1/price_books/import', {
      source: 'litellm',
      catalogue: map,
      book_id: 'litellm-strict',
      strict: true,
    });
    expect(strict.status).toBe(400);
    expect(strict.body.error.code).toBe('catalogue_not_importable');
    expect(strict.body.error.details).toContainEqual({
      field: 'catalogue.dall-e-3',
      reason: expect.stringContaining('openai/dall-e-3: prices with no Tariff usage key'),
    });
    const missing = await call('GET', '/v1/price_books/litellm-strict');
    expect(missing.status).toBe(404);
  }, 300_000);

  it('refuses a catalogue of the wrong shape for its source with a 400 naming the field', async () => {
    const wrong = await call('POST', '/v1/price_books/import', { source: 'litellm', catalogue: v1 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({
      code: 'catalogue_not_importable',
      details: [{ field: 'catalogue', reason: expect.stringContaining('LiteLLM price map') }],
    });
    const unknown = await call('POST', '/v1/price_books/import', { source: 'openrouter', catalogue: v1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].field).toBe('source');
  });

  it('updates a book from a newer catalogue as a new version, previewed first, published only as previewed', async () => {
    const created = await call('POST', '/v1/price_books/import', {
      source: 'genai-prices',
      catalogue: v1,
      book_id: 'acme',
    });
    expect(created.status).toBe(201);
    expect(created.body.skipped).toEqual([]);

    const preview = await call('POST', '/v1/price_books/acme/import/preview', {
      source: 'genai-prices',
      catalogue: v2,
      effective_from: '2026-04-01T00:00:00Z',
    });
    expect(preview.status, JSON.stringify(preview.body).slice(0, 500)).toBe(200);
    expect(preview.body).toMatchObject({
      effective_from: '2026-04-01T00:00:00.000Z',
      versions_to_add: 1,
      versions_added: 0,
    });
    expect(preview.body.changes.changed).toEqual([
      {
        card: 'acme/a',
        rates: [
          {
            charge: 'output_tokens',
            before: { model: 'per_unit', rate: '2', per: '1000000' },
            after: { model: 'per_unit', rate: '2.5', per: '1000000' },
          },
        ],
      },
    ]);
    expect(preview.body.changes.added.map((change: { card: string }) => change.card)).toEqual(['acme/new']);
    expect(preview.body.changes.removed.map((change: { card: string }) => change.card)).toEqual(['acme/gone']);
    expect(preview.body.changes.unchanged).toBe(1);
    expect(preview.body.skipped).toEqual([
      {
        provider: 'acme',
        model: 'odd',
        path: '$[0].models[3]',
        reason: 'prices.furlongs_mtok: unknown price key (not in the unit registry)',
      },
    ]);
    // A preview changes nothing.
    expect((await call('GET', '/v1/price_books/acme')).body.versions).toHaveLength(1);

    // A digest of another update is refused; the previewed one publishes exactly that.
    const stale = await call('POST', '/v1/price_books/acme/import', {
      source: 'genai-prices',
      catalogue: v1,
      effective_from: '2026-04-01T00:00:00Z',
      preview_digest: preview.body.digest,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('preview_outdated');
    const published = await call('POST', '/v1/price_books/acme/import', {
      source: 'genai-prices',
      catalogue: v2,
      effective_from: '2026-04-01T00:00:00Z',
      preview_digest: preview.body.digest,
    });
    expect(published.status, JSON.stringify(published.body).slice(0, 500)).toBe(200);
    expect(published.body).toMatchObject({ versions_added: 1, digest: preview.body.digest });
    expect(published.body.price_book.code).toBe('acme');
    expect(
      published.body.price_book.versions.map((version: { version: number; effective_from: string }) => [
        version.version,
        version.effective_from,
      ]),
    ).toEqual([
      [1, '1970-01-01T00:00:00.000Z'],
      [2, '2026-04-01T00:00:00.000Z'],
    ]);
    const cards = published.body.price_book.book.versions[1].rate_cards.map((card: { id: string }) => card.id);
    expect(cards).toEqual(['acme/a', 'acme/b', 'acme/new']);
    const list = await call('GET', '/v1/price_books?limit=1000');
    expect(list.body.data.filter((book: { code: string }) => book.code === 'acme')).toHaveLength(1);
    const audit = await call('GET', '/v1/audit_log?limit=500');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('price_book.catalogue_update');

    // The same catalogue again adds nothing (over tRPC too).
    const again = await trpc(
      harness,
      'mutation',
      'priceBooks.importUpdate',
      { code: 'acme', update: { source: 'genai-prices', catalogue: v2, effective_from: '2026-05-01T00:00:00Z' } },
      tenant.session,
    );
    expect(again.error).toBeUndefined();
    expect(again.body).toMatchObject({
      versions_to_add: 0,
      versions_added: 0,
      changes: { added: [], removed: [], changed: [], unchanged: 3 },
    });
    expect((await call('GET', '/v1/price_books/acme')).body.versions).toHaveLength(2);
  }, 300_000);

  it('refuses an update dated in the past, not after the latest version, or for a book that does not exist', async () => {
    await call('POST', '/v1/price_books/import', { source: 'genai-prices', catalogue: v1, book_id: 'dated' });
    const past = await call('POST', '/v1/price_books/dated/import', {
      source: 'genai-prices',
      catalogue: v2,
      effective_from: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(422);
    expect(past.body.error).toMatchObject({ code: 'version_in_past', details: [{ field: 'effective_from' }] });
    const unknown = await call('POST', '/v1/price_books/nope/import/preview', {
      source: 'genai-prices',
      catalogue: v2,
    });
    expect(unknown.status).toBe(404);
    const badDigest = await call('POST', '/v1/price_books/dated/import', {
      source: 'genai-prices',
      catalogue: v2,
      preview_digest: 'abc',
    });
    expect(badDigest.status).toBe(400);
    expect(badDigest.body.error.details[0].field).toBe('preview_digest');
  });
});
