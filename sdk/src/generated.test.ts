// The generated files match their sources: regenerate with `npm run generate -w sdk` when this fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE_PATH, EXTRACTORS_OUT, OPENAPI_PATH, OPERATIONS_OUT, renderExtractors, renderOperations } from '../scripts/generate.ts';
import { EXTRACTORS } from './extractors.gen.ts';

describe('generated files', () => {
  it('operations.gen.ts lists the operations of openapi/openapi.json', () => {
    expect(readFileSync(OPERATIONS_OUT, 'utf8')).toBe(renderOperations(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('extractors.gen.ts holds the extractors of the genai-prices catalogue', () => {
    expect(readFileSync(EXTRACTORS_OUT, 'utf8')).toBe(renderExtractors(readFileSync(CATALOGUE_PATH, 'utf8')));
  });

  it('extractors.gen.ts has every provider and flavor of the catalogue, with its mappings in order', () => {
    const catalogue = JSON.parse(readFileSync(CATALOGUE_PATH, 'utf8')) as { id: string; extractors?: { api_flavor?: string; mappings: { dest: string }[] }[] }[];
    const withExtractors = catalogue.filter((p) => p.extractors?.length);
    expect(Object.keys(EXTRACTORS)).toEqual(withExtractors.map((p) => p.id));
    for (const provider of withExtractors) {
      expect(EXTRACTORS[provider.id].map((e) => [e.flavor, e.mappings.map((m) => m.dest)]))
        .toEqual(provider.extractors!.map((e) => [e.api_flavor ?? 'default', e.mappings.map((m) => m.dest)]));
    }
  });
});
