import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, signUpTenant, startService, trpc, type Harness } from './harness.ts';

describe('smoke', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startService();
  });
  afterAll(async () => {
    await harness?.close();
  });
  it('signs up and creates a customer', async () => {
    const t = await signUpTenant(harness);
    const created = await rest(harness, 'POST', '/v1/customers', { key: t.secretKey, body: { external_id: 'c1', currency: 'USD' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const me = await trpc(harness, 'query', 'auth.me', undefined, t.session);
    expect(me.body.user.role).toBe('owner');
  });
});
