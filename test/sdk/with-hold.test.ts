// withHold against the service: the hold is placed from the provider request (prompt estimate, full max_tokens),
// the call's usage is read from its body or its stream and captured with the hold's id (a stream and a body of the
// same call cost the same), a failing call releases the hold, and a local Estimator that tracks the hold answers
// check() as the service's check does while the call runs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TariffClient } from '../../sdk/src/client.ts';
import { Estimator } from '../../sdk/src/estimator.ts';
import { estimateFromRequest, withHold, type HoldOptions } from '../../sdk/src/holds.ts';
import { type Harness, type TenantFixture, rest, signUpTenant, startService } from '../service/harness.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/streams');
const body = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, `${file}.json`), 'utf8'));
/** The recorded stream as a socket delivers it: 64-byte chunks. */
async function* stream(file: string): AsyncIterable<Uint8Array> {
  const bytes = fs.readFileSync(path.join(dir, `${file}.sse`));
  for (let i = 0; i < bytes.length; i += 64) yield new Uint8Array(bytes.subarray(i, i + 64));
}

const book = {
  id: 'llm-holds',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: { starts_with: 'gpt-4o' } },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
        {
          id: 'anthropic/sonnet-4',
          match: { provider: 'anthropic', model: { starts_with: 'claude-sonnet-4' } },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '3' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '15' } },
          ],
        },
        {
          id: 'google/gemini-2.5-flash',
          match: { provider: 'google', model: { starts_with: 'gemini-2.5-flash' } },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '0.3' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '2.5' } },
          ],
        },
      ],
    },
  ],
};

let harness: Harness;
let tenant: TenantFixture;
let client: TariffClient;
const ok = async (method: string, url: string, payload?: unknown) => {
  const response = await rest(harness, method, url, { key: tenant.secretKey, body: payload });
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
  return response.body;
};
const options = (customerId: string, provider: string, holdId: string): HoldOptions => ({
  client,
  customerId,
  provider,
  holdId,
  now: () => harness.clock.now(),
});

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
  tenant = await signUpTenant(harness);
  client = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
  await ok('POST', '/v1/price_books', { book });
  for (const id of ['sdk-co', 'sdk-blocked']) {
    await ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
    await ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: 'llm-holds',
      effective_from: '2026-01-01T00:00:00Z',
    });
  }
  await ok('PATCH', '/v1/customers/sdk-blocked/wallet', { on_depletion: 'block' });
  await ok('POST', '/v1/customers/sdk-blocked/credit_grants', { kind: 'prepaid', amount: '0.02' });
});
afterAll(async () => {
  await harness?.close();
});

describe('withHold', () => {
  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(3000) }], max_tokens: 1000 };

  it("holds the worst case of the request, then captures the body's usage and closes the hold", async () => {
    expect(estimateFromRequest('openai', chat).properties).toEqual({
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 1010,
      output_tokens: 1000,
    });
    const run = await withHold(options('sdk-co', 'openai', 'chat-1'), chat, async () => body('openai-chat'));
    // 1,010 input tokens (3,004 characters over three, and 8 for the message) at $2.50 and 1,000 output at $10 per million.
    expect(run.hold).toMatchObject({ id: 'chat-1', status: 'open', amount: '0.012525000', card: 'openai/gpt-4o' });
    const { usage, outcome } = await run.settled;
    expect(usage.usage).toMatchObject({ input_tokens: 1342, output_tokens: 7 });
    // 1,342 x $2.50 + 7 x $10 per million.
    expect(outcome).toMatchObject({
      status: 'accepted',
      amount: '0.003425000',
      hold: { id: 'chat-1', status: 'captured', captured: '0.003425000', held: '0.000000000' },
    });
    expect(await ok('GET', '/v1/customers/sdk-co/holds/chat-1')).toMatchObject({
      status: 'captured',
      captured: '0.003425000',
      captures: [{ transaction_id: 'chat-1:capture', final: true }],
    });
  });

  for (const [provider, file, request] of [
    [
      'anthropic',
      'anthropic-messages',
      {
        model: 'claude-sonnet-4-20250514',
        max_tokens: 1024,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'What settles a hold?' }],
        stream: true,
      },
    ],
    [
      'google',
      'gemini-generate-content',
      { contents: [{ role: 'user', parts: [{ text: 'Why holds?' }] }], generationConfig: { maxOutputTokens: 2048 } },
    ],
    ['openai', 'openai-chat', { ...chat, stream: true, stream_options: { include_usage: true } }],
  ] as const) {
    it(`captures a ${provider} stream when it has been read to the end, at the non-streamed call's price`, async () => {
      const model = provider === 'google' ? { model: 'gemini-2.5-flash' } : {};
      const whole = await withHold({ ...options('sdk-co', provider, `${file}-body`), ...model }, request, async () =>
        body(file),
      );
      const run = await withHold({ ...options('sdk-co', provider, `${file}-stream`), ...model }, request, async () =>
        stream(file),
      );
      const chunks: Uint8Array[] = [];
      for await (const chunk of run.result) chunks.push(chunk);
      // Every byte passed through to the caller unchanged.
      expect(Buffer.concat(chunks).equals(fs.readFileSync(path.join(dir, `${file}.sse`)))).toBe(true);
      const streamed = await run.settled;
      const settled = await whole.settled;
      expect(streamed.outcome).toMatchObject({ status: 'accepted', hold: { status: 'captured' } });
      expect((streamed.outcome as any).amount).toBe((settled.outcome as any).amount);
      expect(streamed.usage.properties).toEqual(settled.usage.properties);
    });
  }

  it('releases the hold when the call fails or the stream breaks off', async () => {
    await expect(
      withHold(options('sdk-co', 'openai', 'failing'), chat, async () => Promise.reject(new Error('upstream 529'))),
    ).rejects.toThrow('upstream 529');
    expect(await ok('GET', '/v1/customers/sdk-co/holds/failing')).toMatchObject({
      status: 'released',
      held: '0.000000000',
    });
    async function* broken() {
      yield new TextEncoder().encode('data: {"choices":[]}\n\n');
      throw new Error('socket hang up');
    }
    const run = await withHold(options('sdk-co', 'openai', 'broken'), chat, async () => broken());
    await expect(
      (async () => {
        for await (const _ of run.result) void _;
      })(),
    ).rejects.toThrow('socket hang up');
    await expect(run.settled).rejects.toThrow('socket hang up');
    expect(await ok('GET', '/v1/customers/sdk-co/holds/broken')).toMatchObject({ status: 'released' });
  });

  it('keeps a local Estimator in step: while the call runs, check() refuses what the hold sets aside, as the service does', async () => {
    const estimator = await Estimator.fromServer(client, 'sdk-blocked', { wasm: wasmBytes() });
    // $0.01 of input tokens.
    const event = {
      transaction_id: 'probe',
      customer_id: 'sdk-blocked',
      event_type: 'llm.request',
      timestamp: harness.clock.now().toISOString(),
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 4000, output_tokens: 0 },
    };
    const small = { ...event, properties: { ...event.properties, input_tokens: 2000 } };
    expect(estimator.check(event).allowed).toBe(true);
    let during: unknown[] = [];
    await withHold({ ...options('sdk-blocked', 'openai', 'agent-step'), estimator }, chat, async () => {
      // The hold sets $0.012525 of the $0.02 aside: $0.007475 is left.
      const server = await ok('POST', '/v1/customers/sdk-blocked/check', { estimated_cost: '0.01' });
      const serverSmall = await ok('POST', '/v1/customers/sdk-blocked/check', { estimated_cost: '0.005' });
      during = [
        server.allowed,
        estimator.check(event).allowed,
        serverSmall.allowed,
        estimator.check(small).allowed,
        estimator.check(event).reason,
      ];
      return body('openai-chat');
    });
    expect(during).toEqual([false, false, true, true, 'credits_exhausted']);
    // Captured: the estimator no longer counts the hold.
    expect(estimator.heldAt('sdk-blocked', harness.clock.now().getTime())).toBe(0n);
  });
});
