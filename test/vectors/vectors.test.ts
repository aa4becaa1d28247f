// Every conformance vector through the Node kernel: the hand-computed checks and the full expected output.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Kernel } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { rateChainReference } from '../reference/chain.ts';
import { rateReference } from '../reference/rate.ts';
import { chainCheckFailures, fieldOf, loadChainVectors, loadVectors } from './vectors.ts';

const withoutMessages = (output: { results: { error?: object }[]; states: unknown }) =>
  JSON.stringify({
    results: output.results.map((r) => (r.error ? { ...r, error: { ...r.error, message: undefined } } : r)),
    states: output.states,
  });

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

describe.each(loadVectors())('vector $name', (vector) => {
  it(`${vector.description}: hand checks`, () => {
    const { results } = kernel.rate(vector.book, vector.states, vector.events);
    for (const [id, field, value] of vector.checks) {
      expect(
        fieldOf(
          results.find((r) => r.transaction_id === id),
          field,
        ),
        `${id}.${field}`,
      ).toBe(value);
    }
  });

  it('matches the recorded output byte for byte', () => {
    expect(vector.expected, 'run npm run vectors:update').toBeDefined();
    expect(JSON.stringify(kernel.rate(vector.book, vector.states, vector.events))).toBe(
      JSON.stringify(vector.expected),
    );
  });

  it('agrees with the decimal.js reference', () => {
    expect(withoutMessages(rateReference(vector.book, vector.states, vector.events))).toBe(
      withoutMessages(vector.expected!),
    );
  });

  it('leaves the input states untouched', () => {
    const before = JSON.stringify(vector.states);
    kernel.rate(vector.book, vector.states, vector.events);
    expect(JSON.stringify(vector.states)).toBe(before);
  });
});

const chainWithoutMessages = (output: { results: { levels: { error?: object }[] }[]; states: unknown }) =>
  JSON.stringify({
    results: output.results.map((chain) => ({
      ...chain,
      levels: chain.levels.map((r) => (r.error ? { ...r, error: { ...r.error, message: undefined } } : r)),
    })),
    states: output.states,
  });

describe.each(loadChainVectors())('chain vector $name', (vector) => {
  it(`${vector.description}: hand checks`, () => {
    expect(chainCheckFailures(vector, kernel.rateChain(vector.books, vector.states, vector.events))).toEqual([]);
  });

  it('matches the recorded output byte for byte', () => {
    expect(vector.expected, 'run npm run vectors:update').toBeDefined();
    expect(JSON.stringify(kernel.rateChain(vector.books, vector.states, vector.events))).toBe(
      JSON.stringify(vector.expected),
    );
  });

  it('agrees with the decimal.js reference', () => {
    expect(chainWithoutMessages(rateChainReference(vector.books, vector.states, vector.events))).toBe(
      chainWithoutMessages(vector.expected!),
    );
  });

  it('leaves the input states untouched', () => {
    const before = JSON.stringify(vector.states);
    kernel.rateChain(vector.books, vector.states, vector.events);
    expect(JSON.stringify(vector.states)).toBe(before);
  });
});
