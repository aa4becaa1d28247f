// The same bundled program gives byte-identical JSON in Node, workerd and Chromium, and the runners clean up.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rate, wasmPath } from '@tariff/core-wasm/node';
import { withZoneTransitions } from '@tariff/core-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, type Bundle } from './bundle.ts';
import { runInChromium, startChromium } from './browser.ts';
import { run as runI64, type I64Input } from './fixtures/i64-entry.ts';
import type { ChainRateInput, RateInput } from './fixtures/kernel-entry.ts';
import { loadChainVectors, loadVectors } from '../vectors/vectors.ts';
import { buildI64Wasm } from './fixtures/i64-wasm.ts';
import { runInNode, startNode } from './node.ts';
import type { Program, Session } from './program.ts';
import { runInWorkerd, startWorkerd } from './workerd.ts';

const I64_ENTRY = 'test/harness/fixtures/i64-entry.ts';

const WRAPPING_INPUT: I64Input = {
  products: [
    ['9223372036854775807', '2', '1'], // i64 max x 2 wraps to -2
    ['-9223372036854775808', '-1', '1'], // i64 min x -1 wraps to itself
    ['5', '1', '2'], // 2.5 -> 2 (half to even)
    ['7', '1', '2'], // 3.5 -> 4
    ['-5', '1', '2'], // -2.5 -> -2
    ['10', '-7', '3'],
  ],
  values: ['9223372036854775807', '1', '1'], // wraps past i64 max
  mix: ['-5', '3'],
};

// Written out by hand from the wasm semantics, not captured from a run.
const WRAPPING_OUTPUT =
  '{"products":[' +
  '{"wasm":"-2","wrapped":"-2","exactHalfEven":"18446744073.709551614"},' +
  '{"wasm":"-9223372036854775808","wrapped":"-9223372036854775808","exactHalfEven":"9223372036.854775808"},' +
  '{"wasm":"2","wrapped":"2","exactHalfEven":"0.000000002"},' +
  '{"wasm":"3","wrapped":"3","exactHalfEven":"0.000000004"},' +
  '{"wasm":"-2","wrapped":"-2","exactHalfEven":"-0.000000002"},' +
  '{"wasm":"-23","wrapped":"-23","exactHalfEven":"-0.000000023"}],' +
  '"sum":{"wasm":"-9223372036854775807","wrapped":"-9223372036854775807"},' +
  '"mix":"32",' +
  '"unicode":"Tariff — €0.000000001 ✓"}';

const MORE_INPUTS: I64Input[] = [
  { products: [['1000000000', '1000000000', '3']], values: [], mix: ['1', '63'] },
  { products: [['-1', '-1', '-1']], values: ['-9223372036854775808', '-1'], mix: ['9223372036854775807', '64'] },
];

type Runtime = 'node' | 'workerd' | 'chromium';
const starters: Record<Runtime, (program: Program) => Promise<Session>> = {
  node: startNode,
  workerd: startWorkerd,
  chromium: startChromium,
};

/**
 * Live child processes of this test process as "pid name" (Linux /proc), to prove the runners leave none.
 * esbuild's service process is one, and stays by design; so compare with a snapshot, not with [].
 */
function childProcesses(): string[] {
  const names: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, parent] = stat.slice(close + 2).split(' ');
      if (Number(parent) === process.pid && state !== 'Z')
        names.push(`${pid} ${stat.slice(stat.indexOf('(') + 1, close)}`);
    } catch {
      // the process ended between listing and reading
    }
  }
  return names;
}

function harnessTempDirectories(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('tariff-harness-'));
}

describe('bundleEntry', () => {
  it('bundles an entry and its imports into one self-contained module', async () => {
    const bundle = await bundleEntry(I64_ENTRY);

    expect(bundle.inputs.sort()).toEqual(['test/harness/fixtures/i64-entry.ts', 'test/harness/fixtures/nano.ts']);
    expect(bundle.code).not.toMatch(/^\s*import\b/m);
    expect(bundle.code).toMatch(/export\s*\{[^}]*\brun\b/);
    expect(bundle.bytes).toBe(Buffer.byteLength(bundle.code));
    expect(bundle.gzipBytes).toBeGreaterThan(0);
    expect(bundle.gzipBytes).toBeLessThan(bundle.bytes);
  });

  it('rejects a node: built-in and names the importer', async () => {
    await expect(bundleEntry('test/harness/fixtures/node-builtin-entry.ts')).rejects.toThrow(
      'Node built-in "node:fs" imported by test/harness/fixtures/node-builtin-entry.ts',
    );
  });

  it("rejects the kernel's Node-only loader, proving the check sees real code", async () => {
    await expect(bundleEntry('core-wasm/src/node.ts')).rejects.toThrow(
      'Node built-in "node:fs" imported by core-wasm/src/node.ts',
    );
  });

  it('rejects a bare built-in name imported two files down', async () => {
    await expect(bundleEntry('test/harness/fixtures/bare-builtin-entry.ts')).rejects.toThrow(
      'Node built-in "crypto" imported by test/harness/fixtures/hash.ts',
    );
  });
});

describe('runner failures', () => {
  it('names the apt line when Chromium is missing', async () => {
    const program = { moduleCode: 'export function run() {}', wasm: buildI64Wasm() };
    await expect(startChromium(program, { executablePath: '/nonexistent/chromium' })).rejects.toThrow(
      'apt-get install -y --no-install-recommends chromium',
    );
  });

  it('every runner reports a module without run() instead of hanging', async () => {
    const request = { moduleCode: 'export const notRun = 1;', wasm: buildI64Wasm(), input: null };
    for (const runIn of [runInNode, runInWorkerd, runInChromium]) {
      await expect(runIn(request), runIn.name).rejects.toThrow('entry does not export run()');
    }
  });
});

describe('i64 program across runtimes', () => {
  const wasm = buildI64Wasm();
  let bundle: Bundle;
  let program: Program;

  beforeAll(async () => {
    bundle = await bundleEntry(I64_ENTRY);
    program = { moduleCode: bundle.code, wasm };
  });

  it('Node in-process (unbundled source) gives the expected bytes', async () => {
    const output = JSON.stringify(await runI64(new WebAssembly.Module(wasm), WRAPPING_INPUT));
    expect(output).toBe(WRAPPING_OUTPUT);
  });

  it('the one-shot runners give the same bytes and leave no process or directory behind', async () => {
    const processesBefore = childProcesses();
    const directoriesBefore = harnessTempDirectories();
    const timings: Record<string, string> = {};
    const request = { ...program, input: WRAPPING_INPUT };
    const runners = { node: runInNode, workerd: runInWorkerd, chromium: runInChromium };

    for (const [runtime, runIn] of Object.entries(runners)) {
      const started = performance.now();
      const output = await runIn(request);
      timings[runtime] = `${Math.round(performance.now() - started)} ms`;
      expect(output, runtime).toBe(WRAPPING_OUTPUT);
    }

    console.info('one-shot run (start + run + close):', timings);
    expect(childProcesses()).toEqual(processesBefore);
    expect(harnessTempDirectories()).toEqual(directoriesBefore);
  });

  describe('sessions', () => {
    const sessions = new Map<Runtime, Session>();
    let processesBefore: string[];

    beforeAll(async () => {
      processesBefore = childProcesses();
      // Started one after another so each start time is measured on an otherwise idle machine.
      for (const runtime of Object.keys(starters) as Runtime[]) {
        sessions.set(runtime, await starters[runtime](program));
      }
      const timings = Object.fromEntries(
        [...sessions].map(([runtime, session]) => [runtime, `${Math.round(session.startMs)} ms`]),
      );
      console.info(`bundle ${bundle.bytes} B (${bundle.gzipBytes} B gzip); session start:`, timings);
    });

    afterAll(async () => {
      for (const session of sessions.values()) await session.close();
      expect(childProcesses()).toEqual(processesBefore);
    });

    it('every runtime gives byte-identical JSON for every input', async () => {
      for (const input of [WRAPPING_INPUT, ...MORE_INPUTS]) {
        const expected = JSON.stringify(await runI64(new WebAssembly.Module(wasm), input));
        for (const [runtime, session] of sessions) {
          expect(await session.run(input), `${runtime} ${JSON.stringify(input)}`).toBe(expected);
        }
      }
    });

    it('a trap inside the program rejects with the runtime error and the session stays usable', async () => {
      const divideByZero: I64Input = { products: [['1', '1', '0']], values: [], mix: ['0', '0'] };
      for (const [runtime, session] of sessions) {
        await expect(session.run(divideByZero), runtime).rejects.toThrow(/divide by zero/);
        expect(await session.run(WRAPPING_INPUT), runtime).toBe(WRAPPING_OUTPUT);
      }
    });
  });
});

describe('the real kernel across runtimes', () => {
  const examples = new URL('../../core-wasm/examples/', import.meta.url);
  const book = JSON.parse(readFileSync(new URL('llm-book.json', examples), 'utf8'));
  const states = JSON.parse(readFileSync(new URL('state.json', examples), 'utf8'));
  const events = readFileSync(new URL('events.jsonl', examples), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const sessions = new Map<Runtime, Session>();

  beforeAll(async () => {
    if (!existsSync(wasmPath)) throw new Error(`${wasmPath} is missing: run "npm run build" first`);
    const bundle = await bundleEntry('test/harness/fixtures/kernel-entry.ts');
    // The public entry, bundled for workerd and browsers, must not have dragged in core-wasm/src/node.ts.
    expect(bundle.inputs).toContain('core-wasm/src/index.ts');
    expect(bundle.inputs).not.toContain('core-wasm/src/node.ts');
    const program = { moduleCode: bundle.code, wasm: readFileSync(wasmPath) };
    for (const runtime of Object.keys(starters) as Runtime[]) {
      sessions.set(runtime, await starters[runtime](program));
    }
    const timings = Object.fromEntries(
      [...sessions].map(([runtime, session]) => [runtime, `${Math.round(session.startMs)} ms`]),
    );
    console.info(
      `kernel bundle ${bundle.bytes} B (${bundle.gzipBytes} B gzip), wasm ${program.wasm.byteLength} B; session start:`,
      timings,
    );
  });

  afterAll(async () => {
    for (const session of sessions.values()) await session.close();
  });

  it('rates the example book byte-identically in Node (unbundled), Node, workerd and Chromium', async () => {
    const input: RateInput = { book, states, events };
    const expected = JSON.stringify(await rate(book, states, events));
    const parsed = JSON.parse(expected);
    expect(parsed.results).toHaveLength(events.length);
    expect(parsed.results.filter((result: { status: string }) => result.status === 'rated').length).toBeGreaterThan(0);

    for (const [runtime, session] of sessions) {
      expect(await session.run(input), runtime).toBe(expected);
    }
  });

  it('gives every conformance vector its recorded output, byte for byte, in every runtime', async () => {
    const vectors = loadVectors();
    expect(vectors.length).toBeGreaterThan(0);
    for (const vector of vectors) {
      expect(vector.expected, `${vector.name} has no recorded output`).toBeDefined();
      const expected = JSON.stringify(vector.expected);
      const input: RateInput = { book: vector.book, states: vector.states, events: vector.events };
      for (const [runtime, session] of sessions) {
        expect(await session.run(input), `${vector.name} in ${runtime}`).toBe(expected);
      }
    }
  });

  it('gives every reseller-chain vector its recorded output, byte for byte, in every runtime', async () => {
    const vectors = loadChainVectors();
    expect(vectors.length).toBeGreaterThanOrEqual(2);
    for (const vector of vectors) {
      expect(vector.expected, `${vector.name} has no recorded output`).toBeDefined();
      const expected = JSON.stringify(vector.expected);
      const input: ChainRateInput = { books: vector.books, states: vector.states, chainEvents: vector.events };
      for (const [runtime, session] of sessions) {
        expect(await session.run(input), `${vector.name} in ${runtime}`).toBe(expected);
      }
    }
  });

  describe('a time-of-use window in America/Vancouver after 2026-11-01', () => {
    // The book compiler turns zones into transitions with the runtime's own Intl data, and the runtimes
    // ship different tz data: Node 20.20 (tz 2025c) and workerd still return Vancouver to UTC-8 on
    // 2026-11-01, while Debian's Chromium 156 has no transition after March 2026 (stays UTC-7). So
    // 00:10Z is 16:10 local (peak) in Node and workerd but 17:10 (off-peak) in Chromium, and the same event
    // costs twice as much on the server as in the browser. Edmonton, Winnipeg, Inuvik, Casablanca,
    // El_Aaiun, Tijuana (workerd, 1970s), Bogota, Tehran and Chisinau differ too.
    // The fix: the book carries the zone's transitions, pinned once from Node's tz data.
    const unpinned = structuredClone(book);
    unpinned.versions[1].windows.deepseek_offpeak.time_zone = 'America/Vancouver';
    const vancouverBook = withZoneTransitions(unpinned);
    const input: RateInput = {
      book: vancouverBook,
      states: {},
      events: [
        {
          transaction_id: 'evt_vancouver',
          customer_id: 'acme',
          event_type: 'llm.completion',
          timestamp: '2026-12-01T00:10:00Z',
          properties: { provider: 'deepseek', model: 'deepseek-chat', input_tokens: 10000, output_tokens: 4000 },
        },
      ],
    };
    const outputs = new Map<Runtime, string>();

    it('Node and workerd agree with the unbundled Node kernel (peak price)', async () => {
      for (const [runtime, session] of sessions) outputs.set(runtime, await session.run(input));
      const expected = JSON.stringify(await rate(input.book, input.states, input.events));
      expect(JSON.parse(expected).results[0].subtotal).toBe('0.007100000');
      expect(outputs.get('node')).toBe(expected);
      expect(outputs.get('workerd')).toBe(expected);
    });

    it('Chromium agrees too, because the transitions travel with the book', () => {
      expect(outputs.get('chromium')).toBeDefined();
      expect(outputs.get('chromium')).toBe(outputs.get('node'));
    });
  });
});
