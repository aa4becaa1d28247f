// The SDK's Node entry (`@tariff/sdk/node`): everything of the browser entry, plus the kernel read from disk, so that
// a Node caller needs no path into core-wasm's build folder and no WebAssembly of its own.
import { loadKernel } from '@tariff/core-wasm/node';
import { Estimator, type EstimatorOptions } from './estimator.ts';

export * from './index.ts';
export { loadKernel, wasmBytes, wasmPath } from '@tariff/core-wasm/node';

/** Estimator.create with the kernel loaded from disk (`options.wasm` still wins when given). */
export async function createEstimator(
  options: Omit<EstimatorOptions, 'wasm'> & Partial<Pick<EstimatorOptions, 'wasm'>>,
): Promise<Estimator> {
  return Estimator.create({ ...options, wasm: options.wasm ?? (await loadKernel()) });
}

export {
  verifyBalanceToken,
  type BalanceTokenClaims,
  type BalanceTokenKey,
  type VerifiedBalanceToken,
} from './balance-token.ts';
