// The fast path (platform/fast-path.ts) answers POST /v1/events, hold placements and checks as the Express app
// does: two services on identical databases, one with the fast path and one without, get the same requests and must
// give the same answers (status, body but for the request id, content type, the caller's request id echoed, metrics).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestionRoute } from '../../service/src/domains/events/fast-path.ts';
import { checkRoute } from '../../service/src/domains/budgets/router.ts';
import { placeHoldRoute } from '../../service/src/domains/holds/router.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { fastPath, type FastRoute } from '../../service/src/platform/fast-path.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import { exampleBook, signUpTenant, startService, type Harness, type TenantFixture } from './harness.ts';

interface Raw {
  status: number;
  contentType: string | null;
  requestId: string | null;
  body: any;
}

type Service = { harness: Harness; tenant: TenantFixture };
type Call = (method: string, path: string, body: unknown) => Promise<Response>;

/**
 * Two services on identical databases, one with the fast path (index 0) and one without (1), each set up through its
 * API by `setup`. `send` posts to one of them; `same` posts the same request to both and expects equal answers.
 */
function servicePair(setup: (call: Call) => Promise<void>) {
  const services: Service[] = [];
  beforeAll(async () => {
    for (const expressOnly of [false, true]) {
      const harness = await startService({ now: '2026-03-15T00:00:00Z', expressOnly, bodyLimitBytes: 64 * 1024 });
      const tenant = await signUpTenant(harness);
      await setup((method, path, body) =>
        fetch(harness.url + path, {
          method,
          headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
      services.push({ harness, tenant });
    }
  });
  afterAll(async () => {
    for (const { harness } of services) await harness.close();
  });

  async function send(
    index: number,
    path: string,
    body: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<Raw> {
    const { harness, tenant } = services[index];
    const response = await fetch(`${harness.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (parsed?.error) delete parsed.error.request_id;
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      requestId: response.headers.get('x-request-id')?.replace(/^[0-9a-f-]{36}$/, '(generated)') ?? null,
      body: parsed,
    };
  }

  /** The same request to both services: the answers must be equal. */
  async function same(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
    const text = typeof body === 'string' || body === undefined ? body : JSON.stringify(body);
    const [fast, express] = [await send(0, path, text, headers), await send(1, path, text, headers)];
    expect(fast).toEqual(express);
    return fast;
  }

  return { services, send, same };
}

/**
 * A server that answers 599 for whatever the fast path with `routes` leaves, over the service's database: `status`
 * posts (by default) with the tenant's key and gives the status.
 */
async function fastOnly(
  { harness, tenant }: Service,
  routes: FastRoute[],
  run: (
    status: (
      path: string,
      init: { method?: string; headers?: Record<string, string>; body?: string },
    ) => Promise<number>,
  ) => Promise<void>,
): Promise<void> {
  const deps = {
    db: harness.database.app,
    clock: harness.clock,
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 60,
  };
  const fast = fastPath(deps, 64 * 1024, authenticateApiKey, routes);
  const server = http.createServer((req, res) => {
    if (!fast(req, res)) res.writeHead(599).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await run(
      async (path, init) =>
        (
          await fetch(url + path, {
            method: init.method ?? 'POST',
            headers: {
              authorization: `Bearer ${tenant.secretKey}`,
              'content-type': 'application/json',
              ...init.headers,
            },
            body: init.body,
          })
        ).status,
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * A price book and two customers on it, `acme` and `a b` (an id the fast path leaves to the app), with $10 of prepaid
 * credit that blocks when spent; `more` sets up each customer further by its path.
 */
async function blockingCustomers(call: Call, more: (path: string) => Promise<void> = async () => {}): Promise<void> {
  await call('POST', '/v1/price_books', { book: exampleBook() });
  for (const id of ['acme', 'a b']) {
    await call('POST', '/v1/customers', { external_id: id, currency: 'USD' });
    const path = `/v1/customers/${encodeURIComponent(id)}`;
    await call('PUT', `${path}/price_book`, { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' });
    await call('PATCH', `${path}/wallet`, { on_depletion: 'block' });
    await call('POST', `${path}/credit_grants`, { kind: 'prepaid', amount: '10' });
    await more(path);
  }
}

/** The service's metrics count a request under `route` answered with `status`. */
async function expectCounted({ harness }: Service, route: string, status: number): Promise<void> {
  const metrics = await (await fetch(`${harness.url}/metrics`)).text();
  expect(metrics).toMatch(
    new RegExp(`http_request_duration_seconds_count\\{[^}]*route="${route}"[^}]*status="${status}"[^}]*\\} [1-9]`),
  );
}

describe('POST /v1/events fast path', () => {
  const pair = servicePair(async (call) => {
    await call('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' });
    await call('POST', '/v1/price_books', { book: exampleBook() });
    await call('PUT', '/v1/customers/acme/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' });
  });
  const { services } = pair;
  const send = (index: number, body: string | undefined, headers: Record<string, string>) =>
    pair.send(index, '/v1/events', body, headers);
  const same = (body: string | undefined, headers: Record<string, string> = {}) =>
    pair.same('/v1/events', body, headers);

  const event = (id: string, extra: Record<string, unknown> = {}) => ({
    transaction_id: id,
    customer_id: 'acme',
    event_type: 'llm.completion',
    timestamp: '2026-03-10T10:00:00Z',
    properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1200, output_tokens: 300 },
    ...extra,
  });

  it('answers events, batches and duplicates alike, echoing the caller request id', async () => {
    const single = await same(JSON.stringify(event('f1')), { 'x-request-id': 'caller-1' });
    expect(single).toMatchObject({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      requestId: 'caller-1',
      body: { accepted: 1 },
    });
    const batch = await same(
      JSON.stringify({ events: [event('f2'), event('f1'), event('f3', { customer_id: 'nobody' })] }),
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(batch.body).toMatchObject({ accepted: 1, duplicate: 1, rejected: 1 });
  });

  it('answers bad bodies, bad keys and bad envelopes alike', async () => {
    expect((await same('{"transaction_id": ')).body.error.code).toBe('malformed_json');
    for (const body of [
      '[]',
      '42',
      'null',
      '"text"',
      '{"events": []}',
      JSON.stringify({ events: [event('f4')], extra: 1 }),
    ]) {
      expect((await same(body)).status, body).toBe(400);
    }
    expect((await same(JSON.stringify(event('f5')), { authorization: 'Bearer sk_not_a_key' })).status).toBe(401);
    // Bad JSON with a bad key: the key is checked first and the body is never parsed, on both paths.
    expect((await same('{', { authorization: 'Bearer sk_not_a_key' })).status).toBe(401);
  });

  it('leaves what it does not take to the app: other content types, no key, oversized or chunked bodies', async () => {
    expect((await same('transaction_id=x', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await same(JSON.stringify(event('f6')), { authorization: '' })).status).toBe(401);
    const big = JSON.stringify({
      events: Array.from({ length: 300 }, (_, i) =>
        event(`big-${i}`, { properties: { provider: 'openai', model: 'gpt-4o', note: 'x'.repeat(200) } }),
      ),
    });
    expect((await same(big)).status).toBe(413);
    const chunked = (index: number) =>
      send(index, undefined, {}).then(() =>
        fetch(`${services[index].harness.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${services[index].tenant.secretKey}`, 'content-type': 'application/json' },
          body: new Blob([JSON.stringify(event('f7'))]).stream(),
          duplex: 'half',
        } as RequestInit).then(async (r) => ({ status: r.status, body: await r.json() })),
      );
    const [fast, express] = [await chunked(0), await chunked(1)];
    expect(fast).toEqual(express);
    expect(fast.body).toMatchObject({ accepted: 1 });
  });

  it('takes the plain requests and leaves the others untouched', async () => {
    await fastOnly(services[0], [ingestionRoute], async (status) => {
      expect(await status('/v1/events', { body: JSON.stringify(event('t1')) })).toBe(200);
      expect(await status('/v1/events', { body: '{' })).toBe(400);
      expect(await status('/v1/events', { body: '{}', headers: { authorization: 'Bearer sk_wrong' } })).toBe(401);
      expect(await status('/v1/events?x=1', { body: JSON.stringify(event('t2')) })).toBe(599);
      expect(await status('/v1/customers', { body: '{}' })).toBe(599);
      expect(await status('/v1/events', { method: 'GET' })).toBe(599);
      expect(await status('/v1/events', { body: 'a=b', headers: { 'content-type': 'text/plain' } })).toBe(599);
      expect(await status('/v1/events', { body: JSON.stringify(event('t3')), headers: { authorization: '' } })).toBe(
        599,
      );
      expect(await status('/v1/events', { body: 'x'.repeat(64 * 1024 + 1) })).toBe(599);
    });
  });

  it('counts its requests in the metrics under the route', async () => {
    await expectCounted(services[0], '/v1/events', 200);
  });
});

describe('POST /v1/customers/{id}/holds fast path', () => {
  const pair = servicePair((call) => blockingCustomers(call));
  const { services, same } = pair;

  it('places, replays and refuses holds alike, echoing the caller request id', async () => {
    const placed = await same('/v1/customers/acme/holds', { id: 'h1', amount: '4' }, { 'x-request-id': 'caller-h1' });
    expect(placed).toMatchObject({
      status: 201,
      contentType: 'application/json; charset=utf-8',
      requestId: 'caller-h1',
      body: { id: 'h1', customer_id: 'acme', amount: '4.000000000', status: 'open' },
    });
    expect((await same('/v1/customers/acme/holds', { id: 'h1', amount: '4' })).status).toBe(201);
    expect((await same('/v1/customers/acme/holds', { id: 'h1', amount: '5' })).body.error.code).toBe('hold_id_reused');
    const refused = await same('/v1/customers/acme/holds', { id: 'h2', amount: '7' });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'insufficient_balance' } } });
    expect((await same('/v1/customers/nobody/holds', { id: 'h3', amount: '1' })).status).toBe(404);
  });

  it('answers bad bodies, bad keys and bad ids alike, and leaves other paths to the app', async () => {
    expect((await same('/v1/customers/acme/holds', '{"id": ')).body.error.code).toBe('malformed_json');
    for (const body of [{}, { id: 'h4' }, { id: 'h4', amount: '-1' }, { id: 'h4', amount: '1', extra: 1 }, [], 42])
      expect((await same('/v1/customers/acme/holds', body)).status, JSON.stringify(body)).toBe(400);
    expect(
      (await same('/v1/customers/acme/holds', { id: 'h5', amount: '1' }, { authorization: 'Bearer sk_x' })).status,
    ).toBe(401);
    expect((await same('/v1/customers/acme/holds', '{', { authorization: 'Bearer sk_x' })).status).toBe(401);
    // Percent-encoded ids, a query or a trailing slash: the app decodes and matches them, the fast path leaves them.
    expect((await same('/v1/customers/a%20b/holds', { id: 'h6', amount: '1' })).body).toMatchObject({
      customer_id: 'a b',
    });
    expect((await same('/v1/customers/acme/holds?x=1', { id: 'h7', amount: '1' })).status).toBe(201);
    expect((await same('/v1/customers/acme/holds/', { id: 'h8', amount: '1' })).status).toBe(201);
    expect((await same(`/v1/customers/${'x'.repeat(256)}/holds`, { id: 'h9', amount: '1' })).status).toBe(400);
  });

  it('takes the plain placements and leaves the others untouched', async () => {
    const hold = (id: string) => JSON.stringify({ id, amount: '0.01' });
    const path = '/v1/customers/acme/holds';
    await fastOnly(services[0], [placeHoldRoute], async (status) => {
      expect(await status(path, { body: hold('t1') })).toBe(201);
      expect(await status(path, { body: '{' })).toBe(400);
      expect(await status(path, { body: '{}', headers: { authorization: 'Bearer sk_wrong' } })).toBe(401);
      expect(await status('/v1/customers/a%20b/holds', { body: hold('t2') })).toBe(599);
      expect(await status(`${path}?x=1`, { body: hold('t3') })).toBe(599);
      expect(await status(`${path}/`, { body: hold('t4') })).toBe(599);
      expect(await status(`${path}/t1/release`, { body: '{}' })).toBe(599);
      expect(await status('/v1/events', { body: '{}' })).toBe(599);
      expect(await status(path, { method: 'GET' })).toBe(599);
      expect(await status(path, { body: 'a=b', headers: { 'content-type': 'text/plain' } })).toBe(599);
      expect(await status(path, { body: hold('t5'), headers: { authorization: '' } })).toBe(599);
    });
  });

  it('counts its requests in the metrics under the route', async () => {
    await expectCounted(services[0], '/v1/customers/:id/holds', 201);
  });
});

describe('POST /v1/customers/{id}/check fast path', () => {
  const pair = servicePair((call) =>
    blockingCustomers(call, async (path) => {
      await call('PUT', `${path}/budget`, { amount: '8', enforcement: 'block' });
      await call('PUT', `${path}/scoped_budgets/project/alpha`, { amount: '2', enforcement: 'block' });
    }),
  );
  const { services, same } = pair;

  it('allows and refuses alike, with every reason, echoing the caller request id', async () => {
    const allowed = await same('/v1/customers/acme/check', { estimated_cost: '1' }, { 'x-request-id': 'caller-c1' });
    expect(allowed).toMatchObject({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      requestId: 'caller-c1',
      body: { allowed: true },
    });
    const over = await same('/v1/customers/acme/check', { estimated_cost: '9' });
    expect(over.body.allowed).toBe(false);
    expect(over.body.reasons.map((r: { code: string }) => r.code)).toContain('budget_exceeded');
    expect((await same('/v1/customers/acme/check', { estimated_cost: '11' })).body.allowed).toBe(false);
    const project = await same('/v1/customers/acme/check', { estimated_cost: '3', project: 'alpha' });
    expect(project.body.allowed).toBe(false);
    expect((await same('/v1/customers/acme/check', { estimated_cost: '3', project: 'beta' })).body.allowed).toBe(true);
    expect(
      (await same('/v1/customers/acme/check', { estimated_cost: '1', event_type: 'llm.completion', card: 'x' })).status,
    ).toBe(200);
    expect((await same('/v1/customers/nobody/check', { estimated_cost: '1' })).status).toBe(404);
  });

  it('answers bad bodies, bad keys and bad ids alike, and leaves other paths to the app', async () => {
    expect((await same('/v1/customers/acme/check', '{"estimated_cost": ')).body.error.code).toBe('malformed_json');
    for (const body of [
      {},
      { estimated_cost: '-1' },
      { estimated_cost: 'ten' },
      { estimated_cost: '1', extra: 1 },
      { estimated_cost: '1', api_key_id: 'not-a-uuid' },
      [],
      42,
      null,
    ])
      expect((await same('/v1/customers/acme/check', body)).status, JSON.stringify(body)).toBe(400);
    expect(
      (await same('/v1/customers/acme/check', { estimated_cost: '1' }, { authorization: 'Bearer sk_x' })).status,
    ).toBe(401);
    expect((await same('/v1/customers/acme/check', '{', { authorization: 'Bearer sk_x' })).status).toBe(401);
    // Percent-encoded ids, a query or a trailing slash: the app decodes and matches them, the fast path leaves them.
    expect((await same('/v1/customers/a%20b/check', { estimated_cost: '1' })).body).toMatchObject({ allowed: true });
    expect((await same('/v1/customers/acme/check?x=1', { estimated_cost: '1' })).status).toBe(200);
    expect((await same('/v1/customers/acme/check/', { estimated_cost: '1' })).status).toBe(200);
    expect((await same(`/v1/customers/${'x'.repeat(256)}/check`, { estimated_cost: '1' })).status).toBe(400);
  });

  it('takes the plain checks and leaves the others untouched', async () => {
    const check = JSON.stringify({ estimated_cost: '0.01' });
    const path = '/v1/customers/acme/check';
    await fastOnly(services[0], [checkRoute], async (status) => {
      expect(await status(path, { body: check })).toBe(200);
      expect(await status('/v1/customers/nobody/check', { body: check })).toBe(404);
      expect(await status(path, { body: '{' })).toBe(400);
      expect(await status(path, { body: '{}', headers: { authorization: 'Bearer sk_wrong' } })).toBe(401);
      expect(await status('/v1/customers/a%20b/check', { body: check })).toBe(599);
      expect(await status(`${path}?x=1`, { body: check })).toBe(599);
      expect(await status(`${path}/`, { body: check })).toBe(599);
      expect(await status('/v1/customers/acme/holds', { body: JSON.stringify({ id: 'c1', amount: '1' }) })).toBe(599);
      expect(await status('/v1/events', { body: '{}' })).toBe(599);
      expect(await status(path, { method: 'GET' })).toBe(599);
      expect(await status(path, { body: 'a=b', headers: { 'content-type': 'text/plain' } })).toBe(599);
      expect(await status(path, { body: check, headers: { authorization: '' } })).toBe(599);
      expect(await status(path, { body: 'x'.repeat(64 * 1024 + 1) })).toBe(599);
    });
  });

  it('counts its requests in the metrics under the route', async () => {
    await expectCounted(services[0], '/v1/customers/:id/check', 200);
  });
});
