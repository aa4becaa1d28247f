// When a group commit waits for more requests before it starts. A group's transaction has a fixed cost (its
// round trips, locks, COMMIT) shared by its requests, so a group started with few requests while the callers of
// the groups just answered are about to send their next costs more per request than one that waits for them.
// The policy measures how long the callers of an answered group take to send as many requests again (their
// return time) and how long a group takes to run. A group waits only while callers answered within a group's
// duration are still out and returns are measured to be faster than a group; it waits no longer than twice the
// return time after their answer, and never longer than a group's duration in all. Callers that think between
// calls return slower than a group runs: their requests start at once.

/** What the policy has measured of one tenant's queue (milliseconds, any monotonic clock). */
export interface LingerState {
  /** Moving averages: a group's duration (start to outcomes), and the return time of its callers. */
  runMs?: number;
  returnMs?: number;
  /** Groups answered and not all back yet, oldest first: when, how many items, how many came back since. */
  out: { at: number; items: number; back: number }[];
}

/** Weight of the newest measurement in each moving average. */
const weight = 0.2;

const averaged = (average: number | undefined, sample: number) =>
  average === undefined ? sample : average + weight * (sample - average);

export function newLingerState(): LingerState {
  return { out: [] };
}

/** A request of `items` items arrived at `now`: it counts as returns of the oldest groups still out. */
export function noteArrival(state: LingerState, now: number, items = 1): void {
  forgetStale(state, now);
  let left = items;
  while (left > 0 && state.out.length > 0) {
    const group = state.out[0];
    const taken = Math.min(left, group.items - group.back);
    group.back += taken;
    left -= taken;
    if (group.back === group.items) {
      state.returnMs = averaged(state.returnMs, now - group.at);
      state.out.shift();
    }
  }
}

/** A group of `items` items ran from `started` and was answered at `now`. */
export function noteAnswered(state: LingerState, started: number, now: number, items: number): void {
  state.runMs = averaged(state.runMs, now - started);
  forgetStale(state, now);
  state.out.push({ at: now, items, back: 0 });
}

/** Groups out longer than a group's duration: their callers' return time is at least that long. */
function forgetStale(state: LingerState, now: number): void {
  const runMs = state.runMs ?? 0;
  while (state.out.length > 0 && state.out[0].at < now - runMs) {
    state.returnMs = averaged(state.returnMs, now - state.out[0].at);
    state.out.shift();
  }
}

/**
 * How much longer (ms) a group of `waiting` items, the oldest of them waiting since `oldestSince`, should wait for
 * more before it starts; 0: start now. `running`: the groups running beside it (when each started, how many
 * items), whose callers come back once answered. The caller asks again when a request arrives, when a group
 * ends, and when that time is up.
 */
export function lingerFor(
  state: LingerState,
  waiting: number,
  oldestSince: number,
  now: number,
  maxItems: number,
  running: readonly { started: number; items: number }[] = [],
): number {
  forgetStale(state, now);
  const { runMs, returnMs } = state;
  if (runMs === undefined || returnMs === undefined || returnMs >= runMs || waiting >= maxItems) return 0;
  // The callers still out, and when the last of them is due (twice the return time after its group's answer, a
  // running group's answer expected a group's duration after its start).
  let out = 0;
  let due = 0;
  for (const group of state.out) {
    out += group.items - group.back;
    due = Math.max(due, group.at + 2 * returnMs);
  }
  for (const group of running) {
    out += group.items;
    due = Math.max(due, group.started + runMs + 2 * returnMs);
  }
  if (out === 0) return 0;
  return Math.max(0, Math.min(oldestSince + runMs, due) - now);
}
