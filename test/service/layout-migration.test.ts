// Events stored under the layout before migration 070 (an `events` row and a `rated_lines` row per event, receipts
// as the kernel's full JSON) still read the same after migrating: receipt, revisions, usage, deduplication.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordInvoiceAggregates } from '../../service/src/domains/invoices/aggregates.ts';
import * as periodsRepo from '../../service/src/domains/periods/index.ts';
import { generateToken, hashToken } from '../../service/src/platform/crypto.ts';
import { withTenant } from '../../service/src/platform/db.ts';
import { migrate, migrationsDir } from '../../service/src/platform/migrate.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createTestDatabase } from '../../service/src/platform/test-database.ts';
import { exampleBook, rest, signUpTenant, startService, type Harness, type TenantFixture } from './harness.ts';

const layoutMigration = 70;

/** The insert of events/repo.ts insertRatedEvents before migration 070: two rows per event, the receipt as written. */
async function insertOldLayout(
  harness: Harness,
  tenantId: string,
  row: {
    transactionId: string;
    customerId: string;
    properties: object;
    occurredAt: string;
    periodStart: Date;
    priceBookId: string;
    result: any;
  },
  now: Date,
) {
  const r = row.result;
  const rows = [
    {
      t: row.transactionId,
      c: row.customerId,
      e: 'llm.completion',
      o: row.occurredAt,
      p: row.properties,
      s: row.periodStart,
      b: row.priceBookId,
      v: r.book_version,
      d: r.card,
      u: r.currency,
      a: r.amount,
      st: r.subtotal,
      co: r.cost ?? null,
      m: r.margin ?? null,
      r: r.receipt,
    },
  ];
  await withTenant(
    harness.database.app,
    tenantId,
    (db) => db`
    with r as materialized (
      select * from json_to_recordset(${JSON.stringify(rows)}::text::json)
        as r(t text, c uuid, e text, o timestamptz, p jsonb, s timestamptz, b uuid, v timestamptz, d text, u text,
             a numeric, st numeric, co numeric, m numeric, r json)
    ), stored as (
      insert into events (tenant_id, transaction_id, customer_id, event_type, occurred_at, properties, received_at)
      select ${tenantId}, t, c, e, o, p, ${now} from r
    )
    insert into rated_lines (tenant_id, transaction_id, customer_id, period_start, price_book_id, book_version, kernel_version,
                             card, currency, amount, subtotal, cost, margin, receipt, rated_at)
    select ${tenantId}, t, c, s, b, v, 'old-kernel', d, u, a, st, co, m, r, ${now} from r`,
  );
}

describe('events stored before the one-row layout (migration 070)', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const get = (p: string) => rest(harness, 'GET', p, { key: tenant.secretKey });
  const estimate: any[] = [];
  const received = new Date('2026-03-15T00:00:00.000Z');

  beforeAll(async () => {
    // Every migration before 070, then the service as it runs on that schema (the tables it writes here are unchanged by 070).
    const before = await fs.mkdtemp(path.join(os.tmpdir(), 'tariff-migrations-'));
    for (const file of await fs.readdir(migrationsDir)) {
      if (Number(file.slice(0, 3)) < layoutMigration)
        await fs.copyFile(path.join(migrationsDir, file), path.join(before, file));
    }
    const database = await createTestDatabase({ migrate: false });
    await migrate(database.owner, silentLogger, before);
    await fs.rm(before, { recursive: true });
    // The rows the service would have written, written as the owner: today's service writes columns of later
    // migrations (080's), so it does not run on this schema. The kernel's results come from a scratch service.
    harness = await startService({ now: received.toISOString(), database });
    const owner = harness.database.owner;
    const secret = generateToken('sk');
    const [tenantId, userId, customerId, bookId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    tenant = { tenantId, secretKey: secret } as TenantFixture;
    const book = exampleBook('llm');
    await owner`insert into tenants (tenant_id, name, created_at) values (${tenantId}, 'Layout', ${received})`;
    await owner`
      insert into users (tenant_id, id, email, password_hash, role, created_at)
      values (${tenantId}, ${userId}, 'layout@example.com', 'x', 'owner', ${received})`;
    await owner`
      insert into api_keys (tenant_id, id, kind, role, name, key_prefix, key_hash, created_by, created_at)
      values (${tenantId}, ${randomUUID()}, 'secret', 'admin', 'backend', ${secret.slice(0, 10)}, ${hashToken(secret)},
              ${`user:${userId}`}, ${received})`;
    await owner`
      insert into customers (tenant_id, id, external_id, currency, created_at, updated_at)
      values (${tenantId}, ${customerId}, 'acme', 'USD', ${received}, ${received})`;
    await owner`
      insert into price_books (tenant_id, id, code, currency, created_at, created_by)
      values (${tenantId}, ${bookId}, 'llm', 'USD', ${received}, 'test')`;
    await owner`
      insert into price_book_versions (tenant_id, price_book_id, schedule, version, effective_from, body, created_at, created_by)
      values (${tenantId}, ${bookId}, 'price', 1, ${book.versions[0].effective_from}, ${owner.json(book.versions[0] as never)},
              ${received}, 'test')`;
    await owner`
      insert into customer_price_books (tenant_id, customer_id, effective_from, price_book_id, created_at, created_by)
      values (${tenantId}, ${customerId}, '2026-01-01T00:00:00Z', ${bookId}, ${received}, 'test')`;
    const scope = { tenantId: tenant.tenantId };
    const customer = { id: customerId };
    const events = [
      {
        transaction_id: 'old-1',
        customer_id: 'acme',
        event_type: 'llm.completion',
        timestamp: '2026-03-10T10:00:00.000Z',
        properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 500 },
      },
      {
        transaction_id: 'old-2',
        customer_id: 'acme',
        event_type: 'llm.completion',
        timestamp: '2026-03-11T10:00:00.000Z',
        properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 3000, output_tokens: 7 },
      },
    ];
    // The kernel's results for them, as ingestion would have stored them.
    const scratch = await startService({ now: received.toISOString() });
    try {
      const scratchTenant = await signUpTenant(scratch);
      expect(
        (await rest(scratch, 'POST', '/v1/price_books', { key: scratchTenant.secretKey, body: { book } })).status,
      ).toBe(201);
      const rated = await rest(scratch, 'POST', '/v1/estimates', {
        key: scratchTenant.secretKey,
        body: { price_book: 'llm', events },
      });
      expect(rated.status).toBe(200);
      estimate.push(...rated.body.results);
    } finally {
      await scratch.close();
    }
    const periodStart = new Date('2026-03-01T00:00:00Z');
    const period = { customerId: customer.id, start: periodStart, end: new Date('2026-04-01T00:00:00Z') };
    // A re-rating's revision of old-2.
    const revised = {
      ...estimate[1],
      amount: '0.001000000',
      receipt: [...estimate[1].receipt, { step: 'discount', percent: '50', amount: '0.001' }],
    };
    const line = (i: number, result: any, sign: 1 | -1) => ({
      customerId: customer.id,
      periodStart,
      occurredAt: new Date(events[i].timestamp),
      card: result.card,
      amount: result.amount,
      receipt: result.receipt,
      properties: events[i].properties,
      sign,
    });
    // The period, its total and the invoice aggregates, as ingestion and re-rating kept them (tables 070 leaves as they are).
    await withTenant(harness.database.app, tenant.tenantId, async (db) => {
      await periodsRepo.lockPeriods({ db, ...scope }, [period], { now: received });
      const total = (Number(estimate[0].amount) + Number(revised.amount)).toFixed(9);
      await periodsRepo.addUsage(
        { db, ...scope },
        [{ ...period, state: {}, amountDelta: total, eventCountDelta: 2, creditsDelta: '0' }],
        received,
      );
      await recordInvoiceAggregates({ db, ...scope }, [
        line(0, estimate[0], 1),
        line(1, estimate[1], 1),
        line(1, estimate[1], -1),
        line(1, revised, 1),
      ]);
    });
    for (const [i, event] of events.entries()) {
      await insertOldLayout(
        harness,
        tenant.tenantId,
        {
          transactionId: event.transaction_id,
          customerId: customer.id,
          properties: event.properties,
          occurredAt: event.timestamp,
          periodStart,
          priceBookId: bookId,
          result: estimate[i],
        },
        received,
      );
    }
    await harness.database.owner`
      insert into rated_lines (tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version,
                               card, currency, amount, subtotal, cost, margin, receipt, rated_at)
      values (${tenant.tenantId}, 'old-2', 2, ${customer.id}, ${periodStart}, ${bookId}, ${revised.book_version}, 'old-kernel', ${revised.card},
              'USD', ${revised.amount}, ${revised.subtotal}, null, null, ${JSON.stringify(revised.receipt)}::text::json, '2026-03-14T00:00:00Z')`;
    estimate.push(revised);
    expect(await migrate(harness.database.owner, silentLogger)).toContain(layoutMigration);
  });
  afterAll(() => harness?.close());

  it('moves every event with its first rating into one row, and later revisions to event_revisions', async () => {
    const [counts] = await harness.database.owner`
      select (select count(*)::int from events) as events, (select count(*)::int from event_revisions) as revisions,
             (select count(*)::int from information_schema.tables where table_name = 'rated_lines') as old_table`;
    expect(counts).toEqual({ events: 2, revisions: 1, old_table: 0 });
  });

  it('answers the receipt of a migrated event as before, byte for byte', async () => {
    const response = await get('/v1/events/old-1/receipt');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      transaction_id: 'old-1',
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: '2026-03-10T10:00:00.000Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 500 },
      received_at: received.toISOString(),
      currency: 'USD',
      amount: estimate[0].amount,
      subtotal: estimate[0].subtotal,
      cost: null,
      margin: null,
      price_book: 'llm',
      book_version: estimate[0].book_version,
      card: estimate[0].card,
      kernel_version: 'old-kernel',
      revision: 1,
      period_start: '2026-03-01T00:00:00.000Z',
      rated_at: received.toISOString(),
      receipt: estimate[0].receipt,
      // A direct customer's event: no reseller levels above it.
      chain: [],
    });
    expect(JSON.stringify(response.body.receipt)).toBe(JSON.stringify(estimate[0].receipt));
  });

  it('answers the latest revision and every revision of a re-rated migrated event', async () => {
    const receipt = await get('/v1/events/old-2/receipt');
    expect(receipt.body).toMatchObject({ revision: 2, amount: '0.001000000', rated_at: '2026-03-14T00:00:00.000Z' });
    expect(JSON.stringify(receipt.body.receipt)).toBe(JSON.stringify(estimate[2].receipt));
    const revisions = await get('/v1/events/old-2/revisions');
    expect(revisions.body.data.map((r: any) => [r.revision, r.amount])).toEqual([
      [1, estimate[1].amount],
      [2, '0.001000000'],
    ]);
    expect(JSON.stringify(revisions.body.data[0].receipt)).toBe(JSON.stringify(estimate[1].receipt));
  });

  it('keeps the usage, deduplicates migrated ids and stores new events beside them', async () => {
    const usage = await get('/v1/customers/acme/usage?at=2026-03-12T00:00:00Z');
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({
      event_count: '2',
      period: { start: '2026-03-01T00:00:00.000Z', status: 'open' },
    });
    const sent = await rest(harness, 'POST', '/v1/events', {
      key: tenant.secretKey,
      body: {
        events: [
          {
            transaction_id: 'old-2',
            customer_id: 'acme',
            event_type: 'llm.completion',
            timestamp: '2026-03-11T10:00:00Z',
            properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 3000, output_tokens: 7 },
          },
          {
            transaction_id: 'new-1',
            customer_id: 'acme',
            event_type: 'llm.completion',
            timestamp: '2026-03-12T10:00:00Z',
            properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 500 },
          },
        ],
      },
    });
    expect(sent.body).toMatchObject({
      accepted: 1,
      duplicate: 1,
      events: [
        { status: 'duplicate', amount: '0.001000000' },
        { status: 'accepted', amount: estimate[0].amount },
      ],
    });
    const receipt = await get('/v1/events/new-1/receipt');
    expect(JSON.stringify(receipt.body.receipt)).toBe(JSON.stringify(estimate[0].receipt));
    expect((await get('/v1/customers/acme/usage?at=2026-03-12T00:00:00Z')).body.event_count).toBe('3');
  });
});
