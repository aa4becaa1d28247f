// Backoff with full jitter and Retry-After parsing, shared by the client (per request) and the sender (per batch).

/** Time as the SDK sees it; tests inject a fake one so retries take no real time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface BackoffPolicy {
  /** Delay cap of the first retry; the cap doubles with each attempt. Default 250 ms. */
  baseDelayMs?: number;
  /** Upper bound of the cap. Default 20 s. */
  maxDelayMs?: number;
}

/**
 * "Full jitter" (AWS architecture blog, Exponential Backoff And Jitter): a uniform draw in
 * [0, min(max, base x 2^retry)). Spreads a crowd of clients that failed together instead of
 * having them retry in lockstep.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number): number {
  const base = policy.baseDelayMs ?? 250;
  const max = policy.maxDelayMs ?? 20_000;
  const cap = Math.min(max, base * 2 ** Math.min(retry, 30));
  return Math.floor(random() * cap);
}

/**
 * Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date. Returns milliseconds to wait from `now`,
 * or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
