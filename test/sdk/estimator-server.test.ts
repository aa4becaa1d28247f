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
import { type Harness, exampleBook, signUpTenant, startService } from '../service/harness.ts';

let harness: Harness;
let secret: TariffClient;
let publishable: TariffClient;
let kernel: Kernel;

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
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

  it("tracks the period spend as the service's budget counts it, and refuses at the same nano-unit as its check", async () => {
    await secret.createCustomer({ body: { external_id: 'budgeted', currency: 'USD' } });
    await secret.createPriceBook({ body: { book: exampleBook('llm') } });
    await secret.assignPriceBook({ path: { id: 'budgeted' }, body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' } });
    const request = (i: number) => ({
      transaction_id: `b${i}`, customer_id: 'budgeted', event_type: 'llm.completion', timestamp: `2026-03-14T${String(i % 24).padStart(2, '0')}:00:00Z`,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + 37 * i, output_tokens: 10 + 3 * i },
    });
    const estimator = await Estimator.create({ wasm: kernel, book: exampleBook('llm') as never });
    const events = Array.from({ length: 50 }, (_, i) => request(i));
    const ack = await secret.ingestEvents({ body: { events } });
    expect(ack.accepted).toBe(50);
    for (const event of events) estimator.estimate(event, { updateState: true });

    await secret.setBudget({ path: { id: 'budgeted' }, body: { amount: '1000', enforcement: 'block' } });
    const budget = await secret.getBudget({ path: { id: 'budgeted' } });
    const spend = estimator.snapshot().spend.budgeted;
    expect(budget.current_period?.spend).toBe(spend);

    // The next request exactly fills a budget of spend + its cost; one nano-unit less, and both refuse it.
    const next = request(50);
    const cost = estimator.check(next).spend!;
    const nano = (text: string) => BigInt(text.replace('.', ''));
    const format = (value: bigint) => `${value / 1_000_000_000n}.${(value % 1_000_000_000n).toString().padStart(9, '0')}`;
    const exact = format(nano(spend) + nano(cost));
    const short = format(nano(spend) + nano(cost) - 1n);
    for (const [amount, allowed] of [[exact, true], [short, false]] as const) {
      await secret.setBudget({ path: { id: 'budgeted' }, body: { amount, enforcement: 'block' } });
      const remote = await secret.checkEntitlement({ path: { id: 'budgeted' }, body: { estimated_cost: cost, event_type: next.event_type } });
      const local = estimator.check(next, { budget: amount });
      expect([local.allowed, remote.allowed], amount).toEqual([allowed, allowed]);
      if (!allowed) expect([local.reason, remote.reasons.map((r) => r.code)]).toEqual(['budget_exceeded', ['budget_exceeded']]);
    }
  });
});
