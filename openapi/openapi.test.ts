import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { createApp } from '../service/src/app.ts';
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
    const problems = await lintFromString({ source, absoluteRef: path.join(here, 'openapi.json'), config: await createConfig({ extends: ['recommended'] }) });
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location[0]?.pointer}`)).toEqual([]);
  });

  it('describes every /v1 route of the app, and nothing else', async () => {
    const document = JSON.parse(await fs.readFile(path.join(here, 'openapi.json'), 'utf8'));
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const app = createApp({ db: {} as never, clock: { now: () => new Date() } }) as any;
    const served: string[] = [];
    const walk = (stack: any[], prefix: string) => {
      for (const layer of stack) {
        if (layer.route) for (const m of Object.keys(layer.route.methods)) served.push(`${m.toUpperCase()} ${prefix}${layer.route.path}`);
        else if (layer.handle?.stack) walk(layer.handle.stack, prefix || '/v1');
      }
    };
    walk(app.router.stack, '');
    const v1 = served.filter((r) => r.includes(' /v1/'));
    expect(v1.sort()).toEqual(documented.sort());
  });
});
