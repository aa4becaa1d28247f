// The Node entry as a user imports it, through the package's exports map: the browser entry's API plus the kernel
// from disk, estimating exactly what the kernel rates.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PriceBook, StateMap, UsageEvent } from '@tariff/core-wasm';
import * as browser from '@tariff/sdk';
import * as node from '@tariff/sdk/node';

const example = (name: string) => new URL(`../../core-wasm/examples/${name}`, import.meta.url);
const book = JSON.parse(readFileSync(example('llm-book.json'), 'utf8')) as PriceBook;
const states = JSON.parse(readFileSync(example('state.json'), 'utf8')) as StateMap;
const events = readFileSync(example('events.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as UsageEvent);

describe('@tariff/sdk/node', () => {
  it('exports everything the browser entry does, the same objects', () => {
    for (const [name, value] of Object.entries(browser)) expect(node[name as keyof typeof node], name).toBe(value);
  });

  it('reads the kernel from disk', async () => {
    expect(WebAssembly.validate(new Uint8Array(node.wasmBytes()))).toBe(true);
    expect(node.wasmPath).toMatch(/core-wasm\/build\/tariff\.wasm$/);
    expect(await node.loadKernel()).toBeInstanceOf(node.Kernel);
  });

  it('createEstimator needs no wasm and estimates what the kernel rates, byte for byte', async () => {
    const estimator = await node.createEstimator({ book, states, updateState: true });
    const expected = (await node.loadKernel()).rate(book, states, events);
    expect(JSON.stringify(events.map((event) => estimator.estimate(event)))).toBe(JSON.stringify(expected.results));
    expect(expected.results.some((result) => result.status === 'rated')).toBe(true);
  });
});
