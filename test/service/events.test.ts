// Ingestion over HTTP: per-event statuses, deduplication (also under concurrent resubmission), rating with the
// kernel, usage and receipts, late events and closed periods, the append-only store, fuzzed bad input, and a
// database error in a shared transaction failing only the request that caused it.
import fc from 'fast-check';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { rest, signUpTenant, startService, type Harness, type TenantFixture, serviceDeps } from './harness.ts';
import { checkResponse } from './openapi-check.ts';

const book = {
  id: 'llm-graduated',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: 'gpt-4o' },
          charges: [
            // The first million input tokens of a period at $2.50/M, the rest at $2.00/M.
            {
              dimension: 'input_tokens',
              price: { model: 'graduated', tiers: [{ up_to: '1000000', rate: '2.5' }, { rate: '2' }] },
            },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
        {
          id: 'resolution',
          match: { event_type: 'support.resolution' },
          charges: [{ price: { model: 'flat', amount: '0.99' } }],
        },
      ],
    },
  ],
};

const llm = (
  id: string,
  input: number,
  output: number,
  timestamp = '2026-03-10T10:00:00Z',
  extra: Record<string, unknown> = {},
) => ({
  transaction_id: id,
  customer_id: 'acme',
  event_type: 'llm.completion',
  timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output, ...extra },
});

describe('event ingestion', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const post = (body: unknown) => rest(harness, 'POST', '/v1/events', { key: tenant.secretKey, body });
  const get = (path: string) => rest(harness, 'GET', path, { key: tenant.secretKey });

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    tenant = await signUpTenant(harness);
    const setup = [
      ['POST', '/v1/customers', { external_id: 'acme', currency: 'USD' }],
      ['POST', '/v1/customers', { external_id: 'no-book', currency: 'USD' }],
      ['POST', '/v1/price_books', { book }],
      ['PUT', '/v1/customers/acme/price_book', { price_book: 'llm-graduated', effective_from: '2026-01-01T00:00:00Z' }],
      [
        'POST',
        '/v1/meters',
        {
          code: 'input_tokens',
          name: 'Input tokens',
          event_type: 'llm.completion',
          aggregation: 'sum',
          property: 'input_tokens',
          group_by: ['model'],
        },
      ],
      [
        'POST',
        '/v1/meters',
        { code: 'requests', name: 'Requests', event_type: 'llm.completion', aggregation: 'count' },
      ],
      [
        'POST',
        '/v1/meters',
        {
          code: 'users',
          name: 'Active users',
          event_type: 'llm.completion',
          aggregation: 'unique_count',
          property: 'user',
        },
      ],
      [
        'POST',
        '/v1/meters',
        {
          code: 'largest_prompt',
          name: 'Largest prompt',
          event_type: 'llm.completion',
          aggregation: 'max',
          property: 'input_tokens',
        },
      ],
    ] as const;
    for (const [method, path, body] of setup) {
      const response = await rest(harness, method, path, { key: tenant.secretKey, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('rates a batch, returns each charge with the running period total, and a resubmission is all duplicates', async () => {
    const batch = {
      events: [
        llm('e1', 800_000, 1000, '2026-03-10T10:00:00Z', { user: 'u1' }),
        llm('e2', 400_000, 0, '2026-03-11T10:00:00Z', { user: 'u2' }),
        llm('e3', 100, 0, '2026-03-11T11:00:00Z', { user: 'u1' }),
      ],
    };
    const first = await post(batch);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 3, duplicate: 0, rejected: 0 });
    // e1: 800k x 2.5/M + 1000 x 10/M = 2.01; e2: 200k x 2.5/M + 200k x 2/M = 0.9 (crosses the tier); e3: 100 x 2/M.
    expect(first.body.events.map((e: any) => [e.transaction_id, e.status, e.amount, e.period_total])).toEqual([
      ['e1', 'accepted', '2.010000000', '2.010000000'],
      ['e2', 'accepted', '0.900000000', '2.910000000'],
      ['e3', 'accepted', '0.000200000', '2.910200000'],
    ]);
    expect(first.body.events[0]).toMatchObject({
      currency: 'USD',
      card: 'openai/gpt-4o',
      book_version: '2026-01-01T00:00:00.000Z',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    });

    const again = await post(batch);
    expect(again.body).toMatchObject({ accepted: 0, duplicate: 3, rejected: 0 });
    expect(again.body.events.map((e: any) => [e.status, e.amount])).toEqual([
      ['duplicate', '2.010000000'],
      ['duplicate', '0.900000000'],
      ['duplicate', '0.000200000'],
    ]);

    const single = await post(llm('e4', 0, 100_000, '2026-03-12T00:00:00Z', { user: 'u3' }));
    expect(single.body.events).toEqual([
      expect.objectContaining({
        transaction_id: 'e4',
        status: 'accepted',
        amount: '1.000000000',
        period_total: '3.910200000',
      }),
    ]);
  });

  it('shows acknowledged events in usage at once: by meter, group and day, with totals equal to the receipts', async () => {
    const usage = await get('/v1/customers/acme/usage');
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({
      customer_id: 'acme',
      amount: '3.910200000',
      event_count: '4',
      period: { start: '2026-03-01T00:00:00.000Z', status: 'open' },
    });
    expect(usage.body.watermark).toBe('2026-03-15T00:00:00.000Z');
    const meter = (code: string) => usage.body.meters.find((m: any) => m.code === code);
    expect(meter('input_tokens').groups).toEqual([
      expect.objectContaining({
        group: { model: 'gpt-4o' },
        value: '1200100',
        event_count: '4',
        // Input tokens' money only: e1's $0.01 and e4's $1.00 of output tokens are not theirs (no meter measures output).
        amount: '2.900200000',
        // No credit: gross and net are the same.
        gross_amount: '2.900200000',
        days: [
          { day: '2026-03-10', value: '800000', event_count: '1', amount: '2.000000000', gross_amount: '2.000000000' },
          { day: '2026-03-11', value: '400100', event_count: '2', amount: '0.900200000', gross_amount: '0.900200000' },
          { day: '2026-03-12', value: '0', event_count: '1', amount: '0.000000000', gross_amount: '0.000000000' },
        ],
      }),
    ]);
    expect(meter('requests').groups[0].value).toBe('4');
    expect(meter('users').groups[0].value).toBe('3');
    expect(meter('users').groups[0].days.map((d: any) => d.value)).toEqual(['1', '2', '1']);
    expect(meter('largest_prompt').groups[0].value).toBe('800000');
    // Counted once: the sum meter of input tokens shows their money, the max meter of the same property none.
    expect(meter('largest_prompt').groups[0].amount).toBe('0.000000000');

    const receipts = await Promise.all(['e1', 'e2', 'e3', 'e4'].map((id) => get(`/v1/events/${id}/receipt`)));
    const total = receipts.reduce((sum, r) => sum + BigInt(r.body.amount.replace('.', '')), 0n);
    expect(total).toBe(3_910_200_000n);
  });

  it('explains one event step by step', async () => {
    const receipt = await get('/v1/events/e2/receipt');
    expect(receipt.body).toMatchObject({
      transaction_id: 'e2',
      customer_id: 'acme',
      amount: '0.900000000',
      subtotal: '0.900000000',
      price_book: 'llm-graduated',
      book_version: '2026-01-01T00:00:00.000Z',
      card: 'openai/gpt-4o',
      revision: 1,
    });
    expect(receipt.body.kernel_version).toMatch(/^tariff\.wasm@sha256:[0-9a-f]{16}$/);
    const tiers = receipt.body.receipt.filter((s: any) => s.step === 'tier');
    expect(tiers).toEqual([
      { step: 'tier', charge: 0, tier: 0, quantity: '200000.000000', rate: '2.500000000' },
      { step: 'tier', charge: 0, tier: 1, quantity: '200000.000000', rate: '2.000000000' },
    ]);
    expect((await get('/v1/events/nope/receipt')).status).toBe(404);
  });

  it('gives every bad event its own reason and stores only the good ones', async () => {
    const before = await harness.database.owner`select count(*)::int as n from events`;
    const response = await post({
      events: [
        { customer_id: 'acme', event_type: 'llm.completion', timestamp: '2026-03-10T00:00:00Z' },
        llm('bad-ts', 1, 1, '10 March 2026'),
        llm('future', 1, 1, '2026-03-15T01:00:00Z'),
        { ...llm('ghost', 1, 1), customer_id: 'ghost' },
        { ...llm('no-book', 1, 1), customer_id: 'no-book' },
        llm('no-card', 1, 1, '2026-03-10T00:00:00Z', { model: 'gpt-5' }),
        llm('bad-number', 1, 1, '2026-03-10T00:00:00Z', { input_tokens: 'lots' }),
        llm('good', 10, 10, '2026-03-13T00:00:00Z'),
        llm('good', 10, 10, '2026-03-13T00:00:00Z'),
        {
          transaction_id: 'resolved-1',
          customer_id: 'acme',
          event_type: 'support.resolution',
          timestamp: '2026-03-13T00:00:00Z',
        },
        { ...llm('extra-field', 1, 1), source: 'sdk' },
      ],
    });
    expect(response.status).toBe(200);
    const byIndex = response.body.events.map((e: any) => [e.index, e.status, e.error?.code, e.error?.field]);
    expect(byIndex).toEqual([
      [0, 'rejected', 'invalid_event', 'transaction_id'],
      [1, 'rejected', 'invalid_timestamp', 'timestamp'],
      [2, 'rejected', 'timestamp_in_future', 'timestamp'],
      [3, 'rejected', 'customer_not_found', 'customer_id'],
      [4, 'rejected', 'no_price_book', 'customer_id'],
      [5, 'rejected', 'no_rate_card', 'properties'],
      [6, 'rejected', 'invalid_property', 'properties.input_tokens'],
      [7, 'accepted', undefined, undefined],
      [8, 'duplicate', undefined, undefined],
      [9, 'accepted', undefined, undefined],
      [10, 'rejected', 'invalid_event', 'source'],
    ]);
    expect(response.body).toMatchObject({ accepted: 2, duplicate: 1, rejected: 8 });
    expect(response.body.events[9].amount).toBe('0.990000000');
    const after = await harness.database.owner`select transaction_id from events order by received_at, transaction_id`;
    expect(after.length - before[0].n).toBe(2);
    // Rejected ids were not stored, so a corrected event with the same id is accepted.
    const fixed = await post(llm('no-card', 1, 1, '2026-03-10T00:00:00Z'));
    expect(fixed.body.events[0].status).toBe('accepted');
  });

  it('lands a late event in its earlier period, open or closed', async () => {
    harness.clock.set('2026-04-02T00:00:00Z');
    const late = await post(llm('late-march', 1000, 0, '2026-03-31T23:59:59Z'));
    expect(late.body.events[0]).toMatchObject({ status: 'accepted', period: { start: '2026-03-01T00:00:00.000Z' } });
    const april = await get('/v1/customers/acme/usage');
    expect(april.body).toMatchObject({
      period: { start: '2026-04-01T00:00:00.000Z' },
      amount: '0.000000000',
      meters: [],
    });
    const march = await get(`/v1/customers/acme/usage?at=${encodeURIComponent('2026-03-20T00:00:00Z')}`);
    expect(march.body.event_count).toBe('8');

    await harness.database
      .owner`update customer_periods set status = 'closed' where period_start = '2026-03-01T00:00:00Z'`;
    const closed = await post(llm('too-late', 1000, 0, '2026-03-30T00:00:00Z'));
    // A closed period still takes it (billed as an adjustment on the next invoice: test/billing/late-events.test.ts).
    expect(closed.body.events[0]).toMatchObject({ status: 'accepted', period: { start: '2026-03-01T00:00:00.000Z' } });
    await harness.database
      .owner`update customer_periods set status = 'open' where period_start = '2026-03-01T00:00:00Z'`;
    harness.clock.set('2026-03-15T00:00:00Z');
  });

  it('stores and rates each id once when the same batch is resubmitted concurrently', async () => {
    const batch = {
      events: Array.from({ length: 50 }, (_, i) =>
        llm(`par-${i}`, 1000 * (i + 1), 10, `2026-03-14T00:${String(i).padStart(2, '0')}:00Z`),
      ),
    };
    const before = await harness.database
      .owner`select p.amount::text from customer_periods p join customers c on c.id = p.customer_id where c.external_id = 'acme' and p.period_start = '2026-03-01T00:00:00Z'`;
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(batch)));
    for (const response of responses) expect(response.status).toBe(200);
    const accepted = responses.flatMap((r) =>
      r.body.events.filter((e: any) => e.status === 'accepted').map((e: any) => e.transaction_id),
    );
    expect(accepted.sort()).toEqual(batch.events.map((e) => e.transaction_id).sort());
    expect(responses.reduce((n, r) => n + r.body.duplicate, 0)).toBe(50 * 7);
    const [{ events, lines }] = await harness.database.owner`
      select (select count(*)::int from events where transaction_id like 'par-%') as events,
             (select count(*)::int from event_ratings where transaction_id like 'par-%') as lines`;
    expect({ events, lines }).toEqual({ events: 50, lines: 50 });
    // The period total is the sum of every receipt, and moved by exactly this batch's charges.
    const [check] = await harness.database.owner`
      select p.amount::text as period, (select sum(amount)::text from event_ratings r where r.customer_id = p.customer_id and r.period_start = p.period_start) as lines,
             (select sum(amount)::text from event_ratings where transaction_id like 'par-%') as batch
      from customer_periods p join customers c on c.id = p.customer_id where c.external_id = 'acme' and p.period_start = '2026-03-01T00:00:00Z'`;
    expect(check.period).toBe(check.lines);
    expect(Number(check.period) - Number(before[0].amount)).toBeCloseTo(Number(check.batch), 9);
  });

  it('rates big concurrent batches over many customers in each customer event order, with totals equal to the receipts', async () => {
    const customers = Array.from({ length: 12 }, (_, c) => `many-${c}`);
    for (const id of customers) {
      expect(
        (
          await rest(harness, 'POST', '/v1/customers', {
            key: tenant.secretKey,
            body: { external_id: id, currency: 'USD' },
          })
        ).status,
      ).toBe(201);
      await rest(harness, 'PUT', `/v1/customers/${id}/price_book`, {
        key: tenant.secretKey,
        body: { price_book: 'llm-graduated', effective_from: '2026-01-01T00:00:00Z' },
      });
    }
    // Three batches of 600, every customer in each; tiers are crossed. The second and third arrive while the
    // first is written and share the next transaction (coalesce.ts), each split in two by customer.
    const batches = [0, 1, 2].map((b) => ({
      events: Array.from({ length: 600 }, (_, i) => ({
        ...llm(`many-${b}-${i}`, 7_000 + 13 * i, 10, `2026-03-13T0${b}:${String(i % 60).padStart(2, '0')}:00Z`),
        customer_id: customers[(i * 7) % 12],
      })),
    }));
    const responses = await Promise.all(batches.map((batch) => post(batch)));
    for (const [b, response] of responses.entries()) {
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ accepted: 600, duplicate: 0, rejected: 0 });
      // Within a request, each customer's running total moves by exactly each of its charges, in request order.
      const last = new Map<string, number>();
      for (const [i, outcome] of response.body.events.entries()) {
        const customer = batches[b].events[i].customer_id;
        const total = Number(outcome.period_total);
        if (last.has(customer)) expect(total).toBeCloseTo(last.get(customer)! + Number(outcome.amount), 9);
        last.set(customer, total);
      }
    }
    const mismatched = await harness.database.owner`
      select c.external_id, p.amount::text, (select sum(amount)::text from event_ratings r where r.customer_id = p.customer_id and r.period_start = p.period_start) as lines
      from customer_periods p join customers c on c.id = p.customer_id
      where c.external_id like 'many-%' and p.amount <> (select sum(amount) from event_ratings r where r.customer_id = p.customer_id and r.period_start = p.period_start)`;
    expect(mismatched).toEqual([]);
    const again = await post(batches[1]);
    expect(again.body).toMatchObject({ accepted: 0, duplicate: 600 });
    expect(again.body.events.map((e: any) => e.amount)).toEqual(responses[1].body.events.map((e: any) => e.amount));
  });

  it('keeps raw events and rated lines append-only for the service role', async () => {
    for (const statement of [
      "update events set properties = '{}'",
      'delete from events',
      'update events set amount = 0',
      'update event_revisions set amount = 0',
      'delete from event_revisions',
    ]) {
      await expect(
        harness.database.app.begin(async (tx) => {
          await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
          await tx.unsafe(statement);
        }),
      ).rejects.toThrow(/permission denied/);
    }
  });

  it('rejects a batch over 10,000 events and envelopes that are not events, with the field to blame', async () => {
    const tooMany = await post({ events: Array.from({ length: 10_001 }, (_, i) => ({ transaction_id: `x${i}` })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details).toEqual([{ field: 'events', reason: 'at most 10000 events per request' }]);
    for (const body of [[], { events: [] }, { events: 'all' }, 'text', 42, null]) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    // An object without "events" is one event, judged like any other.
    const empty = await post({});
    expect(empty.status).toBe(200);
    expect(empty.body.events[0]).toMatchObject({
      status: 'rejected',
      error: { code: 'invalid_event', field: 'transaction_id' },
    });
  });

  /**
   * POST /v1/events on a connection of its own (closed after): concurrent requests on pooled keep-alive sockets
   * meet the race of a socket the server closes as idle while the client reuses it (ECONNRESET, in this process
   * where both share one event loop), which is no answer of the service's.
   */
  function postOnNewConnection(body: unknown): Promise<{ status: number; body: any }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request(`${harness.url}/v1/events`, {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${tenant.secretKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          connection: 'close',
        },
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          checkResponse('POST', '/v1/events', response.statusCode!, parsed);
          resolve({ status: response.statusCode!, body: parsed });
        });
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  it('answers fuzzed events with per-event 2xx/4xx outcomes, never a 5xx, never stores an invalid event, and never fails the requests beside them', async () => {
    const before = new Set(
      (await harness.database.owner`select transaction_id from events`).map((r) => r.transaction_id),
    );
    // What PostgreSQL refuses (NUL, unpaired surrogates), control characters and ids longer than the columns allow.
    const awkward = fc.constantFrom(
      'a\u0000b',
      '\u0000',
      '\ud800',
      'x\udfff',
      'llm.\udbffcompletion',
      '\u0001',
      'x\u001b[0m',
      '\u007f',
      'a\u0085',
      'x'.repeat(201),
      'x'.repeat(256),
      'x'.repeat(1001),
    );
    const scalar = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 8 }),
      awkward,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const key = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 8 }), awkward);
    const junkEvent = fc.oneof(
      fc.record(
        {
          transaction_id: fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.string({ unit: 'binary', maxLength: 8 }).map((id) => `fuzz-${id}`),
            scalar,
          ),
          customer_id: fc.oneof(fc.constant('acme'), fc.string(), scalar),
          event_type: fc.oneof(fc.constant('llm.completion'), scalar),
          timestamp: fc.oneof(
            fc.constant('2026-03-10T00:00:00Z'),
            fc.string(),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            scalar,
          ),
          properties: fc.oneof(
            fc.dictionary(key, scalar),
            fc.record({
              provider: fc.constant('openai'),
              model: fc.constant('gpt-4o'),
              input_tokens: scalar,
              output_tokens: scalar,
            }),
            // Rateable, with an awkward extra key or value: only the awkward part can fail it.
            fc
              .tuple(key, scalar)
              .map(([k, v]) => ({ [k]: v, provider: 'openai', model: 'gpt-4o', input_tokens: 10, output_tokens: 1 })),
            scalar,
          ),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    let innocent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(junkEvent, { minLength: 1, maxLength: 15 }), async (events) => {
        // Good requests sent at the same moment share the ingestion transaction with the fuzzed one.
        const ids = [`innocent-${++innocent}`, `innocent-${++innocent}`];
        const [response, ...innocents] = await Promise.all([
          postOnNewConnection({ events }),
          ...ids.map((id) => postOnNewConnection(llm(id, 10, 1))),
        ]);
        for (const [i, good] of innocents.entries()) {
          expect(good.status).toBe(200);
          expect(good.body.events[0]).toMatchObject({ transaction_id: ids[i], status: 'accepted' });
        }
        expect(response.status).toBeLessThan(500);
        if (response.status !== 200) return;
        for (const outcome of response.body.events) {
          if (outcome.status === 'rejected') expect(outcome.error.code).toMatch(/^[a-z_]+$/);
        }
      }),
      { numRuns: 100 },
    );
    // Named where it is: NUL or an unpaired surrogate anywhere in an event is refused with its field.
    const good = llm('named-1', 1, 1);
    const named = await post({
      events: [
        { ...good, event_type: 'llm\u0000completion' },
        { ...good, transaction_id: 'id-\ud800' },
        { ...good, properties: { ...good.properties, 'k\udc00': 1 } },
        { ...good, properties: { ...good.properties, model: 'gpt-4o\u0000' } },
        { ...good, customer_id: 'acme\udbff' },
      ],
    });
    expect(named.body.events.map((e: any) => [e.status, e.error.code, e.error.field])).toEqual([
      ['rejected', 'invalid_event', 'event_type'],
      ['rejected', 'invalid_event', 'transaction_id'],
      ['rejected', 'invalid_event', 'properties.k\udc00'],
      ['rejected', 'invalid_event', 'properties.model'],
      ['rejected', 'invalid_event', 'customer_id'],
    ]);
    // Whatever was accepted is rated; nothing is stored without its rated line.
    const [orphans] = await harness.database.owner`
      select count(*)::int as n from events e where not exists (select 1 from event_ratings r where r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id)`;
    expect(orphans.n).toBe(0);
    // Only an event the book can rate can have been stored: acme's openai/gpt-4o events or resolutions.
    const stored = await harness.database.owner`
      select e.transaction_id, e.event_type, e.properties, c.external_id from events e join customers c on c.id = e.customer_id`;
    const added = stored.filter((row) => !before.has(row.transaction_id));
    for (const row of added) {
      expect(row.external_id).toBe('acme');
      if (row.event_type === 'support.resolution') continue;
      // The gpt-4o card matches on provider and model alone, so any event type with them is rateable.
      expect(row).toMatchObject({ properties: { provider: 'openai', model: 'gpt-4o' } });
    }
  }, 600_000);

  it('fails only the request that caused a database error in a shared transaction; the others coalesced with it are stored once, as accepted', async () => {
    // A rule the database enforces and validation does not know: the poison event passes every check before SQL.
    await harness.database.owner`alter table events add constraint poison_pill check (event_type <> 'poison.pill')`;
    try {
      // Customers on both sides of the split of big groups by customer (service.ts, splitByCustomer), so one of the
      // two transactions commits while the poisoned one fails.
      const half = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0) & 1;
      const names = Array.from({ length: 40 }, (_, i) => `split-${i}`);
      const customers = [
        names.find((n) => half(n) === 0)!,
        names.find((n) => half(n) === 1)!,
        names.filter((n) => half(n) === 0)[1],
      ];
      for (const id of customers) {
        expect(
          (
            await rest(harness, 'POST', '/v1/customers', {
              key: tenant.secretKey,
              body: { external_id: id, currency: 'USD' },
            })
          ).status,
        ).toBe(201);
        await rest(harness, 'PUT', `/v1/customers/${id}/price_book`, {
          key: tenant.secretKey,
          body: { price_book: 'llm-graduated', effective_from: '2026-01-01T00:00:00Z' },
        });
      }
      const metric = async () =>
        Number(
          /tariff_ingest_shared_failures_total (\d+)/.exec(await (await fetch(`${harness.url}/metrics`)).text())?.[1] ??
            0,
        );
      const failuresBefore = await metric();
      const deps = serviceDeps(harness);
      const actor = (await authenticateApiKey(deps, tenant.secretKey))!;
      const request = (r: number) =>
        Array.from({ length: 12 }, (_, i) => ({
          ...llm(
            `shared-${r}-${i}`,
            1000 + i,
            10,
            `2026-03-12T${String(r % 24).padStart(2, '0')}:${String(i).padStart(2, '0')}:00Z`,
          ),
          customer_id: customers[i % 3],
        }));
      const requests = Array.from({ length: 24 }, (_, r) => request(r));
      const poisoned = request(99).map((event, i) => (i === 5 ? { ...event, event_type: 'poison.pill' } : event));
      // The first runs at once; the others are submitted before it can commit (no I/O has completed yet), wait,
      // and go together into the next shared transaction: 25 requests, 300 events, split in two by customer.
      const first = ingestEvents(deps, actor, request(100));
      const answers = Promise.allSettled(
        [...requests.slice(0, 12), poisoned, ...requests.slice(12)].map((events) => ingestEvents(deps, actor, events)),
      );
      await first;
      const settled = await answers;
      expect(settled.map((s) => s.status)).toEqual([
        ...Array(12).fill('fulfilled'),
        'rejected',
        ...Array(12).fill('fulfilled'),
      ]);
      expect((settled[12] as PromiseRejectedResult).reason.message).toMatch(/poison_pill/);
      // Every innocent event is accepted (not "duplicate", though its half committed in the failed attempt), once.
      const outcomes = settled
        .filter((s) => s.status === 'fulfilled')
        .flatMap((s) => (s as PromiseFulfilledResult<any>).value.events);
      expect(outcomes).toHaveLength(24 * 12);
      expect(outcomes.filter((o) => o.status !== 'accepted')).toEqual([]);
      const [stored] = await harness.database.owner`
        select count(*)::int as events, (select count(*)::int from event_ratings where transaction_id like 'shared-%') as lines,
               count(*) filter (where transaction_id like 'shared-99-%')::int as poisoned
        from events where transaction_id like 'shared-%' and transaction_id not like 'shared-100-%'`;
      // The poisoned request's events of the other half committed with it before the failure: stored, as its sender's retry will find them.
      expect(stored.events - stored.poisoned).toBe(24 * 12);
      expect(stored.lines).toBe(stored.events + 12);
      // Each running total moved by exactly its events: the periods equal the sum of their rated lines.
      const mismatched = await harness.database.owner`
        select c.external_id from customer_periods p join customers c on c.id = p.customer_id
        where c.external_id like 'split-%' and p.amount <> (select sum(amount) from event_ratings r where r.customer_id = p.customer_id and r.period_start = p.period_start)`;
      expect(mismatched).toEqual([]);
      expect(await metric()).toBeGreaterThan(failuresBefore);

      // Over HTTP, sent at once: the poisoned request gets a 500 (a fault of the service: the database refused what
      // validation let through), every other one its events accepted.
      const send = async (events: unknown[]) => {
        const response = await fetch(`${harness.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        });
        return { status: response.status, body: await response.json() };
      };
      const overHttp = await Promise.all([
        ...Array.from({ length: 8 }, (_, r) => send(request(200 + r))),
        send(request(300).map((e, i) => (i === 0 ? { ...e, event_type: 'poison.pill' } : e))),
      ]);
      expect(overHttp.map((r) => r.status)).toEqual([...Array(8).fill(200), 500]);
      for (const response of overHttp.slice(0, 8))
        expect(response.body).toMatchObject({ accepted: 12, rejected: 0, duplicate: 0 });
    } finally {
      await harness.database.owner`alter table events drop constraint poison_pill`;
    }
  });

  it("estimates with a publishable key: the kernel's answer for a given state, nothing stored", async () => {
    const before = await harness.database.owner`select count(*)::int as n from events`;
    const estimate = await rest(harness, 'POST', '/v1/estimates', {
      key: tenant.publishableKey,
      body: {
        price_book: 'llm-graduated',
        events: [
          llm('quote-1', 900_000, 0, '2026-03-14T00:00:00Z'),
          llm('quote-2', 200_000, 0, '2026-03-14T00:00:00Z'),
        ],
        states: { acme: { counters: { 'openai/gpt-4o:input_tokens': '0' } } },
      },
    });
    expect(estimate.status).toBe(200);
    // 900k at 2.5/M, then 100k at 2.5/M + 100k at 2/M: the tier boundary is crossed inside the quote.
    expect(estimate.body.results.map((r: any) => r.amount)).toEqual(['2.250000000', '0.450000000']);
    expect(estimate.body.states.acme.counters['openai/gpt-4o:input_tokens']).toBe('1100000.000000');
    const after = await harness.database.owner`select count(*)::int as n from events`;
    expect(after[0].n).toBe(before[0].n);
    const badState = await rest(harness, 'POST', '/v1/estimates', {
      key: tenant.publishableKey,
      body: { price_book: 'llm-graduated', events: [llm('q', 1, 1)], states: { acme: { discount_percent: 'ten' } } },
    });
    expect(badState.status).toBe(400);
    expect(badState.body.error.code).toBe('invalid_state');
    expect(
      (
        await rest(harness, 'POST', '/v1/estimates', {
          key: tenant.publishableKey,
          body: { price_book: 'nope', events: [llm('q', 1, 1)] },
        })
      ).status,
    ).toBe(404);
    // A publishable key cannot ingest.
    expect(
      (await rest(harness, 'POST', '/v1/events', { key: tenant.publishableKey, body: llm('pk', 1, 1) })).status,
    ).toBe(403);
  });

  it('counts ingestion outcomes and request latency in /metrics', async () => {
    const response = await fetch(`${harness.url}/metrics`);
    const text = await response.text();
    expect(text).toMatch(/tariff_events_total\{status="accepted"\} \d+/);
    expect(text).toMatch(/tariff_events_total\{status="duplicate"\} \d+/);
    expect(text).toMatch(/tariff_events_total\{status="rejected"\} \d+/);
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{method="POST",route="\/v1\/events",status="200",le="0.1"\} \d+/,
    );
  });

  it('stores ids, types and properties that need quoting in an array literal exactly as sent', async () => {
    // Ingestion sends its columns as PostgreSQL array literals: quotes, backslashes, commas, braces, spaces and NULL
    // must come back as they went.
    const id = 'q "1", {x} \\ NULL';
    const extra = { note: 'say "hi", {} \\n \\', 'key "with" {all}': 'NULL', empty: '', nothing: null };
    const event = { ...llm(id, 10, 1, '2026-03-11T00:00:00Z', extra), event_type: 'llm "quoted", {type}' };
    const response = await post({ events: [event] });
    expect(response.body.events).toMatchObject([{ transaction_id: id, status: 'accepted' }]);
    const receipt = await get(`/v1/events/${encodeURIComponent(id)}/receipt`);
    expect(receipt.body).toMatchObject({
      transaction_id: id,
      event_type: event.event_type,
      properties: event.properties,
      card: 'openai/gpt-4o',
    });
    expect(receipt.body.receipt.length).toBeGreaterThan(0);
  });
});
