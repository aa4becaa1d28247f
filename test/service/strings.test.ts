// Every REST route and tRPC procedure that takes input, fed strings PostgreSQL cannot store (NUL, unpaired
// surrogates), control characters and over-long ids in every string and key of a valid request, with innocent
// ingestion requests sent beside them: never a 5xx, NUL and surrogates always a 400 naming the field, and every
// innocent request served.
import fc from 'fast-check';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter, createApp } from '../../service/src/app.ts';
import { closePeriod } from '../../service/src/domains/invoices/service.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';
import { checkResponse } from './openapi-check.ts';
import {
  exampleBook,
  rest,
  signUpTenant,
  startService,
  trpc,
  type Harness,
  type TenantFixture,
  serviceDeps,
} from './harness.ts';

// Webhook endpoints point at a local receiver (a loopback address, refused unless allowed).
process.env.WEBHOOK_ALLOW_PRIVATE = '1';

type Path = (string | number)[];
interface RestTemplate {
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}
interface Answer {
  status: number;
  /** The fields the error names (REST error details, tRPC app details, or the rejected event's field). */
  fields: string[];
  body: unknown;
}
interface Endpoint {
  name: string;
  /** The endpoint's input as the caller shapes it (REST: path, query, body; tRPC: the input). */
  input: unknown;
  call(input: unknown, raw?: { path?: Record<string, string>; queryKey?: string }): Promise<Answer>;
}

const llmEvent = (transactionId: string, customerId = 'acme') => ({
  transaction_id: transactionId,
  customer_id: customerId,
  event_type: 'llm.completion',
  timestamp: '2026-03-10T00:00:00Z',
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10 },
});
const tinyCatalogue = [
  { id: 'acme', name: 'Acme', models: [{ id: 'm1', match: { equals: 'm1' }, prices: { input_mtok: 1 } }] },
];

// What PostgreSQL refuses (or would silently corrupt): in any string, a 400 naming the field.
const unstorable = ['a\u0000b', '\u0000', '\ud800', 'x\udfff', 'ok\udbff'];
// Control characters: refused in ids and names, allowed as data (an event property's value): never a 5xx.
const controls = ['\u0001', 'x\u001b[31m', '\u007f', 'a\u0085b', '\u009f'];
const overLong = [101, 201, 256, 301, 1001, 4097, 100_000].map((n) => 'x'.repeat(n));
// In a URL path: NUL, undecodable bytes (a lone surrogate's UTF-8 form, an overlong NUL, 0xFF), over-long ids.
const badPathSegments = ['%00', 'a%00b', '%ED%A0%80', '%C0%80', '%FF', '%01', 'x'.repeat(256), 'x'.repeat(5000)];

function stringLeaves(value: unknown, path: Path = []): Path[] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringLeaves(item, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}

function objectPaths(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => objectPaths(item, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return [path, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...path, k]))];
  return [];
}

function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  copy[path[0]] = setAt(copy[path[0]], path.slice(1), replacement);
  return copy;
}

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<any>((v, key) => v?.[key], value);
}

describe('strings on every write path', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let receiver: Receiver;
  let innocentSeq = 0;
  const endpoints: Endpoint[] = [];
  const noInput = new Set([
    'GET /api_keys',
    'GET /billing_settings',
    'GET /users',
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
    'GET /openapi.json',
    'GET /webhook_endpoints',
    'GET /balance_token_keys',
    'GET /currency_settings',
    'GET /stripe/connection',
    'GET /dunning_policy',
    'GET /tax/settings',
  ]);
  const noInputProcedures = new Set([
    'auth.logout',
    'auth.me',
    'auth.resendVerification',
    'users.list',
    'apiKeys.list',
    'wallets.settings',
    'webhooks.list',
    'portal.summary',
    'portal.usage',
    'portal.credits',
    'portal.payment',
    'portal.paymentSetupLink',
    'currency.settings',
    'payments.connection',
    'payments.disconnect',
    'payments.dunningPolicy',
    'tax.settings',
  ]);

  /** `authorization`: what the route authenticates with, when not the tenant's secret key (e.g. a session for logout). */
  const restEndpoint = (route: string, template: RestTemplate, authorization?: () => string) => {
    const [method, pattern] = route.split(' ');
    endpoints.push({
      name: route,
      input: template,
      call: async (input, raw = {}) => {
        const t = input as RestTemplate;
        let url =
          '/v1' +
          pattern.replace(/:(\w+)/g, (_m, name: string) => raw.path?.[name] ?? encodeURIComponent(t.path![name]));
        const query = Object.entries(t.query ?? {}).map(
          ([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
        );
        if (raw.queryKey) query.push(`${raw.queryKey}=1`);
        if (query.length > 0) url += `?${query.join('&')}`;
        const headers: Record<string, string> = { authorization: `Bearer ${authorization?.() ?? tenant.secretKey}` };
        if (t.body !== undefined) headers['content-type'] = 'application/json';
        const response = await send(method, url, headers, t.body === undefined ? undefined : JSON.stringify(t.body));
        // Documents (PDF, HTML, CSV) answer other than JSON when they succeed.
        const body = response.text
          ? /^\s*[[{]/.test(response.text)
            ? JSON.parse(response.text)
            : response.text
          : undefined;
        checkResponse(method, url, response.status, body);
        const fields =
          route === 'POST /events' && response.status === 200
            ? body.events.flatMap((e: any) =>
                e.error
                  ? [e.error.field, ...(e.error.details ?? []).map((d: any) => d.field)].map(
                      (f) => `events.${e.index}.${f}`,
                    )
                  : [],
              )
            : (body?.error?.details ?? []).map((d: any) => d.field);
        return { status: response.status, fields, body };
      },
    });
  };
  /** `authorization`: the Bearer token when not the tenant owner's session (the portal's token). */
  const trpcEndpoint = (
    procedure: string,
    kind: 'query' | 'mutation',
    input: unknown,
    authorization?: () => string,
  ) => {
    endpoints.push({
      name: `trpc ${procedure}`,
      input,
      call: async (value) => {
        // As the harness's trpc() sends it, but a query too long for a URL is refused by Node's HTTP parser (431, no body).
        const headers: Record<string, string> = { authorization: `Bearer ${authorization?.() ?? tenant.session}` };
        const response =
          kind === 'query'
            ? await send('GET', `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(value))}`, headers)
            : await send(
                'POST',
                `/trpc/${procedure}`,
                { ...headers, 'content-type': 'application/json' },
                JSON.stringify(value),
              );
        const json = response.text ? JSON.parse(response.text) : undefined;
        const details: { field: string }[] = json?.error?.data?.app?.details ?? [];
        // Ingestion answers a bad event in its own outcome, as POST /events does.
        const outcomes: any[] | undefined =
          procedure === 'events.ingest' && response.status === 200 ? json.result.data.events : undefined;
        const fields = outcomes
          ? outcomes.flatMap((e) =>
              e.error
                ? [e.error.field, ...(e.error.details ?? []).map((d: any) => d.field)].map(
                    (f) => `events.${e.index}.${f}`,
                  )
                : [],
            )
          : details.map((d) => d.field);
        return { status: response.status, fields, body: json?.result?.data ?? json?.error };
      },
    });
  };

  /**
   * One request on a connection of its own (closed after): many concurrent requests on pooled keep-alive sockets
   * meet the race of a socket the server closes as idle while the client reuses it (ECONNRESET, in this process
   * where both share one event loop), which is no answer of the service's. The path is sent as given (raw bytes).
   */
  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request(harness.url + path, {
        method,
        agent: false,
        headers: {
          ...headers,
          connection: 'close',
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
        },
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  /** An ingestion request no other request's fault may fail: its one event must be accepted. */
  async function innocentIngestion(): Promise<void> {
    const id = `innocent-${++innocentSeq}`;
    const response = await send(
      'POST',
      '/v1/events',
      { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/json' },
      JSON.stringify({ events: [llmEvent(id)] }),
    );
    const body = JSON.parse(response.text);
    checkResponse('POST', '/v1/events', response.status, body);
    expect(response.status, response.text).toBe(200);
    expect(body.events[0]).toMatchObject({ transaction_id: id, status: 'accepted' });
  }

  beforeAll(async () => {
    // The account endpoints' rate limits (per address) would end the fuzz of signup and login early with 429s.
    const unlimited = { limit: 1_000_000, windowSeconds: 60 };
    harness = await startService({
      now: '2026-03-15T00:00:00Z',
      app: {
        rateLimits: {
          loginPerAddress: unlimited,
          loginPerAccount: unlimited,
          signupPerAddress: unlimited,
          resetPerAddress: unlimited,
          resetPerAccount: unlimited,
        },
      },
    });
    tenant = await signUpTenant(harness);
    const ok = async (method: string, path: string, body?: unknown) => {
      const response = await rest(harness, method, path, { key: tenant.secretKey, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
      return response.body;
    };
    await ok('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' });
    await ok('POST', '/v1/customers', { external_id: 'acme2', currency: 'USD' });
    await ok('POST', '/v1/customers', { external_id: 'sub', currency: 'USD' });
    await ok('POST', '/v1/customers', { external_id: 'reseller', currency: 'USD', is_reseller: true });
    await ok('POST', '/v1/price_books', { book: exampleBook('llm') });
    await ok('PUT', '/v1/customers/acme/price_book', { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' });
    await ok('POST', '/v1/meters', {
      code: 'tokens',
      name: 'Tokens',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'input_tokens',
    });
    await ok('POST', '/v1/plans', { code: 'pro', name: 'Pro', price_book: 'llm', interval: 'month', base_fee: '10' });
    await ok('POST', '/v1/customers/sub/subscriptions', { plan: 'pro', started_at: '2026-03-01T00:00:00Z' });
    const grant = await ok('POST', '/v1/customers/acme/credit_grants', { kind: 'prepaid', amount: '5' });
    const preempted = {
      ...llmEvent('seed-preempted'),
      properties: { ...llmEvent('x').properties, outcome: 'preempted' },
    };
    await ok('POST', '/v1/events', { events: [llmEvent('seed-1'), preempted] });
    // March of "sub" closes: a finalized invoice to void, pay and credit.
    const [subscriber] = await harness.database
      .owner`select id from customers where tenant_id = ${tenant.tenantId} and external_id = 'sub'`;
    harness.clock.set('2026-04-01T02:00:00Z');
    const deps = serviceDeps(harness);
    expect(await closePeriod(deps, tenant.tenantId, subscriber.id, new Date('2026-03-01T00:00:00Z'))).toBe('finalized');
    harness.clock.set('2026-03-15T00:00:00Z');
    const invoiceId = (await ok('GET', '/v1/invoices?customer_id=sub')).data[0].id as string;
    const creditNote = await ok('POST', `/v1/invoices/${invoiceId}/credit_notes`, { reason: 'seed', amount: '1' });
    // Holds to read, extend and release (one to release, one that stays open).
    await ok('POST', '/v1/customers/acme/holds', { id: 'fuzz-hold', amount: '0.01', expires_in: 3600 });
    await ok('POST', '/v1/customers/acme/holds', { id: 'fuzz-release', amount: '0.01', expires_in: 3600 });
    // Keys and a user the fuzz may revoke or demote without locking itself out.
    const spareKeys = [];
    for (let i = 0; i < 2; i++)
      spareKeys.push(
        (await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: `spare-${i}` }, tenant.session)).body
          .id as string,
      );
    const spareUsers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const user = await trpc(
        harness,
        'mutation',
        'users.create',
        { email: `spare-${i}@example.com`, password: 'correct horse battery staple', role: 'billing' },
        tenant.session,
      );
      expect(user.status).toBe(200);
      spareUsers.push((user.body.user ?? user.body).id as string);
    }
    const userId = spareUsers[0];
    // A session of its own for logout, which the fuzz may end.
    const login = { tenant: tenant.slug, email: tenant.email, password: 'correct horse battery staple' };
    const logoutSession = (await rest(harness, 'POST', '/v1/auth/login', { body: login })).body.session.token as string;
    // A book imported from a catalogue, which its updates (and their previews) name.
    await ok('POST', '/v1/price_books/import', {
      source: 'genai-prices',
      catalogue: tinyCatalogue,
      book_id: 'catalogue',
    });
    const catalogueUpdate = {
      source: 'genai-prices',
      catalogue: tinyCatalogue,
      effective_from: '2026-06-01T00:00:00Z',
    };
    const digest = 'a'.repeat(64);
    const password = 'correct horse battery staple';
    const uuid = '00000000-0000-4000-8000-000000000000';
    const amendment = { effective_at: '2026-03-20T00:00:00Z', discount_percent: '5', allowances: { tokens: '10' } };
    const customer = {
      external_id: 'new-customer',
      name: 'New',
      email: 'new@example.com',
      currency: 'USD',
      country: 'DE',
      tax_id: 'DE136695976',
      tax_status: 'business',
      region: 'BE',
      address: 'Torstrasse 1\n10119 Berlin',
      postal_code: '10119',
      parent_id: 'acme',
      metadata: { plan: 'pro' },
    };
    const taxSettings = {
      legal_name: 'Seller GmbH',
      address: 'Torstrasse 1\n10119 Berlin',
      country: 'DE',
      region: null,
      registrations: [
        { jurisdiction: 'DE', tax_id: 'DE136695976' },
        { jurisdiction: 'EU', tax_id: null },
      ],
    };
    const taxPeriod = { from: '2026-03-01', to: '2026-03-31' };
    const meter = {
      code: 'm-new',
      name: 'M',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'input_tokens',
      group_by: ['model'],
      filters: [
        { property: 'model', op: 'eq', value: 'gpt-4o' },
        { property: 'region', op: 'in', values: ['eu'] },
      ],
    };
    const grantInput = {
      kind: 'goodwill',
      amount: '1',
      name: 'G',
      reason: 'Outage',
      scope: { cards: ['openai/gpt-4o'], event_types: ['llm.completion'], meters: ['tokens'] },
    };
    const plan = {
      code: 'p-new',
      name: 'P',
      price_book: 'llm',
      interval: 'month',
      base_fee: '10',
      allowances: { tokens: '1000' },
    };
    const importInput = { source: 'genai-prices', catalogue: tinyCatalogue, book_id: 'imported', name: 'Imported' };
    const version = exampleBook('llm', '2027-01-01T00:00:00Z').versions[0];
    const estimate = { price_book: 'llm', events: [llmEvent('quote-1')], states: { acme: { counters: {} } } };
    const check = { estimated_cost: '1', event_type: 'llm.completion', card: 'openai/gpt-4o', project: 'p1' };
    const sla = { transaction_id: 'seed-preempted', reason: 'Reclaimed', percent: '50' };
    // A webhook endpoint (its test sends reach the receiver), two the fuzz may delete, and a message of its.
    receiver = await startReceiver();
    const hookUrl = `${receiver.url}/hook`;
    const hook = await ok('POST', '/v1/webhook_endpoints', { url: hookUrl, description: 'Seed' });
    const spareHooks: string[] = [];
    for (let i = 0; i < 2; i++)
      spareHooks.push((await ok('POST', '/v1/webhook_endpoints', { url: `${receiver.url}/spare-${i}` })).id as string);
    const messageId = (await ok('POST', `/v1/webhook_endpoints/${hook.id}/test`, {})).message_id as string;
    const hookChanges = {
      url: hookUrl,
      description: 'ERP sync\nsecond line',
      event_types: ['webhook.test', 'invoice.paid'],
    };
    const testSend = { event_type: 'webhook.test', payload: { note: 'hello', nested: { list: ['a', 'b'] } } };
    const replay = { since: '2026-03-01T00:00:00Z', until: '2026-03-16T00:00:00Z', include_succeeded: true };

    restEndpoint('POST /events', { body: { events: [llmEvent('fuzz-event')] } });
    restEndpoint('POST /estimates', { body: estimate });
    restEndpoint('GET /events/:transaction_id/receipt', { path: { transaction_id: 'seed-1' } });
    restEndpoint('GET /customers/:id/usage', { path: { id: 'acme' }, query: { at: '2026-03-10T00:00:00Z' } });
    restEndpoint('GET /customers/:id/usage/series', {
      path: { id: 'acme' },
      query: { from: '2026-03-01T00:00:00Z', until: '2026-03-31T00:00:00Z', granularity: 'hour', meter: 'tokens' },
    });
    restEndpoint('GET /customers', { query: { limit: '10', starting_after: 'acme' } });
    restEndpoint('POST /customers', { body: customer });
    restEndpoint('GET /customers/:id', { path: { id: 'acme' } });
    restEndpoint('PATCH /customers/:id', {
      path: { id: 'acme' },
      body: { name: 'Acme', tax_id: 'T1', metadata: { tier: 'gold' } },
    });
    restEndpoint('POST /customers/:id/tax_id/verify', { path: { id: 'acme' } });
    restEndpoint('PUT /tax/settings', { body: taxSettings });
    restEndpoint('GET /tax/report', { query: taxPeriod });
    restEndpoint('GET /tax/report.csv', { query: taxPeriod });
    restEndpoint('PUT /customers/:id/price_book', {
      path: { id: 'acme' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    restEndpoint('GET /meters', { query: { starting_after: 'tokens', include_archived: 'true' } });
    restEndpoint('POST /meters', { body: meter });
    restEndpoint('GET /meters/:code', { path: { code: 'tokens' } });
    restEndpoint('PATCH /meters/:code', { path: { code: 'tokens' }, body: { name: 'Tokens' } });
    restEndpoint('GET /price_books', { query: { starting_after: 'llm' } });
    restEndpoint('POST /price_books', { body: { name: 'Book', book: exampleBook('b-new') } });
    restEndpoint('POST /price_books/import', { body: importInput });
    restEndpoint('GET /price_books/:code', { path: { code: 'llm' } });
    restEndpoint('POST /price_books/:code/versions', { path: { code: 'llm' }, body: { version } });
    restEndpoint('POST /api_keys', { body: { kind: 'secret', name: 'k', role: 'viewer' } });
    restEndpoint('DELETE /api_keys/:id', { path: { id: spareKeys[0] } });
    restEndpoint('GET /audit_log', { query: { entity_type: 'customer', entity_id: 'x', before_id: uuid, limit: '5' } });
    restEndpoint('GET /customers/:id/wallet', { path: { id: 'acme' } });
    restEndpoint('PATCH /customers/:id/wallet', { path: { id: 'acme' }, body: { on_depletion: 'overage' } });
    restEndpoint('GET /customers/:id/credit_grants', { path: { id: 'acme' }, query: { status: 'active' } });
    restEndpoint('POST /customers/:id/credit_grants', { path: { id: 'acme' }, body: grantInput });
    restEndpoint('POST /customers/:id/credit_grants/:grant_id/void', {
      path: { id: 'acme', grant_id: grant.id },
      body: { reason: 'Refund' },
    });
    restEndpoint('PUT /billing_settings', { body: { credit_expiry_notice_days: 7 } });
    restEndpoint('GET /ledger/accounts', { query: { customer_id: 'acme' } });
    restEndpoint('GET /ledger/transactions', {
      query: { customer_id: 'acme', reference: 'seed-1', starting_after: uuid },
    });
    restEndpoint('GET /customers/:id/budget', { path: { id: 'acme' } });
    restEndpoint('PUT /customers/:id/budget', { path: { id: 'acme' }, body: { amount: '100', enforcement: 'alert' } });
    restEndpoint('DELETE /customers/:id/budget', { path: { id: 'acme' } });
    restEndpoint('GET /customers/:id/budget_alerts', { path: { id: 'acme' }, query: { at: '2026-03-10T00:00:00Z' } });
    restEndpoint('GET /customers/:id/scoped_budgets', { path: { id: 'acme' } });
    restEndpoint('PUT /customers/:id/scoped_budgets/:kind/:value', {
      path: { id: 'acme', kind: 'project', value: 'p1' },
      body: { amount: '5' },
    });
    restEndpoint('DELETE /customers/:id/scoped_budgets/:kind/:value', {
      path: { id: 'acme', kind: 'project', value: 'p1' },
    });
    restEndpoint('POST /customers/:id/check', { path: { id: 'acme' }, body: check });
    restEndpoint('GET /plans', { query: { starting_after: 'pro' } });
    restEndpoint('POST /plans', { body: plan });
    restEndpoint('GET /plans/:code', { path: { code: 'pro' } });
    restEndpoint('GET /customers/:id/subscription', { path: { id: 'sub' } });
    restEndpoint('POST /customers/:id/subscriptions', {
      path: { id: 'acme2' },
      body: { plan: 'pro', started_at: '2026-03-01T00:00:00Z', discount_percent: '5' },
    });
    restEndpoint('GET /customers/:id/subscription/amendments', { path: { id: 'sub' } });
    restEndpoint('POST /customers/:id/subscription/amendments', { path: { id: 'sub' }, body: amendment });
    restEndpoint('GET /invoices', { query: { customer_id: 'sub', status: 'finalized' } });
    restEndpoint('GET /invoices/:id', { path: { id: invoiceId } });
    restEndpoint('POST /invoices/:id/finalize', { path: { id: invoiceId } });
    restEndpoint('POST /invoices/:id/pay', { path: { id: invoiceId }, body: { paid_at: '2026-04-02T00:00:00Z' } });
    restEndpoint('POST /invoices/:id/void', { path: { id: invoiceId }, body: { reason: 'Billed in error' } });
    restEndpoint('POST /invoices/:id/credit_notes', {
      path: { id: invoiceId },
      body: { reason: 'Slow responses', amount: '1' },
    });
    restEndpoint('GET /credit_notes', { query: { customer_id: 'sub', invoice_id: invoiceId } });
    restEndpoint('GET /credit_notes/:id', { path: { id: creditNote.id } });
    restEndpoint('GET /reratings', { query: { price_book: 'llm', status: 'pending' } });
    restEndpoint('GET /reratings/:id', { path: { id: uuid } });
    restEndpoint('POST /reratings/:id/approve', { path: { id: uuid } });
    restEndpoint('GET /events/:transaction_id/revisions', { path: { transaction_id: 'seed-1' } });
    restEndpoint('GET /customers/:id/pricing-snapshot', { path: { id: 'acme' } });
    restEndpoint('GET /resellers/:customer_id/margins', {
      path: { customer_id: 'acme' },
      query: { from: '2026-03-01', to: '2026-03-31', group_by: 'day' },
    });
    restEndpoint('GET /margins', { query: { from: '2026-03-01', to: '2026-03-31', group_by: 'card' } });
    restEndpoint('POST /quotes', { body: { event: llmEvent('quoted-1'), expires_in: 60 } });
    restEndpoint('GET /customers/:id/sla_credits', { path: { id: 'acme' } });
    restEndpoint('POST /customers/:id/sla_credits', { path: { id: 'acme' }, body: sla });
    restEndpoint('POST /auth/signup', {
      body: {
        tenant_name: 'Fuzzed REST',
        tenant_slug: 'fuzzed-rest',
        email: 'fuzzed-rest@example.com',
        password,
        name: 'F',
      },
    });
    restEndpoint('POST /auth/login', { body: login });
    restEndpoint('POST /auth/logout', {}, () => logoutSession);
    restEndpoint('POST /auth/verify_email', { body: { token: 'vfy_' + 'A'.repeat(43) } });
    restEndpoint('POST /auth/password_reset', { body: { tenant: tenant.slug, email: tenant.email } });
    restEndpoint('POST /auth/password_reset/confirm', {
      body: { token: 'rst_' + 'A'.repeat(43), password: 'a brand new password' },
    });
    restEndpoint('POST /users', { body: { email: 'user-rest@example.com', password, name: 'U', role: 'viewer' } });
    restEndpoint('PATCH /users/:id', { path: { id: spareUsers[0] }, body: { role: 'viewer' } });
    restEndpoint('DELETE /users/:id', { path: { id: spareUsers[1] } });
    restEndpoint('POST /price_books/:code/import/preview', { path: { code: 'catalogue' }, body: catalogueUpdate });
    restEndpoint('POST /price_books/:code/import', {
      path: { code: 'catalogue' },
      body: { ...catalogueUpdate, preview_digest: digest },
    });
    restEndpoint('POST /customers/:id/periods/close', {
      path: { id: 'sub' },
      body: { period_start: '2026-02-01T00:00:00Z' },
    });
    restEndpoint('GET /notifications', { query: { customer_id: 'acme', type: 'credit_grant.expiring' } });
    restEndpoint('POST /webhook_endpoints', {
      body: { url: `${receiver.url}/created`, description: 'ERP', event_types: ['invoice.paid'], enabled: true },
    });
    restEndpoint('GET /webhook_endpoints/:id', { path: { id: hook.id } });
    restEndpoint('PATCH /webhook_endpoints/:id', { path: { id: hook.id }, body: hookChanges });
    restEndpoint('DELETE /webhook_endpoints/:id', { path: { id: spareHooks[0] } });
    restEndpoint('POST /webhook_endpoints/:id/rotate_secret', { path: { id: hook.id }, body: { overlap_seconds: 60 } });
    restEndpoint('POST /webhook_endpoints/:id/test', { path: { id: hook.id }, body: testSend });
    restEndpoint('POST /webhook_endpoints/:id/replay', { path: { id: hook.id }, body: replay });
    restEndpoint('GET /webhook_endpoints/:id/deliveries', {
      path: { id: hook.id },
      query: { status: 'succeeded', limit: '10', starting_after: messageId },
    });
    restEndpoint('GET /webhook_messages', {
      query: { event_type: 'webhook.test', since: '2026-03-01T00:00:00Z', until: '2026-03-16T00:00:00Z', limit: '10' },
    });
    restEndpoint('POST /customers/:id/portal_links', { path: { id: 'acme' }, body: { expires_in: 600 } });
    restEndpoint('POST /customers/:id/portal_tokens', { path: { id: 'acme' }, body: { expires_in: 600 } });
    const resellerBrand = {
      display_name: 'Resold',
      logo_url: 'https://cdn.example/resold.png',
      legal_name: 'Resold Ltd',
      address: '1 Road\nTown',
      country: 'DE',
      tax_ids: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
      invoice_prefix: 'RS',
      currency: 'EUR',
      reply_to: 'billing@resold.example',
      stripe_account: 'acct_1Resold',
    };
    restEndpoint('GET /customers/:id/brand', { path: { id: 'reseller' } });
    restEndpoint('PUT /customers/:id/brand', { path: { id: 'reseller' }, body: resellerBrand });
    restEndpoint('GET /webhook_messages/:id/attempts', { path: { id: messageId }, query: { endpoint_id: hook.id } });
    restEndpoint('POST /webhook_messages/:id/retry', { path: { id: messageId }, body: { endpoint_id: hook.id } });
    restEndpoint('POST /customers/:id/holds', {
      path: { id: 'acme' },
      body: {
        id: 'fuzz-placed',
        estimate: {
          event_type: 'llm.completion',
          properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 10, output_tokens: 10 },
        },
        expires_in: 600,
        overrun: 'refuse',
      },
    });
    restEndpoint('GET /customers/:id/holds', { path: { id: 'acme' }, query: { status: 'open', limit: '10' } });
    restEndpoint('GET /customers/:id/holds/:hold_id', { path: { id: 'acme', hold_id: 'fuzz-hold' } });
    restEndpoint('POST /customers/:id/holds/:hold_id/extend', {
      path: { id: 'acme', hold_id: 'fuzz-hold' },
      body: { expires_in: 3600, amount: '0.01' },
    });
    restEndpoint('POST /customers/:id/holds/:hold_id/release', { path: { id: 'acme', hold_id: 'fuzz-release' } });
    restEndpoint('GET /customers/:id/balance_token', { path: { id: 'acme' } });
    const fxRate = { base: 'EUR', quote: 'USD', rate: '1.0834', as_of: '2026-03-02T00:00:00Z', source: 'ecb' };
    const ecbFile = 'Date,USD,JPY,\n2026-03-03,1.0811,N/A,\n';
    const reportRange = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
    restEndpoint('PATCH /currency_settings', { body: { reporting_currency: 'EUR', fx_policy: 'period_end' } });
    restEndpoint('POST /fx_rates', { body: { rates: [fxRate] } });
    restEndpoint('GET /fx_rates', { query: { base: 'EUR', quote: 'USD', at: '2026-03-10T00:00:00Z', limit: '10' } });
    restEndpoint('POST /fx_rates/ecb', { query: { source: 'ecb' }, body: { csv: ecbFile } });
    restEndpoint('GET /reports/revenue', { query: { ...reportRange, format: 'json' } });
    // Payments: no Stripe is configured here, so the Stripe calls stop at 422 (not connected, no SECRETS_KEY) after
    // their inputs were checked.
    restEndpoint('PUT /stripe/connection', {
      body: { secret_key: 'rk_test_abcdefghijkl', webhook_secret: 'whsec_abcdefghijkl' },
    });
    restEndpoint('DELETE /stripe/connection', {});
    restEndpoint('GET /stripe/events', { query: { limit: '10' } });
    restEndpoint('POST /stripe/events/:tenant', { path: { tenant: tenant.slug }, body: { id: 'evt_1', type: 'ping' } });
    restEndpoint('PUT /dunning_policy', { body: { retry_after_days: [1, 3.5], block_after_days: 2 } });
    restEndpoint('GET /customers/:id/payment', { path: { id: 'acme' } });
    restEndpoint('POST /customers/:id/payment_setup_link', {
      path: { id: 'acme' },
      body: { success_url: 'https://example.com/ok', cancel_url: 'https://example.com/cancel' },
    });
    restEndpoint('GET /invoices/:id/collection', { path: { id: invoiceId } });
    restEndpoint('POST /invoices/:id/retry_payment', { path: { id: invoiceId } });
    restEndpoint('POST /invoices/:id/mark_uncollectible', {
      path: { id: invoiceId },
      body: { reason: 'Customer gone' },
    });
    restEndpoint('POST /invoices/:id/write_off', { path: { id: invoiceId }, body: { reason: 'Customer gone' } });

    trpcEndpoint('holds.place', 'mutation', { id: 'acme', hold: { id: 'fuzz-trpc', amount: '0.01', expires_in: 600 } });
    trpcEndpoint('holds.list', 'query', { id: 'acme', status: 'open', limit: 10 });
    trpcEndpoint('holds.get', 'query', { id: 'acme', hold_id: 'fuzz-hold' });
    trpcEndpoint('holds.extend', 'mutation', { id: 'acme', hold_id: 'fuzz-hold', extension: { expires_in: 3600 } });
    trpcEndpoint('holds.release', 'mutation', { id: 'acme', hold_id: 'fuzz-release' });
    trpcEndpoint('holds.balanceToken', 'query', { id: 'acme' });
    trpcEndpoint('auth.signup', 'mutation', {
      tenant_name: 'Fuzzed',
      email: 'fuzzed@example.com',
      password: 'correct horse battery staple',
      name: 'F',
    });
    trpcEndpoint('auth.login', 'mutation', login);
    trpcEndpoint('auth.verifyEmail', 'mutation', { token: 'vfy_' + 'A'.repeat(43) });
    trpcEndpoint('auth.requestPasswordReset', 'mutation', { tenant: tenant.slug, email: tenant.email });
    trpcEndpoint('auth.resetPassword', 'mutation', {
      token: 'rst_' + 'A'.repeat(43),
      password: 'a brand new password',
    });
    trpcEndpoint('users.remove', 'mutation', { user_id: spareUsers[2] });
    trpcEndpoint('users.create', 'mutation', {
      email: 'user-new@example.com',
      password: 'correct horse battery staple',
      name: 'U',
      role: 'viewer',
    });
    trpcEndpoint('users.changeRole', 'mutation', { user_id: userId, role: 'viewer' });
    trpcEndpoint('apiKeys.create', 'mutation', { kind: 'secret', name: 'k', role: 'viewer' });
    trpcEndpoint('apiKeys.revoke', 'mutation', { id: spareKeys[1] });
    trpcEndpoint('customers.list', 'query', { limit: 5, starting_after: 'acme' });
    trpcEndpoint('customers.get', 'query', { id: 'acme' });
    trpcEndpoint('customers.create', 'mutation', { ...customer, external_id: 'trpc-customer' });
    trpcEndpoint('customers.update', 'mutation', {
      id: 'acme',
      changes: { name: 'Acme', tax_id: 'T2', metadata: { tier: 'gold' } },
    });
    trpcEndpoint('customers.assignPriceBook', 'mutation', {
      id: 'acme',
      assignment: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    trpcEndpoint('meters.list', 'query', { starting_after: 'tokens' });
    trpcEndpoint('meters.get', 'query', { code: 'tokens' });
    trpcEndpoint('meters.create', 'mutation', { ...meter, code: 'm-trpc' });
    trpcEndpoint('meters.update', 'mutation', { code: 'tokens', changes: { name: 'Tokens' } });
    trpcEndpoint('priceBooks.list', 'query', { starting_after: 'llm' });
    trpcEndpoint('priceBooks.get', 'query', { code: 'llm' });
    trpcEndpoint('priceBooks.create', 'mutation', { name: 'Book', book: exampleBook('b-trpc') });
    trpcEndpoint('priceBooks.import', 'mutation', { ...importInput, book_id: 'imported-trpc' });
    trpcEndpoint('priceBooks.previewImportUpdate', 'mutation', { code: 'catalogue', update: catalogueUpdate });
    trpcEndpoint('priceBooks.importUpdate', 'mutation', {
      code: 'catalogue',
      update: { ...catalogueUpdate, preview_digest: digest },
    });
    trpcEndpoint('priceBooks.addVersion', 'mutation', { code: 'llm', version: { version } });
    trpcEndpoint('audit.list', 'query', { entity_type: 'customer', entity_id: 'x' });
    trpcEndpoint('events.estimate', 'mutation', estimate);
    trpcEndpoint('events.ingest', 'mutation', {
      events: [
        {
          transaction_id: 'trpc-ingest-1',
          customer_id: 'acme',
          event_type: 'llm.completion',
          timestamp: '2026-03-10T00:00:00Z',
          properties: { input_tokens: 5 },
        },
      ],
      on_block: 'accept',
    });
    trpcEndpoint('events.receipt', 'query', { transaction_id: 'seed-1' });
    trpcEndpoint('events.usage', 'query', { id: 'acme', at: '2026-03-10T00:00:00Z' });
    trpcEndpoint('wallets.get', 'query', { id: 'acme' });
    trpcEndpoint('wallets.update', 'mutation', { id: 'acme', changes: { on_depletion: 'overage' } });
    trpcEndpoint('wallets.grants', 'query', { id: 'acme', status: 'active' });
    trpcEndpoint('wallets.createGrant', 'mutation', { id: 'acme', grant: grantInput });
    trpcEndpoint('wallets.voidGrant', 'mutation', { id: 'acme', grant_id: grant.id, reason: 'Refund' });
    trpcEndpoint('wallets.updateSettings', 'mutation', { credit_expiry_notice_days: 7 });
    trpcEndpoint('ledger.accounts', 'query', { customer_id: 'acme' });
    trpcEndpoint('ledger.transactions', 'query', { customer_id: 'acme', reference: 'seed-1' });
    trpcEndpoint('budgets.get', 'query', { id: 'acme' });
    trpcEndpoint('budgets.set', 'mutation', { id: 'acme', budget: { amount: '100' } });
    trpcEndpoint('budgets.delete', 'mutation', { id: 'acme' });
    trpcEndpoint('budgets.alerts', 'query', { id: 'acme', at: '2026-03-10T00:00:00Z' });
    trpcEndpoint('budgets.scoped', 'query', { id: 'acme' });
    trpcEndpoint('budgets.setScoped', 'mutation', {
      id: 'acme',
      kind: 'project',
      value: 'p1',
      budget: { amount: '5' },
    });
    trpcEndpoint('budgets.deleteScoped', 'mutation', { id: 'acme', kind: 'project', value: 'p1' });
    trpcEndpoint('budgets.check', 'query', { id: 'acme', request: check });
    trpcEndpoint('plans.list', 'query', { starting_after: 'pro' });
    trpcEndpoint('plans.get', 'query', { code: 'pro' });
    trpcEndpoint('plans.create', 'mutation', { ...plan, code: 'p-trpc' });
    trpcEndpoint('subscriptions.get', 'query', { id: 'sub' });
    trpcEndpoint('subscriptions.create', 'mutation', {
      id: 'acme2',
      subscription: { plan: 'pro', discount_percent: '5' },
    });
    trpcEndpoint('subscriptions.amendments', 'query', { id: 'sub' });
    trpcEndpoint('subscriptions.amend', 'mutation', { id: 'sub', amendment });
    trpcEndpoint('invoices.list', 'query', { customer_id: 'sub', status: 'finalized' });
    trpcEndpoint('invoices.get', 'query', { id: invoiceId });
    trpcEndpoint('invoices.finalize', 'mutation', { id: invoiceId });
    trpcEndpoint('invoices.pay', 'mutation', { id: invoiceId, paid_at: '2026-04-02T00:00:00Z' });
    trpcEndpoint('invoices.closePeriods', 'mutation', { id: 'sub', period_start: '2026-02-01T00:00:00Z' });
    trpcEndpoint('invoices.void', 'mutation', { id: invoiceId, reason: 'Billed in error' });
    trpcEndpoint('creditNotes.list', 'query', { customer_id: 'sub' });
    trpcEndpoint('creditNotes.get', 'query', { id: creditNote.id });
    trpcEndpoint('creditNotes.create', 'mutation', {
      invoice_id: invoiceId,
      credit_note: { reason: 'Slow', amount: '1' },
    });
    trpcEndpoint('tax.updateSettings', 'mutation', taxSettings);
    trpcEndpoint('tax.report', 'query', taxPeriod);
    trpcEndpoint('tax.reportCsv', 'query', taxPeriod);
    trpcEndpoint('customers.verifyTaxId', 'mutation', { id: 'acme' });
    restEndpoint('GET /invoices/:id/pdf', { path: { id: invoiceId } });
    restEndpoint('GET /invoices/:id/html', { path: { id: invoiceId } });
    trpcEndpoint('documents.invoice', 'query', { id: invoiceId, format: 'pdf' });
    restEndpoint('GET /credit_notes/:id/pdf', { path: { id: creditNote.id } });
    restEndpoint('GET /credit_notes/:id/html', { path: { id: creditNote.id } });
    trpcEndpoint('reratings.list', 'query', { price_book: 'llm' });
    trpcEndpoint('reratings.get', 'query', { id: uuid });
    trpcEndpoint('reratings.approve', 'mutation', { id: uuid });
    trpcEndpoint('reratings.revisions', 'query', { transaction_id: 'seed-1' });
    trpcEndpoint('slaCredits.list', 'query', { id: 'acme' });
    trpcEndpoint('slaCredits.create', 'mutation', { id: 'acme', credit: sla });
    trpcEndpoint('notifications.list', 'query', { customer_id: 'acme' });
    trpcEndpoint('webhooks.create', 'mutation', {
      url: `${receiver.url}/created-trpc`,
      description: 'ERP',
      event_types: ['credit_note.issued'],
    });
    trpcEndpoint('webhooks.get', 'query', { id: hook.id });
    trpcEndpoint('webhooks.update', 'mutation', { id: hook.id, input: hookChanges });
    trpcEndpoint('webhooks.delete', 'mutation', { id: spareHooks[1] });
    trpcEndpoint('webhooks.rotateSecret', 'mutation', { id: hook.id, input: { overlap_seconds: 0 } });
    trpcEndpoint('webhooks.sendTest', 'mutation', { id: hook.id, input: testSend });
    trpcEndpoint('webhooks.replay', 'mutation', { id: hook.id, input: replay });
    trpcEndpoint('webhooks.deliveries', 'query', {
      id: hook.id,
      input: { status: 'pending', limit: 10, starting_after: messageId },
    });
    trpcEndpoint('webhooks.messages', 'query', {
      event_type: 'webhook.test',
      since: '2026-03-01T00:00:00Z',
      limit: 10,
    });
    trpcEndpoint('webhooks.attempts', 'query', { message_id: messageId, endpoint_id: hook.id });
    trpcEndpoint('webhooks.retry', 'mutation', { message_id: messageId, endpoint_id: hook.id });
    trpcEndpoint('payments.connect', 'mutation', {
      secret_key: 'rk_test_abcdefghijkl',
      webhook_secret: 'whsec_abcdefghijkl',
    });
    trpcEndpoint('payments.events', 'query', { limit: 10 });
    trpcEndpoint('payments.setDunningPolicy', 'mutation', { retry_after_days: [2, 4], block_after_days: null });
    trpcEndpoint('payments.customer', 'query', { id: 'acme' });
    trpcEndpoint('payments.setupLink', 'mutation', { id: 'acme', input: { success_url: 'https://example.com/ok' } });
    trpcEndpoint('payments.collection', 'query', { id: invoiceId });
    trpcEndpoint('payments.retry', 'mutation', { id: invoiceId });
    trpcEndpoint('payments.markUncollectible', 'mutation', { id: invoiceId, input: { reason: 'Customer gone' } });
    trpcEndpoint('payments.writeOff', 'mutation', { id: invoiceId, input: { reason: 'Customer gone' } });
    trpcEndpoint('insights.customers', 'query', { query: 'ac', parent_id: 'acme', limit: 10, cursor: 'a' });
    trpcEndpoint('insights.customer', 'query', { id: 'acme' });
    trpcEndpoint('insights.usageSeries', 'query', {
      customer_id: 'acme',
      from: '2026-03-01T00:00:00Z',
      until: '2026-03-16T00:00:00Z',
      granularity: 'hour',
      meter: 'tokens',
    });
    trpcEndpoint('simulations.run', 'mutation', {
      price_book: 'llm',
      draft: exampleBook('llm').versions[0],
      from: '2026-03-01T00:00:00Z',
      until: '2026-04-01T00:00:00Z',
      customers: ['acme'],
    });
    trpcEndpoint('simulations.receipt', 'mutation', {
      price_book: 'llm',
      draft: exampleBook('llm').versions[0],
      transaction_id: 'seed-1',
    });
    const portalToken = (await trpc(harness, 'mutation', 'portal.createLink', { customer_id: 'acme' }, tenant.session))
      .body.token as string;
    trpcEndpoint('portal.createLink', 'mutation', { customer_id: 'acme', expires_in: 600 });
    trpcEndpoint('portal.createEmbedToken', 'mutation', { customer_id: 'acme', expires_in: 600 });
    trpcEndpoint('portal.brand', 'query', { customer_id: 'acme' });
    trpcEndpoint('portal.resellerBrand', 'query', { id: 'reseller' });
    trpcEndpoint('portal.resellerLogo', 'query', { id: 'reseller' });
    trpcEndpoint('portal.setResellerBrand', 'mutation', { id: 'reseller', ...resellerBrand });
    trpcEndpoint('portal.setBrand', 'mutation', {
      display_name: 'Brand',
      logo_url: 'https://cdn.example/logo.png',
      accent_color: '#123456',
    });
    trpcEndpoint(
      'portal.usageSeries',
      'query',
      { from: '2026-03-01T00:00:00Z', until: '2026-03-16T00:00:00Z', granularity: 'day', meter: 'tokens' },
      () => portalToken,
    );
    trpcEndpoint('portal.invoices', 'query', { limit: 5 }, () => portalToken);
    trpcEndpoint('portal.invoice', 'query', { id: invoiceId }, () => portalToken);
    trpcEndpoint('currency.updateSettings', 'mutation', { reporting_currency: 'USD', fx_policy: 'finalization' });
    trpcEndpoint('currency.supplyRates', 'mutation', { rates: [fxRate] });
    trpcEndpoint('currency.rates', 'query', { base: 'EUR', limit: 10 });
    trpcEndpoint('currency.importEcb', 'mutation', { csv: ecbFile, source: 'ecb' });
    trpcEndpoint('currency.revenueReport', 'query', reportRange);
    trpcEndpoint('resellers.margins', 'query', { customer_id: 'acme', from: '2026-03-01', to: '2026-03-31' });
    trpcEndpoint('resellers.marginsCsv', 'query', { from: '2026-03-01', to: '2026-03-31', group_by: 'card' });
  });
  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  it('covers every REST route and tRPC procedure that takes input', () => {
    const app = createApp({ db: harness.database.app, clock: harness.clock }) as any;
    const routes: string[] = [];
    const walk = (stack: any[]) => {
      for (const layer of stack) {
        if (layer.route)
          for (const method of Object.keys(layer.route.methods))
            routes.push(`${method.toUpperCase()} ${layer.route.path}`);
        else if (layer.handle?.stack) walk(layer.handle.stack);
      }
    };
    walk(app.router.stack);
    const covered = new Set(endpoints.map((e) => e.name));
    expect(routes.filter((route) => !noInput.has(route) && !covered.has(route))).toEqual([]);
    const procedures = Object.keys((appRouter as any)._def.procedures);
    expect(procedures.filter((p) => !noInputProcedures.has(p) && !covered.has(`trpc ${p}`))).toEqual([]);
    // Every write route is among them.
    expect(routes.filter((r) => !r.startsWith('GET ')).every((r) => covered.has(r))).toBe(true);
  });

  it('starts from inputs the endpoints accept: no template is refused as an invalid request', async () => {
    const refused: string[] = [];
    for (const endpoint of endpoints) {
      const answer = await endpoint.call(endpoint.input);
      const code = (answer.body as any)?.error?.code ?? (answer.body as any)?.data?.app?.code;
      if (answer.status >= 500 || code === 'invalid_request')
        refused.push(`${endpoint.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
    expect(refused).toEqual([]);
  });

  it('answers NUL or an unpaired surrogate in any string or key of any input with a 400 naming the field', async () => {
    const failures: string[] = [];
    let tried = 0;
    for (const endpoint of endpoints) {
      const isRest = !endpoint.name.startsWith('trpc ');
      // REST path and query values travel in the URL: tried apart below.
      const leaves = stringLeaves(endpoint.input).filter((path) => !isRest || path[0] === 'body');
      const objects = objectPaths(endpoint.input).filter((path) => !isRest || (path[0] === 'body' && path.length >= 1));
      const cases: { input: unknown; field: string }[] = [];
      for (const [i, leaf] of leaves.entries()) {
        const bad = unstorable[i % unstorable.length];
        const original = getAt(endpoint.input, leaf) as string;
        cases.push({ input: setAt(endpoint.input, leaf, original + bad), field: fieldOf(leaf, isRest) });
      }
      for (const [i, at] of objects.entries()) {
        const key = `k${unstorable[(i + 1) % unstorable.length]}`;
        cases.push({ input: setAt(endpoint.input, [...at, key], 'v'), field: fieldOf([...at, key], isRest) });
      }
      // A batch of bad requests at once, with innocent ingestion requests among them (shared transactions).
      for (let start = 0; start < cases.length; start += 6) {
        const batch = cases.slice(start, start + 6);
        const [answers] = await Promise.all([
          Promise.all(batch.map((c) => endpoint.call(c.input))),
          innocentIngestion(),
          innocentIngestion(),
        ]);
        answers.forEach((answer, i) => {
          tried++;
          const expected = batch[i].field;
          // Ingestion answers a bad event in its own outcome (200); anything else is a 400.
          const named =
            answer.status === 400 ||
            ((endpoint.name === 'POST /events' || endpoint.name === 'trpc events.ingest') && answer.status === 200);
          if (!named || !answer.fields.includes(expected))
            failures.push(
              `${endpoint.name} ${JSON.stringify(expected)}: ${answer.status} ${JSON.stringify(answer.fields)} ${JSON.stringify(answer.body).slice(0, 300)}`,
            );
        });
      }
    }
    expect(failures).toEqual([]);
    expect(tried).toBeGreaterThan(300);
  }, 600_000);

  it('answers NUL, undecodable bytes and over-long ids in URL paths and queries with a 4xx, never a 5xx', async () => {
    const failures: string[] = [];
    for (const endpoint of endpoints.filter((e) => !e.name.startsWith('trpc '))) {
      const template = endpoint.input as RestTemplate;
      const attempts: {
        raw: { path?: Record<string, string>; queryKey?: string };
        input: RestTemplate;
        nul: string | undefined;
      }[] = [];
      for (const name of Object.keys(template.path ?? {})) {
        for (const segment of badPathSegments)
          attempts.push({
            raw: { path: { [name]: segment } },
            input: template,
            nul: segment.includes('%00') ? `path.${name}` : undefined,
          });
      }
      for (const name of Object.keys(template.query ?? {})) {
        for (const value of ['a\u0000', '\u0001', 'x'.repeat(1000)])
          attempts.push({
            raw: {},
            input: { ...template, query: { ...template.query, [name]: value } },
            nul: value.includes('\u0000') ? `query.${name}` : undefined,
          });
      }
      if (template.query) attempts.push({ raw: { queryKey: '%00' }, input: template, nul: 'query.\u0000' });
      for (let start = 0; start < attempts.length; start += 6) {
        const batch = attempts.slice(start, start + 6);
        const [answers] = await Promise.all([
          Promise.all(batch.map((a) => endpoint.call(a.input, a.raw))),
          innocentIngestion(),
        ]);
        answers.forEach((answer, i) => {
          const { nul, raw } = batch[i];
          const label = `${endpoint.name} ${JSON.stringify(raw)} ${JSON.stringify(batch[i].input.query ?? {}).slice(0, 80)}`;
          if (answer.status >= 500) failures.push(`${label}: ${answer.status}`);
          else if (nul && (answer.status !== 400 || !answer.fields.includes(nul)))
            failures.push(`${label}: ${answer.status} ${JSON.stringify(answer.fields)}`);
          // Bytes that are not UTF-8 cannot reach the service's validation: the path is refused as a whole.
          else if (
            Object.values(raw.path ?? {}).some((s) => /%(ED|C0|FF)/.test(s)) &&
            (answer.status !== 400 || !answer.fields.includes('(path)'))
          )
            failures.push(`${label}: ${answer.status} ${JSON.stringify(answer.fields)}`);
        });
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('never answers a 5xx to control characters or over-long strings anywhere, and serves the innocent requests beside them', async () => {
    const cases = endpoints.flatMap((endpoint) => {
      const isRest = !endpoint.name.startsWith('trpc ');
      return (
        stringLeaves(endpoint.input)
          // URL paths and queries cannot carry a lone surrogate: tried apart above.
          .filter((path) => !isRest || path[0] === 'body')
          .map((leaf) => ({ endpoint, leaf }))
      );
    });
    const values = [...controls, ...overLong, ...unstorable];
    // Indices, so that a counterexample prints short.
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ target: fc.nat(cases.length - 1), value: fc.nat(values.length - 1), prefix: fc.boolean() }),
          { minLength: 1, maxLength: 4 },
        ),
        async (mutations) => {
          const [answers] = await Promise.all([
            Promise.all(
              mutations.map(({ target, value, prefix }) => {
                const { endpoint, leaf } = cases[target];
                return endpoint.call(
                  setAt(
                    endpoint.input,
                    leaf,
                    prefix ? (getAt(endpoint.input, leaf) as string) + values[value] : values[value],
                  ),
                );
              }),
            ),
            innocentIngestion(),
          ]);
          answers.forEach((answer, i) => {
            const { endpoint, leaf } = cases[mutations[i].target];
            expect(
              answer.status,
              `${endpoint.name} ${leaf.join('.')} value #${mutations[i].value}: ${String(JSON.stringify(answer.body)).slice(0, 300)}`,
            ).toBeLessThan(500);
            // The account endpoints' limits are raised above: a 429 would mean the fuzz stopped reaching them.
            expect(answer.status, `${endpoint.name} rate limited`).not.toBe(429);
          });
        },
      ),
      { numRuns: 150 },
    );
  }, 600_000);

  it('answers logout (whose only input is its session token) with a 401 to odd or over-long tokens, and ends a real session', async () => {
    const session = (
      await rest(harness, 'POST', '/v1/auth/login', {
        body: { tenant: tenant.slug, email: tenant.email, password: 'correct horse battery staple' },
      })
    ).body.session.token as string;
    for (const token of [
      'ses_',
      'ses_%00',
      'ses_\u00e9\u00ff',
      `ses_${'x'.repeat(8000)}`,
      `${session}\u00a0x`,
      'sk_x',
    ]) {
      const response = await send('POST', '/v1/auth/logout', { authorization: `Bearer ${token}` });
      expect(response.status, token.slice(0, 40)).toBe(401);
      checkResponse('POST', '/v1/auth/logout', response.status, JSON.parse(response.text));
    }
    expect((await send('POST', '/v1/auth/logout', { authorization: `Bearer ${session}` })).status).toBe(200);
    expect((await send('POST', '/v1/auth/logout', { authorization: `Bearer ${session}` })).status).toBe(401);
  });

  it('takes a session cookie that is not percent-encoded UTF-8 as no session (401), not a failure', async () => {
    const response = await send('GET', '/trpc/auth.me', { cookie: 'tariff_session=%E0%A4%A' });
    expect(response.status).toBe(401);
  });
});

/** The field an error names for a path into an endpoint's input: REST bodies are named from their root. */
function fieldOf(path: Path, isRest: boolean): string {
  return (isRest ? path.slice(1) : path).join('.');
}
