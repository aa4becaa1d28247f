// Dev tool: rates random scenarios with the kernel and the reference and prints the first disagreements.
// node --import tsx test/tools/kernel-vs-reference.ts [realistic|overflow] [runs] [seed]
import fc from 'fast-check';
import { loadKernel } from '@tariff/core-wasm/node';
import { randomScenario } from '../reference/arbitraries.ts';
import { rateReference } from '../reference/rate.ts';
const kernel = await loadKernel();
const scale = (process.argv[2] ?? 'realistic') as any;
const strip = (o: any) => ({
  results: o.results.map((r: any) => (r.error ? { ...r, error: { ...r.error, message: undefined } } : r)),
  states: o.states,
});
const samples = fc.sample(randomScenario({ scale, minEvents: 20, maxEvents: 60 }), {
  numRuns: Number(process.argv[3] ?? 300),
  seed: Number(process.argv[4] ?? 1),
});
let shown = 0;
for (const [n, s] of samples.entries()) {
  let k: any, r: any;
  try {
    k = strip(kernel.rate(s.book, s.states, s.events));
  } catch (e) {
    k = { thrown: String(e) };
  }
  try {
    r = strip(rateReference(s.book, s.states, s.events));
  } catch (e) {
    r = { thrown: String(e) };
  }
  if (JSON.stringify(k) === JSON.stringify(r)) continue;
  if (k.thrown || r.thrown) {
    console.log('scenario', n, 'kernel', k.thrown?.slice(0, 300), 'reference', r.thrown?.slice(0, 300));
  } else {
    const i = k.results.findIndex((x: any, j: number) => JSON.stringify(x) !== JSON.stringify(r.results[j]));
    if (i >= 0) {
      console.log('scenario', n, 'event', JSON.stringify(s.events[i]));
      console.log(' kernel   ', JSON.stringify(k.results[i]));
      console.log(' reference', JSON.stringify(r.results[i]));
    } else {
      console.log('scenario', n, 'states differ');
      console.log(' kernel   ', JSON.stringify(k.states));
      console.log(' reference', JSON.stringify(r.states));
    }
  }
  if (++shown >= 3) break;
}
console.log('done; differing shown', shown, 'of', samples.length);
