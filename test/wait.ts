// Waiting in a test for something that happens on its own time (a worker's post, a job queue draining, a NOTIFY):
// poll until it holds, within a limit generous enough for a loaded 2-core machine. A test asserts that it happens,
// never how fast, so the limit only turns a hang into a failure that says what never happened.

/** How long `eventually` waits by default: far beyond what any condition needs on a quiet machine. */
export const EVENTUALLY_LIMIT_MS = 120_000;

export interface EventuallyOptions {
  limitMs?: number;
  /** Pause between probes. */
  intervalMs?: number;
}

/**
 * Probes until it returns something other than undefined, null or false, and returns that. A probe that throws fails
 * at once (an assertion inside it is a hard failure, not a "not yet").
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: EventuallyOptions = {},
): Promise<T> {
  const limitMs = options.limitMs ?? EVENTUALLY_LIMIT_MS;
  const intervalMs = options.intervalMs ?? 25;
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() - started > limitMs)
      throw new Error(
        `${what}: still not the case after ${limitMs >= 1000 ? `${Math.round(limitMs / 1000)} s` : `${limitMs} ms`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
