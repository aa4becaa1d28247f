import { describe, expect, it } from 'vitest';
import { TariffClient, TariffError, operationRoutes } from './client.ts';
import type { Clock } from './retry.ts';

/** A clock whose sleeps return at once and are recorded. */
function fakeClock(start = Date.UTC(2026, 2, 1, 12)): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
    },
  };
}

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that answers from a script, one entry per attempt: a Response, or an Error to throw. */
function scriptedFetch(script: (Response | Error)[]) {
  const calls: Call[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    calls.push({
      url,
      method: String(init.method),
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body as string | undefined,
    });
    const next = script.shift();
    if (!next) throw new Error('script exhausted');
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const apiError = (status: number, code: string, kind: string, details: { field: string; reason: string }[] = []) =>
  json(status, { error: { kind, code, message: `${code} happened`, details, request_id: 'req_1' } });
const customer = {
  id: '9f1c',
  external_id: 'acme',
  name: null,
  email: null,
  currency: 'USD',
  country: null,
  tax_id: null,
  parent_id: null,
  is_reseller: false,
  metadata: {},
  price_book: null,
  price_book_assignments: [],
  created_at: '2026-03-01T12:00:00.000Z',
  updated_at: '2026-03-01T12:00:00.000Z',
};

function client(
  script: (Response | Error)[],
  options: { maxRetries?: number; maxRetryAfterMs?: number; timeoutMs?: number } = {},
) {
  const { fetch, calls } = scriptedFetch(script);
  const clock = fakeClock();
  const tariff = new TariffClient({
    baseUrl: 'https://api.tariff.test/',
    apiKey: 'sk_test_123',
    fetch,
    clock,
    random: () => 0.5,
    retry: {
      maxRetries: options.maxRetries ?? 3,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      maxRetryAfterMs: options.maxRetryAfterMs,
    },
    timeoutMs: options.timeoutMs,
  });
  return { tariff, calls, clock };
}

describe('TariffClient requests', () => {
  it('fills path parameters (percent-encoded), the query, the bearer key and a JSON body', async () => {
    const { tariff, calls } = client([
      json(200, { customer_id: 'acme/eu west', amount: '1.500000000' }),
      json(200, { ...customer, name: 'Acme' }),
    ]);
    const usage = await tariff.getUsage({ path: { id: 'acme/eu west' }, query: { at: '2026-03-01T00:00:00Z' } });
    expect(usage.amount).toBe('1.500000000');
    expect(calls[0]).toMatchObject({
      method: 'GET',
      url: 'https://api.tariff.test/v1/customers/acme%2Feu%20west/usage?at=2026-03-01T00%3A00%3A00Z',
      body: undefined,
    });
    expect(calls[0].headers.authorization).toBe('Bearer sk_test_123');

    const updated = await tariff.updateCustomer({ path: { id: 'acme' }, body: { name: 'Acme' } });
    expect(updated.name).toBe('Acme');
    expect(calls[1]).toMatchObject({
      method: 'PATCH',
      url: 'https://api.tariff.test/v1/customers/acme',
      body: '{"name":"Acme"}',
    });
    expect(calls[1].headers['content-type']).toBe('application/json');
  });

  it('the generic request() reaches the same operation', async () => {
    const { tariff, calls } = client([json(200, customer)]);
    const got = await tariff.request('get', '/v1/customers/{id}', { path: { id: 'acme' } });
    expect(got.external_id).toBe('acme');
    expect(calls[0].url).toBe('https://api.tariff.test/v1/customers/acme');
  });

  it('refuses a missing path parameter, naming it, before any request', async () => {
    const { tariff, calls } = client([]);
    await expect(tariff.getCustomer({ path: { id: '' } })).rejects.toThrow('path.id is required by /v1/customers/{id}');
    expect(calls).toHaveLength(0);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new TariffClient({ baseUrl: 'api.tariff.test' })).toThrow('baseUrl must be an http(s) URL');
  });
});

describe('TariffClient errors', () => {
  it('turns the service error body into TariffError { status, code, message, field }', async () => {
    const { tariff, calls } = client([
      apiError(400, 'invalid_request', 'validation', [
        { field: 'events.0.timestamp', reason: 'Required' },
        { field: 'events.1.customer_id', reason: 'Required' },
      ]),
    ]);
    const error = await tariff.ingestEvents({ body: { events: [] } }).catch((e) => e);
    expect(error).toBeInstanceOf(TariffError);
    expect(error).toMatchObject({
      status: 400,
      code: 'invalid_request',
      kind: 'validation',
      message: 'invalid_request happened',
      field: 'events.0.timestamp',
      requestId: 'req_1',
      attempts: 1,
      retryable: false,
    });
    expect(error.details).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });

  it.each([
    [400, 'validation'],
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [409, 'conflict'],
    [413, 'validation'],
    [422, 'precondition'],
  ])('never retries %i', async (status, kind) => {
    const { tariff, calls, clock } = client([apiError(status, 'nope', kind), json(200, customer)]);
    await expect(tariff.getCustomer({ path: { id: 'acme' } })).rejects.toMatchObject({ status, code: 'nope' });
    expect(calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('names a non-JSON error body by its status', async () => {
    const { tariff } = client([new Response('<html>bad gateway</html>', { status: 400 })]);
    await expect(tariff.listMeters()).rejects.toMatchObject({
      status: 400,
      code: 'http_400',
      message: 'HTTP 400: <html>bad gateway</html>',
    });
  });
});

describe('TariffClient retries', () => {
  it('retries 5xx with exponential backoff and full jitter, then succeeds', async () => {
    const { tariff, calls, clock } = client([
      apiError(503, 'unavailable', 'unavailable'),
      new Response('oops', { status: 500 }),
      json(502, {}),
      json(200, customer),
    ]);
    const got = await tariff.getCustomer({ path: { id: 'acme' } });
    expect(got.external_id).toBe('acme');
    expect(calls).toHaveLength(4);
    // random() = 0.5 of a cap that doubles from 100 ms: 50, 100, 200.
    expect(clock.sleeps).toEqual([50, 100, 200]);
  });

  it('caps the backoff at maxDelayMs and gives up after maxRetries with the last error', async () => {
    const { tariff, calls, clock } = client(
      Array.from({ length: 7 }, () => apiError(500, 'internal', 'internal')),
      { maxRetries: 6 },
    );
    const error = await tariff.listCustomers().catch((e) => e);
    expect(error).toMatchObject({ status: 500, code: 'internal', attempts: 7 });
    expect(calls).toHaveLength(7);
    expect(clock.sleeps).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('retries 429 and honours Retry-After in seconds and as an HTTP date', async () => {
    const start = Date.UTC(2026, 2, 1, 12);
    const { tariff, clock } = client([
      apiError(429, 'rate_limited', 'unavailable', []),
      json(429, {}, { 'retry-after': '2' }),
      json(503, {}, { 'retry-after': new Date(start + 10_000).toUTCString() }),
      json(200, customer),
    ]);
    // The first 429 carries no Retry-After: it falls back to the jittered backoff.
    await tariff.getCustomer({ path: { id: 'acme' } });
    // The date is 10 s after the start; 2.05 s have passed by the third attempt.
    expect(clock.sleeps).toEqual([50, 2000, 7950]);
  });

  it('does not wait for a Retry-After beyond maxRetryAfterMs: the error says how long was asked', async () => {
    const { tariff, calls } = client(
      [
        json(
          429,
          { error: { kind: 'unavailable', code: 'rate_limited', message: 'slow down', details: [] } },
          { 'retry-after': '3600' },
        ),
      ],
      { maxRetryAfterMs: 60_000 },
    );
    await expect(tariff.listCustomers()).rejects.toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfterMs: 3_600_000,
    });
    expect(calls).toHaveLength(1);
  });

  it('retries network errors and reports status 0 when they persist', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: new Error('connect ECONNREFUSED 127.0.0.1:9'),
    });
    const recovered = client([refused, json(200, customer)]);
    expect((await recovered.tariff.getCustomer({ path: { id: 'acme' } })).external_id).toBe('acme');
    expect(recovered.clock.sleeps).toEqual([50]);

    const down = client([refused, refused, refused], { maxRetries: 2 });
    await expect(down.tariff.getCustomer({ path: { id: 'acme' } })).rejects.toMatchObject({
      status: 0,
      code: 'network_error',
      message: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9',
      attempts: 3,
      retryable: true,
    });
  });

  it('times out a hung attempt and retries it', async () => {
    let attempts = 0;
    const fetch = (_url: string, init: RequestInit) => {
      attempts++;
      if (attempts === 2) return Promise.resolve(json(200, customer));
      return new Promise<Response>((_, reject) =>
        init.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    };
    const tariff = new TariffClient({
      baseUrl: 'http://127.0.0.1:1',
      fetch,
      clock: fakeClock(),
      random: () => 0,
      timeoutMs: 20,
    });
    expect((await tariff.getCustomer({ path: { id: 'acme' } })).external_id).toBe('acme');
    expect(attempts).toBe(2);

    const hung = new TariffClient({
      baseUrl: 'http://127.0.0.1:1',
      fetch: (_u, init) =>
        new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(new Error('aborted')))),
      clock: fakeClock(),
      timeoutMs: 10,
      retry: { maxRetries: 1 },
    });
    await expect(hung.listMeters()).rejects.toMatchObject({
      status: 0,
      code: 'timeout',
      message: 'no response within 10 ms',
      attempts: 2,
    });
  });

  it('makes one attempt with retry: false', async () => {
    const { tariff, calls } = client([apiError(503, 'unavailable', 'unavailable'), json(200, customer)]);
    await expect(tariff.getCustomer({ path: { id: 'acme' }, retry: false })).rejects.toMatchObject({ status: 503 });
    expect(calls).toHaveLength(1);
  });

  it("stops retrying when the caller's signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const clock = fakeClock();
    const fetch = async () => {
      controller.abort(new Error('caller gave up'));
      return apiError(503, 'unavailable', 'unavailable');
    };
    const tariff = new TariffClient({ baseUrl: 'http://127.0.0.1:1', fetch, clock });
    await expect(tariff.listMeters({ signal: controller.signal })).rejects.toThrow('caller gave up');
    expect(clock.sleeps).toEqual([]);
  });
});

describe('operationRoutes', () => {
  it('gives the client one method per generated route (generated.test.ts checks the routes against openapi.json)', () => {
    const methods = new TariffClient({ baseUrl: 'http://x' }) as unknown as Record<string, unknown>;
    expect(Object.keys(operationRoutes).length).toBeGreaterThanOrEqual(23);
    for (const id of Object.keys(operationRoutes)) expect(typeof methods[id], id).toBe('function');
  });
});
