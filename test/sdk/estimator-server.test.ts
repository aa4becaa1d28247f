// The SDK's local estimates against the service's: 10,000+ random events rated by the Estimator (the book's zones
// pinned with withZoneTransitions, as a snapshot would carry them) and by POST /v1/estimates on the stored book,
// through the SDK's own client. Amounts and receipts must be the same bytes.
import fc from 'fast-check';
import { Kernel, withZoneTransitions } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TariffClient } from '../../sdk/src/client.ts';
import { Estimator } from '../../sdk/src/estimator.ts';
import { randomScenario } from '../reference/arbitraries.ts';
import { type Harness, signUpTenant, startService } from '../service/harness.ts';

let harness: Harness;
let secret: TariffClient;
let publishable: TariffClient;
let kernel: Kernel;

beforeAll(async () => {
  harness = await startService();
  const tenant = await signUpTenant(harness);
  secret = new TariffClient({ baseUrl: harness.url, apiKey: tenant.secretKey });
  publishable = new TariffClient({ baseUrl: harness.url, apiKey: tenant.publishableKey });
  kernel = await Kernel.create(wasmBytes());
});

afterAll(async () => {
  await harness?.close();
});

describe('Estimator against the service', () => {
  it('gives the same bytes as POST /v1/estimates for 10,000+ random events', async () => {
    const scenarios = fc.sample(randomScenario({ minEvents: 10, maxEvents: 40 }), { numRuns: 600, seed: 20260301 });
    let events = 0;
    let rated = 0;
    for (const [i, scenario] of scenarios.entries()) {
      const book = { ...scenario.book, id: `random-${i}` };
      await secret.createPriceBook({ body: { book: book as unknown as Record<string, unknown> } });
      const server = await publishable.estimate({ body: { price_book: book.id, events: scenario.events as unknown as Record<string, unknown>[], states: scenario.states as Record<string, Record<string, unknown>> } });
      const estimator = await Estimator.create({ wasm: kernel, book: withZoneTransitions(book), states: scenario.states });
      const local = estimator.estimateMany(scenario.events);
      expect(JSON.stringify(local), `scenario ${i}`).toBe(JSON.stringify(server.results));
      events += local.length;
      rated += local.filter((r) => r.status === 'rated').length;
    }
    expect(events).toBeGreaterThanOrEqual(10_000);
    // Mostly rated events, so receipts are compared, not only errors.
    expect(rated / events).toBeGreaterThan(0.4);
  });
});
