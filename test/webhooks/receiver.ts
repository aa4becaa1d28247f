// A local webhook receiver (127.0.0.1) for the scenarios and the bench: records every request, answers with the
// status its mode says, and can go down (its port closed: connections refused) and come back on the same port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  path: string;
  /** performance.now() when it arrived. */
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status answered per path (default 200); 'hang' never answers. */
  statusOf: Map<string, number | 'hang'>;
  /** Milliseconds each request is held before its answer. */
  delayMs: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const statusOf = new Map<string, number | 'hang'>();
  const receiver: Receiver = {
    url: '',
    received,
    statusOf,
    delayMs: 0,
    down: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
    up: async () => {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      received.push({
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body: Buffer.concat(chunks).toString(),
        path,
        at: performance.now(),
      });
      const status = statusOf.get(path) ?? 200;
      if (status === 'hang') return;
      const answer = () =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ received: true, status }));
      if (receiver.delayMs > 0) setTimeout(answer, receiver.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}`;
  return receiver;
}

/** Verifies a received request with the standardwebhooks package as if it arrived at `at` (its 5-minute tolerance). */
export function verifyAt(secret: string, request: Received, at: Date): unknown {
  const realNow = Date.now;
  Date.now = () => at.getTime();
  try {
    return new Webhook(secret).verify(request.body, {
      'webhook-id': request.id,
      'webhook-timestamp': request.timestamp,
      'webhook-signature': request.signature,
    });
  } finally {
    Date.now = realNow;
  }
}
