// The /v1 contract lives in openapi/: the request schemas (openapi/src/schemas), the document built from them and
// the types generated from it. The service imports the contract; the contract never imports the service.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../service/src/app.ts';

const repository = path.resolve(import.meta.dirname, '../..');
const openapiRoot = path.join(repository, 'openapi');
const serviceRoot = path.join(repository, 'service');

/** Every module specifier of a static import or export, a dynamic import() or a require() in `source`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const pattern of [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ]) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** The service's modules that `file` names: relative paths into service/, or the @tariff/service package. */
function serviceImports(file: string, source = fs.readFileSync(file, 'utf8')): string[] {
  return specifiers(source).filter((specifier) => {
    if (specifier === '@tariff/service' || specifier.startsWith('@tariff/service/')) return true;
    if (!specifier.startsWith('.')) return false;
    const target = path.resolve(path.dirname(file), specifier);
    return target === serviceRoot || target.startsWith(serviceRoot + path.sep);
  });
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(file);
    return /\.(c|m)?[jt]sx?$/.test(entry.name) ? [file] : [];
  });
}

describe('the contract (openapi/)', () => {
  it('imports nothing from the service', () => {
    const files = sourceFiles(openapiRoot);
    expect(files.map((f) => path.relative(repository, f))).toContain('openapi/src/schemas/events.ts');
    const offenders = files.flatMap((file) =>
      serviceImports(file).map((specifier) => `${path.relative(repository, file)}: ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the scan sees an import of the service in each form it is written', () => {
    const file = path.join(openapiRoot, 'src/example.ts');
    const forms = [
      "import { x } from '../../service/src/app.ts';",
      "import type { X } from '../../service/src/domains/events/service.ts';",
      "export { y } from '../../service/src/platform/money.ts';",
      "import '../../service/src/start.ts';",
      "const m = await import('../../service/src/app.ts');",
      "import { z } from '@tariff/service';",
    ];
    expect(forms.map((form) => serviceImports(file, form).length)).toEqual(forms.map(() => 1));
    expect(
      serviceImports(
        file,
        "import { text } from './schemas/text.ts';\nimport { parseScaled } from '@tariff/core-wasm';",
      ),
    ).toEqual([]);
  });

  it('describes every /v1 route of the app, and nothing else', async () => {
    const document = JSON.parse(fs.readFileSync(path.join(openapiRoot, 'openapi.json'), 'utf8'));
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const app = createApp({ db: {} as never, clock: { now: () => new Date() } }) as any;
    const served: string[] = [];
    const walk = (stack: any[], prefix: string) => {
      for (const layer of stack) {
        if (layer.route)
          for (const m of Object.keys(layer.route.methods))
            served.push(`${m.toUpperCase()} ${prefix}${layer.route.path}`);
        else if (layer.handle?.stack) walk(layer.handle.stack, prefix || '/v1');
      }
    };
    walk(app.router.stack, '');
    const v1 = served.filter((r) => r.includes(' /v1/'));
    expect(v1.sort()).toEqual(documented.sort());
  });
});
