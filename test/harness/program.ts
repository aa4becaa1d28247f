// The contract every runner shares: what a bundled program exports and what a session gives back.
//
// Harness map: bundle.ts (bundleEntry: TS entry -> one ESM string, Node built-ins refused), node.ts
// (startNode/runInNode: child Node process), workerd.ts (startWorkerd/runInWorkerd: Miniflare),
// browser.ts (startChromium/runInChromium: Debian Chromium via playwright-core, needs
// `apt-get install -y --no-install-recommends chromium`). A conformance suite starts one session per
// runtime and runs every vector through it; the run* functions are start + run + close.

/**
 * A bundled ES module plus the wasm it drives. The module must export
 * `run(module: WebAssembly.Module, input: unknown): unknown | Promise<unknown>`; each runner compiles
 * `wasm` inside its runtime, calls `run` with the JSON-parsed input and returns
 * `JSON.stringify(result)` as computed by that runtime, so callers compare bytes, not values.
 */
export interface Program {
  moduleCode: string;
  wasm: Uint8Array;
}

export interface ProgramRun extends Program {
  /** Serialised with JSON.stringify on the host, parsed inside the runtime. */
  input: unknown;
}

/** One started runtime with a program loaded; run it as often as needed, then close it. */
export interface Session {
  /** Milliseconds from the start call until the program was loaded and ready to run. */
  readonly startMs: number;
  run(input: unknown): Promise<string>;
  close(): Promise<void>;
}

export const ENTRY_EXPORT = 'run';

export function toInputJson(input: unknown): string {
  const json = JSON.stringify(input);
  if (json === undefined) throw new Error('harness input must be JSON-serialisable');
  return json;
}

/** Starts a session, runs once and always closes it. */
export async function runOnce(start: (program: Program) => Promise<Session>, request: ProgramRun): Promise<string> {
  const session = await start(request);
  try {
    return await session.run(request.input);
  } finally {
    await session.close();
  }
}
