// Shared pieces of the billing scenarios: a price book with token and GPU cards, event builders, setup calls.
import { expect } from 'vitest';
import { rest, signUpTenant, startService, trpc, type Harness, type TenantFixture } from '../service/harness.ts';
import { startJobRunner } from './jobs-harness.ts';

/** Tokens at $0.02 per 1,000 (drawing the "tokens" allowance when a plan includes some); H100 time at $2.50 per GPU-hour. */
export const billingBook = {
  id: 'ai-platform',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'llm/tokens',
          match: { event_type: 'llm.completion' },
          charges: [
            { dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '0.02', per: '1000' } },
          ],
        },
        {
          id: 'gpu/h100',
          match: { event_type: 'gpu.job', gpu_type: 'h100' },
          dimensions: { gpu_seconds: { gpu_time: {} } },
          charges: [{ dimension: 'gpu_seconds', price: { model: 'per_unit', rate: '2.5', per: '3600' } }],
        },
      ],
    },
  ],
};

/** A book of one card: tokens at `rate` per 1,000. */
export const tokenBook = (id: string, rate: string, currency = 'USD') => ({
  id,
  currency,
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'llm/tokens',
          match: { event_type: 'llm.completion' },
          charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate, per: '1000' } }],
        },
      ],
    },
  ],
});

export const tokens = (id: string, customer: string, count: number, timestamp: string, model = 'llama-3-70b') => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { model, tokens: count },
});

export const gpuJob = (id: string, customer: string, gpus: number, seconds: number, timestamp: string) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'gpu.job',
  timestamp,
  properties: { gpu_type: 'h100', gpu_count: gpus, duration_seconds: seconds, region: 'us-east' },
});

export function client(harness: Harness, tenant: TenantFixture) {
  const call = (method: string, path: string, body?: unknown) =>
    rest(harness, method, path, { key: tenant.secretKey, body });
  return {
    call,
    /** A call that must succeed (2xx). */
    ok: async (method: string, path: string, body?: unknown) => {
      const response = await call(method, path, body);
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
      return response.body;
    },
    events: async (...events: unknown[]) => {
      const response = await call('POST', '/v1/events', { events });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.events as any[];
    },
    /** Events sent as a gateway sends them before serving: an event past a blocking limit is refused, not flagged. */
    refusing: async (...events: unknown[]) => {
      const response = await call('POST', '/v1/events', { events, on_block: 'refuse' });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.events as any[];
    },
    /** The customer's invoice for the period starting at `periodStart` (ISO), if any. */
    invoiceOf: async (customer: string, periodStart: string) => {
      const response = await call('GET', `/v1/invoices?customer_id=${customer}&limit=100`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.data.find((i: any) => i.period.start === periodStart);
    },
  };
}

/** The book (billingBook unless given) and the "pro" plan on it: 100 a month, invoices finalized at period end. */
export async function createProPlan(
  api: ReturnType<typeof client>,
  plan: Record<string, unknown> = {},
  book: { id: string; currency: string } = billingBook,
) {
  await api.ok('POST', '/v1/price_books', { book });
  await api.ok('POST', '/v1/plans', {
    code: 'pro',
    name: 'Pro',
    price_book: book.id,
    base_fee: '100',
    interval: 'month',
    invoice_grace_hours: 0,
    ...plan,
  });
}

/** A service with a signed-up tenant, its API client and a job runner, as the billing scenarios start. */
export async function startBillingScenario(now: string) {
  const harness = await startService({ now });
  const tenant = await signUpTenant(harness);
  return { harness, tenant, api: client(harness, tenant), jobs: await startJobRunner(harness) };
}

/** A dashboard session now, by logging the tenant's owner in (the signup's may have expired while the clock moved on). */
export async function logIn(harness: Harness, tenant: TenantFixture): Promise<string> {
  const login = await trpc(harness, 'mutation', 'auth.login', {
    tenant: tenant.slug,
    email: tenant.email,
    password: 'correct horse battery staple',
  });
  expect(login.status, JSON.stringify(login.error)).toBe(200);
  return login.body.session.token as string;
}
