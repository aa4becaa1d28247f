// The customer portal (domains/portal): signed, expiring links and embed tokens for one customer; the portal's
// figures equal the REST API's for that customer; no token reaches another customer, tenant, or the dashboard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleBook, rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from './harness.ts';

const llm = (id: string, customer: string, timestamp: string) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 10_000 },
});

let harness: Harness;
let tenant: TenantFixture;
let other: TenantFixture;
let viewer: string;
const call = async (method: string, path: string, body?: unknown, key = tenant.secretKey) => {
  const response = await rest(harness, method, path, { key, body });
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response.body;
};
const link = async (customer: string, session = tenant.session, extra: Record<string, unknown> = {}) => {
  const created = await trpc(harness, 'mutation', 'portal.createLink', { customer_id: customer, ...extra }, session);
  expect(created.status, JSON.stringify(created.error)).toBe(200);
  return created.body as { token: string; url: string; expires_at: string; customer_id: string };
};
/** A portal page's call: the token as its Bearer. */
const portal = (procedure: string, token: string, input?: unknown) =>
  trpc(harness, 'query', `portal.${procedure}`, input, token);

/** The token with its payload's claims changed, the signature kept (what a customer could try). */
function tamper(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

beforeAll(async () => {
  harness = await startService({ now: '2026-02-10T12:00:00Z' });
  tenant = await signUpTenant(harness, 'Portal Tenant');
  other = await signUpTenant(harness, 'Other Tenant');
  await call('POST', '/v1/price_books', { book: exampleBook('llm') });
  await call('POST', '/v1/meters', {
    code: 'input_tokens',
    name: 'Input tokens',
    event_type: 'llm.completion',
    aggregation: 'sum',
    property: 'input_tokens',
    group_by: ['model'],
  });
  await call('POST', '/v1/customers', {
    external_id: 'reseller',
    name: 'Resell Co',
    currency: 'USD',
    is_reseller: true,
  });
  await call('POST', '/v1/customers', { external_id: 'end-user', currency: 'USD', parent_id: 'reseller' });
  await call('POST', '/v1/customers', { external_id: 'acme', name: 'ACME', currency: 'USD' });
  await call('POST', '/v1/customers', { external_id: 'rival', name: 'Rival', currency: 'USD' });
  // The reseller's end user is priced by a book the reseller owns (migration 080).
  await call('POST', '/v1/price_books', { book: exampleBook('reseller-llm'), owner_customer_id: 'reseller' });
  for (const [customer, book] of [
    ['acme', 'llm'],
    ['rival', 'llm'],
    ['end-user', 'reseller-llm'],
  ])
    await call('PUT', `/v1/customers/${customer}/price_book`, {
      price_book: book,
      effective_from: '2026-01-01T00:00:00Z',
    });
  await call('POST', '/v1/events', {
    events: [llm('feb-acme', 'acme', '2026-02-05T00:00:00Z'), llm('feb-rival', 'rival', '2026-02-05T00:00:00Z')],
  });
  harness.clock.set('2026-03-10T12:00:00Z');
  // February closes: each has an invoice.
  for (const customer of ['acme', 'rival'])
    await call('POST', `/v1/customers/${customer}/periods/close`, { period_start: '2026-02-01T00:00:00Z' });
  await call('PUT', '/v1/customers/acme/budget', { amount: '50' });
  await call('POST', '/v1/customers/acme/credit_grants', { kind: 'promotional', amount: '1' });
  await call('POST', '/v1/events', {
    events: [
      llm('mar-acme-1', 'acme', '2026-03-08T00:00:00Z'),
      llm('mar-acme-2', 'acme', '2026-03-09T00:00:00Z'),
      llm('mar-rival', 'rival', '2026-03-08T00:00:00Z'),
      llm('mar-end', 'end-user', '2026-03-08T00:00:00Z'),
    ],
  });
  await call('POST', '/v1/customers', { external_id: 'acme', currency: 'USD' }, other.secretKey);
  const email = `viewer-${tenant.tenantId.slice(0, 8)}@example.com`;
  expect(
    (
      await trpc(
        harness,
        'mutation',
        'users.create',
        { email, password: 'a long enough password', role: 'viewer' },
        tenant.session,
      )
    ).status,
  ).toBe(200);
  viewer = (
    await trpc(harness, 'mutation', 'auth.login', { tenant: tenant.slug, email, password: 'a long enough password' })
  ).body.session.token;
});
afterAll(async () => {
  await harness?.close();
});

describe('portal links', () => {
  it("shows the customer's spend against budget, credits, usage and invoices exactly as the REST API does", async () => {
    const { token, url, expires_at } = await link('acme');
    expect(url).toMatch(/\/portal#token=/);
    expect(url.endsWith(token)).toBe(true);
    expect(expires_at).toBe('2026-03-10T13:00:00.000Z');

    const summary = await portal('summary', token);
    expect(summary.status).toBe(200);
    const budget = await call('GET', '/v1/customers/acme/budget');
    const wallet = await call('GET', '/v1/customers/acme/wallet');
    expect(summary.body).toMatchObject({
      brand: { owner: 'tenant', name: 'Portal Tenant', logo_url: null },
      customer: { external_id: 'acme', name: 'ACME', currency: 'USD' },
      spend: budget.current_period.spend,
      budget: { amount: budget.amount },
      period: { start: budget.current_period.start, end: budget.current_period.end },
      credits: [{ currency: 'USD', balance: wallet.balance }],
      access: { use: 'link', expires_at },
    });
    expect((await portal('credits', token)).body).toEqual(wallet);
    expect((await portal('usage', token)).body).toEqual({
      ...(await call('GET', '/v1/customers/acme/usage')),
      watermark: expect.any(String),
    });
    const series = await portal('usageSeries', token, { from: '2026-03-01T00:00:00Z', until: '2026-03-11T00:00:00Z' });
    expect(series.body.customer_id).toBe('acme');
    expect(series.body.series[0].points.map((p: any) => p.at)).toEqual([
      '2026-03-08T00:00:00.000Z',
      '2026-03-09T00:00:00.000Z',
    ]);

    const invoices = await portal('invoices', token, {});
    const restInvoices = await call('GET', '/v1/invoices?customer_id=acme');
    expect(invoices.body).toEqual(restInvoices);
    expect(invoices.body.data).toHaveLength(1);
    const invoice = await portal('invoice', token, { id: invoices.body.data[0].id });
    expect(invoice.body).toEqual(await call('GET', `/v1/invoices/${invoices.body.data[0].id}`));
  });

  it('cannot be widened to another customer or tenant, outlive its expiry, or open the dashboard', async () => {
    const { token } = await link('acme');
    const rivalInvoice = (await call('GET', '/v1/invoices?customer_id=rival')).data[0].id;
    // Another customer's invoice, asked for by id: as absent as a missing one.
    const foreign = await portal('invoice', token, { id: rivalInvoice });
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.error)).not.toContain('rival');

    // The customer id and the tenant are inside the signature.
    const [rival] = await harness.database
      .owner`select id from customers where tenant_id = ${tenant.tenantId} and external_id = 'rival'`;
    const [otherAcme] = await harness.database
      .owner`select id from customers where tenant_id = ${other.tenantId} and external_id = 'acme'`;
    for (const forged of [
      tamper(token, { cid: rival.id }),
      tamper(token, { tid: other.tenantId, cid: otherAcme.id }),
      tamper(token, { exp: 4_000_000_000 }),
      tamper(token, { use: 'admin' }),
      token.slice(0, -2),
      'not-a-token',
    ]) {
      const answer = await portal('summary', forged);
      expect(answer.status, forged.slice(0, 60)).toBe(401);
    }
    // A token of another kind signed by the same key (a price quote) is not a portal token.
    const quote = await call('POST', '/v1/quotes', {
      event: llm('quoted', 'acme', '2026-03-10T12:00:00Z'),
      expires_in: 600,
    });
    expect((await portal('summary', quote.token)).status).toBe(401);

    // Not a session: the dashboard's procedures and the REST API refuse it.
    expect((await trpc(harness, 'query', 'customers.list', {}, token)).status).toBe(401);
    expect((await trpc(harness, 'query', 'insights.customers', {}, token)).status).toBe(401);
    expect((await rest(harness, 'GET', '/v1/customers/rival', { key: token })).status).toBe(401);
    // No token at all.
    expect((await portal('summary', '')).status).toBe(401);

    // Past its expiry (one hour by default), refused.
    harness.clock.set('2026-03-10T13:00:01Z');
    expect((await portal('summary', token)).status).toBe(401);
    harness.clock.set('2026-03-10T12:00:00Z');
    expect((await portal('summary', token)).status).toBe(200);
  });

  it('issues embed tokens for longer, and only to users who may write customers; bad lifetimes name the field', async () => {
    const embed = await trpc(
      harness,
      'mutation',
      'portal.createEmbedToken',
      { customer_id: 'acme', expires_in: 30 * 86_400 },
      tenant.session,
    );
    expect(embed.status).toBe(200);
    expect(embed.body.expires_at).toBe('2026-04-09T12:00:00.000Z');
    expect((await portal('summary', embed.body.token)).body.access.use).toBe('embed');

    const denied = await trpc(harness, 'mutation', 'portal.createLink', { customer_id: 'acme' }, viewer);
    expect(denied.status).toBe(403);
    expect((await trpc(harness, 'mutation', 'portal.setBrand', { display_name: 'x' }, viewer)).status).toBe(403);
    const long = await trpc(
      harness,
      'mutation',
      'portal.createLink',
      { customer_id: 'acme', expires_in: 8 * 86_400 },
      tenant.session,
    );
    expect(long.status).toBe(400);
    expect(long.error?.data.app?.details[0].field).toBe('expires_in');
    expect(
      (await trpc(harness, 'mutation', 'portal.createLink', { customer_id: 'nobody' }, tenant.session)).status,
    ).toBe(404);
    // The audit log says who opened access to whom, never the token.
    const log = await call('GET', '/v1/audit_log?limit=500');
    const entries = log.data.filter((e: any) => e.action.startsWith('portal_'));
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(entries)).not.toContain(embed.body.token);
  });

  it('is issued by the REST API to a key that may write customers, and the token opens the portal', async () => {
    const created = await rest(harness, 'POST', '/v1/customers/acme/portal_tokens', {
      key: tenant.secretKey,
      body: { expires_in: 86_400 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ customer_id: 'acme', expires_at: '2026-03-11T12:00:00.000Z' });
    expect((await portal('summary', created.body.token)).body.customer.external_id).toBe('acme');
    const sent = await rest(harness, 'POST', '/v1/customers/acme/portal_links', { key: tenant.secretKey });
    expect(sent.status).toBe(201);
    expect(sent.body.url).toContain(sent.body.token);
    const viewerKey = (
      await trpc(
        harness,
        'mutation',
        'apiKeys.create',
        { kind: 'secret', name: 'viewer', role: 'viewer' },
        tenant.session,
      )
    ).body.secret;
    expect((await rest(harness, 'POST', '/v1/customers/acme/portal_links', { key: viewerKey, body: {} })).status).toBe(
      403,
    );
    expect(
      (await rest(harness, 'POST', '/v1/customers/acme/portal_links', { key: tenant.publishableKey, body: {} })).status,
    ).toBe(403);
    const bad = await rest(harness, 'POST', '/v1/customers/acme/portal_tokens', {
      key: tenant.secretKey,
      body: { expires_in: 10 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('expires_in');
    expect(
      (await rest(harness, 'POST', '/v1/customers/nobody/portal_links', { key: tenant.secretKey, body: {} })).status,
    ).toBe(404);
  });

  it("shows the reseller's brand to its end users and the tenant's to the others", async () => {
    const tenantBrand = await trpc(
      harness,
      'mutation',
      'portal.setBrand',
      { display_name: 'Tariff Demo AI', logo_url: 'https://cdn.example/logo.svg', accent_color: '#112233' },
      tenant.session,
    );
    expect(tenantBrand.status).toBe(200);
    const resellerBrand = await trpc(
      harness,
      'mutation',
      'portal.setBrand',
      { customer_id: 'reseller', display_name: 'Resell Cloud', accent_color: '#abcdef' },
      tenant.session,
    );
    expect(resellerBrand.body).toMatchObject({ customer_id: 'reseller', display_name: 'Resell Cloud', logo_url: null });
    expect((await trpc(harness, 'query', 'portal.brand', { customer_id: 'reseller' }, viewer)).body.display_name).toBe(
      'Resell Cloud',
    );

    const endUser = await portal('summary', (await link('end-user')).token);
    expect(endUser.body.brand).toEqual({
      owner: 'reseller',
      name: 'Resell Cloud',
      logo_url: null,
      accent_color: '#abcdef',
    });
    const acme = await portal('summary', (await link('acme')).token);
    expect(acme.body.brand).toEqual({
      owner: 'tenant',
      name: 'Tariff Demo AI',
      logo_url: 'https://cdn.example/logo.svg',
      accent_color: '#112233',
    });

    const notReseller = await trpc(
      harness,
      'mutation',
      'portal.setBrand',
      { customer_id: 'acme', display_name: 'x' },
      tenant.session,
    );
    expect(notReseller.status).toBe(412);
    expect(notReseller.error?.data.app?.details[0].field).toBe('customer_id');
    const insecure = await trpc(
      harness,
      'mutation',
      'portal.setBrand',
      { logo_url: 'http://cdn.example/logo.svg' },
      tenant.session,
    );
    expect(insecure.status).toBe(400);
    expect(insecure.error?.data.app?.details[0].field).toBe('logo_url');
  });
});
