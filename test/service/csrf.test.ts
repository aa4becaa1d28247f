// CSRF protection of the dashboard's cookie-authenticated tRPC (platform/csrf.ts), as a browser would call it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, trpc, type Harness } from './harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startService();
});
afterAll(async () => {
  await harness.close();
});

/** Signs up over tRPC as the browser does and keeps the cookies it was given. */
async function browserSignup(): Promise<{ cookie: string; csrf: string; session: string }> {
  const email = `csrf-${Math.random().toString(36).slice(2)}@example.com`;
  const response = await fetch(`${harness.url}/trpc/auth.signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: harness.url },
    body: JSON.stringify({ tenant_name: `Csrf ${email}`, email, password: 'correct horse battery staple' }),
  });
  expect(response.status).toBe(200);
  const cookies = response.headers.getSetCookie();
  const value = (name: string) =>
    cookies
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith(`${name}=`))!
      .slice(name.length + 1);
  const session = decodeURIComponent(value('tariff_session'));
  const csrf = decodeURIComponent(value('tariff_csrf'));
  // The CSRF cookie is for the page's script: not HttpOnly, SameSite=Strict.
  const csrfCookie = cookies.find((c) => c.startsWith('tariff_csrf='))!;
  expect(csrfCookie).not.toMatch(/HttpOnly/i);
  expect(csrfCookie).toMatch(/SameSite=Strict/i);
  return {
    cookie: `tariff_session=${encodeURIComponent(session)}; tariff_csrf=${encodeURIComponent(csrf)}`,
    csrf,
    session,
  };
}

async function createCustomer(headers: Record<string, string>, externalId: string) {
  const response = await fetch(`${harness.url}/trpc/customers.create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ external_id: externalId, currency: 'USD' }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('CSRF protection of cookie-authenticated calls', () => {
  it('refuses a cross-site POST that carries the session cookie, and one without the token', async () => {
    const browser = await browserSignup();
    const crossSite = await createCustomer(
      { cookie: browser.cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      'forged-1',
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('cross_site_request');
    // An older browser without Sec-Fetch-Site: the Origin alone refuses it.
    const crossOrigin = await createCustomer({ cookie: browser.cookie, origin: 'https://evil.example' }, 'forged-2');
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.body.error.code).toBe('cross_origin_request');
    // Same origin but no token (a form or a script of a sibling subdomain cannot read the CSRF cookie).
    const tokenless = await createCustomer({ cookie: browser.cookie, origin: harness.url }, 'forged-3');
    expect(tokenless.status).toBe(403);
    expect(tokenless.body.error.code).toBe('csrf_token_invalid');
    // Another Authorization header (not a session's) leaves the cookie authenticating: still refused without the token.
    const otherBearer = await createCustomer(
      { cookie: browser.cookie, authorization: 'Bearer pk_not_a_session' },
      'forged-5',
    );
    expect(otherBearer.status).toBe(403);
    expect(otherBearer.body.error.code).toBe('csrf_token_invalid');
    const wrongToken = await createCustomer(
      { cookie: browser.cookie, 'x-csrf-token': browser.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
      'forged-4',
    );
    expect(wrongToken.status).toBe(403);
    // None of them was created.
    const list = await trpc(harness, 'query', 'customers.list', {}, browser.session);
    expect(list.body.data.map((c: any) => c.external_id)).toEqual([]);
  });

  it("accepts the dashboard's own call (cookie + x-csrf-token), reads by cookie, and Bearer callers without a token", async () => {
    const browser = await browserSignup();
    const own = await createCustomer(
      { cookie: browser.cookie, origin: harness.url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': browser.csrf },
      'real-1',
    );
    expect(own.status).toBe(200);
    expect(own.body.result.data.external_id).toBe('real-1');
    const read = await fetch(`${harness.url}/trpc/customers.list?input=${encodeURIComponent('{}')}`, {
      headers: { cookie: browser.cookie },
    });
    expect(read.status).toBe(200);
    const bearer = await createCustomer({ authorization: `Bearer ${browser.session}` }, 'real-2');
    expect(bearer.status).toBe(200);
    // Logging out clears both cookies.
    const logout = await fetch(`${harness.url}/trpc/auth.logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: browser.cookie, 'x-csrf-token': browser.csrf },
      body: '{}',
    });
    expect(logout.status).toBe(200);
    expect(
      logout.headers
        .getSetCookie()
        .map((c) => c.split('=')[0])
        .sort(),
    ).toEqual(['tariff_csrf', 'tariff_session']);
  });

  it('refuses a cross-origin login (login CSRF) but not a same-origin one', async () => {
    const refused = await fetch(`${harness.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ tenant: 'nobody', email: 'a@example.com', password: 'whatever password' }),
    });
    expect(refused.status).toBe(403);
    const sameOrigin = await fetch(`${harness.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: harness.url },
      body: JSON.stringify({ tenant: 'nobody', email: 'a@example.com', password: 'whatever password' }),
    });
    // Past the CSRF check: refused for the credentials instead.
    expect(sameOrigin.status).toBe(401);
  });
});
