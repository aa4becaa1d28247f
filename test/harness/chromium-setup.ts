// vitest globalSetup of the `chromium` project (vitest.config.ts): Debian's chromium for the browser tests. A fresh
// machine has none: as root this installs it with apt-get, so the README's `npm test` passes as it stands; otherwise
// the run stops at once with one line saying what to install. The browser tests are never skipped.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { CHROMIUM_INSTALL, CHROMIUM_PATH } from './browser.ts';

export interface ChromiumSetupOptions {
  executablePath: string;
  isRoot: boolean;
  /** Runs a command to completion; rejects (with the command's stderr in the error) when it fails. */
  run(command: string, args: string[]): Promise<{ stdout: string }>;
  log(line: string): void;
}

/** A failure told in one line: the run's output shows the message alone, without a stack. */
export class ChromiumSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChromiumSetupError';
    this.stack = `${this.name}: ${message}`;
  }
}

// Another apt-get (another checkout's tests, unattended upgrades) may hold the lock: wait for it, not fail.
const APT_OPTIONS = ['-qq', '-o', 'DPkg::Lock::Timeout=600'];

export async function ensureChromium(options: ChromiumSetupOptions): Promise<'present' | 'installed'> {
  const { executablePath, run, log } = options;
  if (existsSync(executablePath)) return 'present';
  const what = `the browser tests need Debian's chromium at ${executablePath}`;
  if (!options.isRoot)
    throw new ChromiumSetupError(`${what}: install it as root (\`${CHROMIUM_INSTALL}\`), then run the tests again`);
  log(`${what}: installing it with apt-get (once for this machine)`);
  // A fresh image has no package lists; a machine that has them is not made to fetch them again.
  const policy = await run('apt-cache', ['policy', 'chromium']).then(
    (result) => result.stdout,
    () => '',
  );
  const apt = async (args: string[]) => {
    try {
      await run('apt-get', [...APT_OPTIONS, ...args]);
    } catch (error) {
      const lines = String((error as { stderr?: string }).stderr || (error as Error).message)
        .trim()
        .split('\n');
      throw new ChromiumSetupError(
        `${what}; \`apt-get ${args.join(' ')}\` failed (${lines.at(-1)}): install it yourself (\`${CHROMIUM_INSTALL}\`), then run the tests again`,
      );
    }
  };
  if (!/Candidate: (?!\(none\))\S/.test(policy)) await apt(['update']);
  await apt(['install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(executablePath))
    throw new ChromiumSetupError(`${what}; apt-get installed chromium but ${executablePath} is still missing`);
  log(`chromium installed at ${executablePath}`);
  return 'installed';
}

export default async function setup(): Promise<void> {
  const execute = promisify(execFile);
  await ensureChromium({
    executablePath: CHROMIUM_PATH,
    isRoot: process.getuid?.() === 0,
    run: (command, args) =>
      execute(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
}
