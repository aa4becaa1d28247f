// Two kernel builds on the same encoded batch (bench:kernel's token events), alternating short runs so that both
// see the same machine load; first checks that both write the same results and receipt steps byte for byte.
//   node --import tsx test/bench/kernel-ab.ts <base.wasm> <branch.wasm> [--rounds N]
// A wasm built before `modelImplemented` existed is taken to implement every model.
import { readFileSync } from 'node:fs';
import { Kernel } from '@tariff/core-wasm';
import { encodeBatch, tokenEvents } from './kernel.bench.ts';

const BATCH = 10_000;
const batch = encodeBatch(tokenEvents(BATCH));

async function kernelFrom(path: string): Promise<Kernel> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(path) as BufferSource), {});
  const exports = instance.exports as Record<string, unknown>;
  return new Kernel({ ...exports, modelImplemented: exports.modelImplemented ?? (() => 1) } as never);
}

function rated(kernel: Kernel) {
  return kernel.rateEncoded(batch.book, batch.state, batch.bytes, BATCH, batch.stepsPerEvent);
}

function eventsPerSecond(kernel: Kernel, milliseconds: number): number {
  const warm = performance.now() + 100;
  while (performance.now() < warm) rated(kernel);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < milliseconds) count += rated(kernel).count;
  return count / ((performance.now() - start) / 1000);
}

const bytesOf = (view: DataView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

const [basePath, branchPath] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 31;
const base = await kernelFrom(basePath);
const branch = await kernelFrom(branchPath);
const before = rated(base);
const baseResults = Buffer.from(bytesOf(before.results));
const baseSteps = Buffer.from(bytesOf(before.steps));
const after = rated(branch);
const identical = baseResults.equals(bytesOf(after.results)) && baseSteps.equals(bytesOf(after.steps));
const baseRates: number[] = [];
const branchRates: number[] = [];
for (let round = 0; round < rounds; round++) {
  baseRates.push(eventsPerSecond(base, 600));
  branchRates.push(eventsPerSecond(branch, 600));
}
console.log(
  JSON.stringify(
    {
      benchmark: 'kernel-ab',
      identical_results_and_steps: identical,
      rounds,
      base_median_events_per_second: Math.round(median(baseRates)),
      branch_median_events_per_second: Math.round(median(branchRates)),
      branch_vs_base: Number((median(branchRates) / median(baseRates)).toFixed(3)),
    },
    null,
    2,
  ),
);
