// Accounts over HTTP (issue 12 §3): login by tenant slug, answers that reveal nothing, email verification and
// password reset by mailed tokens, rate limits, API keys capped by their creator's role, TRUST_PROXY, random
// audit ids, keys checked before bodies are parsed, server timeouts.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/platform/config.ts';
import type { Email, Mailer } from '../../service/src/platform/mail.ts';
import { rest, startService, trpc, type Harness } from './harness.ts';
import { checkResponse } from './openapi-check.ts';

const password = 'correct horse battery staple';

function capturingMailer(): Mailer & { sent: Email[] } {
  const sent: Email[] = [];
  return { sent, send: async (email) => void sent.push(email) };
}

/** Waits for delivery, which runs after the request's transaction commits. */
async function mailTo(mailer: { sent: Email[] }, to: string, subject: RegExp, after = 0): Promise<Email> {
  for (let i = 0; i < 400; i++) {
    const found = mailer.sent.slice(after).find((m) => m.to === to && subject.test(m.subject));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no mail to ${to} matching ${subject}`);
}

const tokenIn = (email: Email, kind: 'vfy' | 'rst') => new RegExp(`${kind}_[\\w-]{43}`).exec(email.body)![0];

/** A JSON POST with extra headers (client address, forwarded protocol); /v1 answers are checked against the OpenAPI document. */
async function post(harness: Harness, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(harness.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  checkResponse('POST', path, response.status, parsed);
  return { status: response.status, body: parsed, headers: response.headers };
}

describe('accounts', () => {
  let harness: Harness;
  const mailer = capturingMailer();
  beforeAll(async () => {
    harness = await startService({
      app: {
        mailer,
        trustProxy: true,
        rateLimits: {
          loginPerAccount: { limit: 5, windowSeconds: 900 },
          resetPerAccount: { limit: 3, windowSeconds: 3600 },
        },
      },
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  let address = 0;
  /** A fresh client address per test (TRUST_PROXY is on here), so one test's attempts do not limit another's. */
  const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

  it('given one email in two tenants, each logs in by its slug, and the first login keeps working', async () => {
    const first = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Two Tenants One', email: 'shared@example.com', password },
      from(),
    );
    expect(first.status).toBe(201);
    expect(first.body.tenant.slug).toBe('two-tenants-one');
    const second = await post(
      harness,
      '/v1/auth/signup',
      {
        tenant_name: 'Other',
        tenant_slug: 'two-tenants-two',
        email: 'shared@example.com',
        password: 'another long password',
      },
      from(),
    );
    expect(second.status).toBe(201);
    expect(second.body.tenant.slug).toBe('two-tenants-two');

    const one = await post(
      harness,
      '/v1/auth/login',
      { tenant: 'two-tenants-one', email: 'shared@example.com', password },
      from(),
    );
    expect(one.status).toBe(200);
    expect(one.body.tenant_id).toBe(first.body.tenant.id);
    const two = await post(
      harness,
      '/v1/auth/login',
      { tenant: 'Two-Tenants-Two', email: 'SHARED@example.com', password: 'another long password' },
      from(),
    );
    expect(two.body.tenant_id).toBe(second.body.tenant.id);
    // Each tenant's password opens only that tenant.
    expect(
      (
        await post(
          harness,
          '/v1/auth/login',
          { tenant: 'two-tenants-two', email: 'shared@example.com', password },
          from(),
        )
      ).status,
    ).toBe(401);
    expect(
      (
        await trpc(harness, 'mutation', 'auth.login', {
          tenant: 'two-tenants-one',
          email: 'shared@example.com',
          password,
        })
      ).status,
    ).toBe(200);
  });

  it('answers a wrong password the same whether the email is in no tenant, this tenant, or several', async () => {
    await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Same Answer', tenant_slug: 'same-answer', email: 'here@example.com', password },
      from(),
    );
    await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Same Answer 2', tenant_slug: 'same-answer-2', email: 'here@example.com', password },
      from(),
    );
    const answers = [];
    for (const attempt of [
      { tenant: 'same-answer', email: 'here@example.com', password: 'wrong password!' }, // in this tenant (and another)
      { tenant: 'same-answer', email: 'nobody@example.com', password: 'wrong password!' }, // in no tenant
      { tenant: 'no-such-tenant', email: 'here@example.com', password: 'wrong password!' }, // unknown tenant
      { tenant: 'two-tenants-one', email: 'here@example.com', password }, // right password, other tenant
    ]) {
      const answer = await post(harness, '/v1/auth/login', attempt, from());
      answers.push({
        status: answer.status,
        kind: answer.body.error.kind,
        code: answer.body.error.code,
        message: answer.body.error.message,
        details: answer.body.error.details,
      });
    }
    expect(answers[0]).toEqual({
      status: 401,
      kind: 'unauthenticated',
      code: 'invalid_credentials',
      message: 'Wrong tenant, email or password',
      details: [],
    });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it('refuses a taken or malformed slug by name, and suffixes a derived one that is taken', async () => {
    await post(harness, '/v1/auth/signup', { tenant_name: 'Taken Name', email: 'a@taken.example', password }, from());
    const taken = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'X', tenant_slug: 'taken-name', email: 'b@taken.example', password },
      from(),
    );
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({
      code: 'tenant_slug_taken',
      details: [{ field: 'tenant_slug', reason: 'already taken' }],
    });
    const derived = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Taken  Name!', email: 'c@taken.example', password },
      from(),
    );
    expect(derived.status).toBe(201);
    expect(derived.body.tenant.slug).toMatch(/^taken-name-[0-9a-f]{6}$/);
    for (const slug of ['-x', 'ab', 'Has Space', 'a'.repeat(41), 'ends-']) {
      const bad = await post(
        harness,
        '/v1/auth/signup',
        { tenant_name: 'X', tenant_slug: slug, email: 'd@taken.example', password },
        from(),
      );
      expect(bad.status, slug).toBe(400);
      expect(bad.body.error.details[0].field).toBe('tenant_slug');
    }
  });

  it('verifies an email with a mailed, hashed, single-use, expiring token', async () => {
    const signup = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Verify Co', email: 'v@verify.example', password },
      from(),
    );
    expect(signup.body.user.email_verified).toBe(false);
    const mail = await mailTo(mailer, 'v@verify.example', /Confirm your email/);
    expect(mail.body).toContain('verify-co');
    const token = tokenIn(mail, 'vfy');
    // At rest: the token's hash only, and the delivered mail's body is not kept.
    const tokens = await harness.database
      .owner`select token_hash::text as h from user_tokens where tenant_id = ${signup.body.tenant.id}`;
    expect(tokens).toHaveLength(1);
    expect(JSON.stringify(tokens)).not.toContain(token.slice(4, 20));
    const outbox = await harness.database
      .owner`select body, sent_at from email_outbox where tenant_id = ${signup.body.tenant.id}`;
    expect(outbox).toHaveLength(1);
    expect(outbox[0].sent_at).not.toBeNull();
    expect(outbox[0].body).not.toContain(token);

    const verified = await post(harness, '/v1/auth/verify_email', { token }, from());
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ email: 'v@verify.example', email_verified: true });
    const again = await post(harness, '/v1/auth/verify_email', { token }, from());
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ code: 'invalid_token', details: [{ field: 'token' }] });
    expect((await post(harness, '/v1/auth/verify_email', { token: 'vfy_' + 'A'.repeat(43) }, from())).status).toBe(400);
    expect((await post(harness, '/v1/auth/verify_email', {}, from())).body.error.details[0].field).toBe('token');

    // A new user's link, unused for longer than 48 hours, has expired.
    const other = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Verify Late', email: 'late@verify.example', password },
      from(),
    );
    const lateToken = tokenIn(await mailTo(mailer, 'late@verify.example', /Confirm/), 'vfy');
    harness.clock.advance(49 * 3600 * 1000);
    expect((await post(harness, '/v1/auth/verify_email', { token: lateToken }, from())).status).toBe(400);
    // Resending gives a fresh link that works.
    const sentBefore = mailer.sent.length;
    expect(
      (await trpc(harness, 'mutation', 'auth.resendVerification', undefined, other.body.session.token)).status,
    ).toBe(200);
    const fresh = tokenIn(await mailTo(mailer, 'late@verify.example', /Confirm/, sentBefore), 'vfy');
    expect((await trpc(harness, 'mutation', 'auth.verifyEmail', { token: fresh })).body.email_verified).toBe(true);
    expect(
      (await trpc(harness, 'query', 'auth.me', undefined, other.body.session.token)).body.user.email_verified,
    ).toBe(true);
  });

  it('resets a password by mailed token once, ending every session; the answer never says whether the account exists', async () => {
    const signup = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Reset Co', email: 'r@reset.example', password },
      from(),
    );
    const oldSession = signup.body.session.token;
    const known = await post(
      harness,
      '/v1/auth/password_reset',
      { tenant: 'reset-co', email: 'r@reset.example' },
      from(),
    );
    const unknown = await post(
      harness,
      '/v1/auth/password_reset',
      { tenant: 'reset-co', email: 'nobody@reset.example' },
      from(),
    );
    const noTenant = await post(
      harness,
      '/v1/auth/password_reset',
      { tenant: 'no-such-co', email: 'r@reset.example' },
      from(),
    );
    expect(known).toMatchObject({ status: 202, body: { ok: true } });
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    expect(noTenant.body).toEqual(known.body);
    const mail = await mailTo(mailer, 'r@reset.example', /Reset your Tariff password/);
    expect(mailer.sent.some((m) => m.to === 'nobody@reset.example')).toBe(false);
    const token = tokenIn(mail, 'rst');

    const weak = await post(harness, '/v1/auth/password_reset/confirm', { token, password: 'short' }, from());
    expect(weak.body.error.details).toEqual([{ field: 'password', reason: 'must be at least 12 characters' }]);
    const reset = await post(
      harness,
      '/v1/auth/password_reset/confirm',
      { token, password: 'a brand new password' },
      from(),
    );
    expect(reset.status).toBe(200);
    expect(
      (await post(harness, '/v1/auth/password_reset/confirm', { token, password: 'yet another password' }, from()))
        .status,
    ).toBe(400);
    expect((await trpc(harness, 'query', 'auth.me', undefined, oldSession)).status).toBe(401);
    expect(
      (await post(harness, '/v1/auth/login', { tenant: 'reset-co', email: 'r@reset.example', password }, from()))
        .status,
    ).toBe(401);
    expect(
      (
        await post(
          harness,
          '/v1/auth/login',
          { tenant: 'reset-co', email: 'r@reset.example', password: 'a brand new password' },
          from(),
        )
      ).status,
    ).toBe(200);

    // A second link makes the first worthless; a link expires after an hour.
    const count = mailer.sent.length;
    await post(harness, '/v1/auth/password_reset', { tenant: 'reset-co', email: 'r@reset.example' }, from());
    const first = tokenIn(await mailTo(mailer, 'r@reset.example', /Reset/, count), 'rst');
    const count2 = mailer.sent.length;
    await post(harness, '/v1/auth/password_reset', { tenant: 'reset-co', email: 'r@reset.example' }, from());
    const second = tokenIn(await mailTo(mailer, 'r@reset.example', /Reset/, count2), 'rst');
    expect(
      (
        await post(
          harness,
          '/v1/auth/password_reset/confirm',
          { token: first, password: 'a third long password' },
          from(),
        )
      ).status,
    ).toBe(400);
    harness.clock.advance(61 * 60 * 1000);
    expect(
      (
        await post(
          harness,
          '/v1/auth/password_reset/confirm',
          { token: second, password: 'a third long password' },
          from(),
        )
      ).status,
    ).toBe(400);
  });

  it('limits login attempts per address + account with Retry-After, without locking the real user out elsewhere', async () => {
    await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Limited', email: 'owner@limited.example', password },
      from(),
    );
    const stranger = from();
    for (let i = 0; i < 5; i++) {
      expect(
        (
          await post(
            harness,
            '/v1/auth/login',
            { tenant: 'limited', email: 'owner@limited.example', password: `guess number ${i}` },
            stranger,
          )
        ).status,
      ).toBe(401);
    }
    const limited = await post(
      harness,
      '/v1/auth/login',
      { tenant: 'limited', email: 'owner@limited.example', password },
      stranger,
    );
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ kind: 'rate_limited', code: 'rate_limited' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The real user, from their own address, is not locked out.
    const owner = await post(
      harness,
      '/v1/auth/login',
      { tenant: 'limited', email: 'owner@limited.example', password },
      from(),
    );
    expect(owner.status).toBe(200);
    // After the window, the stranger's address may try again.
    harness.clock.advance(retryAfter * 1000);
    expect(
      (await post(harness, '/v1/auth/login', { tenant: 'limited', email: 'owner@limited.example', password }, stranger))
        .status,
    ).toBe(200);
  });

  it('limits signups per address and reset requests per address + account, with Retry-After on REST and tRPC', async () => {
    const limitedHarness = await startService({
      app: {
        mailer: capturingMailer(),
        rateLimits: {
          signupPerAddress: { limit: 2, windowSeconds: 3600 },
          resetPerAccount: { limit: 2, windowSeconds: 3600 },
        },
      },
    });
    try {
      for (let i = 0; i < 2; i++) {
        expect(
          (
            await post(limitedHarness, '/v1/auth/signup', {
              tenant_name: `Signup ${i}`,
              email: `s${i}@signup.example`,
              password,
            })
          ).status,
        ).toBe(201);
      }
      const third = await post(limitedHarness, '/v1/auth/signup', {
        tenant_name: 'Signup 3',
        email: 's3@signup.example',
        password,
      });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(3500);
      const viaTrpc = await fetch(`${limitedHarness.url}/trpc/auth.signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant_name: 'Signup 4', email: 's4@signup.example', password }),
      });
      expect(viaTrpc.status).toBe(429);
      expect(Number(viaTrpc.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await viaTrpc.json()) as any).error.data.app.code).toBe('rate_limited');

      for (let i = 0; i < 2; i++)
        expect(
          (await post(limitedHarness, '/v1/auth/password_reset', { tenant: 'signup-0', email: 's0@signup.example' }))
            .status,
        ).toBe(202);
      const reset = await post(limitedHarness, '/v1/auth/password_reset', {
        tenant: 'signup-0',
        email: 's0@signup.example',
      });
      expect(reset.status).toBe(429);
      expect(reset.headers.get('retry-after')).toMatch(/^[0-9]+$/);
      // Another account from the same address is not limited by the first one's counter.
      expect(
        (await post(limitedHarness, '/v1/auth/password_reset', { tenant: 'signup-1', email: 's1@signup.example' }))
          .status,
      ).toBe(202);
      // Without TRUST_PROXY, a forged X-Forwarded-For does not give a fresh address.
      expect(
        (
          await post(
            limitedHarness,
            '/v1/auth/signup',
            { tenant_name: 'Forged', email: 'f@signup.example', password },
            { 'x-forwarded-for': '203.0.113.9' },
          )
        ).status,
      ).toBe(429);
    } finally {
      await limitedHarness.close();
    }
  });

  it("caps an API key's powers at its creator's current role, through keys made by keys, and removing the creator disables them", async () => {
    const signup = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Key Powers', email: 'owner@keys.example', password },
      from(),
    );
    const ownerSession = signup.body.session.token;
    const admin = await trpc(
      harness,
      'mutation',
      'users.create',
      { email: 'admin@keys.example', password, role: 'admin' },
      ownerSession,
    );
    expect(admin.status).toBe(200);
    const adminSession = (
      await post(harness, '/v1/auth/login', { tenant: 'key-powers', email: 'admin@keys.example', password }, from())
    ).body.session.token;
    const adminKey = (
      await trpc(
        harness,
        'mutation',
        'apiKeys.create',
        { kind: 'secret', name: 'admin key', role: 'admin' },
        adminSession,
      )
    ).body.secret;
    // A key made by the admin's key, and a publishable key.
    const childKey = (
      await rest(harness, 'POST', '/v1/api_keys', {
        key: adminKey,
        body: { kind: 'secret', name: 'child', role: 'billing' },
      })
    ).body.secret;
    const publishable = (
      await rest(harness, 'POST', '/v1/api_keys', { key: adminKey, body: { kind: 'publishable', name: 'web' } })
    ).body.secret;
    expect(
      (await rest(harness, 'POST', '/v1/customers', { key: childKey, body: { external_id: 'k1', currency: 'USD' } }))
        .status,
    ).toBe(201);

    // The owner makes the admin a viewer: the admin's key, and the key it made, act as viewers at once.
    const demoted = await rest(harness, 'PATCH', `/v1/users/${admin.body.id}`, {
      key: (await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: 'owner key' }, ownerSession)).body
        .secret,
      body: { role: 'viewer' },
    });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe('viewer');
    const escalate = await rest(harness, 'POST', '/v1/api_keys', {
      key: adminKey,
      body: { kind: 'secret', name: 'sneaky', role: 'admin' },
    });
    expect(escalate.status).toBe(403);
    expect((await rest(harness, 'GET', '/v1/api_keys', { key: adminKey })).status).toBe(403);
    expect((await rest(harness, 'GET', '/v1/customers/k1', { key: adminKey })).status).toBe(200);
    expect(
      (await rest(harness, 'POST', '/v1/customers', { key: childKey, body: { external_id: 'k2', currency: 'USD' } }))
        .status,
    ).toBe(403);
    expect((await rest(harness, 'GET', '/v1/customers/k1', { key: childKey })).status).toBe(200);

    // Raised again, the keys get back their own roles, never more.
    expect(
      (await trpc(harness, 'mutation', 'users.changeRole', { user_id: admin.body.id, role: 'admin' }, ownerSession))
        .status,
    ).toBe(200);
    expect(
      (await rest(harness, 'POST', '/v1/customers', { key: childKey, body: { external_id: 'k2', currency: 'USD' } }))
        .status,
    ).toBe(201);
    expect((await rest(harness, 'GET', '/v1/api_keys', { key: childKey })).status).toBe(403);

    // Removed: sessions end, secret keys stop working; the publishable key keeps reading prices.
    const removed = await trpc(harness, 'mutation', 'users.remove', { user_id: admin.body.id }, ownerSession);
    expect(removed.status).toBe(200);
    expect(removed.body.disabled_at).not.toBeNull();
    expect((await rest(harness, 'GET', '/v1/customers/k1', { key: adminKey })).status).toBe(401);
    expect((await rest(harness, 'GET', '/v1/customers/k1', { key: childKey })).status).toBe(401);
    expect((await trpc(harness, 'query', 'auth.me', undefined, adminSession)).status).toBe(401);
    expect(
      (await post(harness, '/v1/auth/login', { tenant: 'key-powers', email: 'admin@keys.example', password }, from()))
        .status,
    ).toBe(401);
    expect((await rest(harness, 'GET', '/v1/price_books', { key: publishable })).status).toBe(200);
    const users = await trpc(harness, 'query', 'users.list', undefined, ownerSession);
    expect(users.body.find((u: any) => u.id === admin.body.id).disabled_at).not.toBeNull();
    // The last owner cannot be removed.
    const me = (await trpc(harness, 'query', 'auth.me', undefined, ownerSession)).body.user.id;
    expect((await trpc(harness, 'mutation', 'users.remove', { user_id: me }, ownerSession)).error?.data.app?.code).toBe(
      'last_owner',
    );
  });

  it('manages users over REST with an admin key, documented in the OpenAPI document', async () => {
    const signup = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Rest Users', email: 'owner@rest.example', password },
      from(),
    );
    const key = (
      await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: 'admin' }, signup.body.session.token)
    ).body.secret;
    const created = await rest(harness, 'POST', '/v1/users', {
      key,
      body: { email: 'New@Rest.example', password, role: 'billing' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'new@rest.example', role: 'billing', email_verified: false });
    await mailTo(mailer, 'new@rest.example', /Confirm your email/);
    expect(
      (await rest(harness, 'POST', '/v1/users', { key, body: { email: 'o@rest.example', password, role: 'owner' } }))
        .body.error.code,
    ).toBe('role_too_high');
    expect(
      (await rest(harness, 'PATCH', `/v1/users/not-a-uuid`, { key, body: { role: 'viewer' } })).body.error.details[0]
        .field,
    ).toBe('path.id');
    expect(
      (await rest(harness, 'PATCH', `/v1/users/${created.body.id}`, { key, body: { role: 'emperor' } })).body.error
        .details[0].field,
    ).toBe('role');
    const list = await rest(harness, 'GET', '/v1/users', { key });
    expect(list.body.data.map((u: any) => u.email).sort()).toEqual(['new@rest.example', 'owner@rest.example']);
    expect((await rest(harness, 'DELETE', `/v1/users/${created.body.id}`, { key })).body.disabled_at).not.toBeNull();
    const login = await post(
      harness,
      '/v1/auth/login',
      { tenant: 'rest-users', email: 'owner@rest.example', password },
      from(),
    );
    const logout = await post(harness, '/v1/auth/logout', undefined, {
      ...from(),
      authorization: `Bearer ${login.body.session.token}`,
    });
    expect(logout.status).toBe(200);
    expect((await trpc(harness, 'query', 'auth.me', undefined, login.body.session.token)).status).toBe(401);
    expect(
      (
        await post(harness, '/v1/auth/logout', undefined, {
          ...from(),
          authorization: `Bearer ${login.body.session.token}`,
        })
      ).status,
    ).toBe(401);
  });

  it('marks the session cookie Secure behind a TLS proxy only when TRUST_PROXY says to believe it', async () => {
    const signup = (h: Harness, email: string) =>
      fetch(`${h.url}/trpc/auth.signup`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-proto': 'https',
          'x-forwarded-for': `192.0.2.${++address}`,
        },
        body: JSON.stringify({ tenant_name: 'Cookie', email, password }),
      });
    const trusted = (await signup(harness, 'secure@cookie.example')).headers.get('set-cookie') ?? '';
    expect(trusted).toMatch(/^tariff_session=ses_/);
    expect(trusted).toMatch(/;\s*Secure/i);
    const untrusting = await startService();
    try {
      const plain = (await signup(untrusting, 'plain@cookie.example')).headers.get('set-cookie') ?? '';
      expect(plain).toMatch(/^tariff_session=ses_/);
      expect(plain).not.toMatch(/;\s*Secure/i);
    } finally {
      await untrusting.close();
    }
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
  });

  it('names audit entries by random ids, not by a sequence shared across tenants, and pages by them', async () => {
    const signup = await post(
      harness,
      '/v1/auth/signup',
      { tenant_name: 'Audit Ids', email: 'owner@audit.example', password },
      from(),
    );
    const key = (
      await trpc(harness, 'mutation', 'apiKeys.create', { kind: 'secret', name: 'admin' }, signup.body.session.token)
    ).body.secret;
    for (let i = 0; i < 3; i++)
      await rest(harness, 'POST', '/v1/customers', { key, body: { external_id: `audit-${i}`, currency: 'USD' } });
    const all = (await rest(harness, 'GET', '/v1/audit_log?limit=500', { key })).body.data;
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const entry of all)
      expect(entry.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const page = await rest(harness, 'GET', '/v1/audit_log?limit=2', { key });
    const next = await rest(harness, 'GET', `/v1/audit_log?limit=2&before_id=${page.body.data[1].id}`, { key });
    expect(next.body.data).toEqual(all.slice(2, 4));
    const bad = await rest(harness, 'GET', '/v1/audit_log?before_id=42', { key });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]).toEqual({ field: 'query.before_id', reason: 'must be an audit entry id' });
  });

  it('checks the API key before parsing any body', async () => {
    // Malformed JSON without a valid key: 401, the body never parsed (it used to be 400 on the app's routes).
    for (const key of [undefined, 'sk_' + 'A'.repeat(43)]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      for (const path of ['/v1/customers', '/v1/events']) {
        const response = await fetch(harness.url + path, { method: 'POST', headers, body: '{"not json' });
        expect(response.status, `${path} ${key}`).toBe(401);
      }
    }
  });
});

describe('server timeouts', () => {
  it('cuts off a client that never finishes its headers', async () => {
    const harness = await startService({ app: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } });
    try {
      const { port, hostname } = new URL(harness.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await harness.close();
    }
    expect(loadConfig({}).headersTimeoutMs).toBe(20_000);
    expect(loadConfig({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '60000' })).toMatchObject({
      headersTimeoutMs: 5000,
      requestTimeoutMs: 60_000,
    });
  });
});
