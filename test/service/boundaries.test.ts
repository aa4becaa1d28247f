// Domain boundaries (.dependency-cruiser.cjs), checked on every `npm test`: dependency-cruiser runs over the sources
// and any violation at severity error fails the test, printed one per line. The allow-lists of known violations
// may only shrink: an allow-listed import that no longer exists fails too, so the list is trimmed with the code.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const config = require(path.join(root, '.dependency-cruiser.cjs')) as {
  boundaries: {
    SOURCES: string[];
    DOMAINS: string;
    KNOWN_UPWARD: Record<string, string[]>;
    KNOWN_FOREIGN_REPOS: Record<string, string[]>;
  };
};
// The package exports no bin path; it is a root devDependency, so it lies in the root node_modules.
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: 'error' | 'warn' | 'info' };
  cycle?: { name: string }[];
}
interface Cruise {
  modules: { source: string; dependencies: { resolved: string; dependencyTypes: string[] }[] }[];
  summary: { violations: Violation[]; totalCruised: number };
}

async function cruise(): Promise<Cruise> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [depcruise, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...config.boundaries.SOURCES],
    {
      cwd: root,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as Cruise;
}

const describeViolation = (v: Violation) =>
  `${v.rule.severity} ${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`;

describe('domain boundaries (dependency-cruiser)', () => {
  it('finds no violation of the rules, and every allow-listed import still exists', async () => {
    const result = await cruise();
    // The whole tree was read, not an empty or mistyped path.
    expect(result.summary.totalCruised).toBeGreaterThan(300);
    const known = result.summary.violations.filter((v) => v.rule.severity !== 'error');
    if (known.length > 0)
      console.log(`known violations (rules not yet at "error"):\n${known.map(describeViolation).join('\n')}`);
    const errors = result.summary.violations.filter((v) => v.rule.severity === 'error').map(describeViolation);
    expect(errors, `boundary violations:\n${errors.join('\n')}`).toEqual([]);

    // Domain edges that exist (runtime or type imports), to find stale entries of the allow-lists.
    const { DOMAINS, KNOWN_UPWARD, KNOWN_FOREIGN_REPOS } = config.boundaries;
    const domainOf = (file: string) =>
      file.startsWith(`${DOMAINS}/`) ? file.slice(DOMAINS.length + 1).split('/')[0] : undefined;
    const imports = new Set<string>();
    const repoImports = new Set<string>();
    for (const module of result.modules) {
      const from = domainOf(module.source);
      if (!from) continue;
      for (const dependency of module.dependencies) {
        const to = domainOf(dependency.resolved);
        if (!to || to === from) continue;
        imports.add(`${from} -> ${to}`);
        if (/repo\.ts$/.test(dependency.resolved) && !dependency.dependencyTypes.includes('type-only'))
          repoImports.add(`${from} -> ${to}`);
      }
    }
    const listed = (list: Record<string, string[]>) =>
      Object.entries(list).flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`));
    const staleUpward = listed(KNOWN_UPWARD).filter((edge) => !imports.has(edge));
    const staleRepos = listed(KNOWN_FOREIGN_REPOS).filter((edge) => !repoImports.has(edge));
    expect(staleUpward, 'KNOWN_UPWARD lists imports that are gone: remove them').toEqual([]);
    expect(staleRepos, 'KNOWN_FOREIGN_REPOS lists imports that are gone: remove them').toEqual([]);
  });
});
