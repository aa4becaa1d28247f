// Signed price quotes: POST /v1/quotes (and the SDK's quote()) rates an event as ingestion would now and signs
// amount, currency, book version, the event's fingerprint and expiry; POST /v1/events honours the quote an event
// carries before its expiry (rated with the quoted book version, a `quote` receipt step) and rejects expired,
// tampered and mismatched ones with `field: "quote"`.
import { Kernel } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TariffClient } from '../../sdk/src/client.ts';
import { Estimator, withQuote } from '../../sdk/src/estimator.ts';
import { eventFingerprint } from '../../service/src/domains/quotes/service.ts';
import { type Harness, type TenantFixture, exampleBook, rest, signUpTenant, startService } from '../service/harness.ts';

let harness: Harness;
let tenant: TenantFixture;
let client: TariffClient;
let estimator: Estimator;

const event = (id: string, input = 100_000, output = 2_000, timestamp = '2026-03-15T00:00:00Z') => ({
  transaction_id: id, customer_id: 'acme', event_type: 'llm.completion', timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output },
});
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
  tenant = await signUpTenant(harness);
  client = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
  await client.createPriceBook({ body: { book: exampleBook('llm') } });
  await client.createCustomer({ body: { external_id: 'acme', currency: 'USD' } });
  await client.assignPriceBook({ path: { id: 'acme' }, body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' } });
  estimator = await Estimator.fromServer(client, 'acme', { wasm: await Kernel.create(wasmBytes()) });
});

afterAll(async () => {
  await harness?.close();
});

describe('POST /v1/quotes', () => {
  it('signs what the event costs now: amount, currency, book version, fingerprint, expiry', async () => {
    const quoted = await estimator.quote(event('q-1'), { expiresIn: 600 });
    const local = estimator.estimate(event('q-1'));
    // 100,000 input at 2.5 + 2,000 output at 10 per million.
    expect(quoted).toMatchObject({
      transaction_id: 'q-1', customer_id: 'acme', currency: 'USD', amount: '0.270000000', subtotal: '0.270000000', price_book: 'llm',
      book_version: local.book_version, card: 'openai/gpt-4o', issued_at: '2026-03-15T00:00:00.000Z', expires_at: '2026-03-15T00:10:00.000Z',
    });
    expect(quoted.amount).toBe(local.amount);
    expect(quoted.receipt).toEqual(local.receipt);
    expect(quoted.fingerprint).toBe(eventFingerprint(event('q-1')));
    expect(quoted.id).toMatch(/^quo_/);
    expect(claimsOf(quoted.quote)).toEqual({
      typ: 'tariff.quote', tid: tenant.tenantId, qid: quoted.id, sub: 'acme', txn: 'q-1', fp: quoted.fingerprint, amt: '0.270000000', cur: 'USD',
      pb: 'llm', bv: local.book_version, iat: Date.parse('2026-03-15T00:00:00Z') / 1000, exp: Date.parse('2026-03-15T00:10:00Z') / 1000,
    });
    // The fingerprint does not depend on the order of the properties, and does on their values.
    expect(eventFingerprint({ ...event('q-1'), properties: { output_tokens: 2_000, input_tokens: 100_000, model: 'gpt-4o', provider: 'openai' } })).toBe(quoted.fingerprint);
    expect(eventFingerprint(event('q-1', 100_001))).not.toBe(quoted.fingerprint);
    // Five minutes unless asked.
    expect((await estimator.quote(event('q-2'))).expires_at).toBe('2026-03-15T00:05:00.000Z');
  });

  it('refuses what it cannot quote with a 4xx naming the field, and keys that may not send events', async () => {
    const post = (body: unknown, key = tenant.secretKey) => rest(harness, 'POST', '/v1/quotes', { key, body });
    const cases: [unknown, number, string, string][] = [
      [{}, 400, 'invalid_request', 'event'],
      [{ event: event('x'), expires_in: 0 }, 400, 'invalid_request', 'expires_in'],
      [{ event: event('x'), expires_in: 3601 }, 400, 'invalid_request', 'expires_in'],
      [{ event: { ...event('x'), transaction_id: '' } }, 400, 'invalid_request', 'event.transaction_id'],
      [{ event: { ...event('x'), timestamp: 'yesterday' } }, 400, 'invalid_timestamp', 'event.timestamp'],
      [{ event: event('x', 1, 1, '2026-03-15T00:06:00Z') }, 400, 'timestamp_in_future', 'event.timestamp'],
      [{ event: { ...event('x'), properties: { provider: 'openai', model: 'o9' } } }, 400, 'no_rate_card', 'event.properties'],
      [{ event: { ...event('x'), properties: { provider: 'openai', model: 'gpt-4o', input_tokens: -5 } } }, 400, 'invalid_property', 'event.properties.input_tokens'],
      [{ event: { ...event('x'), customer_id: 'nobody' } }, 404, 'customer_not_found', ''],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await post(body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([status, code]);
      if (field) expect(response.body.error.details[0].field, JSON.stringify(body)).toBe(field);
    }
    const publishable = await post({ event: event('x') }, tenant.publishableKey);
    expect([publishable.status, publishable.body.error.code]).toEqual([403, 'permission_denied']);
  });
});
