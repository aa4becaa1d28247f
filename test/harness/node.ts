// Runs a bundled program in a child Node process, so Node executes the same bytes as workerd and Chromium.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ENTRY_EXPORT, runOnce, toInputJson, type Program, type ProgramRun, type Session } from './program.ts';

// Line protocol over stdin/stdout: JSON.stringify never emits a raw newline, so one message is one line.
const DRIVER = `
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const entry = await import('./entry.mjs');
if (typeof entry.${ENTRY_EXPORT} !== 'function') throw new Error('entry does not export ${ENTRY_EXPORT}()');
const module = await WebAssembly.compile(readFileSync(new URL('./program.wasm', import.meta.url)));
process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
for await (const line of createInterface({ input: process.stdin })) {
  const { id, inputJson } = JSON.parse(line);
  try {
    const output = JSON.stringify(await entry.${ENTRY_EXPORT}(module, JSON.parse(inputJson)));
    process.stdout.write(JSON.stringify({ id, output }) + '\\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ id, error: String(error?.stack ?? error) }) + '\\n');
  }
}
`;

interface Reply {
  id?: number;
  ready?: boolean;
  output?: string;
  error?: string;
}

export async function startNode(program: Program): Promise<Session> {
  const started = performance.now();
  const directory = await mkdtemp(join(tmpdir(), 'tariff-harness-node-'));
  let child: ChildProcessWithoutNullStreams | undefined;
  try {
    await writeFile(join(directory, 'entry.mjs'), program.moduleCode);
    await writeFile(join(directory, 'program.wasm'), program.wasm);
    await writeFile(join(directory, 'driver.mjs'), DRIVER);
    child = spawn(process.execPath, ['driver.mjs'], { cwd: directory, stdio: 'pipe' });
    const driver = child;

    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<never>((_, reject) => {
      driver.on('exit', (code, signal) =>
        reject(new Error(`node runner exited (${code ?? signal}): ${stderr.trim()}`)),
      );
      driver.on('error', reject);
    });
    exited.catch(() => undefined); // observed through the races below

    const waiting = new Map<number, (reply: Reply) => void>();
    let onReady: (() => void) | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as Reply;
      if (reply.ready) onReady?.();
      else if (reply.id !== undefined) waiting.get(reply.id)?.(reply);
    });
    await Promise.race([new Promise<void>((resolve) => (onReady = resolve)), exited]);
    const startMs = performance.now() - started;

    let nextId = 0;
    return {
      startMs,
      async run(input) {
        const id = nextId++;
        const reply = new Promise<Reply>((resolve) => waiting.set(id, resolve));
        driver.stdin.write(`${JSON.stringify({ id, inputJson: toInputJson(input) })}\n`);
        const { output, error } = await Promise.race([reply, exited]);
        waiting.delete(id);
        if (error !== undefined || output === undefined) throw new Error(`node: ${error ?? 'no output'}`);
        return output;
      },
      async close() {
        await stopChild(driver);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child) await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end(); // the driver's read loop ends and the process exits by itself
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exit;
  clearTimeout(timer);
}

export function runInNode(request: ProgramRun): Promise<string> {
  return runOnce(startNode, request);
}
