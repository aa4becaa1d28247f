// The event sender against a real HTTP server on 127.0.0.1: a small fake of POST /v1/events that dedupes on
// transaction_id as the service does, and can be killed (sockets destroyed) and restarted mid-flight.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TariffClient, type TariffError } from './client.ts';
import { EventSender, type Rejection, SenderCloseTimeoutError, SenderFullError, type UsageEvent } from './sender.ts';
import { eventually } from '../../test/wait.ts';

type Hook = (
  request: { number: number; events: UsageEvent[] },
  fake: FakeIngest,
) =>
  | 'respond'
  | 'commit-then-kill'
  | 'kill'
  | 'hold'
  | { status: number; headers?: Record<string, string>; body?: unknown };

class FakeIngest {
  /** Transaction ids stored (the dedupe table: a resent id is answered `duplicate`, not stored again). */
  readonly stored = new Set<string>();
  /** Answers that reached the client, per transaction id: exactly once means every count is 1. */
  readonly acknowledged = new Map<string, number>();
  readonly requests: UsageEvent[][] = [];
  readonly held: (() => void)[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly hook: Hook = () => 'respond') {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and destroys every open connection: requests in flight never get an answer. */
  kill(): void {
    const server = this.server;
    this.server = undefined;
    server?.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const events = (JSON.parse(text) as { events: UsageEvent[] }).events;
    this.requests.push(events);
    const action = this.hook({ number: this.requests.length, events }, this);
    if (action === 'kill') return this.kill();
    if (action === 'hold') await new Promise<void>((resolve) => this.held.push(resolve));
    if (typeof action === 'object') {
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
      res.end(
        JSON.stringify(
          action.body ?? { error: { kind: 'unavailable', code: 'fake', message: 'fake failure', details: [] } },
        ),
      );
      return;
    }
    const outcomes = events.map((event, index) => {
      if (event.properties?.bad !== undefined) {
        return {
          index,
          transaction_id: event.transaction_id,
          status: 'rejected',
          error: { code: 'invalid_property', message: 'bad must not be set', field: 'properties.bad' },
        };
      }
      const seen = this.stored.has(event.transaction_id);
      this.stored.add(event.transaction_id);
      if (seen)
        return {
          index,
          transaction_id: event.transaction_id,
          status: 'duplicate',
          amount: '0.000000000',
          currency: 'USD',
        };
      return {
        index,
        transaction_id: event.transaction_id,
        status: 'accepted',
        customer_id: event.customer_id,
        currency: 'USD',
        amount: '0.000000000',
        period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
        period_total: '0.000000000',
        book_version: '2026-01-01T00:00:00.000Z',
        card: 'c',
      };
    });
    // Committed: from here on the events are stored whether or not the answer reaches the client.
    if (action === 'commit-then-kill') return this.kill();
    const count = (status: string) => outcomes.filter((o) => o.status === status).length;
    for (const e of events) this.acknowledged.set(e.transaction_id, (this.acknowledged.get(e.transaction_id) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        accepted: count('accepted'),
        duplicate: count('duplicate'),
        rejected: count('rejected'),
        events: outcomes,
      }),
    );
  }
}

const servers: FakeIngest[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    for (const release of server.held) release();
    server.kill();
  }
});

async function fake(hook?: Hook): Promise<FakeIngest> {
  const server = new FakeIngest(hook);
  await server.start();
  servers.push(server);
  return server;
}

const event = (i: number, properties: UsageEvent['properties'] = { input_tokens: i }): UsageEvent => ({
  transaction_id: `tx_${String(i).padStart(5, '0')}`,
  customer_id: `cus_${i % 7}`,
  event_type: 'llm.request',
  timestamp: '2026-03-10T12:00:00Z',
  properties,
});

const clientFor = (server: FakeIngest) =>
  new TariffClient({ baseUrl: server.url, apiKey: 'sk_test', timeoutMs: 5_000 });
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventSender delivery', () => {
  it('delivers every event exactly once across a server killed mid-flight (after committing, and before) and restarted', async () => {
    const restart = (server: FakeIngest) => setTimeout(() => void server.start(), 150);
    const server = await fake(({ number }, self) => {
      if (number === 5) {
        // stored, but the answer is lost: the retry must come back as duplicates
        restart(self);
        return 'commit-then-kill';
      }
      if (number === 12) {
        // lost before storing anything
        restart(self);
        return 'kill';
      }
      return 'respond';
    });
    const errors: TariffError[] = [];
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 100,
      flushIntervalMs: 5,
      maxBufferedEvents: 300,
      concurrency: 2,
      backoff: { baseDelayMs: 20, maxDelayMs: 100 },
      onError: (error) => errors.push(error),
    });
    const events = Array.from({ length: 2000 }, (_, i) => event(i));
    for (const e of events) await sender.send(e);
    const stats = await sender.close();

    expect(stats).toMatchObject({ failed: 0, rejected: 0, buffered: 0 });
    // Accepted counts first arrivals acknowledged; the batch whose answer was lost is acknowledged as duplicates.
    expect(stats.accepted + stats.duplicate).toBe(2000);
    // The batch committed before the kill came back as duplicates on its retry.
    expect(stats.duplicate).toBeGreaterThanOrEqual(100);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => e.status === 0)).toBe(true);
    expect(stats.retries).toBe(errors.length);
    // Exactly once: every id sent is stored and nothing else is; each was acknowledged once (no needless resend).
    expect([...server.stored].sort()).toEqual(events.map((e) => e.transaction_id));
    expect([...server.acknowledged.keys()].sort()).toEqual(events.map((e) => e.transaction_id));
    expect([...server.acknowledged.values()].every((count) => count === 1)).toBe(true);
    // And the server really did see events more than once.
    expect(server.requests.flat().length).toBeGreaterThan(2000);
  });

  it('reports each rejected event to onRejected with its error, and counts it', async () => {
    const server = await fake();
    const rejections: Rejection[] = [];
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 10,
      flushIntervalMs: 5,
      onRejected: (r) => rejections.push(r),
    });
    await sender.send([event(1), event(2, { bad: 1 }), event(3), event(4, { bad: 'x' })]);
    const stats = await sender.close();
    expect(stats).toMatchObject({ accepted: 2, rejected: 2, duplicate: 0, batches: 1 });
    expect(rejections.map((r) => [r.event.transaction_id, r.error.code, r.error.field])).toEqual([
      ['tx_00002', 'invalid_property', 'properties.bad'],
      ['tx_00004', 'invalid_property', 'properties.bad'],
    ]);
  });

  it('keeps delivering when a callback throws', async () => {
    const server = await fake();
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 2,
      flushIntervalMs: 5,
      onRejected: () => {
        throw new Error('callback bug');
      },
    });
    await sender.send([event(1, { bad: 1 }), event(2), event(3)]);
    expect(await sender.close()).toMatchObject({ accepted: 2, rejected: 1 });
  });
});

describe('EventSender batching', () => {
  it('sends a full batch at once, without waiting for the timer', async () => {
    const server = await fake();
    const sender = new EventSender({ client: clientFor(server), maxBatchSize: 4, flushIntervalMs: 60_000 });
    await sender.send(Array.from({ length: 8 }, (_, i) => event(i)));
    await sender.flush();
    expect(server.requests.map((r) => r.length)).toEqual([4, 4]);
    await sender.close();
  });

  it('sends a partial batch when the flush interval has passed', async () => {
    const arrivals: number[] = [];
    const server = await fake(() => (arrivals.push(performance.now()), 'respond'));
    const sender = new EventSender({ client: clientFor(server), maxBatchSize: 100, flushIntervalMs: 200 });
    const firstSend = performance.now();
    await sender.send([event(1), event(2)]);
    await sender.send(event(3));
    expect(server.requests).toHaveLength(0);
    await eventually('the partial batch delivered', () => sender.stats().accepted === 3);
    expect(server.requests.map((r) => r.map((e) => e.transaction_id))).toEqual([['tx_00001', 'tx_00002', 'tx_00003']]);
    // The timer sent it, not the sends: a lower bound, which a loaded machine only makes later (a timer may fire a
    // few ms early against performance.now()).
    expect(arrivals[0]! - firstSend).toBeGreaterThan(150);
    expect(sender.stats()).toMatchObject({ accepted: 3, buffered: 0 });
    await sender.close();
  });

  it('flushes what is buffered on close()', async () => {
    const server = await fake();
    const sender = new EventSender({ client: clientFor(server), maxBatchSize: 100, flushIntervalMs: 60_000 });
    await sender.send([event(1), event(2), event(3)]);
    expect(server.requests).toHaveLength(0);
    expect(await sender.close()).toMatchObject({ accepted: 3, batches: 1, buffered: 0 });
    await expect(sender.send(event(4))).rejects.toThrow('the sender is closed');
  });

  it('halves a batch the service finds too large (413)', async () => {
    const server = await fake(({ events }) =>
      events.length > 3
        ? {
            status: 413,
            body: { error: { kind: 'validation', code: 'body_too_large', message: 'too large', details: [] } },
          }
        : 'respond',
    );
    const sender = new EventSender({ client: clientFor(server), maxBatchSize: 10, flushIntervalMs: 5 });
    await sender.send(Array.from({ length: 10 }, (_, i) => event(i)));
    expect(await sender.close()).toMatchObject({ accepted: 10, failed: 0 });
    expect(server.requests.map((r) => r.length)).toEqual([10, 5, 3, 2, 5, 3, 2]);
  });
});

describe('EventSender retries', () => {
  it('retries a batch on 429 (honouring Retry-After) and 5xx, never on 4xx', async () => {
    const server = await fake(({ number }) => {
      if (number === 1) return { status: 429, headers: { 'retry-after': '0' } };
      if (number === 2) return { status: 503 };
      if (number === 4)
        return {
          status: 401,
          body: {
            error: { kind: 'unauthenticated', code: 'invalid_api_key', message: 'Unknown API key', details: [] },
          },
        };
      return 'respond';
    });
    const seen: [number, boolean, number][] = [];
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 2,
      flushIntervalMs: 5,
      backoff: { baseDelayMs: 1, maxDelayMs: 5 },
      onError: (error, events, willRetry) => seen.push([error.status, willRetry, events.length]),
    });
    await sender.send([event(1), event(2)]);
    await sender.flush();
    await sender.send([event(3), event(4)]);
    const stats = await sender.close();
    expect(seen).toEqual([
      [429, true, 2],
      [503, true, 2],
      [401, false, 2],
    ]);
    expect(stats).toMatchObject({ accepted: 2, failed: 2, retries: 2 });
    expect(server.requests).toHaveLength(4);
  });

  it('gives up after maxAttempts and says so', async () => {
    const server = await fake(() => ({ status: 500 }));
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 5,
      flushIntervalMs: 5,
      maxAttempts: 3,
      backoff: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    await sender.send([event(1), event(2)]);
    expect(await sender.close()).toMatchObject({ accepted: 0, failed: 2, retries: 2 });
    expect(server.requests).toHaveLength(3);
  });

  it('close({ timeoutMs }) gives up on a server that stays down, listing the undelivered events', async () => {
    const server = await fake();
    server.kill();
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 2,
      flushIntervalMs: 5,
      backoff: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    await sender.send([event(1), event(2), event(3)]);
    const error = await sender.close({ timeoutMs: 200 }).catch((e) => e);
    expect(error).toBeInstanceOf(SenderCloseTimeoutError);
    expect(error.message).toBe('3 event(s) not delivered within 200 ms of close()');
    expect(error.undelivered.map((e: UsageEvent) => e.transaction_id).sort()).toEqual([
      'tx_00001',
      'tx_00002',
      'tx_00003',
    ]);
  });
});

describe('EventSender memory bound', () => {
  it('makes send() wait for room while the buffer (in flight included) is full', async () => {
    const server = await fake(() => 'hold');
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 5,
      flushIntervalMs: 1,
      maxBufferedEvents: 10,
    });
    for (let i = 0; i < 10; i++) await sender.send(event(i));
    let admitted = false;
    const eleventh = sender.send(event(10)).then(() => (admitted = true));
    await eventually('the first batch held by the server', () => server.requests.length >= 1);
    await tick(50);
    expect(admitted).toBe(false);
    expect(sender.stats().buffered).toBe(10);
    expect(server.requests.map((r) => r.length)).toEqual([5]); // one batch in flight, held; five queued
    server.held.shift()!();
    await eleventh;
    expect(admitted).toBe(true);
    expect(sender.stats().buffered).toBeLessThanOrEqual(10);
    let closed = false;
    const closing = sender.close().finally(() => (closed = true));
    await eventually(
      'close() delivered the rest, batch by held batch',
      () => {
        for (const release of server.held.splice(0)) release();
        return closed;
      },
      { intervalMs: 20 },
    );
    expect(await closing).toMatchObject({ accepted: 11 });
  });

  it("rejects with a clear error in onFull: 'reject' mode", async () => {
    const server = await fake(() => 'hold');
    const sender = new EventSender({
      client: clientFor(server),
      maxBatchSize: 5,
      flushIntervalMs: 1,
      maxBufferedEvents: 6,
      onFull: 'reject',
    });
    await sender.send(Array.from({ length: 6 }, (_, i) => event(i)));
    const error = await sender.send([event(6), event(7)]).catch((e) => e);
    expect(error).toBeInstanceOf(SenderFullError);
    expect(error.message).toBe(
      'event buffer is full: 6 of 6 events held, 2 more do not fit; retry later or raise maxBufferedEvents',
    );
    await expect(sender.send(Array.from({ length: 7 }, (_, i) => event(100 + i)))).rejects.toThrow(
      '7 events at once can never fit maxBufferedEvents (6)',
    );
  });

  it('refuses an event without its own transaction id, naming the field', async () => {
    const server = await fake();
    const sender = new EventSender({ client: clientFor(server) });
    const { transaction_id: _, ...anonymous } = event(1);
    await expect(sender.send(anonymous as UsageEvent)).rejects.toThrow(
      'event.transaction_id must be a non-empty string',
    );
    await expect(sender.send([event(1), { ...event(2), timestamp: 5 as unknown as string }])).rejects.toThrow(
      'events[1].timestamp must be a non-empty string',
    );
    expect(() => new EventSender({ client: clientFor(server), maxBatchSize: 20_000 })).toThrow(
      'maxBatchSize must be an integer from 1 to 10000, got 20000',
    );
  });
});
