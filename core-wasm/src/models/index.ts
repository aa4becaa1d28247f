// The book compiler's price models: one file each, registered here (the one list of this layer). A model is
// whole when the kernel (assembly/models/index.ts) and the decimal.js reference (test/reference/models/index.ts)
// implement it too; `modelWiringProblems` says which layer lacks one, and the Kernel refuses to load without it.
import * as L from '../layout.gen.ts';
import { dynamic } from './dynamic.ts';
import { flat } from './flat.ts';
import { graduated } from './graduated.ts';
import { packageModel } from './package.ts';
import { perUnit } from './per_unit.ts';
import { requestTiers } from './request_tiers.ts';
import type { ModelCompiler, ModelCompilers } from './types.ts';
import { volume } from './volume.ts';

export type { ChargeCompiler, CompiledCharge, ModelCompiler } from './types.ts';

export const MODEL_COMPILERS: ModelCompilers = {
  per_unit: perUnit,
  package: packageModel,
  graduated,
  volume,
  request_tiers: requestTiers,
  flat,
  dynamic,
};

/** A layer that implements price models: the kernel, the reference, or any other that must keep up. */
export interface ModelLayer {
  name: string;
  /** Where a model is added to this layer. */
  registry: string;
  implements(model: string): boolean;
}

/**
 * Every model the compiler names that a layer does not implement, as a message naming the model, the layer and
 * where to add it; also a compiled model without a MODEL code in layout/spec.ts. Empty when all is wired.
 */
export function modelWiringProblems(compilers: Record<string, ModelCompiler<never>>, layers: ModelLayer[]): string[] {
  const problems: string[] = [];
  for (const model of Object.keys(compilers)) {
    if (!(model in L.MODEL_CODE))
      problems.push(`price model "${model}" has a compiler but no MODEL code: add it to core-wasm/layout/spec.ts`);
    for (const layer of layers) {
      if (!layer.implements(model)) {
        problems.push(
          `price model "${model}" has a compiler but no ${layer.name} implementation: add it to ${layer.registry}`,
        );
      }
    }
  }
  return problems;
}

/** Throws, listing every missing layer, unless every compiled model is implemented by every layer. */
export function assertModelsWired(compilers: Record<string, ModelCompiler<never>>, layers: ModelLayer[]): void {
  const problems = modelWiringProblems(compilers, layers);
  if (problems.length > 0) throw new Error(`half-wired price model:\n  ${problems.join('\n  ')}`);
}

/** The kernel layer, as the loaded wasm reports it (its `modelImplemented` export mirrors its dispatch). */
export function kernelLayer(modelImplemented: (code: number) => number | boolean): ModelLayer {
  return {
    name: 'kernel',
    registry: 'core-wasm/assembly/models/index.ts',
    implements: (model) =>
      model in L.MODEL_CODE && Boolean(modelImplemented(L.MODEL_CODE[model as keyof typeof L.MODEL_CODE])),
  };
}
