import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalesce.ts';
import { lingerFor, newLingerState, noteAnswered, noteArrival } from './linger.ts';

/** A queue that has seen `groups` groups of `size` run for `runMs`, their callers coming back `returnMs` apart. */
function measured(groups: number, size: number, runMs: number, returnMs: number) {
  const state = newLingerState();
  let now = 0;
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < size; i++) noteArrival(state, (now += returnMs));
    const started = now;
    noteAnswered(state, started, (now += runMs), size);
  }
  return { state, now };
}

describe('lingerFor', () => {
  it('given callers that came back fast, waits for those of the group just answered, then starts at once', () => {
    // Eight callers back within 4 ms of their answer; groups of 10 ms.
    const { state, now } = measured(5, 8, 10, 0.5);
    noteArrival(state, now + 0.5);
    const wait = lingerFor(state, 1, now + 0.5, now + 0.5, 500);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(10);
    for (let i = 2; i <= 8; i++) noteArrival(state, now + 0.5 * i);
    expect(lingerFor(state, 8, now + 0.5, now + 4, 500)).toBe(0);
  });

  it('waits no longer than twice the return time for callers that do not come back, nor than a group duration', () => {
    const { state, now } = measured(5, 8, 10, 0.5);
    noteArrival(state, now + 0.5);
    // Twice the 4 ms return time after the answer, within the 10 ms after the oldest request.
    for (const at of [now + 0.5, now + 3, now + 6]) {
      const wait = lingerFor(state, 1, now + 0.5, at, 500);
      expect(at + wait).toBeLessThanOrEqual(now + 8);
      expect(wait).toBeGreaterThan(0);
    }
    expect(lingerFor(state, 1, now + 0.5, now + 8, 500)).toBe(0);
    // Groups of 6 ms: the group's duration bounds it first.
    const short = measured(5, 8, 6, 0.5);
    noteArrival(short.state, short.now + 0.5);
    expect(lingerFor(short.state, 1, short.now + 0.5, short.now + 0.5, 500)).toBeLessThanOrEqual(6);
  });

  it('counts the callers of a running group as out, due once it ends and they return', () => {
    const { state, now } = measured(5, 8, 10, 0.5);
    for (let i = 1; i <= 8; i++) noteArrival(state, now + 0.5 * i);
    // All back: alone, four waiting start at once; beside a running group of four, they wait for its callers.
    expect(lingerFor(state, 4, now + 4, now + 4, 500)).toBe(0);
    const wait = lingerFor(state, 4, now + 4, now + 4, 500, [{ started: now + 2, items: 4 }]);
    expect(wait).toBeGreaterThan(0);
    expect(now + 4 + wait).toBeLessThanOrEqual(now + 14);
  });

  it('given callers that think between calls (back slower than a group runs), starts at once', () => {
    const { state, now } = measured(5, 8, 10, 5);
    noteArrival(state, now + 5);
    expect(lingerFor(state, 1, now + 5, now + 5, 500)).toBe(0);
    const slow = measured(5, 1, 10, 100);
    noteArrival(slow.state, slow.now + 100);
    expect(lingerFor(slow.state, 1, slow.now + 100, slow.now + 100, 500)).toBe(0);
  });

  it('starts at once before anything is measured, when nobody is out, and when the group is full', () => {
    expect(lingerFor(newLingerState(), 1, 0, 0, 500)).toBe(0);
    const { state, now } = measured(5, 2, 10, 0.1);
    noteArrival(state, now + 0.1);
    expect(lingerFor(state, 1, now + 0.1, now + 0.1, 1)).toBe(0);
    noteArrival(state, now + 0.2);
    expect(lingerFor(state, 2, now + 0.1, now + 0.2, 500)).toBe(0);
  });
});

describe('Coalescer with linger', () => {
  function deferred() {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    return { promise, release };
  }

  it('given callers that come back at once, runs them in one group; one left alone waits no longer than a group', async () => {
    let clock = 0;
    const runs: number[][] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        return new Map(items.map((i) => [i, 'ok']));
      },
      { maxRunning: 1, maxItems: 500, minItemsToOverlap: 1, linger: true, now: () => clock },
    );
    // Four callers, each sending its next request 1 ms after its answer, until told to stop.
    let next = 0;
    const stop = new Set<number>();
    const caller = async (id: number) => {
      for (;;) {
        clock += 1;
        await coalescer.submit('t', [next++]);
        if (stop.has(id)) return;
      }
    };
    const ticks = () => new Promise((resolve) => setTimeout(resolve, 5));
    const callers = [0, 1, 2, 3].map(caller);
    await ticks();
    // Nothing measured yet: the first runs alone, the rest together.
    expect(runs.map((r) => r.length)).toEqual([1]);
    // Each group runs 20 ms.
    for (let k = 0; k < 8; k++) {
      clock += 20;
      gates[runs.length - 1].release();
      await ticks();
    }
    // Once measured, each group holds all four callers.
    expect(runs.slice(-3).map((r) => r.length)).toEqual([4, 4, 4]);

    // Three of the four stop: the one left waits for them, and starts without them once a group's duration is up.
    [1, 2, 3].forEach((id) => stop.add(id));
    const before = runs.length;
    clock += 20;
    gates[runs.length - 1].release();
    await ticks();
    expect(runs).toHaveLength(before);
    clock += 30;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(runs).toHaveLength(before + 1);
    expect(runs.at(-1)).toHaveLength(1);
    stop.add(0);
    gates[runs.length - 1].release();
    await Promise.all(callers);
  });
});
