// One formatter for the whole repository: every source file is as Prettier writes it (`npm run format` fixes it).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const prettier = createRequire(import.meta.url).resolve('prettier/bin/prettier.cjs');

it('every source file is formatted by Prettier', () => {
  let unformatted = '';
  try {
    execFileSync(process.execPath, [prettier, '--list-different', '.'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { status, stdout, stderr } = error as { status: number; stdout: string; stderr: string };
    if (status !== 1) throw new Error(`prettier failed (${status}): ${stderr}`);
    unformatted = stdout;
  }
  expect(unformatted.split('\n').filter(Boolean), 'run `npm run format`').toEqual([]);
});
