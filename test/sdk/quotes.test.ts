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
  transaction_id: id,
  customer_id: 'acme',
  event_type: 'llm.completion',
  timestamp,
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: input, output_tokens: output },
});
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
  tenant = await signUpTenant(harness);
  client = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
  await client.createPriceBook({ body: { book: exampleBook('llm') } });
  await client.createCustomer({ body: { external_id: 'acme', currency: 'USD' } });
  await client.assignPriceBook({
    path: { id: 'acme' },
    body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
  });
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
      transaction_id: 'q-1',
      customer_id: 'acme',
      currency: 'USD',
      amount: '0.270000000',
      subtotal: '0.270000000',
      price_book: 'llm',
      book_version: local.book_version,
      card: 'openai/gpt-4o',
      issued_at: '2026-03-15T00:00:00.000Z',
      expires_at: '2026-03-15T00:10:00.000Z',
    });
    expect(quoted.amount).toBe(local.amount);
    expect(quoted.receipt).toEqual(local.receipt);
    expect(quoted.fingerprint).toBe(eventFingerprint(event('q-1')));
    expect(quoted.id).toMatch(/^quo_/);
    expect(claimsOf(quoted.quote)).toEqual({
      typ: 'tariff.quote',
      tid: tenant.tenantId,
      qid: quoted.id,
      sub: 'acme',
      txn: 'q-1',
      fp: quoted.fingerprint,
      amt: '0.270000000',
      cur: 'USD',
      pb: 'llm',
      bv: local.book_version,
      iat: Date.parse('2026-03-15T00:00:00Z') / 1000,
      exp: Date.parse('2026-03-15T00:10:00Z') / 1000,
    });
    // The fingerprint does not depend on the order of the properties, and does on their values.
    expect(
      eventFingerprint({
        ...event('q-1'),
        properties: { output_tokens: 2_000, input_tokens: 100_000, model: 'gpt-4o', provider: 'openai' },
      }),
    ).toBe(quoted.fingerprint);
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
      [
        { event: { ...event('x'), properties: { provider: 'openai', model: 'o9' } } },
        400,
        'no_rate_card',
        'event.properties',
      ],
      [
        { event: { ...event('x'), properties: { provider: 'openai', model: 'gpt-4o', input_tokens: -5 } } },
        400,
        'invalid_property',
        'event.properties.input_tokens',
      ],
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

describe('POST /v1/events with a quote', () => {
  const ingest = async (events: unknown[], key = tenant.secretKey) => {
    const response = await rest(harness, 'POST', '/v1/events', { key, body: { events } });
    expect(response.status).toBe(200);
    return response.body.events as {
      status: string;
      amount?: string;
      book_version?: string;
      error?: { code: string; field?: string };
    }[];
  };

  it('rates a quoted event with the quoted book version after a price rise, and its receipt records the quote', async () => {
    harness.clock.set('2026-03-15T01:00:00Z');
    const at = '2026-03-15T01:02:00Z';
    const quote = await estimator.quote(event('h-1', 100_000, 2_000, at));
    expect(quote.amount).toBe('0.270000000');
    // Prices double from 01:01 on.
    const doubled = exampleBook('llm', '2026-03-15T01:01:00Z').versions[0];
    doubled.rate_cards[0].charges = doubled.rate_cards[0].charges.map((c) => ({
      ...c,
      price: { ...c.price, rate: String(Number(c.price.rate) * 2) },
    }));
    expect(
      (
        await rest(harness, 'POST', '/v1/price_books/llm/versions', {
          key: tenant.secretKey,
          body: { version: doubled },
        })
      ).status,
    ).toBe(201);
    harness.clock.set('2026-03-15T01:03:00Z');

    const [quoted, unquoted] = await ingest([
      withQuote(event('h-1', 100_000, 2_000, at), quote),
      event('h-2', 100_000, 2_000, at),
    ]);
    expect(quoted).toMatchObject({ status: 'accepted', amount: '0.270000000', book_version: quote.book_version });
    expect(unquoted).toMatchObject({
      status: 'accepted',
      amount: '0.540000000',
      book_version: '2026-03-15T01:01:00.000Z',
    });
    const receipt = (await rest(harness, 'GET', '/v1/events/h-1/receipt', { key: tenant.secretKey })).body;
    expect(receipt.book_version).toBe(quote.book_version);
    expect(receipt.receipt.slice(0, -1)).toEqual(quote.receipt);
    expect(receipt.receipt.at(-1)).toEqual({
      step: 'quote',
      quote: quote.id,
      quoted_amount: '0.270000000',
      book_version: quote.book_version,
      expires_at: quote.expires_at,
    });
    // The quote is spent with its transaction id: a resend is a duplicate at the quoted amount.
    expect((await ingest([withQuote(event('h-1', 100_000, 2_000, at), quote)]))[0]).toMatchObject({
      status: 'duplicate',
      amount: '0.270000000',
    });
  });

  it('rejects expired, tampered, mismatched and foreign quotes with field "quote", storing nothing, and takes the rest of the batch', async () => {
    harness.clock.set('2026-03-15T02:00:00Z');
    const at = '2026-03-15T02:00:00Z';
    const short = await estimator.quote(event('x-expired', 10, 10, at), { expiresIn: 60 });
    const good = await estimator.quote(event('x-good', 10, 10, at));
    const mismatched = await estimator.quote(event('x-other', 10, 10, at));
    const [header, payload, signature] = good.quote.split('.');
    const cheaper = Buffer.from(
      JSON.stringify({ ...claimsOf(good.quote), amt: '0.000000001', txn: 'x-tampered' }),
    ).toString('base64url');
    const snapshotToken = estimator.snapshotInfo!.token;
    // Another tenant with the same customer and book: its quote is signed with its own key.
    const other = await signUpTenant(harness);
    const otherClient = new TariffClient({ baseUrl: harness.url, apiKey: other.secretKey });
    await otherClient.createPriceBook({ body: { book: exampleBook('llm') } });
    await otherClient.createCustomer({ body: { external_id: 'acme', currency: 'USD' } });
    await otherClient.assignPriceBook({
      path: { id: 'acme' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    const foreign = await otherClient.createQuote({ body: { event: event('x-foreign', 10, 10, at) } });

    harness.clock.set('2026-03-15T02:01:01Z');
    const outcomes = await ingest([
      withQuote(event('x-expired', 10, 10, at), short),
      withQuote(event('x-tampered', 10, 10, at), `${header}.${cheaper}.${signature}`),
      withQuote(event('x-other', 10, 11, at), mismatched),
      withQuote(event('x-reused', 10, 10, at), good),
      withQuote(event('x-foreign', 10, 10, at), foreign),
      withQuote(event('x-snapshot', 10, 10, at), snapshotToken),
      withQuote(event('x-garbage', 10, 10, at), 'not-a-token'),
      { ...event('x-number', 10, 10, at), quote: 42 },
      withQuote(event('x-good', 10, 10, at), good),
      event('x-plain', 10, 10, at),
    ]);
    expect(outcomes.map((o) => [o.status, o.error?.code, o.error?.field])).toEqual([
      ['rejected', 'quote_expired', 'quote'],
      ['rejected', 'quote_invalid', 'quote'],
      ['rejected', 'quote_mismatch', 'quote'],
      ['rejected', 'quote_mismatch', 'quote'],
      ['rejected', 'quote_invalid', 'quote'],
      ['rejected', 'quote_invalid', 'quote'],
      ['rejected', 'quote_invalid', 'quote'],
      ['rejected', 'invalid_event', 'quote'],
      ['accepted', undefined, undefined],
      ['accepted', undefined, undefined],
    ]);
    // Nothing of the rejected events was stored: sent again without a quote, they are new.
    const resent = await ingest(['x-expired', 'x-tampered', 'x-other'].map((id) => event(id, 10, 10, at)));
    expect(resent.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it("rejects a quote for another book when the customer's book changed since", async () => {
    harness.clock.set('2026-03-15T03:00:00Z');
    await client.createCustomer({ body: { external_id: 'switcher', currency: 'USD' } });
    await client.assignPriceBook({
      path: { id: 'switcher' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    const quote = await client.createQuote({
      body: { event: { ...event('s-1', 10, 10, '2026-03-15T03:02:00Z'), customer_id: 'switcher' } },
    });
    await client.createPriceBook({ body: { book: exampleBook('llm-2') } });
    await client.assignPriceBook({
      path: { id: 'switcher' },
      body: { price_book: 'llm-2', effective_from: '2026-03-15T03:01:00Z' },
    });
    harness.clock.set('2026-03-15T03:02:00Z');
    const [outcome] = await ingest([
      withQuote({ ...event('s-1', 10, 10, '2026-03-15T03:02:00Z'), customer_id: 'switcher' }, quote),
    ]);
    expect(outcome).toMatchObject({ status: 'rejected', error: { code: 'quote_mismatch', field: 'quote' } });
  });
});
