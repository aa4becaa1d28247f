// How the browser tests get Chromium on a fresh machine: installed with apt-get as root, else one line naming the
// apt-get command; commands faked here (the real install is what `npm test` does, see chromium-setup.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_INSTALL } from './browser.ts';
import { ChromiumSetupError, ensureChromium } from './chromium-setup.ts';

const WITH_LISTS = 'chromium:\n  Installed: (none)\n  Candidate: 156.0.8078.114-1~deb12u1\n';
const NO_LISTS = 'chromium:\n  Installed: (none)\n  Candidate: (none)\n';

let folder: string;
let executablePath: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'tariff-chromium-setup-'));
  executablePath = join(folder, 'chromium');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** A fake machine: records commands; `apt-get install` puts the browser in place unless told to fail. */
function machine(options: { policy?: string; failing?: string; installs?: boolean } = {}) {
  const commands: string[] = [];
  const logs: string[] = [];
  return {
    commands,
    logs,
    run: async (command: string, args: string[]) => {
      const line = [command, ...args].join(' ');
      commands.push(line);
      if (options.failing && line.includes(options.failing))
        throw Object.assign(new Error(`Command failed: ${line}`), {
          stderr: 'E: Could not get lock /var/lib/dpkg/lock-frontend\nE: Unable to locate package chromium\n',
        });
      if (command === 'apt-cache') return { stdout: options.policy ?? WITH_LISTS };
      if (args.includes('install') && options.installs !== false) writeFileSync(executablePath, '#!/bin/sh\n');
      return { stdout: '' };
    },
    log: (line: string) => logs.push(line),
  };
}

describe('ensureChromium', () => {
  it('does nothing when the browser is there', async () => {
    writeFileSync(executablePath, '');
    const fake = machine();
    expect(await ensureChromium({ executablePath, isRoot: true, ...fake })).toBe('present');
    expect(fake.commands).toEqual([]);
  });

  it("as root, installs Debian's chromium with apt-get, waiting for a held apt lock rather than failing", async () => {
    const fake = machine();
    expect(await ensureChromium({ executablePath, isRoot: true, ...fake })).toBe('installed');
    expect(fake.commands).toEqual([
      'apt-cache policy chromium',
      'apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium',
    ]);
    expect(fake.logs[0]).toContain('installing it with apt-get');
  });

  it('fetches the package lists first on a machine that has none', async () => {
    const fake = machine({ policy: NO_LISTS });
    expect(await ensureChromium({ executablePath, isRoot: true, ...fake })).toBe('installed');
    expect(fake.commands.slice(1)).toEqual([
      'apt-get -qq -o DPkg::Lock::Timeout=600 update',
      'apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium',
    ]);
  });

  it('not as root, fails in one line naming the command to run, and runs none', async () => {
    const fake = machine();
    const error = await ensureChromium({ executablePath, isRoot: false, ...fake }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ChromiumSetupError);
    expect((error as Error).message).toBe(
      `the browser tests need Debian's chromium at ${executablePath}: install it as root (\`${CHROMIUM_INSTALL}\`), then run the tests again`,
    );
    expect((error as Error).stack).not.toContain('\n');
    expect(fake.commands).toEqual([]);
  });

  it('when apt-get fails, says which command failed with its last error line, in one line', async () => {
    const fake = machine({ failing: 'install' });
    const error = (await ensureChromium({ executablePath, isRoot: true, ...fake }).catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(ChromiumSetupError);
    expect(error.message).toContain(
      '`apt-get install -y --no-install-recommends chromium` failed (E: Unable to locate package chromium)',
    );
    expect(error.message).toContain(CHROMIUM_INSTALL);
    expect(error.stack).not.toContain('\n');
  });

  it('fails when apt-get succeeds without putting the browser where the tests look', async () => {
    const fake = machine({ installs: false });
    await expect(ensureChromium({ executablePath, isRoot: true, ...fake })).rejects.toThrow(
      `${executablePath} is still missing`,
    );
  });
});
