// Runs a bundled program inside workerd (through Miniflare): the wasm is a CompiledWasm module binding.
import { Miniflare } from 'miniflare';
import { ENTRY_EXPORT, runOnce, toInputJson, type Program, type ProgramRun, type Session } from './program.ts';

export interface WorkerdOptions {
  /** Pin it: workerd's behaviour is selected by this date, and it must not exceed the runtime's own. */
  compatibilityDate?: string;
}

const DEFAULT_COMPATIBILITY_DATE = '2026-04-01';

// Miniflare names modules relative to modulesRoot and workerd refuses names that climb out with "..",
// so the virtual paths must sit under the root.
const MODULES_ROOT = '/tariff-harness';

// workerd forbids compiling wasm from bytes at run time (no WebAssembly.compile), so the module arrives
// already compiled as an import; the program still receives a WebAssembly.Module like everywhere else.
const WORKER = `
import * as entry from './entry.mjs';
import programModule from './program.wasm';

export default {
  async fetch(request) {
    try {
      if (typeof entry.${ENTRY_EXPORT} !== 'function') throw new Error('entry does not export ${ENTRY_EXPORT}()');
      const output = JSON.stringify(await entry.${ENTRY_EXPORT}(programModule, JSON.parse(await request.text())));
      return new Response(output, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 });
    }
  },
};
`;

export async function startWorkerd(program: Program, options: WorkerdOptions = {}): Promise<Session> {
  const started = performance.now();
  const miniflare = new Miniflare({
    modulesRoot: MODULES_ROOT,
    modules: [
      { type: 'ESModule', path: `${MODULES_ROOT}/worker.mjs`, contents: WORKER },
      { type: 'ESModule', path: `${MODULES_ROOT}/entry.mjs`, contents: program.moduleCode },
      { type: 'CompiledWasm', path: `${MODULES_ROOT}/program.wasm`, contents: program.wasm },
    ],
    compatibilityDate: options.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
  });
  try {
    await miniflare.ready;
  } catch (error) {
    await miniflare.dispose();
    throw error;
  }
  const startMs = performance.now() - started;

  return {
    startMs,
    async run(input) {
      const response = await miniflare.dispatchFetch('http://harness.invalid/', {
        method: 'POST',
        body: toInputJson(input),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`workerd: ${text}`);
      return text;
    },
    close: () => miniflare.dispose(),
  };
}

export function runInWorkerd(request: ProgramRun, options: WorkerdOptions = {}): Promise<string> {
  return runOnce((program) => startWorkerd(program, options), request);
}
