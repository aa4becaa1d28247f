// One delivery attempt: a signed POST with a deadline, to an address checked before connecting. Redirects are
// not followed (a 3xx is a failure, as in the Standard Webhooks guidance); only 2xx is success.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkDestination, type Resolver } from './address.ts';
import { signatureHeader } from './signing.ts';

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

export async function sendWebhook(options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const destination = await checkDestination(options.url, {
    allowPrivate: options.allowPrivate,
    resolve: options.resolve,
  });
  if (!destination.ok)
    return {
      ok: false,
      status: null,
      latencyMs: elapsed(),
      responseExcerpt: '',
      error: `destination refused: ${destination.reason}`,
    };
  const url = new URL(options.url);
  const addresses = destination.addresses;
  // Connect to the addresses just checked, never to a second answer of the resolver.
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if ((lookupOptions as { all?: boolean }).all)
      (callback as unknown as (e: null, a: typeof entries) => void)(null, entries);
    else callback(null, entries[0].address, entries[0].family);
  };
  const body = Buffer.from(options.body);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': options.userAgent ?? 'Tariff-Webhooks/1.0',
    'webhook-id': options.id,
    'webhook-timestamp': String(options.timestamp),
    'webhook-signature': signatureHeader(options.secrets, options.id, options.timestamp, options.body),
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<SendResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const request = transport.request(
      url,
      { method: 'POST', headers, agent: url.protocol === 'https:' ? httpsAgent : httpAgent, lookup },
      (response) => {
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
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (error) => finish({ ok: false, status: null, responseExcerpt: '', error: describe(error) }));
    request.end(body);
  });
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
