import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalesce.ts';

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
    expect(await Promise.all(results.map(async (r, i) => (await r).get(i + 1)))).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
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

  it('given a failing transaction, fails every request in it and none in others', async () => {
    const coalescer = new Coalescer<number, string>(
      async (_tenant, items) => {
        if (items.includes(3)) throw new Error('boom');
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new Map(items.map((i) => [i, 'ok']));
      },
      { maxRunning: 2, maxItems: 5000, minItemsToOverlap: 1 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => coalescer.submit('t', [i])));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
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
    await Promise.all([coalescer.submit('a', [1]), coalescer.submit('b', [2]), coalescer.submit('a', [3, 4]), coalescer.submit('a', [5, 6]), coalescer.submit('a', [7])]);
    expect(runs).toEqual([
      ['a', [1]],
      ['b', [2]],
      ['a', [3, 4]],
      ['a', [5, 6, 7]],
    ]);
  });
});
