// The SDK's local estimator against the kernel on random books, states and events (test/reference/arbitraries.ts):
// event by event with the snapshot moving on, its estimates are the kernel's batch results byte for byte, and
// check() (the fast path that skips receipts and state decoding) agrees with them on every event.
import fc from 'fast-check';
import { Kernel, type RatedEvent, type StateMap, stateForOnBlock } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Estimator } from '../../sdk/src/estimator.ts';
import { randomScenario, type Scenario } from '../reference/arbitraries.ts';

let kernel: Kernel;
let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(wasmBytes() as Uint8Array<ArrayBuffer>);
  kernel = await Kernel.create(module);
});

const NANO = 1_000_000_000n;
const I64_MAX = (1n << 63n) - 1n;
const nano = (amount: string) => {
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = amount.replace('-', '').split('.');
  const value = BigInt(whole) * NANO + BigInt(fraction.padEnd(9, '0'));
  return negative ? -value : value;
};

const format = (v: bigint) =>
  `${v < 0n ? '-' : ''}${(v < 0n ? -v : v) / NANO}.${((v < 0n ? -v : v) % NANO).toString().padStart(9, '0')}`;

/** Grant balance in force at `at` in a state, as check() reports it. */
function creditsInForce(states: StateMap, customer: string, at: string): bigint {
  const t = Date.parse(at);
  return (states[customer]?.grants ?? [])
    .filter(
      (g) =>
        (g.effective_at === undefined || Date.parse(g.effective_at) <= t) &&
        (g.expires_at === undefined || t < Date.parse(g.expires_at)),
    )
    .map((g) => nano(g.balance))
    .filter((balance) => balance > 0n)
    .reduce((sum, balance) => sum + balance, 0n);
}

let eventsCompared = 0;
let eventsFlagged = 0;

async function compare({ book, states, events }: Scenario): Promise<void> {
  eventsCompared += events.length;
  const expected = kernel.rate(book, states, events);
  // The kernel's own answer for a customer who blocks on depletion is the estimator's onBlock "refuse".
  const estimator = await Estimator.create({ wasm: kernel, book, states, onBlock: 'refuse' });
  const local: RatedEvent[] = [];
  for (const event of events) {
    const spent = nano(estimator.snapshot().spend[event.customer_id] ?? '0');
    const checked = estimator.check(event);
    if (checked.allowed) {
      // A budget of exactly the spend after this event passes; one nano-unit less does not, unless it adds nothing.
      const exact = spent + nano(checked.spend!);
      // (A budget is a 64-bit amount like every other: sums past that are not tried.)
      if (exact >= 0n && exact <= I64_MAX)
        expect(estimator.check(event, { budget: format(exact) }).allowed, 'budget = spend + this spend').toBe(true);
      if (exact >= 1n && exact <= I64_MAX && nano(checked.spend!) > 0n)
        expect(estimator.check(event, { budget: format(exact - 1n) }).reason).toBe('budget_exceeded');
    }
    const result = estimator.estimate(event, { updateState: true });
    local.push(result);
    if (result.status === 'rated') {
      expect(checked).toMatchObject({ allowed: true, amount: result.amount });
      const discount = result.receipt!.find((step) => step.step === 'discount');
      expect(nano(checked.spend!)).toBe(nano(result.subtotal!) - (discount ? nano(discount.amount) : 0n));
      expect(nano(checked.creditsRemaining!)).toBe(
        creditsInForce(estimator.snapshot().states, result.customer_id, event.timestamp),
      );
    } else {
      expect(checked.allowed).toBe(false);
      expect(checked.reason).toBe(result.error!.code);
      expect(checked.error?.field).toBe(result.error!.field);
    }
  }
  expect(JSON.stringify(local)).toBe(JSON.stringify(expected.results));
  // States agree value for value. Not byte for byte: a counter first written by an earlier call keeps its place,
  // while one batch writes new names alphabetically (core-wasm README, "Output format"), so key order may differ.
  for (const customer of Object.keys(expected.states))
    expect(estimator.state(customer), customer).toEqual(expected.states[customer]);

  // onBlock "accept" (the default, as ingestion): the kernel's results with blocking customers rated as overage, and
  // flagged credits_exhausted exactly when such a customer is billed something credits did not cover.
  const overage = Object.fromEntries(
    Object.entries(states).map(([customer, state]) => [customer, stateForOnBlock(state, 'accept')]),
  );
  const accepting = (await Estimator.create({ wasm: kernel, book, states })).estimateMany(events);
  expect(JSON.stringify(accepting.map(({ blocked: _, ...result }) => result))).toBe(
    JSON.stringify(kernel.rate(book, overage, events).results),
  );
  accepting.forEach((result) => {
    const flagged =
      result.status === 'rated' && states[result.customer_id]?.on_depletion === 'block' && nano(result.amount!) > 0n;
    expect(result.blocked?.map((b) => b.code)).toEqual(flagged ? ['credits_exhausted'] : undefined);
    if (flagged) eventsFlagged += 1;
  });
}

describe('Estimator against the kernel on random scenarios', () => {
  it('estimates, one event at a time, are the batch results byte for byte, and check() agrees (10,000+ realistic events)', async () => {
    eventsCompared = 0;
    eventsFlagged = 0;
    await fc.assert(fc.asyncProperty(randomScenario({ minEvents: 10, maxEvents: 40 }), compare), { numRuns: 600 });
    expect(eventsCompared).toBeGreaterThanOrEqual(10_000);
    expect(eventsFlagged).toBeGreaterThan(0);
  });

  it('the same near the 64-bit limits (overflow errors included)', async () => {
    eventsCompared = 0;
    await fc.assert(fc.asyncProperty(randomScenario({ scale: 'overflow' }), compare), { numRuns: 200 });
    expect(eventsCompared).toBeGreaterThanOrEqual(1000);
  });

  it('an estimator made from a WebAssembly.Module answers as one made from bytes', async () => {
    await fc.assert(
      fc.asyncProperty(randomScenario(), async ({ book, states, events }) => {
        const fromModule = await Estimator.create({ wasm: module, book, states });
        const fromBytes = await Estimator.create({ wasm: wasmBytes(), book, states });
        expect(JSON.stringify(fromModule.estimateMany(events))).toBe(JSON.stringify(fromBytes.estimateMany(events)));
      }),
      { numRuns: 30 },
    );
  });
});
