// Regenerates each vector's `expected` from the Node kernel after its hand checks pass; review the diff.
import { writeFileSync } from 'node:fs';
import { loadKernel } from '@tariff/core-wasm/node';
import {
  chainCheckFailures,
  chainVectorsDirectory,
  fieldOf,
  loadChainVectors,
  loadVectors,
  vectorsDirectory,
} from './vectors.ts';

const kernel = await loadKernel();
for (const vector of loadVectors()) {
  const output = kernel.rate(vector.book, vector.states, vector.events);
  for (const [id, field, value] of vector.checks) {
    const actual = fieldOf(
      output.results.find((r) => r.transaction_id === id),
      field,
    );
    if (actual !== value)
      throw new Error(`${vector.name}: ${id}.${field} is ${String(actual)}, hand check says ${value}`);
  }
  writeFileSync(
    `${vectorsDirectory}${vector.name}.json`,
    JSON.stringify({ ...vector, expected: output }, null, 1) + '\n',
  );
  console.log(`${vector.name}: ${output.results.length} events`);
}
for (const vector of loadChainVectors()) {
  const output = kernel.rateChain(vector.books, vector.states, vector.events);
  const failures = chainCheckFailures(vector, output);
  if (failures.length > 0) throw new Error(`${vector.name}: ${failures.join('; ')}`);
  writeFileSync(
    `${chainVectorsDirectory}${vector.name}.json`,
    JSON.stringify({ ...vector, expected: output }, null, 1) + '\n',
  );
  console.log(`${vector.name}: ${output.results.length} chain events`);
}
