// The repository stands alone: a clone of it, with nothing beside it, has every file its code, tests and READMEs
// read, and every file its package.json files name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', '.data', 'build', 'dist']);
const TEXT_FILE = /\.(ts|mts|js|mjs|cjs|json|md|yml|yaml|sql|sh|html|css|tsx)$|^run$/;

function textFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : textFiles(path);
    return entry.isFile() && TEXT_FILE.test(entry.name) ? [path] : [];
  });
}

const files = textFiles(root).filter((path) => path !== fileURLToPath(import.meta.url));
const inside = (path: string) => path === root || path.startsWith(root + sep);

describe('the repository reads nothing beside it', () => {
  it('has files to check', () => {
    expect(files.map((path) => relative(root, path))).toEqual(
      expect.arrayContaining(['README.md', 'sdk/scripts/generate.ts', 'test/genai-prices/catalogue.ts']),
    );
  });

  it('no file names the shared folder that stood beside the repository', () => {
    const shared = ['..', 'shared', ''].join('/');
    const offenders = files
      .filter((path) => readFileSync(path, 'utf8').includes(shared))
      .map((path) => relative(root, path));
    expect(offenders).toEqual([]);
  });

  it('every `new URL(relative path, import.meta.url)` stays inside the repository', () => {
    const outside: string[] = [];
    let seen = 0;
    for (const path of files.filter((file) => /\.(ts|mts|js|mjs)$/.test(file))) {
      for (const match of readFileSync(path, 'utf8').matchAll(
        /new URL\(\s*['"`](\.{1,2}\/[^'"`$]*)['"`],\s*import\.meta\.url\s*\)/g,
      )) {
        seen++;
        if (!inside(resolve(dirname(path), match[1]!))) outside.push(`${relative(root, path)}: ${match[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(10);
    expect(outside).toEqual([]);
  });
});

describe('every package.json names files that exist', () => {
  const manifests = [
    'package.json',
    ...(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces as string[]).map(
      (w) => `${w}/package.json`,
    ),
  ];

  /** Export targets at any depth of conditions; patterns ("./src/importers/*.ts") by their folder. */
  function targets(value: unknown): string[] {
    if (typeof value === 'string') return [value];
    if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
    return [];
  }

  it.each(manifests)('%s', (manifest) => {
    const folder = dirname(join(root, manifest));
    const pkg = JSON.parse(readFileSync(join(root, manifest), 'utf8'));
    const named = [
      ...targets(pkg.exports).map((target) => (target.includes('*') ? dirname(target) : target)),
      ...targets(pkg.bin),
      ...(pkg.main ? [pkg.main] : []),
      // Files a script runs: "node --import tsx scripts/generate.ts", "asc assembly/index.ts ...".
      ...Object.values<string>(pkg.scripts ?? {}).flatMap((script) =>
        [...script.matchAll(/(?:^|\s)((?:\.\/)?[\w./-]+\.(?:ts|js|mjs))(?=\s|$)/g)].map((m) => m[1]!),
      ),
    ];
    const missing = named.filter((path) => !existsSync(join(folder, path)) && !path.startsWith('core-wasm/build'));
    expect(missing).toEqual([]);
  });
});
