// The document is what src/document.ts builds from the contract's schemas, and lints clean. That the service serves
// exactly the documented routes is checked from the service's side, in test/service/contract.test.ts.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { generate } from './src/generate.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('the OpenAPI document', () => {
  it('is what src/document.ts builds, and v1.gen.ts is what openapi-typescript makes of it (run `npm run build -w openapi`)', async () => {
    const { json, types } = await generate();
    expect(await fs.readFile(path.join(here, 'openapi.json'), 'utf8')).toBe(json);
    expect(await fs.readFile(path.join(here, 'src/v1.gen.ts'), 'utf8')).toBe(types);
  });

  it('passes the Redocly recommended rules without an error', async () => {
    const source = await fs.readFile(path.join(here, 'openapi.json'), 'utf8');
    const problems = await lintFromString({
      source,
      absoluteRef: path.join(here, 'openapi.json'),
      config: await createConfig({ extends: ['recommended'] }),
    });
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location[0]?.pointer}`)).toEqual([]);
  });
});
