// Batches usage events in memory and delivers each one exactly once: the service dedupes on transaction_id, so a
// batch whose fate is unknown (connection lost mid-flight) is simply sent again with the same ids.
import type { components } from '@tariff/openapi';
import { type TariffClient, TariffError } from './client.ts';
import { type BackoffPolicy, type Clock, backoffDelay, systemClock } from './retry.ts';

export type UsageEvent = components['schemas']['UsageEvent'];
export type EventOutcome = components['schemas']['EventOutcome'];
type IngestResult = components['schemas']['IngestResult'];

/** One event the service refused (status `rejected` in the batch response): retrying it would not help. */
export interface Rejection {
  event: UsageEvent;
  error: components['schemas']['EventError'];
}

export interface SenderStats {
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Events given up on: their batch failed with a non-retryable error, or ran out of `maxAttempts`. */
  failed: number;
  /** Batch attempts that failed and were retried. */
  retries: number;
  /** Batches acknowledged by the service. */
  batches: number;
  /** Events held in memory now (queued or in flight). */
  buffered: number;
}

export interface SenderOptions {
  client: TariffClient;
  /** Events per request; a full batch is sent at once. Default 500 (the service takes up to 10,000). */
  maxBatchSize?: number;
  /** A partial batch is sent this long after its first event arrived. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Events held in memory at most, in flight included. Default 10,000. */
  maxBufferedEvents?: number;
  /** When the buffer is full: `wait` (default) makes send() wait for room; `reject` makes it fail at once. */
  onFull?: 'wait' | 'reject';
  /** Batches in flight at once. Default 1, which keeps the service's rating order equal to the send order. */
  concurrency?: number;
  /** Each event the service rejected, with its error. */
  onRejected?: (rejection: Rejection) => void;
  /** Each failed batch attempt: `willRetry` false means the events were given up on (counted in `failed`). */
  onError?: (error: TariffError, events: UsageEvent[], willRetry: boolean) => void;
  /** Backoff between attempts of a batch (full jitter). Default 250 ms doubling up to 30 s. */
  backoff?: BackoffPolicy;
  /** Attempts per batch before it is given up on. Default Infinity: retry until delivered or closed with a timeout. */
  maxAttempts?: number;
  clock?: Clock;
  random?: () => number;
}

/** send() in `onFull: 'reject'` mode when the buffer cannot take the events. */
export class SenderFullError extends Error {
  override readonly name = 'SenderFullError';
  constructor(
    readonly buffered: number,
    readonly maxBufferedEvents: number,
    readonly requested: number,
  ) {
    super(
      `event buffer is full: ${buffered} of ${maxBufferedEvents} events held, ${requested} more do not fit; retry later or raise maxBufferedEvents`,
    );
  }
}

/** close({ timeoutMs }) ran out of time; `undelivered` holds every event not yet acknowledged. */
export class SenderCloseTimeoutError extends Error {
  override readonly name = 'SenderCloseTimeoutError';
  constructor(
    readonly undelivered: UsageEvent[],
    timeoutMs: number,
  ) {
    super(`${undelivered.length} event(s) not delivered within ${timeoutMs} ms of close()`);
  }
}

interface Waiter {
  events: UsageEvent[];
  resolve(): void;
  reject(error: Error): void;
}

export class EventSender {
  private readonly client: TariffClient;
  private readonly maxBatchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly onFull: 'wait' | 'reject';
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly onRejected?: (rejection: Rejection) => void;
  private readonly onError?: (error: TariffError, events: UsageEvent[], willRetry: boolean) => void;

  private queue: UsageEvent[] = [];
  private readonly inFlight = new Set<UsageEvent[]>();
  private inFlightCount = 0;
  private readonly waiters: Waiter[] = [];
  private idle: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private draining = 0;
  /** The flush interval has passed since the oldest queued event: the next free slot takes a partial batch. */
  private partialDue = false;
  private closed = false;
  /** close() timed out: stop retrying. */
  private abandoned = false;
  private readonly counts = { accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0, batches: 0 };

  constructor(options: SenderOptions) {
    if (!options?.client) throw new TypeError('client is required');
    this.client = options.client;
    this.maxBatchSize = positiveInteger(options.maxBatchSize ?? 500, 'maxBatchSize', 10_000);
    this.flushIntervalMs = nonNegative(options.flushIntervalMs ?? 1000, 'flushIntervalMs');
    this.maxBuffered = positiveInteger(options.maxBufferedEvents ?? 10_000, 'maxBufferedEvents');
    if (options.onFull !== undefined && options.onFull !== 'wait' && options.onFull !== 'reject')
      throw new TypeError("onFull must be 'wait' or 'reject'");
    this.onFull = options.onFull ?? 'wait';
    this.concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
    this.maxAttempts =
      options.maxAttempts === undefined ? Infinity : positiveInteger(options.maxAttempts, 'maxAttempts');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = { baseDelayMs: 250, maxDelayMs: 30_000, ...options.backoff };
    this.onRejected = options.onRejected;
    this.onError = options.onError;
  }

  /**
   * Buffers one event or several (kept together). Resolves once they are in the buffer, not when delivered:
   * waits for room when the buffer is full (back-pressure), or rejects with SenderFullError in `reject` mode.
   */
  send(events: UsageEvent | UsageEvent[]): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    try {
      list.forEach((event, i) => checkEvent(event, Array.isArray(events) ? `events[${i}]` : 'event'));
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new Error('the sender is closed: send() after close()'));
    if (list.length === 0) return Promise.resolve();
    if (list.length > this.maxBuffered) {
      return Promise.reject(
        new RangeError(
          `${list.length} events at once can never fit maxBufferedEvents (${this.maxBuffered}); send them in smaller groups`,
        ),
      );
    }
    if (this.waiters.length === 0 && this.room() >= list.length) {
      this.enqueue(list);
      return Promise.resolve();
    }
    if (this.onFull === 'reject')
      return Promise.reject(new SenderFullError(this.buffered(), this.maxBuffered, list.length));
    return new Promise((resolve, reject) => this.waiters.push({ events: list, resolve, reject }));
  }

  /** Sends everything buffered now (partial batches too) and resolves when the buffer is empty. */
  async flush(): Promise<void> {
    this.draining++;
    try {
      this.pump();
      if (!this.isIdle()) await new Promise<void>((resolve) => this.idle.push(resolve));
    } finally {
      this.draining--;
    }
  }

  /**
   * Stops taking events, delivers what is buffered and returns the totals. With `timeoutMs`, gives up waiting
   * after that long and rejects with SenderCloseTimeoutError listing the undelivered events (retries stop).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<SenderStats> {
    this.closed = true;
    if (options.timeoutMs === undefined) {
      await this.flush();
      return this.stats();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)),
    );
    const outcome = await Promise.race([this.flush().then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'done') return this.stats();
    const undelivered = [...[...this.inFlight].flat(), ...this.queue, ...this.waiters.flatMap((w) => w.events)];
    this.abandoned = true;
    throw new SenderCloseTimeoutError(undelivered, options.timeoutMs);
  }

  stats(): SenderStats {
    return { ...this.counts, buffered: this.buffered() };
  }

  private buffered(): number {
    return this.queue.length + this.inFlightCount;
  }

  private room(): number {
    return this.maxBuffered - this.buffered();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0 && this.waiters.length === 0;
  }

  private enqueue(events: UsageEvent[]): void {
    for (const event of events) this.queue.push(event);
    if (this.queue.length >= this.maxBatchSize || this.draining > 0) this.pump();
    else this.timer ??= setTimeout(() => this.onTimer(), this.flushIntervalMs);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.partialDue = true;
    this.pump();
  }

  /** Starts batches while there is capacity: full ones always, partial ones when a flush or the timer asks. */
  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.queue.length > 0) {
      if (this.queue.length < this.maxBatchSize && !this.partialDue && this.draining === 0) break;
      if (this.queue.length <= this.maxBatchSize) this.partialDue = false;
      const batch = this.queue.splice(0, this.maxBatchSize);
      this.inFlight.add(batch);
      this.inFlightCount += batch.length;
      void this.deliver(batch).finally(() => {
        this.inFlight.delete(batch);
        this.inFlightCount -= batch.length;
        this.admitWaiters();
        this.afterBatch();
      });
    }
    if (this.queue.length > 0 && this.timer === undefined && !this.partialDue) {
      this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
    }
  }

  private afterBatch(): void {
    if (this.abandoned) return;
    this.pump();
    if (this.isIdle()) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      const resolvers = this.idle;
      this.idle = [];
      for (const resolve of resolvers) resolve();
    }
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.room() >= this.waiters[0].events.length) {
      const waiter = this.waiters.shift()!;
      this.enqueue(waiter.events);
      waiter.resolve();
    }
  }

  /** Sends one batch until the service answers it, retrying network failures, 429 and 5xx with backoff. */
  private async deliver(batch: UsageEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.abandoned) return;
      let failure: TariffError;
      try {
        const result = await this.client.ingestEvents({ body: { events: batch }, retry: false });
        this.record(batch, result);
        return;
      } catch (error) {
        failure =
          error instanceof TariffError
            ? error
            : new TariffError({ status: 0, code: 'network_error', message: String(error), cause: error });
      }
      if (failure.status === 413 && batch.length > 1) {
        // The body is over the service's limit: halve the batch rather than give up on it.
        const half = Math.ceil(batch.length / 2);
        await this.deliver(batch.slice(0, half));
        await this.deliver(batch.slice(half));
        return;
      }
      const willRetry = failure.retryable && attempt < this.maxAttempts;
      this.notify(() => this.onError?.(failure, batch, willRetry));
      if (!willRetry) {
        this.counts.failed += batch.length;
        return;
      }
      this.counts.retries++;
      await this.clock.sleep(failure.retryAfterMs ?? backoffDelay(attempt - 1, this.backoff, this.random));
    }
  }

  private record(batch: UsageEvent[], result: IngestResult): void {
    this.counts.batches++;
    for (const outcome of result.events) {
      if (outcome.status === 'accepted') this.counts.accepted++;
      else if (outcome.status === 'duplicate') this.counts.duplicate++;
      else {
        this.counts.rejected++;
        const event = batch[outcome.index];
        this.notify(() => this.onRejected?.({ event, error: outcome.error }));
      }
    }
  }

  /** A throwing callback must not stop delivery of the other events. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch {
      // Deliberately ignored: the sender's job is the events, the callback's errors are its own.
    }
  }
}

function checkEvent(event: UsageEvent, path: string): void {
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new TypeError(`${path} must be an object`);
  for (const field of ['transaction_id', 'customer_id', 'event_type', 'timestamp'] as const) {
    if (typeof event[field] !== 'string' || event[field] === '') {
      throw new TypeError(
        `${path}.${field} must be a non-empty string${field === 'transaction_id' ? ' (the service dedupes on it, so retries never double-count)' : ''}`,
      );
    }
  }
  if (
    event.properties !== undefined &&
    (typeof event.properties !== 'object' || event.properties === null || Array.isArray(event.properties))
  ) {
    throw new TypeError(`${path}.properties must be an object`);
  }
}

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative number of milliseconds, got ${value}`);
  return value;
}
