// The SDK's local estimates against the service's: 10,000+ random events rated by the Estimator (the book's zones
// pinned with withZoneTransitions, as a snapshot would carry them) and by POST /v1/estimates on the stored book,
// through the SDK's own client, amounts and receipts the same bytes; and 10,000+ more rated locally by
// Estimator.fromServer (the pricing snapshot) and stored by POST /v1/events, for customers with plans, credit grants
// and depletion policies made from the random states: the same amounts, receipts and period spend.
import fc from 'fast-check';
import { Kernel, parseInstant, type PriceBook, type UsageEvent, withZoneTransitions } from '@tariff/core-wasm';
import { wasmBytes } from '@tariff/core-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TariffClient } from '../../sdk/src/client.ts';
import { Estimator } from '../../sdk/src/estimator.ts';
import { randomScenario } from '../reference/arbitraries.ts';
import { poolsDrawnBy } from '../../service/src/domains/plans/service.ts';
import { type Harness, type TenantFixture, exampleBook, signUpTenant, startService } from '../service/harness.ts';

/** A non-negative decimal string as nano-units. */
const nanoOf = (text: string) => {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
};

let harness: Harness;
let tenant: TenantFixture;
let secret: TariffClient;
let publishable: TariffClient;
let kernel: Kernel;

beforeAll(async () => {
  harness = await startService({ now: '2026-03-15T00:00:00Z' });
  tenant = await signUpTenant(harness);
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
      const server = await publishable.estimate({
        body: {
          price_book: book.id,
          events: scenario.events as unknown as Record<string, unknown>[],
          states: scenario.states as Record<string, Record<string, unknown>>,
        },
      });
      // POST /v1/estimates rates the states as given: a customer who blocks on depletion is refused (onBlock "refuse").
      const estimator = await Estimator.create({
        wasm: kernel,
        book: withZoneTransitions(book),
        states: scenario.states,
        onBlock: 'refuse',
      });
      const local = estimator.estimateMany(scenario.events);
      expect(JSON.stringify(local), `scenario ${i}`).toBe(JSON.stringify(server.results));
      events += local.length;
      rated += local.filter((r) => r.status === 'rated').length;
    }
    expect(events).toBeGreaterThanOrEqual(10_000);
    // Mostly rated events, so receipts are compared, not only errors.
    expect(rated / events).toBeGreaterThan(0.4);
  });

  it('Estimator.fromServer charges what POST /v1/events charges for 10,000+ random events: amounts, receipts, period spend', async () => {
    // The clock stands at 2026-03-15; events are moved into March 1-14 (keeping their time of day), so they land in
    // the period the snapshot describes and are not in the future.
    const toMarch = (timestamp: string): string | undefined => {
      const ms = parseInstant(timestamp);
      if (ms === undefined) return undefined;
      const t = new Date(Number(ms));
      return new Date(
        Date.UTC(
          2026,
          2,
          1 + ((t.getUTCDate() - 1) % 14),
          t.getUTCHours(),
          t.getUTCMinutes(),
          t.getUTCSeconds(),
          t.getUTCMilliseconds(),
        ),
      ).toISOString();
    };
    const scenarios = fc.sample(randomScenario({ minEvents: 50, maxEvents: 90 }), { numRuns: 175, seed: 20261123 });
    let events = 0;
    let rated = 0;
    let withPlan = 0;
    let grants = 0;
    // Events past a blocking wallet's credit: flagged and billed (accept), or rejected (refuse).
    const blocked = { accept: 0, refuse: 0 };
    const runScenario = async (i: number, scenario: (typeof scenarios)[number]) => {
      const bookId = `served-${i}`;
      await secret.createPriceBook({
        body: { book: { ...scenario.book, id: bookId } as unknown as Record<string, unknown> },
      });
      const pools = poolsDrawnBy(scenario.book as PriceBook);
      const batch: UsageEvent[] = [];
      for (const event of scenario.events) {
        const timestamp = toMarch(event.timestamp);
        if (timestamp === undefined || event.customer_id === '' || event.event_type === '') continue;
        batch.push({
          ...event,
          transaction_id: `served-${i}-${event.transaction_id}`,
          customer_id: `served-${i}-${event.customer_id}`,
          timestamp,
        });
      }
      const customers = [...new Set(batch.map((e) => e.customer_id))];
      for (const customer of customers) {
        const state = scenario.states[customer.slice(`served-${i}-`.length)] ?? {};
        await secret.createCustomer({ body: { external_id: customer, currency: 'USD' } });
        // A plan carries what the kernel state holds of allowances, minimum and discount; without one, the book alone.
        const allowances = Object.fromEntries(
          Object.entries(state.allowances ?? {}).filter(([pool]) => pools.has(pool)),
        );
        const discount =
          state.discount_percent !== undefined && /^\d{1,3}(\.\d{1,7})?$/.test(state.discount_percent)
            ? state.discount_percent
            : undefined;
        if (Object.keys(allowances).length > 0 || discount !== undefined || state.commitment?.mode === 'postpaid') {
          await secret.createPlan({
            body: {
              code: `plan-${i}-${customers.indexOf(customer)}`,
              name: 'Random',
              price_book: bookId,
              interval: 'month',
              allowances,
              ...(state.commitment?.mode === 'postpaid' ? { minimum_spend: '100' } : {}),
            },
          });
          await secret.createSubscription({
            path: { id: customer },
            body: {
              plan: `plan-${i}-${customers.indexOf(customer)}`,
              started_at: '2026-03-01T00:00:00Z',
              ...(discount !== undefined ? { discount_percent: discount } : {}),
            },
          });
          withPlan += 1;
        } else {
          await secret.assignPriceBook({
            path: { id: customer },
            body: { price_book: bookId, effective_from: '2026-01-01T00:00:00Z' },
          });
        }
        for (const grant of state.grants ?? []) {
          if (!/[1-9]/.test(grant.balance)) continue;
          const scope =
            grant.scope?.cards || grant.scope?.event_types
              ? {
                  ...(grant.scope.cards ? { cards: grant.scope.cards } : {}),
                  ...(grant.scope.event_types ? { event_types: grant.scope.event_types } : {}),
                }
              : undefined;
          const body = {
            kind: grant.kind,
            amount: grant.balance,
            priority: grant.priority ?? 0,
            ...(grant.effective_at ? { effective_at: grant.effective_at } : {}),
            ...(grant.expires_at ? { expires_at: grant.expires_at } : {}),
            ...(scope ? { scope } : {}),
          };
          // Some random grants are refused (expiry before effect, in the past): those customers simply have fewer.
          try {
            await secret.createCreditGrant({ path: { id: customer }, body: body as never });
            grants += 1;
          } catch (error) {
            if ((error as { status?: number }).status !== 400 && (error as { status?: number }).status !== 422)
              throw error;
          }
        }
        if (state.on_depletion === 'block')
          await secret.updateWallet({ path: { id: customer }, body: { on_depletion: 'block' } });
      }

      // Half the scenarios send on_block "refuse", half the default ("accept"); the estimators are told the same.
      const onBlock = i % 2 === 0 ? 'accept' : 'refuse';
      const estimators = new Map<string, Estimator>();
      for (const customer of customers)
        estimators.set(
          customer,
          await Estimator.fromServer(secret, customer, {
            wasm: kernel,
            updateState: true,
            ...(onBlock === 'refuse' ? { onBlock } : {}),
          }),
        );
      const local = batch.map((event) => estimators.get(event.customer_id)!.estimate(event));
      const ack = await secret.ingestEvents({
        body: { events: batch as never, ...(onBlock === 'refuse' ? { on_block: onBlock } : {}) },
      });
      const stored = await harness.database.owner`
        select transaction_id, receipt from event_ratings where tenant_id = ${tenant.tenantId} and transaction_id = any(${batch.map((e) => e.transaction_id)}::text[])`;
      const receipts = new Map(stored.map((r) => [r.transaction_id as string, r.receipt]));
      local.forEach((result, k) => {
        const outcome = ack.events[k] as {
          status: string;
          amount?: string | null;
          book_version?: string;
          card?: string;
          error?: { code: string };
          blocked?: unknown[];
        };
        const where = `scenario ${i}, event ${k}`;
        if (result.status === 'rated') {
          expect(
            { status: outcome.status, amount: outcome.amount, book_version: outcome.book_version, card: outcome.card },
            where,
          ).toEqual({
            status: 'accepted',
            amount: result.amount,
            book_version: result.book_version,
            card: result.card,
          });
          // jsonb keeps no key order: equal as values.
          expect(receipts.get(result.transaction_id), where).toEqual(result.receipt);
          // The same limits crossed, to the nano-unit: the ack's flag is the estimate's.
          expect(outcome.blocked, where).toEqual(result.blocked);
          if (result.blocked?.some((b) => b.code === 'credits_exhausted')) blocked.accept += 1;
          rated += 1;
        } else {
          expect({ status: outcome.status, code: outcome.error?.code }, where).toEqual({
            status: 'rejected',
            code: result.error!.code,
          });
          if (result.error!.code === 'credits_exhausted') blocked.refuse += 1;
        }
      });
      // The period spend the estimators tracked is what the service's budgets now count (the snapshot's `spend`).
      const periods = await harness.database.owner`
        select c.external_id, (p.amount + p.credits_applied)::text as spend from customer_periods p join customers c on c.tenant_id = p.tenant_id and c.id = p.customer_id
        where p.tenant_id = ${tenant.tenantId} and c.external_id = any(${customers}::text[])`;
      const spend = new Map(periods.map((p) => [p.external_id as string, p.spend as string]));
      for (const customer of customers) {
        const tracked = estimators.get(customer)!.snapshot().spend[customer];
        expect(nanoOf(tracked), `scenario ${i}, ${customer} spend`).toBe(nanoOf(spend.get(customer) ?? '0'));
      }
      events += batch.length;
    };
    // Scenarios share nothing (own book, customers, plans), so a few run at once: the service's round trips overlap.
    let next = 0;
    const worker = async () => {
      while (next < scenarios.length) {
        const i = next++;
        await runScenario(i, scenarios[i]);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(events).toBeGreaterThanOrEqual(10_000);
    expect(rated / events).toBeGreaterThan(0.4);
    // The random states did reach the service as plans and grants.
    expect(withPlan).toBeGreaterThan(100);
    expect(grants).toBeGreaterThan(200);
    // Both modes met customers who block on depletion and ran out of credit.
    expect(blocked.accept).toBeGreaterThan(0);
    expect(blocked.refuse).toBeGreaterThan(0);
  }, 900_000); // 10,000+ events through the service: minutes on a loaded machine

  it("tracks the period spend as the service's budget counts it, and refuses at the same nano-unit as its check", async () => {
    await secret.createCustomer({ body: { external_id: 'budgeted', currency: 'USD' } });
    await secret.createPriceBook({ body: { book: exampleBook('llm') } });
    await secret.assignPriceBook({
      path: { id: 'budgeted' },
      body: { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    });
    const request = (i: number) => ({
      transaction_id: `b${i}`,
      customer_id: 'budgeted',
      event_type: 'llm.completion',
      timestamp: `2026-03-14T${String(i % 24).padStart(2, '0')}:00:00Z`,
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
    const format = (value: bigint) =>
      `${value / 1_000_000_000n}.${(value % 1_000_000_000n).toString().padStart(9, '0')}`;
    const exact = format(nano(spend) + nano(cost));
    const short = format(nano(spend) + nano(cost) - 1n);
    for (const [amount, allowed] of [
      [exact, true],
      [short, false],
    ] as const) {
      await secret.setBudget({ path: { id: 'budgeted' }, body: { amount, enforcement: 'block' } });
      const remote = await secret.checkEntitlement({
        path: { id: 'budgeted' },
        body: { estimated_cost: cost, event_type: next.event_type },
      });
      const local = estimator.check(next, { budget: amount });
      expect([local.allowed, remote.allowed], amount).toEqual([allowed, allowed]);
      if (!allowed)
        expect([local.reason, remote.reasons.map((r) => r.code)]).toEqual(['budget_exceeded', ['budget_exceeded']]);
    }
  });
});
