// Every conformance vector through the Node kernel: the hand-computed checks and the full expected output.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Kernel } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';
import { fieldOf, loadVectors } from './vectors.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

describe.each(loadVectors())('vector $name', (vector) => {
  it(`${vector.description}: hand checks`, () => {
    const { results } = kernel.rate(vector.book, vector.states, vector.events);
    for (const [id, field, value] of vector.checks) {
      expect(fieldOf(results.find((r) => r.transaction_id === id), field), `${id}.${field}`).toBe(value);
    }
  });

  it('matches the recorded output byte for byte', () => {
    expect(vector.expected, 'run npm run vectors:update').toBeDefined();
    expect(JSON.stringify(kernel.rate(vector.book, vector.states, vector.events))).toBe(JSON.stringify(vector.expected));
  });

  it('leaves the input states untouched', () => {
    const before = JSON.stringify(vector.states);
    kernel.rate(vector.book, vector.states, vector.events);
    expect(JSON.stringify(vector.states)).toBe(before);
  });
});
