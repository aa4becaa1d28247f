// One delivery attempt: a signed POST with a deadline, to an address checked before connecting. Redirects are
// not followed (a 3xx is a failure, as in the Standard Webhooks guidance); only 2xx is success.
// Attempts go through undici's dispatcher (a keep-alive connection pool per destination, shared by every job of
// the process) rather than node:http's client: no request and response stream objects per attempt, which were
// most of the sender's own CPU beside the receiver's (BENCHMARKS.md, bench:webhooks).
import net, { type LookupFunction } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { checkDestination, type Resolver } from './address.ts';
import { signingKeys, signWithKeys } from './signing.ts';

/** Connections one destination may hold open at once, whatever number of jobs send to it. */
const connectionsPerDestination = 64;
/** A destination's pool unused this long is closed (its sockets with it). */
const poolIdleMs = 60_000;

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
  const pool = destinationPool(url, destination.addresses, options.timeoutMs);
  const path = url.pathname + url.search;
  const keys = signingKeys(options.secrets);
  const userAgent = options.userAgent ?? 'Tariff-Webhooks/1.0';
  const timeoutMs = options.timeoutMs;
  return {
    ok: true,
    send: (attempt) =>
      post(
        pool,
        path,
        [
          'content-type',
          'application/json',
          'user-agent',
          userAgent,
          'webhook-id',
          attempt.id,
          'webhook-timestamp',
          String(attempt.timestamp),
          'webhook-signature',
          signWithKeys(keys, attempt.id, attempt.timestamp, attempt.body),
        ],
        attempt.body,
        timeoutMs,
      ),
  };
}

const pools = new Map<string, { pool: Pool; usedAt: number }>();
let sweptAt = 0;

/**
 * The keep-alive pool of one origin at the addresses checked for it: its connections go to those addresses only
 * (its own lookup), never to a second answer of the resolver; a new check with other addresses gets a new pool.
 */
function destinationPool(url: URL, addresses: string[], timeoutMs: number): Pool {
  const now = performance.now();
  if (now - sweptAt > poolIdleMs) {
    sweptAt = now;
    for (const [key, entry] of pools)
      if (now - entry.usedAt > poolIdleMs) {
        pools.delete(key);
        void entry.pool.close().catch(() => {});
      }
  }
  const key = `${url.origin} ${addresses.join(' ')} ${timeoutMs}`;
  const found = pools.get(key);
  if (found) {
    found.usedAt = now;
    return found.pool;
  }
  const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all)
      (callback as unknown as (e: null, a: typeof entries) => void)(null, entries);
    else callback(null, entries[0].address, entries[0].family);
  };
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const pool = new Pool(url.origin, {
    connections: connectionsPerDestination,
    connect: { lookup, timeout: timeoutMs, servername: net.isIP(hostname) ? undefined : hostname },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  pools.set(key, { pool, usedAt: now });
  return pool;
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

/**
 * One POST on the pool, its answer read to the end (the first 1 KiB kept), within `timeoutMs` from now.
 * The handler speaks the dispatcher's own callbacks (onConnect, onHeaders, onData, onComplete, onError), those its
 * clients call: a handler of the controller style (onRequestStart, ...) is wrapped per attempt in an adapter that
 * builds a controller and parses the response's headers and trailers into objects, which an attempt never reads.
 */
function post(pool: Pool, path: string, headers: string[], body: string, timeoutMs: number): Promise<SendResult> {
  return new Promise<SendResult>((resolve) => {
    pool.dispatch({ path, method: 'POST', headers, body }, new AttemptHandler(resolve, timeoutMs));
  });
}

/** One attempt's answer as the dispatcher reports it; settles its promise once, at the end or at the deadline. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private settled = false;
  private abortRequest: ((error: Error) => void) | undefined;
  private status: number | null = null;
  private excerpt: Buffer | undefined;
  private kept = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (result: SendResult) => void,
    private readonly timeoutMs: number,
  ) {
    // The deadline covers waiting for a connection too: the attempt ends at it whether or not one was given.
    this.timer = setTimeout(() => {
      const error = new Error(`timed out after ${this.timeoutMs} ms`);
      this.abortRequest?.(error);
      this.finish(false, error.message);
    }, timeoutMs);
  }

  private finish(ok: boolean, error: string | null) {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve({
      ok,
      status: this.status,
      latencyMs: Math.round(performance.now() - this.started),
      responseExcerpt: error === null && this.excerpt ? this.excerpt.toString('utf8', 0, this.kept) : '',
      error,
    });
  }

  onConnect(abort: (error?: Error) => void) {
    this.abortRequest = abort;
    if (this.settled) abort(new Error(`timed out after ${this.timeoutMs} ms`));
  }

  onHeaders(statusCode: number) {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer) {
    if (this.kept < excerptBytes) {
      const take = Math.min(chunk.length, excerptBytes - this.kept);
      if (this.kept === 0 && take === chunk.length) this.excerpt = chunk;
      else {
        if (!this.excerpt || this.excerpt.length < excerptBytes) {
          const grown = Buffer.allocUnsafe(excerptBytes);
          this.excerpt?.copy(grown, 0, 0, this.kept);
          this.excerpt = grown;
        }
        chunk.copy(this.excerpt, this.kept, 0, take);
      }
      this.kept += take;
    }
    return true;
  }

  onComplete() {
    this.finish(this.status !== null && this.status >= 200 && this.status < 300, null);
  }

  onError(error: Error) {
    this.finish(false, describe(error));
  }
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
