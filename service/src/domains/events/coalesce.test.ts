import { describe, expect, it } from 'vitest';
import { Coalescer, PartialFailure } from './coalesce.ts';

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('Coalescer', () => {
  it('given requests arriving while two transactions run, runs them together in the next one', async () => {
    const runs: number[][] = [];
    const gates = [deferred(), deferred(), deferred()];
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        await gates[runs.length - 1].promise;
        return new Map(items.map((i) => [i, `ok ${i}`]));
      },
      { maxRunning: 2, maxItems: 5000, minItemsToOverlap: 1 },
    );
    const results = [1, 2, 3, 4, 5].map((i) => coalescer.submit('t', [i]));
    expect(runs).toEqual([[1], [2]]);
    gates[0].release();
    await results[0];
    expect(runs).toEqual([[1], [2], [3, 4, 5]]);
    gates[1].release();
    gates[2].release();
    expect(await Promise.all(results.map(async (r, i) => (await r).get(i + 1)))).toEqual([
      'ok 1',
      'ok 2',
      'ok 3',
      'ok 4',
      'ok 5',
    ]);
  });

  it('starts a transaction beside a running one only for enough waiting events; fewer wait and go together', async () => {
    const runs: number[][] = [];
    const gates = [deferred(), deferred(), deferred()];
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        await gates[runs.length - 1].promise;
        return new Map(items.map((i) => [i, 'ok']));
      },
      { maxRunning: 2, maxItems: 5000, minItemsToOverlap: 3 },
    );
    const small = [1, 2].map((i) => coalescer.submit('t', [i]));
    expect(runs).toEqual([[1]]);
    const big = coalescer.submit('t', [3, 4]);
    expect(runs).toEqual([[1], [2, 3, 4]]);
    gates[0].release();
    gates[1].release();
    await Promise.all([...small, big]);
    expect(runs).toHaveLength(2);
  });

  it('given a shared run failing for one request, runs the requests apart by halves and fails only that one', async () => {
    const runs: number[][] = [];
    const gate = deferred();
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        if (items[0] === 0) await gate.promise;
        if (items.includes(4)) throw new Error('value too long for type character varying');
        return new Map(items.map((i) => [i, `ok ${i}`]));
      },
      { maxRunning: 1, maxItems: 5000, minItemsToOverlap: 1 },
    );
    const first = coalescer.submit('t', [0]);
    // Six requests (one of two events) wait and share the next run; the fourth is the bad one.
    const requests = [[1], [2], [3, 30], [4], [5], [6]].map((items) => coalescer.submit('t', items));
    gate.release();
    await first;
    const results = await Promise.allSettled(requests);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[3] as PromiseRejectedResult).reason.message).toBe('value too long for type character varying');
    expect(await requests[2].then((outcomes) => [outcomes.get(3), outcomes.get(30)])).toEqual(['ok 3', 'ok 30']);
    // Together, then halves in request order: [1 2 3] passes; [4 5 6] fails, so [4 5] and [6]; [4 5] fails, so [4] and [5].
    expect(runs).toEqual([[0], [1, 2, 3, 30, 4, 5, 6], [1, 2, 3, 30], [4, 5, 6], [4, 5], [4], [5], [6]]);
  });

  it('keeps what a run that failed in part decided, and runs only the rest again', async () => {
    const runs: number[][] = [];
    const gate = deferred();
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        if (items[0] === 0) await gate.promise;
        // Like two transactions of which one committed: the odd items are decided, the even ones failed.
        if (items.includes(2))
          throw new PartialFailure(
            new Error('boom'),
            new Map(items.filter((i) => i % 2 === 1).map((i) => [i, `first ${i}`])),
          );
        return new Map(items.map((i) => [i, `again ${i}`]));
      },
      { maxRunning: 1, maxItems: 5000, minItemsToOverlap: 1 },
    );
    const first = coalescer.submit('t', [0]);
    const requests = [
      [1, 4],
      [2, 3],
      [5, 6],
    ].map((items) => coalescer.submit('t', items));
    gate.release();
    await first;
    const results = await Promise.allSettled(requests);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The error is the one the run failed with, not the wrapper.
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('boom');
    expect(await requests[0].then((o) => [o.get(1), o.get(4)])).toEqual(['first 1', 'again 4']);
    expect(await requests[2].then((o) => [o.get(5), o.get(6)])).toEqual(['first 5', 'again 6']);
    expect(runs).toEqual([[0], [1, 4, 2, 3, 5, 6], [4, 2], [4], [2], [6]]);
  });

  it('fails every request of a run at once for an error none of them caused, and keeps other runs apart', async () => {
    const runs: number[][] = [];
    const splits: number[] = [];
    const gate = deferred();
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        runs.push(items);
        if (items[0] === 0) await gate.promise;
        if (items.includes(2)) throw Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
        return new Map(items.map((i) => [i, 'ok']));
      },
      {
        maxRunning: 1,
        maxItems: 5000,
        minItemsToOverlap: 1,
        isIsolable: (error) => (error as { code?: string }).code !== 'CONNECTION_CLOSED',
        onSplit: (_t, n) => splits.push(n),
      },
    );
    const first = coalescer.submit('t', [0]);
    const requests = [1, 2, 3].map((i) => coalescer.submit('t', [i]));
    gate.release();
    expect((await Promise.allSettled([first, ...requests])).map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(runs).toEqual([[0], [1, 2, 3]]);
    expect(splits).toEqual([]);
    // The tenant's queue is free again.
    expect((await coalescer.submit('t', [7])).get(7)).toBe('ok');
  });

  it('keeps tenants apart and never splits a request over the item limit', async () => {
    const runs: [string, number[]][] = [];
    const coalescer = new Coalescer<number, number>(
      async (tenant, items) => {
        runs.push([tenant, items]);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new Map(items.map((i) => [i, i]));
      },
      { maxRunning: 1, maxItems: 3, minItemsToOverlap: 1 },
    );
    await Promise.all([
      coalescer.submit('a', [1]),
      coalescer.submit('b', [2]),
      coalescer.submit('a', [3, 4]),
      coalescer.submit('a', [5, 6]),
      coalescer.submit('a', [7]),
    ]);
    expect(runs).toEqual([
      ['a', [1]],
      ['b', [2]],
      ['a', [3, 4]],
      ['a', [5, 6, 7]],
    ]);
  });
});
