// Tenants and access over HTTP: signup, login, sessions, API keys, roles and the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleBook, rest, signUpTenant, startService, trpc, type Harness } from './harness.ts';

describe('tenants and access', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startService();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('given a signup, the owner logs in with the password, not with a wrong one, and logout ends the session', async () => {
    const signup = await trpc(harness, 'mutation', 'auth.signup', {
      tenant_name: 'Acme AI',
      email: 'Founder@Acme.example',
      password: 'a long enough password',
    });
    expect(signup.status).toBe(200);
    expect(signup.body.user).toMatchObject({ email: 'founder@acme.example', role: 'owner' });
    expect(signup.body.session.token).toMatch(/^ses_/);

    const tenant = signup.body.tenant.slug;
    expect(tenant).toBe('acme-ai');
    const wrong = await trpc(harness, 'mutation', 'auth.login', {
      tenant,
      email: 'founder@acme.example',
      password: 'not the password',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.error?.data.app?.code).toBe('invalid_credentials');
    const unknown = await trpc(harness, 'mutation', 'auth.login', {
      tenant,
      email: 'nobody@acme.example',
      password: 'a long enough password',
    });
    expect(unknown.status).toBe(401);

    const login = await trpc(harness, 'mutation', 'auth.login', {
      tenant: 'ACME-AI',
      email: 'FOUNDER@acme.example',
      password: 'a long enough password',
    });
    expect(login.status).toBe(200);
    expect(login.body.tenant_id).toBe(signup.body.tenant.id);
    const session = login.body.session.token;
    expect((await trpc(harness, 'query', 'auth.me', undefined, session)).body.tenant.name).toBe('Acme AI');

    expect((await trpc(harness, 'mutation', 'auth.logout', undefined, session)).status).toBe(200);
    expect((await trpc(harness, 'query', 'auth.me', undefined, session)).status).toBe(401);
    // The signup session is a different session and still works.
    expect((await trpc(harness, 'query', 'auth.me', undefined, signup.body.session.token)).status).toBe(200);
  });

  it('given a weak password or a malformed email, signup is rejected with the field to blame', async () => {
    const weak = await trpc(harness, 'mutation', 'auth.signup', {
      tenant_name: 'X',
      email: 'x@example.com',
      password: 'short',
    });
    expect(weak.status).toBe(400);
    expect(weak.error?.data.app?.details).toEqual([{ field: 'password', reason: 'must be at least 12 characters' }]);
    const email = await trpc(harness, 'mutation', 'auth.signup', {
      tenant_name: 'X',
      email: 'not-an-email',
      password: 'a long enough password',
    });
    expect(email.status).toBe(400);
    expect(email.error?.data.app?.details[0].field).toBe('email');
  });

  it('sets an HttpOnly session cookie that authenticates tRPC calls', async () => {
    const response = await fetch(`${harness.url}/trpc/auth.signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_name: 'Cookie Co', email: 'c@cookie.example', password: 'a long enough password' }),
    });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^tariff_session=ses_[\w-]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const me = await fetch(`${harness.url}/trpc/auth.me`, { headers: { cookie: cookie.split(';')[0] } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as any).result.data.tenant.name).toBe('Cookie Co');
  });

  it('shows a secret key once, stores only its hash, and a revoked key stops working', async () => {
    const tenant = await signUpTenant(harness);
    const created = await trpc(
      harness,
      'mutation',
      'apiKeys.create',
      { kind: 'secret', name: 'ingest', role: 'billing' },
      tenant.session,
    );
    expect(created.body.secret).toMatch(/^sk_[\w-]{43}$/);
    expect(created.body.prefix).toBe(created.body.secret.slice(0, 10));
    const listed = await trpc(harness, 'query', 'apiKeys.list', undefined, tenant.session);
    const entry = listed.body.find((k: any) => k.id === created.body.id);
    expect(entry).toMatchObject({ kind: 'secret', role: 'billing', revoked_at: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    const [stored] = await harness.database.owner`select key_hash from api_keys where id = ${created.body.id}`;
    expect(stored.key_hash.toString('utf8')).not.toContain(created.body.secret.slice(3));
    const columns = await harness.database
      .owner`select column_name from information_schema.columns where table_name = 'api_keys'`;
    expect(columns.map((c) => c.column_name)).not.toContain('secret');

    expect((await rest(harness, 'GET', '/v1/customers', { key: created.body.secret })).status).toBe(200);
    const revoked = await rest(harness, 'DELETE', `/v1/api_keys/${created.body.id}`, { key: tenant.secretKey });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const after = await rest(harness, 'GET', '/v1/customers', { key: created.body.secret });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthenticated');
  });

  it('rejects missing, malformed and made-up keys with 401', async () => {
    expect((await rest(harness, 'GET', '/v1/customers')).status).toBe(401);
    expect((await rest(harness, 'GET', '/v1/customers', { key: 'not-a-key' })).status).toBe(401);
    expect((await rest(harness, 'GET', '/v1/customers', { key: 'sk_' + 'A'.repeat(43) })).status).toBe(401);
    // A session token is not an API key.
    const tenant = await signUpTenant(harness);
    expect((await rest(harness, 'GET', '/v1/customers', { key: tenant.session })).status).toBe(401);
  });

  it('lets a publishable key read price books and nothing else', async () => {
    const tenant = await signUpTenant(harness);
    expect(
      (await rest(harness, 'POST', '/v1/price_books', { key: tenant.secretKey, body: { book: exampleBook() } })).status,
    ).toBe(201);
    const read = await rest(harness, 'GET', '/v1/price_books/llm', { key: tenant.publishableKey });
    expect(read.status).toBe(200);
    expect(read.body.book.versions).toHaveLength(1);
    for (const [method, path, body] of [
      ['GET', '/v1/customers', undefined],
      ['POST', '/v1/customers', { external_id: 'x', currency: 'USD' }],
      ['GET', '/v1/meters', undefined],
      ['POST', '/v1/price_books', { book: exampleBook('other') }],
      ['POST', '/v1/price_books/llm/versions', { version: exampleBook('llm', '2027-01-01T00:00:00Z').versions[0] }],
      ['GET', '/v1/api_keys', undefined],
      ['GET', '/v1/audit_log', undefined],
    ] as const) {
      const response = await rest(harness, method, path, { key: tenant.publishableKey, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.error.code).toBe('permission_denied');
    }
  });

  it('enforces roles: viewers read, billing writes the catalogue but not keys, nobody grants above their role', async () => {
    const tenant = await signUpTenant(harness);
    const users: Record<string, string> = {};
    for (const role of ['admin', 'billing', 'viewer']) {
      const email = `${role}-${tenant.tenantId.slice(0, 8)}@example.com`;
      const created = await trpc(
        harness,
        'mutation',
        'users.create',
        { email, password: 'a long enough password', role },
        tenant.session,
      );
      expect(created.status).toBe(200);
      users[role] = (
        await trpc(harness, 'mutation', 'auth.login', {
          tenant: tenant.slug,
          email,
          password: 'a long enough password',
        })
      ).body.session.token;
    }
    const customer = { external_id: 'role-test', currency: 'EUR' };
    expect((await trpc(harness, 'query', 'customers.list', {}, users.viewer)).status).toBe(200);
    expect((await trpc(harness, 'mutation', 'customers.create', customer, users.viewer)).status).toBe(403);
    expect((await trpc(harness, 'mutation', 'customers.create', customer, users.billing)).status).toBe(200);
    expect(
      (await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: 'k' }, users.billing)).status,
    ).toBe(403);
    expect((await trpc(harness, 'query', 'users.list', undefined, users.billing)).status).toBe(403);
    const adminKey = await trpc(
      harness,
      'mutation',
      'apiKeys.create',
      { kind: 'secret', name: 'k', role: 'viewer' },
      users.admin,
    );
    expect(adminKey.status).toBe(200);
    const viewerKey = adminKey.body.secret;
    expect((await rest(harness, 'GET', '/v1/customers/role-test', { key: viewerKey })).status).toBe(200);
    expect(
      (await rest(harness, 'PATCH', '/v1/customers/role-test', { key: viewerKey, body: { name: 'n' } })).status,
    ).toBe(403);
    const grantOwner = await trpc(
      harness,
      'mutation',
      'users.create',
      { email: 'o2@example.com', password: 'a long enough password', role: 'owner' },
      users.admin,
    );
    expect(grantOwner.status).toBe(403);
    expect(grantOwner.error?.data.app?.code).toBe('role_too_high');
  });

  it('keeps at least one owner', async () => {
    const tenant = await signUpTenant(harness);
    const me = await trpc(harness, 'query', 'auth.me', undefined, tenant.session);
    const demote = await trpc(
      harness,
      'mutation',
      'users.changeRole',
      { user_id: me.body.user.id, role: 'admin' },
      tenant.session,
    );
    expect(demote.status).toBe(412);
    expect(demote.error?.data.app?.code).toBe('last_owner');
    expect((await trpc(harness, 'query', 'auth.me', undefined, tenant.session)).body.user.role).toBe('owner');
  });

  it('writes an audit row with who, what, when, before and after for every state change', async () => {
    const tenant = await signUpTenant(harness);
    harness.clock.set('2026-03-02T09:00:00Z');
    await rest(harness, 'POST', '/v1/customers', {
      key: tenant.secretKey,
      body: { external_id: 'audited', currency: 'USD', name: 'Before' },
    });
    await rest(harness, 'PATCH', '/v1/customers/audited', { key: tenant.secretKey, body: { name: 'After' } });
    const log = await rest(harness, 'GET', '/v1/audit_log?entity_type=customer', { key: tenant.secretKey });
    expect(log.status).toBe(200);
    const [update, create] = log.body.data;
    expect(create).toMatchObject({
      action: 'customer.created',
      actor: { type: 'api_key' },
      at: '2026-03-02T09:00:00.000Z',
      before: null,
    });
    expect(create.after).toMatchObject({ external_id: 'audited', name: 'Before' });
    expect(update).toMatchObject({ action: 'customer.updated', before: { name: 'Before' }, after: { name: 'After' } });
    expect(update.request_id).toMatch(/.+/);
    const actions = (await rest(harness, 'GET', '/v1/audit_log?limit=500', { key: tenant.secretKey })).body.data.map(
      (e: any) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'tenant.created',
        'user.created',
        'session.created',
        'api_key.created',
        'customer.created',
        'customer.updated',
      ]),
    );

    // The service role can append to the audit log but not rewrite it.
    await expect(
      harness.database.app.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        await tx`update audit_log set action = 'forged'`;
      }),
    ).rejects.toThrow(/permission denied/);
    await expect(
      harness.database.app.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        await tx`delete from audit_log`;
      }),
    ).rejects.toThrow(/permission denied/);
  });
});
