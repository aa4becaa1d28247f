// Debian's poppler-utils (pdftotext, pdftoppm) for the invoice document tests: present, or installed with apt-get
// as root the way chromium-setup.ts installs Chromium. Without apt-get the tests that need it say so and skip.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execute = promisify(execFile);
const APT_OPTIONS = ['-qq', '-o', 'DPkg::Lock::Timeout=600'];
export const PDFTOTEXT = '/usr/bin/pdftotext';
export const PDFTOPPM = '/usr/bin/pdftoppm';

/** Undefined when the tools are there (installed now if need be), else why they cannot be. */
export async function ensurePoppler(): Promise<string | undefined> {
  if (existsSync(PDFTOTEXT) && existsSync(PDFTOPPM)) return undefined;
  if (!existsSync('/usr/bin/apt-get'))
    return 'poppler-utils (pdftotext, pdftoppm) is missing and this machine has no apt-get to install it';
  if (process.getuid?.() !== 0)
    throw new Error(
      'the invoice document tests need poppler-utils: install it as root (`apt-get install -y poppler-utils`), then run the tests again',
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const policy = await execute('apt-cache', ['policy', 'poppler-utils'], { env }).then(
    (r) => r.stdout,
    () => '',
  );
  if (!/Candidate: (?!\(none\))\S/.test(policy))
    await execute('apt-get', [...APT_OPTIONS, 'update'], { env, maxBuffer: 64 << 20 });
  await execute('apt-get', [...APT_OPTIONS, 'install', '-y', '--no-install-recommends', 'poppler-utils'], {
    env,
    maxBuffer: 64 << 20,
  });
  if (!existsSync(PDFTOTEXT)) throw new Error('apt-get installed poppler-utils but pdftotext is still missing');
  return undefined;
}

/** The PDF's text, laid out as on the page (pdftotext -layout). */
export async function pdfText(pdf: Buffer, directory: string, name: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const file = `${directory}/${name}.pdf`;
  await writeFile(file, pdf);
  return (await execute(PDFTOTEXT, ['-layout', file, '-'])).stdout;
}

/** Renders page 1 of the PDF to `<name>-1.png` (150 dpi) and returns its path. */
export async function renderFirstPage(pdf: Buffer, directory: string, name: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const file = `${directory}/${name}.pdf`;
  await writeFile(file, pdf);
  await execute(PDFTOPPM, ['-png', '-r', '150', '-f', '1', '-l', '1', '-singlefile', file, `${directory}/${name}-1`]);
  return `${directory}/${name}-1.png`;
}
