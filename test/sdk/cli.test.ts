// `tariff estimate`, `tariff send` and `tariff usage` as a user runs them (the other commands are in test/cli.test.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kernel, type PriceBook, type StateMap, type UsageEvent } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type TenantFixture, exampleBook, rest, signUpTenant, startService } from '../service/harness.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const cli = (args: string[], input?: string, env: Record<string, string> = {}) => {
  const child = run('node', ['--import', 'tsx', 'sdk/src/cli.ts', ...args], {
    cwd: root,
    maxBuffer: 64 << 20,
    env: { ...process.env, ...env },
  });
  if (input !== undefined) child.child.stdin!.end(input);
  return child;
};
const failing = (args: string[], input?: string, env?: Record<string, string>) =>
  cli(args, input, env).then(
    () => {
      throw new Error('expected the command to fail');
    },
    (error) => error as { code: number; stdout: string; stderr: string },
  );

const BOOK = 'core-wasm/examples/llm-book.json';
const STATE = 'core-wasm/examples/state.json';
const EVENTS = 'core-wasm/examples/events.jsonl';
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('tariff estimate', () => {
  it('prices one event given inline, exactly as the kernel does', async () => {
    const event = JSON.parse(read(EVENTS).split('\n')[0]) as UsageEvent;
    const { stdout } = await cli([
      'estimate',
      '--price-book',
      BOOK,
      '--state',
      STATE,
      '--event',
      JSON.stringify(event),
    ]);
    const kernel = await Kernel.create(wasmBytes());
    const expected = kernel.rate(JSON.parse(read(BOOK)) as PriceBook, JSON.parse(read(STATE)) as StateMap, [event])
      .results[0];
    expect(stdout).toBe(JSON.stringify(expected, null, 2) + '\n');
  });

  it('with --update-state, prints what `tariff rate` prints for the same events, and the same final state', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-estimate-'));
    const rated = await cli([
      'rate',
      '--price-book',
      BOOK,
      '--state',
      STATE,
      '--events',
      EVENTS,
      '--state-out',
      join(work, 'rate.json'),
    ]);
    const estimated = await cli(
      [
        'estimate',
        '--price-book',
        BOOK,
        '--state',
        STATE,
        '--events',
        '-',
        '--update-state',
        '--state-out',
        join(work, 'estimate.json'),
      ],
      read(EVENTS),
    );
    expect(estimated.stdout).toBe(rated.stdout);
    expect(JSON.parse(readFileSync(join(work, 'estimate.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(work, 'rate.json'), 'utf8')),
    );
  });

  it('--on-block: accept (default) bills a blocking customer past its credit and flags it, refuse rejects it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-estimate-'));
    const state = {
      acme: {
        allowances: { starter_tokens: '0' },
        on_depletion: 'block',
        grants: [{ id: 'g', kind: 'prepaid', priority: 0, balance: '0.50' }],
      },
    };
    writeFileSync(join(work, 'state.json'), JSON.stringify(state));
    const event = JSON.stringify({
      transaction_id: 'ob1',
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: '2026-03-10T14:00:00Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 200_000, output_tokens: 10_000 },
    });
    const args = ['estimate', '--price-book', BOOK, '--state', join(work, 'state.json'), '--event', event];
    const accepted = JSON.parse((await cli(args)).stdout);
    expect(accepted).toMatchObject({
      status: 'rated',
      amount: '0.100000000',
      blocked: [{ code: 'credits_exhausted', exceeded_by: '0.100000000' }],
    });
    expect(JSON.parse((await cli([...args, '--on-block', 'accept'])).stdout)).toEqual(accepted);
    expect(JSON.parse((await cli([...args, '--on-block', 'refuse'])).stdout)).toMatchObject({
      status: 'error',
      error: { code: 'credits_exhausted' },
    });
    const bad = await failing([...args, '--on-block', 'maybe']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--on-block must be accept or refuse')]);
  });

  it('--check answers whether the service would take it, against a budget and a period spend', async () => {
    const event = {
      transaction_id: 'q1',
      customer_id: 'globex',
      event_type: 'llm.completion',
      timestamp: '2026-03-10T14:00:00Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1_200_000, output_tokens: 1000 },
    };
    const work = mkdtempSync(join(tmpdir(), 'tariff-estimate-'));
    writeFileSync(join(work, 'event.json'), JSON.stringify(event));
    // 200k tokens past the 1M included at 2.50 + 1k output at 10 per million = 0.51.
    const within = JSON.parse(
      (
        await cli([
          'estimate',
          '--price-book',
          BOOK,
          '--event',
          join(work, 'event.json'),
          '--check',
          '--budget',
          '10',
          '--spend',
          'globex=9.49',
        ])
      ).stdout,
    );
    expect(within).toEqual({
      transaction_id: 'q1',
      allowed: true,
      currency: 'USD',
      amount: '0.510000000',
      spend: '0.510000000',
      creditsRemaining: '0.000000000',
      budgetRemaining: '0.000000000',
    });
    const over = JSON.parse(
      (
        await cli([
          'estimate',
          '--price-book',
          BOOK,
          '--event',
          join(work, 'event.json'),
          '--check',
          '--budget',
          '10',
          '--spend',
          'globex=9.50',
        ])
      ).stdout,
    );
    expect(over).toMatchObject({ allowed: false, reason: 'budget_exceeded', budgetRemaining: '-0.010000000' });
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    expect((await failing(['estimate', '--event', '{}'])).code).toBe(2);
    const notJson = await failing(['estimate', '--price-book', BOOK, '--event', '{"transaction_id":']);
    expect(notJson.stderr).toMatch(/^--event is not valid JSON/);
    const badLine = await failing(
      ['estimate', '--price-book', BOOK, '--events', '-'],
      `${read(EVENTS).split('\n')[0]}\n{oops\n`,
    );
    expect(badLine.stderr).toMatch(/^stdin line 2 is not valid JSON/);
    const badBudget = await failing([
      'estimate',
      '--price-book',
      BOOK,
      '--event',
      read(EVENTS).split('\n')[0],
      '--check',
      '--budget',
      'lots',
    ]);
    expect(badBudget.stderr).toMatch(/^budget: must be a decimal amount/);
    const badState = await failing([
      'estimate',
      '--price-book',
      BOOK,
      '--state',
      BOOK,
      '--event',
      read(EVENTS).split('\n')[0],
    ]);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/^states\.id: must be an object/);
  });
});

/** A fake POST /v1/events: dedupes on transaction_id, rejects events with a `bad` property, checks the key. */
function fakeIngest(): Promise<{ server: Server; url: string; stored: Set<string>; keys: string[] }> {
  const stored = new Set<string>();
  const keys: string[] = [];
  const server = createServer(async (req, res) => {
    keys.push(String(req.headers.authorization));
    let text = '';
    for await (const chunk of req) text += chunk;
    const events = (JSON.parse(text) as { events: UsageEvent[] }).events;
    const outcomes = events.map((event, index) => {
      if (event.properties?.bad !== undefined)
        return {
          index,
          transaction_id: event.transaction_id,
          status: 'rejected',
          error: { code: 'invalid_property', message: 'bad is not allowed', field: 'properties.bad' },
        };
      const seen = stored.has(event.transaction_id);
      stored.add(event.transaction_id);
      return seen
        ? { index, transaction_id: event.transaction_id, status: 'duplicate', amount: '0.000000000', currency: 'USD' }
        : {
            index,
            transaction_id: event.transaction_id,
            status: 'accepted',
            customer_id: event.customer_id,
            currency: 'USD',
            amount: '0.000000000',
            period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
            period_total: '0.000000000',
            book_version: '2026-01-01T00:00:00.000Z',
            card: 'c',
          };
    });
    const count = (status: string) => outcomes.filter((o) => o.status === status).length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        accepted: count('accepted'),
        duplicate: count('duplicate'),
        rejected: count('rejected'),
        events: outcomes,
      }),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stored, keys }),
    ),
  );
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

const line = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    transaction_id: `t${i}`,
    customer_id: 'acme',
    event_type: 'llm.completion',
    timestamp: '2026-03-10T12:00:00Z',
    properties: { input_tokens: i, ...extra },
  });

describe('tariff send', () => {
  it('sends a JSONL file in batches and sums up: accepted, duplicate, rejected, with each problem line on stderr', async () => {
    const fake = await fakeIngest();
    servers.push(fake.server);
    const work = mkdtempSync(join(tmpdir(), 'tariff-send-'));
    const lines = [
      ...Array.from({ length: 1200 }, (_, i) => line(i)),
      line(5),
      '{not json',
      line(2000, { bad: true }),
      '',
      JSON.stringify({ customer_id: 'acme' }),
    ];
    writeFileSync(join(work, 'events.jsonl'), lines.join('\n') + '\n');
    const failure = await failing([
      'send',
      '--url',
      fake.url,
      '--api-key',
      'sk_test_cli',
      join(work, 'events.jsonl'),
      '--batch-size',
      '500',
    ]);
    expect(failure.code).toBe(1);
    const summary = JSON.parse(failure.stdout);
    expect(summary).toMatchObject({
      lines: 1205,
      invalid: 2,
      accepted: 1200,
      duplicate: 1,
      rejected: 1,
      failed: 0,
      batches: 3,
    });
    expect(failure.stderr).toContain('line 1202: not sent: ');
    expect(failure.stderr).toContain(
      'line 1203: t2000 rejected: invalid_property (properties.bad): bad is not allowed',
    );
    expect(failure.stderr).toContain('line 1205: not sent: event.transaction_id must be a non-empty string');
    expect(failure.stderr).toMatch(/sent 1202 \(accepted 1200, duplicate 1, rejected 1\)/);
    expect(fake.stored.size).toBe(1200);
    expect(new Set(fake.keys)).toEqual(new Set(['Bearer sk_test_cli']));
  });

  it('reads stdin, takes the key from TARIFF_API_KEY, and exits 0 when everything is delivered', async () => {
    const fake = await fakeIngest();
    servers.push(fake.server);
    const { stdout } = await cli(
      ['send', '--url', fake.url],
      Array.from({ length: 30 }, (_, i) => line(i)).join('\n'),
      { TARIFF_API_KEY: 'sk_env' },
    );
    expect(JSON.parse(stdout)).toMatchObject({
      lines: 30,
      invalid: 0,
      accepted: 30,
      duplicate: 0,
      rejected: 0,
      failed: 0,
    });
    expect(fake.keys[0]).toBe('Bearer sk_env');
  });

  it('gives up after --timeout on a service that stays down, counting what was not delivered', async () => {
    const failure = await failing(['send', '--url', 'http://127.0.0.1:9', '--api-key', 'k', '--timeout', '1'], line(1));
    expect(failure.code).toBe(1);
    expect(JSON.parse(failure.stdout)).toMatchObject({ accepted: 0, failed: 1 });
    expect(failure.stderr).toContain('1 event(s) not delivered within 1000 ms of close(); first undelivered: t1');
  });

  it('needs a URL and a key', async () => {
    expect((await failing(['send', 'x.jsonl'])).code).toBe(2);
    const noKey = await failing(['send', '--url', 'http://127.0.0.1:9'], '', { TARIFF_API_KEY: '' });
    expect(noKey.stderr).toContain('send needs an API key');
  });
});

describe('tariff usage', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const event = (id: string, model: string, input: number, output: number, day: number) => ({
    transaction_id: id,
    customer_id: 'acme',
    event_type: 'llm.completion',
    timestamp: `2026-03-${String(day).padStart(2, '0')}T10:00:00Z`,
    properties: { provider: 'openai', model, input_tokens: input, output_tokens: output },
  });

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    tenant = await signUpTenant(harness);
    const as = (method: string, path: string, body: unknown) =>
      rest(harness, method, path, { key: tenant.secretKey, body });
    const book = exampleBook('llm');
    book.versions[0].rate_cards.push({
      ...book.versions[0].rate_cards[0],
      id: 'openai/gpt-4o-mini',
      match: { provider: 'openai', model: 'gpt-4o-mini' },
    });
    expect((await as('POST', '/v1/price_books', { book })).status).toBe(201);
    expect((await as('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' })).status).toBe(201);
    expect(
      (await as('PUT', '/v1/customers/acme/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' }))
        .status,
    ).toBe(200);
    expect(
      (
        await as('POST', '/v1/meters', {
          code: 'input_tokens',
          name: 'Input tokens',
          event_type: 'llm.completion',
          aggregation: 'sum',
          property: 'input_tokens',
          group_by: ['model'],
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await as('POST', '/v1/meters', {
          code: 'requests',
          name: 'Requests',
          event_type: 'llm.completion',
          aggregation: 'count',
        })
      ).status,
    ).toBe(201);
    const events = [
      event('u1', 'gpt-4o', 1000, 100, 2),
      event('u2', 'gpt-4o', 3000, 200, 3),
      event('u3', 'gpt-4o-mini', 500, 50, 3),
    ];
    expect((await as('POST', '/v1/events', { events })).body.accepted).toBe(3);
    // February: another period.
    expect(
      (
        await as('POST', '/v1/events', {
          events: [{ ...event('u0', 'gpt-4o', 7, 1, 2), timestamp: '2026-02-10T00:00:00Z' }],
        })
      ).body.accepted,
    ).toBe(1);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("prints the current period's usage by meter and group as a table", async () => {
    const { stdout } = await cli(['usage', 'acme', '--url', harness.url, '--api-key', tenant.secretKey]);
    // A meter shows the part of the charge from its own dimension: gpt-4o's 4,000 input tokens at 2.5 per million =
    // 0.010 (its 300 output tokens, 0.003, have no meter here); gpt-4o-mini's 500 at 2.5 = 0.00125. The count meter
    // measures no priced dimension, so it shows no money.
    expect(stdout).toBe(
      [
        'acme · period 2026-03-01T00:00:00.000Z → 2026-04-01T00:00:00.000Z (open) · 3 events · amount 0.014750000',
        'METER         GROUP              AGGREGATION  VALUE  EVENTS       AMOUNT',
        'input_tokens  model=gpt-4o       sum           4000       2  0.010000000',
        'input_tokens  model=gpt-4o-mini  sum            500       1  0.001250000',
        'requests      -                  count            3       3  0.000000000',
        'watermark 2026-03-15T00:00:00.000Z (every event acknowledged before it is included)',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the service answer; --at picks another period; the key may come from TARIFF_API_KEY', async () => {
    const { stdout } = await cli(
      ['usage', 'acme', '--url', harness.url, '--json', '--at', '2026-02-20T00:00:00Z'],
      undefined,
      { TARIFF_API_KEY: tenant.secretKey },
    );
    const usage = JSON.parse(stdout);
    expect(usage).toMatchObject({
      customer_id: 'acme',
      period: { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' },
      event_count: '1',
      amount: '0.000027500',
    });
    expect(usage).toEqual(
      (await rest(harness, 'GET', '/v1/customers/acme/usage?at=2026-02-20T00:00:00Z', { key: tenant.secretKey })).body,
    );
  });

  it('says what is wrong: unknown customer (exit 1), bad instant, no key, no URL (exit 2)', async () => {
    const unknown = await failing(['usage', 'nobody', '--url', harness.url, '--api-key', tenant.secretKey]);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'customer_not_found: No customer "nobody"\n']);
    const forbidden = await failing(['usage', 'acme', '--url', harness.url, '--api-key', tenant.publishableKey]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^permission_denied: /);
    const badAt = await failing(['usage', 'acme', '--url', harness.url, '--api-key', 'k', '--at', 'yesterday']);
    expect([badAt.code, badAt.stderr]).toEqual([
      2,
      '--at must be an ISO 8601 instant, e.g. 2026-03-01T00:00:00Z, got yesterday\n',
    ]);
    expect(
      (await failing(['usage', 'acme', '--url', harness.url], undefined, { TARIFF_API_KEY: '' })).stderr,
    ).toContain('usage needs an API key');
    expect((await failing(['usage', 'acme'])).code).toBe(2);
  });
});
