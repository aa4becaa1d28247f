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

/**
 * Where a batch of attempts goes: the URL's addresses, checked once, and the request options built once. `send`
 * calls `done` once with the attempt's outcome, at its end or at its deadline (possibly before `send` returns, when
 * the request cannot be made at all): a sender that starts the next attempt from `done` needs no promise per attempt.
 */
export type Destination =
  { ok: true; send: (attempt: Attempt, done: (result: SendResult) => void) => void } | { ok: false; reason: string };

/** One signed POST to a destination. */
export interface Attempt {
  /** The message id: `webhook-id`, the same on every attempt. */
  id: string;
  /** Seconds since the epoch: `webhook-timestamp`. */
  timestamp: number;
  /** Encoded once (when a string) and those bytes both signed and sent. */
  body: string | Buffer;
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
  const { pool, deadlines } = destinationPool(url, destination.addresses, options.timeoutMs);
  const path = url.pathname + url.search;
  const keys = signingKeys(options.secrets);
  const userAgent = options.userAgent ?? 'Tariff-Webhooks/1.0';
  return {
    ok: true,
    send: (attempt, done) => {
      const handler = new AttemptHandler(done, deadlines);
      const body = typeof attempt.body === 'string' ? Buffer.from(attempt.body) : attempt.body;
      pool.dispatch(
        {
          path,
          method: 'POST',
          headers: [
            'content-type',
            'application/json',
            'user-agent',
            userAgent,
            'webhook-id',
            attempt.id,
            'webhook-timestamp',
            String(attempt.timestamp),
            'webhook-signature',
            signWithKeys(keys, attempt.id, attempt.timestamp, body),
          ],
          body,
        },
        handler,
      );
    },
  };
}

const pools = new Map<string, { pool: Pool; deadlines: Deadlines; usedAt: number }>();
let sweptAt = 0;

/**
 * The keep-alive pool of one origin at the addresses checked for it: its connections go to those addresses only
 * (its own lookup), never to a second answer of the resolver; a new check with other addresses gets a new pool.
 */
function destinationPool(url: URL, addresses: string[], timeoutMs: number): { pool: Pool; deadlines: Deadlines } {
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
    return found;
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
    // No timers of undici's own for the answer: each attempt's deadline (Deadlines) ends it, sooner than a
    // per-phase timer would, which cost a timer and a WeakRef more per attempt.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const entry = { pool, deadlines: new Deadlines(timeoutMs), usedAt: now };
  pools.set(key, entry);
  return entry;
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
  return new Promise((resolve) => destination.send(options, resolve));
}

/**
 * The deadlines of one pool's attempts, all of the same length (the pool is per timeout): they fall in the order
 * the attempts started, so one timer, set for the oldest attempt still running, serves them all (a timer per attempt
 * was an object, a list insertion and a removal for each).
 */
class Deadlines {
  /** Attempts in the order they started; those settled are dropped once they reach the front. */
  private readonly running: AttemptHandler[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  add(attempt: AttemptHandler) {
    this.running.push(attempt);
    if (!this.timer) this.arm(attempt.deadline);
  }

  /** Drops the settled attempts at the front (attempts end roughly in the order they started). */
  settled() {
    const running = this.running;
    while (running.length > 0 && running[0].isSettled()) running.shift();
  }

  private arm(deadline: number) {
    // Not holding the process open: a running attempt's socket does.
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now())).unref();
  }

  /** Ends every attempt whose deadline has passed, then waits for the next one's. */
  private expire() {
    this.timer = undefined;
    const now = performance.now();
    const running = this.running;
    while (running.length > 0 && (running[0].isSettled() || running[0].deadline <= now)) running.shift()!.expire();
    if (running.length > 0) this.arm(running[0].deadline);
  }
}

/**
 * One attempt's answer as the dispatcher reports it; reports it once, at the end or at the deadline, as itself: the
 * handler is the attempt's outcome (no second object per attempt).
 * The handler speaks the dispatcher's own callbacks (onConnect, onHeaders, onData, onComplete, onError), those its
 * clients call: a handler of the controller style (onRequestStart, ...) is wrapped per attempt in an adapter that
 * builds a controller and parses the response's headers and trailers into objects, which an attempt never reads.
 */
class AttemptHandler implements Dispatcher.DispatchHandler, SendResult {
  private readonly started = performance.now();
  /** The deadline covers waiting for a connection too: the attempt ends at it whether or not one was given. */
  readonly deadline: number;
  private settled = false;
  private abortRequest: ((error: Error) => void) | undefined;
  ok = false;
  status: number | null = null;
  latencyMs = 0;
  responseExcerpt = '';
  error: string | null = null;
  private excerpt: Buffer | undefined;
  private kept = 0;

  constructor(
    private readonly done: (result: SendResult) => void,
    private readonly deadlines: Deadlines,
  ) {
    this.deadline = this.started + deadlines.timeoutMs;
    deadlines.add(this);
  }

  isSettled() {
    return this.settled;
  }

  /** The deadline passed (called by Deadlines; nothing if the attempt has ended). */
  expire() {
    if (this.settled) return;
    const error = new Error(`timed out after ${this.deadlines.timeoutMs} ms`);
    this.abortRequest?.(error);
    this.finish(false, error.message);
  }

  private finish(ok: boolean, error: string | null) {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.settled();
    this.ok = ok;
    this.latencyMs = Math.round(performance.now() - this.started);
    if (error === null && this.excerpt) this.responseExcerpt = this.excerpt.toString('utf8', 0, this.kept);
    this.error = error;
    this.excerpt = undefined;
    this.done(this);
  }

  onConnect(abort: (error?: Error) => void) {
    this.abortRequest = abort;
    if (this.settled) abort(new Error(`timed out after ${this.deadlines.timeoutMs} ms`));
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
