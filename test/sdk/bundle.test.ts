// The SDK's entry point bundles for browsers and workerd with no Node built-in anywhere in its import graph.
import { describe, expect, it } from 'vitest';
import { bundleEntry } from '../harness/bundle.ts';

describe('sdk/src/index.ts bundle', () => {
  it('reaches no Node built-in, and reports its size', async () => {
    const bundle = await bundleEntry('sdk/src/index.ts', { minify: true });
    expect(bundle.inputs).toContain('sdk/src/client.ts');
    expect(bundle.inputs).toContain('sdk/src/sender.ts');
    expect(bundle.inputs).toContain('sdk/src/usage.ts');
    expect(bundle.inputs).toContain('sdk/src/estimator.ts');
    expect(bundle.inputs).toContain('core-wasm/src/kernel.ts');
    expect(bundle.inputs.filter((input) => input.startsWith('sdk/src/'))).not.toContain('sdk/src/cli.ts');
    expect(bundle.code).toContain('TariffClient');
    console.log(`sdk bundle: ${bundle.bytes} bytes, ${bundle.gzipBytes} gzipped, ${bundle.inputs.length} inputs`);
  });

  it('the check is real: the CLI, which reads files, is refused with the file that imports a built-in', async () => {
    await expect(bundleEntry('sdk/src/cli.ts')).rejects.toThrow(
      /Node built-in "node:(fs|util)" imported by sdk\/src\/cli\.ts/,
    );
  });
});
