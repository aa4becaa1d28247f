// Runs the service as its own process (`node service/src/main.ts`) against a database, as `npm start` does.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** The demo tenant's key, printed on the first start of an empty database. */
  demoKey?: string;
}

export async function startServiceProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'service/src/main.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'info', DEMO_TENANT: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: a loaded machine compiles the service with tsx and migrates a fresh database first.
    const timer = setTimeout(() => reject(new Error(`service did not start within 180 s:\n${output}`)), 180_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The listening log line, or (with quieter logs) the demo banner.
      const match =
        /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output) ?? /Tariff is running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        // The demo banner is written right after the listening line, in the same tick.
        setTimeout(() => resolve(match[1].replace('localhost', '127.0.0.1')), 100);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
  // Read when asked, from all the output so far: on a loaded machine the banner may arrive after the listening line.
  return {
    child,
    url,
    get demoKey() {
      return /Demo API key: (\S+)/.exec(output)?.[1];
    },
  };
}
