// Bundles a TypeScript entry into one self-contained ES module for workerd and browsers, refusing Node built-ins.
import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

export interface Bundle {
  /** The ES module source, UTF-8 text. */
  code: string;
  /** UTF-8 size of `code`, and its gzip size, in bytes. */
  bytes: number;
  gzipBytes: number;
  /** Files that went into the bundle, relative to the working directory. */
  inputs: string[];
}

export interface BundleOptions {
  minify?: boolean;
}

const nodeBuiltins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function isNodeBuiltin(specifier: string): boolean {
  // Subpaths count too: 'fs/promises' is listed, but 'node:test' style names only exist prefixed.
  return nodeBuiltins.has(specifier) || specifier.startsWith('node:');
}

/**
 * esbuild alone would only say "Could not resolve" (neutral platform) or silently honour a package's
 * `browser` shim; the conformance runs must prove the entry reaches no Node built-in at all, so say so
 * and name the file that imports it.
 */
const rejectNodeBuiltins: Plugin = {
  name: 'reject-node-builtins',
  setup(builder) {
    builder.onResolve({ filter: /.*/ }, (args) => {
      if (!isNodeBuiltin(args.path)) return undefined;
      const importer = args.importer ? relative(process.cwd(), args.importer) : '(entry)';
      return {
        errors: [
          { text: `Node built-in "${args.path}" imported by ${importer}: the entry must run in workerd and browsers` },
        ],
      };
    });
  },
};

export async function bundleEntry(entryPath: string, options: BundleOptions = {}): Promise<Bundle> {
  const result = await build({
    entryPoints: [entryPath],
    bundle: true,
    write: false,
    format: 'esm',
    // Neutral: no Node defaults; the conditions pick the worker/browser build of a package that ships one.
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    minify: options.minify ?? false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    plugins: [rejectNodeBuiltins],
  }).catch((error: unknown) => {
    // esbuild's BuildFailure carries every error; surface them all in the message.
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> })
      .errors;
    if (!errors) throw error;
    const lines = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
    throw new Error(`bundleEntry(${entryPath}) failed:\n${lines.join('\n')}`);
  });

  const output = result.outputFiles[0];
  if (!output || result.outputFiles.length !== 1) {
    throw new Error(`bundleEntry(${entryPath}): expected one output file, got ${result.outputFiles.length}`);
  }
  return {
    code: output.text,
    bytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents).byteLength,
    inputs: Object.keys(result.metafile.inputs),
  };
}
