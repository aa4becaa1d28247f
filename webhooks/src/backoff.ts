// When a failed delivery is tried again: exponential back-off (x3 from 30 s, capped at 12 h) with +-20% jitter,
// 13 attempts spanning about three days; after the last one the message is given up for that endpoint.

const baseMs = 30_000;
const factor = 3;
const capMs = 12 * 3600_000;
const jitter = 0.2;

/** Delays before retry 1, 2, ... without jitter. */
export const retrySchedule: readonly number[] = Array.from({ length: 12 }, (_, i) =>
  Math.min(baseMs * factor ** i, capMs),
);

/** Attempts in all: the first one and a retry per step of the schedule. */
export const maxAttempts = retrySchedule.length + 1;

/**
 * The delay after failed attempt `attempt` (1-based), or null when it was the last. `random` is in [0, 1)
 * (Math.random in production; tests pass their own).
 */
export function retryDelayMs(attempt: number, random: number = Math.random()): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error('attempt is a positive integer');
  if (attempt >= maxAttempts) return null;
  const base = retrySchedule[attempt - 1];
  return Math.round(base * (1 - jitter + 2 * jitter * random));
}
