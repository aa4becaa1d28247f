// The generated files match their sources: regenerate with `npm run generate -w sdk` when this fails.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE_PATH,
  EXTRACTORS_OUT,
  OPENAPI_PATH,
  OPERATIONS_OUT,
  renderExtractors,
  renderOperations,
} from '../scripts/generate.ts';
import { EXTRACTORS } from './extractors.gen.ts';

describe('generated files', () => {
  it('operations.gen.ts lists the operations of openapi/openapi.json', () => {
    expect(readFileSync(OPERATIONS_OUT, 'utf8')).toBe(renderOperations(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('extractors.gen.ts holds the extractors of the genai-prices catalogue', () => {
    expect(readFileSync(EXTRACTORS_OUT, 'utf8')).toBe(renderExtractors(readFileSync(CATALOGUE_PATH, 'utf8')));
  });

  it('`npm run generate -w sdk` writes both files as they are committed', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tariff-sdk-generate-'));
    try {
      const root = new URL('../..', import.meta.url).pathname;
      const { stdout } = await promisify(execFile)('npm', ['run', 'generate', '-w', 'sdk', '--', '--out-dir', out], {
        cwd: root,
      });
      expect(stdout).toContain(`wrote ${join(out, 'extractors.gen.ts')}`);
      expect(readFileSync(join(out, 'operations.gen.ts'), 'utf8')).toBe(readFileSync(OPERATIONS_OUT, 'utf8'));
      expect(readFileSync(join(out, 'extractors.gen.ts'), 'utf8')).toBe(readFileSync(EXTRACTORS_OUT, 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('extractors.gen.ts has every provider and flavor of the catalogue, with its mappings in order', () => {
    const catalogue = JSON.parse(readFileSync(CATALOGUE_PATH, 'utf8')) as {
      id: string;
      extractors?: { api_flavor?: string; mappings: { dest: string }[] }[];
    }[];
    const withExtractors = catalogue.filter((p) => p.extractors?.length);
    expect(Object.keys(EXTRACTORS)).toEqual(withExtractors.map((p) => p.id));
    for (const provider of withExtractors) {
      expect(EXTRACTORS[provider.id].map((e) => [e.flavor, e.mappings.map((m) => m.dest)])).toEqual(
        provider.extractors!.map((e) => [e.api_flavor ?? 'default', e.mappings.map((m) => m.dest)]),
      );
    }
  });
});
