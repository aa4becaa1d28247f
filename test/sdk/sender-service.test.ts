// The event sender against the real service and PostgreSQL: the service is stopped twice while batches are in flight
// (once right after it committed a batch whose answer is then lost, once with a request on the wire) and started
// again on the same port and database. Every event must be stored and charged exactly once.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../service/src/app.ts';
import { manualClock } from '../../service/src/platform/clock.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { TariffClient } from '../../sdk/src/client.ts';
import { EventSender, type UsageEvent } from '../../sdk/src/sender.ts';
import { exampleBook, signUpTenant } from '../service/harness.ts';

let database: TestDatabase;
let server: Server | undefined;
let port = 0;
let restarting: Promise<void> | undefined;
/** Called with each POST /v1/events the service receives, before it handles it. */
let onIngestRequest: (count: number) => void = () => {};
let ingestRequests = 0;
const clock = manualClock('2026-03-15T00:00:00Z');

async function startServer(): Promise<void> {
  const app = createApp({ db: database.app, clock, logger: silentLogger });
  const started = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  started.on('request', (req) => {
    if (req.method === 'POST' && req.url === '/v1/events') onIngestRequest(++ingestRequests);
  });
  port = (started.address() as AddressInfo).port;
  server = started;
}

function restartSoon(): void {
  restarting = new Promise((resolve) => setTimeout(resolve, 300)).then(startServer);
}

/** Stops the service the hard way: no more connections, and every open one destroyed mid-request. */
function killServer(): void {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await startServer();
});

afterAll(async () => {
  await restarting;
  killServer();
  await database?.drop();
});

describe('EventSender against the service', () => {
  it('delivers 3,000 events exactly once across two service stops mid-flight', async () => {
    const url = `http://127.0.0.1:${port}`;
    const tenant = await signUpTenant({ url } as Parameters<typeof signUpTenant>[0]);
    const admin = new TariffClient({ baseUrl: url, apiKey: tenant.secretKey });
    await admin.createCustomer({ body: { external_id: 'acme', currency: 'USD' } });
    await admin.createPriceBook({ body: { book: exampleBook('llm') } });
    await admin.assignPriceBook({
      path: { id: 'acme' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });

    let ingestCalls = 0;
    const fetch = async (input: string, init: RequestInit): Promise<Response> => {
      if (input.endsWith('/v1/events') && ++ingestCalls === 3) {
        // The service stores the batch and answers; the answer is lost with the service.
        await globalThis.fetch(input, init);
        killServer();
        restartSoon();
        throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      }
      return globalThis.fetch(input, init);
    };
    // Later, the service goes down the moment a batch arrives: its fate is unknown to the sender.
    onIngestRequest = (count) => {
      if (count !== 9) return;
      killServer();
      restartSoon();
    };
    const client = new TariffClient({ baseUrl: url, apiKey: tenant.secretKey, fetch });
    const sender = new EventSender({
      client,
      maxBatchSize: 200,
      flushIntervalMs: 10,
      maxBufferedEvents: 1000,
      concurrency: 2,
      backoff: { baseDelayMs: 50, maxDelayMs: 200 },
    });

    const events: UsageEvent[] = Array.from({ length: 3000 }, (_, i) => ({
      transaction_id: `evt_${i}`,
      customer_id: 'acme',
      event_type: 'llm.completion',
      timestamp: `2026-03-10T${String(10 + (i % 10)).padStart(2, '0')}:00:00Z`,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 100 },
    }));
    for (const event of events) await sender.send(event);
    const stats = await sender.close();
    await restarting;

    expect(stats).toMatchObject({ rejected: 0, failed: 0, buffered: 0 });
    expect(stats.accepted + stats.duplicate).toBe(3000);
    expect(stats.duplicate).toBeGreaterThanOrEqual(200); // the batch whose answer was lost came back as duplicates
    expect(stats.retries).toBeGreaterThanOrEqual(2);

    // Stored and charged once each: the service's own usage, and its total equal to the book's price of the events.
    const usage = await admin.getUsage({ path: { id: 'acme' } });
    expect(usage.event_count).toBe('3000');
    // 2.5 per million input tokens, 10 per million output: sum(1000 + i) x 2.5e-6 + 3000 x 100 x 1e-5.
    const inputTokens = events.reduce((sum, e) => sum + (e.properties!.input_tokens as number), 0);
    const expected = (BigInt(inputTokens) * 2_500n + 3000n * 100n * 10_000n).toString().padStart(10, '0');
    expect(usage.amount).toBe(`${expected.slice(0, -9)}.${expected.slice(-9)}`);
  });
});
