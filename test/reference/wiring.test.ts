// A price model is one file per layer (compiler, kernel, reference), each registered in its layer's one list;
// a model the compiler knows but a layer lacks is refused, with the layer named.
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../core-wasm/src/kernel.ts';
import * as L from '../../core-wasm/src/layout.gen.ts';
import {
  MODEL_COMPILERS,
  assertModelsWired,
  kernelLayer,
  modelWiringProblems,
  type ModelCompiler,
  type ModelLayer,
} from '../../core-wasm/src/models/index.ts';
import { wasmBytes } from '../../core-wasm/src/node.ts';
import { PRICE_MODELS } from './models/index.ts';

interface RawKernel {
  modelImplemented(model: number): number;
  [name: string]: unknown;
}

async function rawKernel(): Promise<RawKernel> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasmBytes() as BufferSource), {});
  return instance.exports as unknown as RawKernel;
}

const referenceLayer = (models: object): ModelLayer => ({
  name: 'reference',
  registry: 'test/reference/models/index.ts',
  implements: (model) => Object.hasOwn(models, model),
});

/** A compiler for a model no other layer has: a surcharge on the quantity, compiled like per_unit. */
const surge: ModelCompiler<never> = {
  measured: true,
  modifiable: true,
  compile: (price: { rate?: string }, charge) => {
    charge.compiled.rate = charge.money(price.rate, 'rate');
  },
};

describe('price model wiring', () => {
  it('every model the compiler knows has a MODEL code, a kernel implementation and a reference one', async () => {
    const kernel = await rawKernel();
    const compilers = MODEL_COMPILERS as unknown as Record<string, ModelCompiler<never>>;
    expect(
      modelWiringProblems(compilers, [kernelLayer(kernel.modelImplemented), referenceLayer(PRICE_MODELS)]),
    ).toEqual([]);
    expect(Object.keys(MODEL_COMPILERS).sort()).toEqual([...L.MODEL_NAMES].sort());
    expect(Object.keys(PRICE_MODELS).sort()).toEqual([...L.MODEL_NAMES].sort());
  });

  it('the kernel answers from its dispatch list: each MODEL code yes, an unknown code no', async () => {
    const kernel = await rawKernel();
    for (const code of Object.values(L.MODEL_CODE)) expect(kernel.modelImplemented(code), `code ${code}`).toBe(1);
    expect(kernel.modelImplemented(L.MODEL_NAMES.length)).toBe(0);
    expect(kernel.modelImplemented(-1)).toBe(0);
  });

  it('refuses a fake model registered in the compiler only, naming each layer that lacks it', async () => {
    const kernel = await rawKernel();
    const compilers = { ...(MODEL_COMPILERS as unknown as Record<string, ModelCompiler<never>>), surge };
    const layers = [kernelLayer(kernel.modelImplemented), referenceLayer(PRICE_MODELS)];
    expect(modelWiringProblems(compilers, layers)).toEqual([
      'price model "surge" has a compiler but no MODEL code: add it to core-wasm/layout/spec.ts',
      'price model "surge" has a compiler but no kernel implementation: add it to core-wasm/assembly/models/index.ts',
      'price model "surge" has a compiler but no reference implementation: add it to test/reference/models/index.ts',
    ]);
    expect(() => assertModelsWired(compilers, layers)).toThrow(
      /half-wired price model:[\s\S]*"surge"[\s\S]*no kernel implementation/,
    );
  });

  it('refuses a model wired in the compiler and the kernel but not the reference', async () => {
    const kernel = await rawKernel();
    const { flat: _flat, ...withoutFlat } = PRICE_MODELS;
    const problems = modelWiringProblems(MODEL_COMPILERS as unknown as Record<string, ModelCompiler<never>>, [
      kernelLayer(kernel.modelImplemented),
      referenceLayer(withoutFlat),
    ]);
    expect(problems).toEqual([
      'price model "flat" has a compiler but no reference implementation: add it to test/reference/models/index.ts',
    ]);
  });

  it('the Kernel refuses, at load, a wasm that lacks a model the compiler knows', async () => {
    const kernel = await rawKernel();
    // The same wasm with volume taken out of its dispatch list, as a kernel built without assembly/models/volume.ts.
    const withoutVolume = {
      ...kernel,
      modelImplemented: (code: number) => (code === L.MODEL_VOLUME ? 0 : kernel.modelImplemented(code)),
    };
    expect(() => new Kernel(withoutVolume as never)).toThrow(
      'price model "volume" has a compiler but no kernel implementation: add it to core-wasm/assembly/models/index.ts',
    );
    expect(() => new Kernel(kernel as never)).not.toThrow();
  });
});
