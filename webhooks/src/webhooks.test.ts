import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDestination,
  generateSecret,
  isPublicAddress,
  isSecret,
  maxAttempts,
  prepareDestination,
  retryDelayMs,
  retrySchedule,
  sendWebhook,
  signatureHeader,
  signPayload,
  type Destination,
  type SendResult,
} from './index.ts';

describe('signing', () => {
  it('given a secret, produces signatures the standardwebhooks package verifies', () => {
    const secret = generateSecret();
    expect(isSecret(secret)).toBe(true);
    const body = JSON.stringify({ type: 'invoice.paid', timestamp: '2026-03-01T00:00:00Z', data: { id: 'x' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload(secret, 'msg_1', timestamp, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // A changed body or another secret fails.
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('given two secrets during a rotation, signs with both so either verifies', () => {
    const [old, fresh] = [generateSecret(), generateSecret()];
    const timestamp = Math.floor(Date.now() / 1000);
    const header = signatureHeader([fresh, old], 'msg_2', timestamp, '{}');
    expect(header.split(' ')).toHaveLength(2);
    for (const secret of [old, fresh]) {
      expect(
        new Webhook(secret).verify('{}', {
          'webhook-id': 'msg_2',
          'webhook-timestamp': String(timestamp),
          'webhook-signature': header,
        }),
      ).toEqual({});
    }
  });

  it('rejects malformed secrets', () => {
    expect(isSecret('whsec_')).toBe(false);
    expect(isSecret('sk_abc')).toBe(false);
    expect(isSecret('whsec_!!!')).toBe(false);
  });
});

describe('back-off', () => {
  it('grows exponentially, caps, and spans about three days over its attempts', () => {
    expect(retrySchedule[0]).toBe(30_000);
    for (let i = 1; i < retrySchedule.length; i++)
      expect(retrySchedule[i]).toBeGreaterThanOrEqual(retrySchedule[i - 1]);
    const totalHours = retrySchedule.reduce((a, b) => a + b, 0) / 3600_000;
    expect(totalHours).toBeGreaterThan(60);
    expect(totalHours).toBeLessThan(84);
    expect(retryDelayMs(maxAttempts)).toBeNull();
  });

  it('jitters each delay by at most 20% either way', () => {
    expect(retryDelayMs(1, 0)).toBe(24_000);
    expect(retryDelayMs(1, 0.5)).toBe(30_000);
    expect(retryDelayMs(1, 0.999999)).toBe(36_000);
    expect(retryDelayMs(2, 0.5)).toBe(90_000);
  });
});

describe('addresses', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.20.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['64:ff9b::a00:1', false],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
  ])('given %s, public is %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('checks every resolved address of a host', async () => {
    const resolve = async () => ['8.8.8.8', '10.0.0.1'];
    expect(await checkDestination('https://hooks.example.com/x', { allowPrivate: false, resolve })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('10.0.0.1'),
    });
    expect(await checkDestination('https://hooks.example.com/x', { allowPrivate: true, resolve })).toEqual({
      ok: true,
      addresses: ['8.8.8.8', '10.0.0.1'],
    });
    expect(
      await checkDestination('https://hooks.example.com/x', { allowPrivate: false, resolve: async () => ['8.8.8.8'] }),
    ).toEqual({ ok: true, addresses: ['8.8.8.8'] });
    expect(await checkDestination('http://[::1]:8080/', { allowPrivate: false })).toMatchObject({ ok: false });
    expect(await checkDestination('ftp://example.com/', { allowPrivate: true })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('scheme'),
    });
    expect(await checkDestination('https://u:p@example.com/', { allowPrivate: true })).toMatchObject({ ok: false });
  });
});

describe('sender', () => {
  let server: http.Server;
  let url: string;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  let mode: 'ok' | 'hang' | 'gone' | 'chunked' | 'stall' = 'ok';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (mode === 'hang' || req.url?.endsWith('?hang')) return;
        if (mode === 'stall') {
          // The status and the start of the body, then nothing more.
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('partial');
          return;
        }
        if (mode === 'chunked') {
          // An answer in pieces, each sent on its own (flushed before the next): the excerpt spans them.
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('é'.repeat(150));
          setTimeout(() => {
            res.write('a'.repeat(600));
            setTimeout(() => res.end('b'.repeat(600)), 20);
          }, 20);
          return;
        }
        res.writeHead(mode === 'gone' ? 410 : 200, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts a signed body and keeps a 1 KiB excerpt of the answer', async () => {
    mode = 'ok';
    const secret = generateSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const result = await sendWebhook({
      url,
      id: 'msg_a',
      timestamp,
      body: '{"a":1}',
      secrets: [secret],
      timeoutMs: 10_000,
      allowPrivate: true,
    });
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(result.responseExcerpt).toHaveLength(1024);
    const last = received.at(-1)!;
    expect(new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).toEqual({ a: 1 });
  });

  it('keeps the first 1 KiB of an answer that arrives in several pieces, whole bytes from each', async () => {
    mode = 'chunked';
    const result = await sendWebhook({
      url,
      id: 'msg_chunked',
      timestamp: Math.floor(Date.now() / 1000),
      body: '{}',
      secrets: [generateSecret()],
      timeoutMs: 10_000,
      allowPrivate: true,
    });
    mode = 'ok';
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    // 300 bytes of two-byte characters, 600 of a, then the 124 bytes of b that fill 1,024.
    expect(result.responseExcerpt).toBe('é'.repeat(150) + 'a'.repeat(600) + 'b'.repeat(124));
  });

  it('refuses a loopback receiver unless private delivery is allowed, without connecting', async () => {
    const before = received.length;
    const result = await sendWebhook({
      url,
      id: 'msg_b',
      timestamp: 1,
      body: '{}',
      secrets: [generateSecret()],
      timeoutMs: 10_000,
      allowPrivate: false,
    });
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringContaining('destination refused') });
    expect(received.length).toBe(before);
  });

  it('ends each attempt at its own deadline, the attempts of one destination sharing its timer, answers unaffected', async () => {
    mode = 'ok';
    const options = { secrets: [generateSecret()], timeoutMs: 400, allowPrivate: true };
    const hanging = await prepareDestination({ ...options, url: `${url}?hang` });
    const answering = await prepareDestination({ ...options, url });
    const send = (destination: Destination, id: string) =>
      new Promise<SendResult & { endedAt: number }>((resolve) => {
        if (!destination.ok) throw new Error(destination.reason);
        destination.send({ id, timestamp: 1, body: '{}' }, (result) =>
          resolve({ ...result, endedAt: performance.now() }),
        );
      });
    const first = send(hanging, 'msg_hang_1');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = send(hanging, 'msg_hang_2');
    expect(await send(answering, 'msg_answered')).toMatchObject({ ok: true, status: 200, error: null });
    const [a, b] = await Promise.all([first, second]);
    for (const hung of [a, b]) {
      expect(hung).toMatchObject({ ok: false, status: null, error: 'timed out after 400 ms' });
      // Not ended before its own deadline (the timer set for the first one also served the second).
      expect(hung.latencyMs).toBeGreaterThanOrEqual(399);
    }
    expect(b.endedAt).toBeGreaterThan(a.endedAt);
  });

  it('gives up on a receiver that does not answer in time, and reports non-2xx answers', async () => {
    mode = 'hang';
    const hung = await sendWebhook({
      url,
      id: 'msg_c',
      timestamp: 1,
      body: '{}',
      secrets: [generateSecret()],
      timeoutMs: 300,
      allowPrivate: true,
    });
    expect(hung).toMatchObject({ ok: false, status: null, error: expect.stringContaining('timed out') });
    mode = 'stall';
    const stalled = await sendWebhook({
      url,
      id: 'msg_stall',
      timestamp: 1,
      body: '{}',
      secrets: [generateSecret()],
      timeoutMs: 300,
      allowPrivate: true,
    });
    // An answer begun but not finished in time is a failure at the deadline, whatever its status.
    expect(stalled).toMatchObject({ ok: false, status: 200, error: 'timed out after 300 ms' });
    expect(stalled.latencyMs).toBeGreaterThanOrEqual(299);
    mode = 'gone';
    expect(
      await sendWebhook({
        url,
        id: 'msg_d',
        timestamp: 1,
        body: '{}',
        secrets: [generateSecret()],
        timeoutMs: 10_000,
        allowPrivate: true,
      }),
    ).toMatchObject({ ok: false, status: 410 });
  });
});
