// The SDK's entry point, bundled, in Node, workerd (Miniflare) and headless Chromium: the same estimates, checks and
// extracted usage, byte for byte, as the unbundled source in this process.
import { readFileSync } from 'node:fs';
import { withZoneTransitions } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_FIXTURES } from '../../sdk/src/usage.fixtures.ts';
import { bundleEntry } from '../harness/bundle.ts';
import { runInChromium } from '../harness/browser.ts';
import { runInNode } from '../harness/node.ts';
import { runInWorkerd } from '../harness/workerd.ts';
import { type SdkInput, run } from './fixtures/sdk-entry.ts';

const example = (name: string) => readFileSync(new URL(`../../core-wasm/examples/${name}`, import.meta.url), 'utf8');
const input: SdkInput = {
  // Zones pinned as a served snapshot pins them, so no runtime's own tz data decides a window.
  book: withZoneTransitions(JSON.parse(example('llm-book.json'))),
  states: JSON.parse(example('state.json')),
  events: example('events.jsonl')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line)),
  responses: RESPONSE_FIXTURES.map(({ provider, body, options }) => ({ provider, body, options })),
};

describe('the SDK in every runtime', () => {
  let expected: string;
  let moduleCode: string;
  const wasm = new Uint8Array(wasmBytes());

  beforeAll(async () => {
    expected = JSON.stringify(await run(new WebAssembly.Module(wasm), structuredClone(input)));
    moduleCode = (await bundleEntry('test/sdk/fixtures/sdk-entry.ts')).code;
  });

  it('computes something worth comparing', () => {
    const output = JSON.parse(expected);
    expect(output.estimates.filter((e: { status: string }) => e.status === 'rated').length).toBeGreaterThanOrEqual(9);
    expect(output.checks.some((c: { allowed: boolean }) => !c.allowed)).toBe(true);
    expect(output.usage).toHaveLength(RESPONSE_FIXTURES.length);
  });

  it.each([
    ['node', runInNode],
    ['workerd', runInWorkerd],
    ['chromium', runInChromium],
  ] as const)('%s gives the same bytes', async (_, runIn) => {
    expect(await runIn({ moduleCode, wasm, input })).toBe(expected);
  });
});
