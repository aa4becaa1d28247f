// One delivery attempt: a signed POST with a deadline, to an address checked before connecting. Redirects are
// not followed (a 3xx is a failure, as in the Standard Webhooks guidance); only 2xx is success.
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { checkDestination, type Resolver } from './address.ts';
import { signingKeys, signWithKeys } from './signing.ts';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

/** How much of the receiver's answer the delivery log keeps. */
const excerptBytes = 1024;

export interface SendOptions {
  url: string;
  /** The message id: `webhook-id`, the same on every attempt. */
  id: string;
  /** Seconds since the epoch: `webhook-timestamp`. */
  timestamp: number;
  body: string;
  /** Every secret in force (a rotated one during its overlap): one signature each. */
  secrets: string[];
  timeoutMs: number;
  allowPrivate: boolean;
  resolve?: Resolver;
  userAgent?: string;
}

export interface SendResult {
  /** A 2xx answer. */
  ok: boolean;
  /** The HTTP status, when the receiver answered. */
  status: number | null;
  latencyMs: number;
  /** The start of the answer's body (at most 1 KiB, as text). */
  responseExcerpt: string;
  /** Why there was no answer: timeout, refused, blocked address, ... */
  error: string | null;
}

/** Where a batch of attempts goes: the URL's addresses, checked once, and the request options built once. */
export type Destination = { ok: true; send: (attempt: Attempt) => Promise<SendResult> } | { ok: false; reason: string };

/** One signed POST to a destination. */
export interface Attempt {
  /** The message id: `webhook-id`, the same on every attempt. */
  id: string;
  /** Seconds since the epoch: `webhook-timestamp`. */
  timestamp: number;
  body: string;
}

/**
 * Resolves and checks the URL's host once for the attempts that follow (a delivery job checks it again at each
 * claimed batch), and connects each of them to the addresses checked, never to a second answer of the resolver.
 */
export async function prepareDestination(
  options: Omit<SendOptions, 'id' | 'timestamp' | 'body'>,
): Promise<Destination> {
  const destination = await checkDestination(options.url, {
    allowPrivate: options.allowPrivate,
    resolve: options.resolve,
  });
  if (!destination.ok) return { ok: false, reason: destination.reason };
  const url = new URL(options.url);
  const entries = destination.addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all)
      (callback as unknown as (e: null, a: typeof entries) => void)(null, entries);
    else callback(null, entries[0].address, entries[0].family);
  };
  const https_ = url.protocol === 'https:';
  const request = {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || (https_ ? 443 : 80),
    path: url.pathname + url.search,
    servername: net.isIP(url.hostname) ? undefined : url.hostname,
    method: 'POST',
    agent: https_ ? httpsAgent : httpAgent,
    lookup,
  };
  const keys = signingKeys(options.secrets);
  const userAgent = options.userAgent ?? 'Tariff-Webhooks/1.0';
  const transport = https_ ? https : http;
  return {
    ok: true,
    send: (attempt) =>
      post(
        transport,
        request,
        options.timeoutMs,
        {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(attempt.body)),
          'user-agent': userAgent,
          'webhook-id': attempt.id,
          'webhook-timestamp': String(attempt.timestamp),
          'webhook-signature': signWithKeys(keys, attempt.id, attempt.timestamp, attempt.body),
        },
        attempt.body,
      ),
  };
}

/** One attempt on its own: the destination checked, then the signed POST. */
export async function sendWebhook(options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const destination = await prepareDestination(options);
  if (!destination.ok)
    return {
      ok: false,
      status: null,
      latencyMs: Math.round(performance.now() - started),
      responseExcerpt: '',
      error: `destination refused: ${destination.reason}`,
    };
  return destination.send(options);
}

function post(
  transport: typeof http | typeof https,
  options: http.RequestOptions & https.RequestOptions,
  timeoutMs: number,
  headers: http.OutgoingHttpHeaders,
  body: string,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const request = transport.request({ ...options, headers }, (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < excerptBytes) {
          chunks.push(chunk.subarray(0, excerptBytes - kept));
          kept += Math.min(chunk.length, excerptBytes - kept);
        }
      });
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        finish({
          ok: status >= 200 && status < 300,
          status,
          responseExcerpt: Buffer.concat(chunks).toString('utf8'),
          error: null,
        });
      });
      response.on('error', (error) =>
        finish({ ok: false, status: response.statusCode ?? null, responseExcerpt: '', error: describe(error) }),
      );
    });
    const timer = setTimeout(() => {
      request.destroy(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => finish({ ok: false, status: null, responseExcerpt: '', error: describe(error) }));
    request.end(body);
  });
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
