// Starts the service in-process on a random port against a fresh PostgreSQL database, and talks to it over HTTP.
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createApp, createServer, type AppOptions } from '../../service/src/app.ts';
import { manualClock, type ManualClock } from '../../service/src/platform/clock.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { createLogger, silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { referentialProblems } from './integrity.ts';
import { checkResponse } from './openapi-check.ts';

export interface Harness {
  url: string;
  clock: ManualClock;
  database: TestDatabase;
  /**
   * Stops the server and drops the database after checking its referential integrity; `checkIntegrity: false`
   * skips the check (a kept database whose rows a previous run checked).
   */
  close(options?: { checkIntegrity?: boolean }): Promise<void>;
}

/**
 * The service on a fresh database (or `database`, migrated by the caller); `expressOnly` leaves out ingestion's fast
 * path (its parity test compares the two).
 */
export async function startService(
  options: {
    now?: string;
    bodyLimitBytes?: number;
    expressOnly?: boolean;
    app?: Partial<AppOptions>;
    /** A database made beforehand (e.g. migrated part way); else a fresh one, made with `databaseOptions`. */
    database?: TestDatabase;
    databaseOptions?: Parameters<typeof createTestDatabase>[0];
  } = {},
): Promise<Harness> {
  const database = options.database ?? (await createTestDatabase(options.databaseOptions));
  const clock = manualClock(options.now ?? '2026-03-01T12:00:00Z');
  const appOptions = {
    db: database.app,
    clock,
    logger: process.env.TEST_LOG ? createLogger('error', (line) => process.stderr.write(line + '\n')) : silentLogger,
    bodyLimitBytes: options.bodyLimitBytes,
    ...options.app,
  };
  const server = options.expressOnly ? http.createServer(createApp(appOptions)) : createServer(appOptions);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    database,
    close: async ({ checkIntegrity = true } = {}) => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      const problems = checkIntegrity ? await referentialProblems(database.owner) : [];
      await database.drop();
      if (problems.length > 0) throw new Error(`referential integrity broken:\n${problems.join('\n')}`);
    },
  };
}

/**
 * The service's dependencies on the harness's database and clock, for tests that call a service function directly;
 * `db` another pool of the service's role (e.g. one that catches the statements sent).
 */
export function serviceDeps(harness: Harness, db: Deps['db'] = harness.database.app): Deps {
  return {
    db,
    clock: harness.clock,
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 3600,
  };
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

/** A REST call with an API key; the response is checked against the OpenAPI document. */
export async function rest<T = any>(
  harness: Harness,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(harness.url + path, { method, headers, body });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  checkResponse(method, path, response.status, parsed);
  return { status: response.status, body: parsed };
}

/** REST calls with one key for setup code (benches): the body of a 2xx answer, anything else thrown with its body. */
export function restAs(harness: Harness, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await rest(harness, method, path, { key, body });
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
}

/** A tRPC call as the dashboard makes it (no transformer): queries are GETs, mutations POSTs. */
export async function trpc<T = any>(
  harness: Harness,
  kind: 'query' | 'mutation',
  procedure: string,
  input?: unknown,
  session?: string,
): Promise<
  HttpResult<T> & {
    error?: {
      message: string;
      data: {
        code: string;
        httpStatus: number;
        app?: { kind: string; code: string; details: { field: string; reason: string }[] };
      };
    };
  }
> {
  const headers: Record<string, string> = {};
  if (session) headers.authorization = `Bearer ${session}`;
  let response: Response;
  if (kind === 'query') {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    response = await fetch(`${harness.url}/trpc/${procedure}${query}`, { headers });
  } else {
    headers['content-type'] = 'application/json';
    response = await fetch(`${harness.url}/trpc/${procedure}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(input ?? {}),
    });
  }
  const json = (await response.json()) as any;
  return { status: response.status, body: json.result?.data, error: json.error };
}

export interface TenantFixture {
  tenantId: string;
  /** The tenant's login name. */
  slug: string;
  email: string;
  session: string;
  secretKey: string;
  publishableKey: string;
}

let counter = 0;

/** Signs a tenant up and creates one secret and one publishable key. */
export async function signUpTenant(harness: Harness, name = `Tenant ${++counter}`): Promise<TenantFixture> {
  const email = `owner-${counter}-${Math.random().toString(36).slice(2)}@example.com`;
  const signup = await trpc(harness, 'mutation', 'auth.signup', {
    tenant_name: name,
    email,
    password: 'correct horse battery staple',
  });
  if (signup.status !== 200) throw new Error(`signup failed: ${JSON.stringify(signup.error)}`);
  const session = signup.body.session.token as string;
  const secret = await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: 'backend' }, session);
  const publishable = await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'publishable', name: 'web' }, session);
  return {
    tenantId: signup.body.tenant.id,
    slug: signup.body.tenant.slug,
    email,
    session,
    secretKey: secret.body.secret,
    publishableKey: publishable.body.secret,
  };
}

/**
 * The LLM tenant the ingestion tests and benches rate on: exampleBook, a sum meter of input tokens by model and a
 * count meter, and each of `customerIds` in USD on the book from `effectiveFrom`.
 */
export async function setUpLlmCustomers(
  harness: Harness,
  key: string,
  customerIds: readonly string[],
  effectiveFrom = '2026-01-01T00:00:00Z',
): Promise<void> {
  const setup: [string, string, unknown][] = [
    ['POST', '/v1/price_books', { book: exampleBook('llm', effectiveFrom) }],
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
    ['POST', '/v1/meters', { code: 'requests', name: 'Requests', event_type: 'llm.completion', aggregation: 'count' }],
  ];
  for (const id of customerIds) {
    setup.push(['POST', '/v1/customers', { external_id: id, currency: 'USD' }]);
    setup.push(['PUT', `/v1/customers/${id}/price_book`, { price_book: 'llm', effective_from: effectiveFrom }]);
  }
  for (const [method, path, body] of setup) {
    const response = await rest(harness, method, path, { key, body });
    if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  }
}

/** A rate card charging input and output tokens at these rates per unit; matched by model unless `match` says. */
export function tokenCard(
  id: string,
  inputRate: string,
  outputRate: string,
  match: Record<string, string> = { model: id },
) {
  return {
    id,
    match,
    charges: [
      { dimension: 'input_tokens', price: { model: 'per_unit', rate: inputRate } },
      { dimension: 'output_tokens', price: { model: 'per_unit', rate: outputRate } },
    ],
  };
}

/** A small valid price book in the kernel's JSON. */
export function exampleBook(id = 'llm', effectiveFrom = '2026-01-01T00:00:00Z') {
  return {
    id,
    currency: 'USD',
    versions: [
      {
        effective_from: effectiveFrom,
        rate_cards: [tokenCard('openai/gpt-4o', '2.5', '10', { provider: 'openai', model: 'gpt-4o' })],
      },
    ],
  };
}
