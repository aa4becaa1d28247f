// Runs a bundled program in Debian's headless Chromium, served over http://127.0.0.1 and compiled in the page.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ENTRY_EXPORT, runOnce, toInputJson, type Program, type ProgramRun, type Session } from './program.ts';

export interface ChromiumOptions {
  executablePath?: string;
  /** Milliseconds to wait for the browser to start and the page to load the program. */
  timeoutMs?: number;
}

// Playwright's own browser download cannot reach its CDN from this network; Debian's package can.
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get install -y --no-install-recommends chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // runs as root in CI, where the setuid sandbox is unavailable
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The dynamic import sits inside try so that a missing export, a syntax error or a failed import in the
// bundle rejects `ready` with its message instead of leaving the page silently unready.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tariff harness</title>
<script type="module">
  globalThis.harness = {
    ready: (async () => {
      const entry = await import('/entry.mjs');
      if (typeof entry.${ENTRY_EXPORT} !== 'function') throw new Error('entry does not export ${ENTRY_EXPORT}()');
      const bytes = await (await fetch('/program.wasm')).arrayBuffer();
      const module = await WebAssembly.compile(bytes);
      return async (inputJson) => JSON.stringify(await entry.${ENTRY_EXPORT}(module, JSON.parse(inputJson)));
    })(),
  };
</script>
`;

declare global {
  // Declared for the page-side callbacks below, which Playwright serialises and runs in the page.
  var harness: { ready: Promise<(inputJson: string) => Promise<string>> } | undefined;
}

async function serveProgram(program: Program): Promise<{ server: Server; origin: string }> {
  const files: Record<string, { type: string; body: string | Uint8Array }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE },
    '/entry.mjs': { type: 'text/javascript; charset=utf-8', body: program.moduleCode },
    '/program.wasm': { type: 'application/wasm', body: program.wasm },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://127.0.0.1').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections(); // Chromium keeps connections alive; close() alone would wait for them
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startChromium(program: Program, options: ChromiumOptions = {}): Promise<Session> {
  const started = performance.now();
  const timeout = options.timeoutMs ?? 120_000; // a loaded machine can take long to start a browser
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(`chromium: no browser at ${executablePath}; install it with \`${CHROMIUM_INSTALL}\``);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'tariff-harness-chromium-'));
  let server: Server | undefined;
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close();
    if (server) await closeServer(server);
    await rm(userDataDir, { recursive: true, force: true });
  };

  try {
    const served = await serveProgram(program);
    server = served.server;
    // A persistent context is how Playwright takes an explicit user-data-dir (it rejects the flag in args).
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.setDefaultTimeout(timeout);

    const response = await page.goto(`${served.origin}/`);
    if (!response?.ok()) throw new Error(`chromium: harness page answered ${response?.status()}`);
    await page
      .evaluate(async () => {
        await globalThis.harness!.ready;
      })
      .catch((error: Error) => {
        throw new Error(
          `chromium: program failed to load: ${error.message}${pageErrors.length ? `\n${pageErrors.join('\n')}` : ''}`,
        );
      });
    const startMs = performance.now() - started;

    return {
      startMs,
      run: (input) =>
        page
          .evaluate(async (inputJson) => {
            const run = await globalThis.harness!.ready;
            return run(inputJson);
          }, toInputJson(input))
          .catch((error: Error) => {
            throw new Error(`chromium: ${error.message}`);
          }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export function runInChromium(request: ProgramRun, options: ChromiumOptions = {}): Promise<string> {
  return runOnce((program) => startChromium(program, options), request);
}
