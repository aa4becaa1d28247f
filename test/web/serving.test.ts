// The service serves the built dashboard at / with index.html for client routes, and the API's answers stay as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Harness } from '../service/harness.ts';
import { requireBuiltDashboard } from './pages.ts';

describe('serving the dashboard', () => {
  let harness: Harness;
  beforeAll(async () => {
    requireBuiltDashboard();
    harness = await startService();
  });
  afterAll(async () => {
    await harness?.close();
  });

  const get = (path: string, accept = 'text/html,*/*') => fetch(harness.url + path, { headers: { accept } });

  it.each(['/', '/signup', '/login', '/verify-email?token=x', '/dashboard/customers/acme', '/portal?token=x'])(
    'answers %s with the app page and its security headers',
    async (path) => {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self' 'wasm-unsafe-eval'");
      const html = await response.text();
      expect(html).toContain('<div id="root"></div>');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];
      const asset = await get(script);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
    },
  );

  it('keeps the API paths, and a missing asset, as JSON answers', async () => {
    const unknownApi = await get('/v1/nothing-here');
    expect(unknownApi.status).toBe(401); // /v1 asks for a key before it looks for the route
    const health = await get('/healthz');
    expect(await health.json()).toEqual({ status: 'ok' });
    const trpc = await get('/trpc/auth.me');
    expect(trpc.status).toBe(401);
    expect((await trpc.json()).error.data.code).toBe('UNAUTHORIZED');
    const missingAsset = await get('/assets/nothing.js');
    expect(missingAsset.status).toBe(404);
    expect((await missingAsset.json()).error.code).toBe('route_not_found');
    // A client that wants JSON gets the API's 404, not a page.
    const json = await get('/dashboard', 'application/json');
    expect(json.status).toBe(404);
    expect((await json.json()).error.code).toBe('route_not_found');
  });
});
