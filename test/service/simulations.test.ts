// Price-book simulation (domains/simulations): a past month replayed under a draft version, revenue and margin
// per customer and in total, old beside new, exact; the draft's receipts; nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileBook, type CompiledBook, type UsageEvent } from '@tariff/core-wasm';
import { rate } from '@tariff/core-wasm/node';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { findPeriods, streamPeriodEvents } from '../../service/src/domains/simulations/repo.ts';
import { simulate } from '../../service/src/domains/simulations/service.ts';
import { withTenant } from '../../service/src/platform/db.ts';
import { formatMoney, toNano } from '../../service/src/platform/money.ts';
import {
  rest,
  signUpTenant,
  startService,
  trpc,
  type Harness,
  type TenantFixture,
  serviceDeps,
  tokenCard,
} from './harness.ts';

const card = (inputRate: string, outputRate: string) => tokenCard('gpt-4o', inputRate, outputRate);
const book = {
  id: 'llm',
  currency: 'USD',
  versions: [{ effective_from: '2026-01-01T00:00:00Z', rate_cards: [card('2.5', '10')] }],
  // What serving costs: $1/M input, $4/M output.
  cost: { currency: 'USD', versions: [{ effective_from: '2026-01-01T00:00:00Z', rate_cards: [card('1', '4')] }] },
};
// The draft: input doubles to $5/M, output drops to $8/M; and a graduated tier (first 1M input tokens of the period at $5, the rest at $3).
const draft = { effective_from: '2026-06-01T00:00:00Z', rate_cards: [card('5', '8')] };
const tieredDraft = {
  effective_from: '2026-06-01T00:00:00Z',
  rate_cards: [
    {
      ...card('5', '8'),
      charges: [
        {
          dimension: 'input_tokens',
          price: { model: 'graduated', tiers: [{ up_to: '1000000', rate: '5' }, { rate: '3' }] },
        },
        card('5', '8').charges[1],
      ],
    },
  ],
};

const llm = (id: string, customer: string, timestamp: string, input: number, output: number) => ({
  transaction_id: id,
  customer_id: customer,
  event_type: 'llm.completion',
  timestamp,
  properties: { model: 'gpt-4o', input_tokens: input, output_tokens: output },
});

let harness: Harness;
let tenant: TenantFixture;
let viewer: string;
const call = async (method: string, path: string, body?: unknown) => {
  const response = await rest(harness, method, path, { key: tenant.secretKey, body });
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response.body;
};
const february = { from: '2026-02-01T00:00:00Z', until: '2026-03-01T00:00:00Z' };

beforeAll(async () => {
  harness = await startService({ now: '2026-02-20T00:00:00Z' });
  tenant = await signUpTenant(harness);
  await call('POST', '/v1/price_books', { book });
  for (const customer of ['alpha', 'beta', 'gamma']) {
    await call('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
    await call('PUT', `/v1/customers/${customer}/price_book`, {
      price_book: 'llm',
      effective_from: '2026-01-01T00:00:00Z',
    });
  }
  // Gamma moves to another book mid-February: its period mixes two books (replayed alone, the other book's events as stored).
  await call('POST', '/v1/price_books', { book: { ...book, id: 'other' } });
  await call('PUT', '/v1/customers/gamma/price_book', { price_book: 'other', effective_from: '2026-02-15T00:00:00Z' });
  // Beta's $1 grant pays part of its first event: revenue counts the charge, whoever pays it.
  await call('POST', '/v1/customers/beta/credit_grants', { kind: 'prepaid', amount: '1' });
  harness.clock.set('2026-03-05T00:00:00Z');
  await call('POST', '/v1/events', {
    events: [
      llm('a1', 'alpha', '2026-02-03T10:00:00Z', 800_000, 100_000),
      llm('a2', 'alpha', '2026-02-04T10:00:00Z', 400_000, 0),
      llm('b1', 'beta', '2026-02-10T10:00:00Z', 200_000, 50_000),
      llm('g1', 'gamma', '2026-02-10T10:00:00Z', 100_000, 0),
      llm('g2', 'gamma', '2026-02-20T10:00:00Z', 300_000, 0),
      // March: outside the simulated month.
      llm('a3', 'alpha', '2026-03-02T10:00:00Z', 1_000_000, 0),
    ],
  });
  const email = `viewer-${tenant.tenantId.slice(0, 8)}@example.com`;
  expect(
    (
      await trpc(
        harness,
        'mutation',
        'users.create',
        { email, password: 'a long enough password', role: 'viewer' },
        tenant.session,
      )
    ).status,
  ).toBe(200);
  viewer = (
    await trpc(harness, 'mutation', 'auth.login', { tenant: tenant.slug, email, password: 'a long enough password' })
  ).body.session.token;
});
afterAll(async () => {
  await harness?.close();
});

async function countRows() {
  const [row] = await harness.database.owner`
    select (select count(*) from event_ratings where tenant_id = ${tenant.tenantId})::int as lines,
           (select count(*) from price_book_versions where tenant_id = ${tenant.tenantId})::int as versions,
           (select sum(amount)::text from customer_periods where tenant_id = ${tenant.tenantId}) as amounts,
           (select count(*) from reratings where tenant_id = ${tenant.tenantId})::int as reratings`;
  return row;
}

describe('simulations.run', () => {
  it('gives revenue and margin per customer and in total, old beside new, exact, and writes nothing', async () => {
    const before = await countRows();
    const result = await trpc(
      harness,
      'mutation',
      'simulations.run',
      { price_book: 'llm', draft, ...february },
      viewer,
    );
    expect(result.status, JSON.stringify(result.error)).toBe(200);
    // alpha: old 1.2M x 2.5 + 0.1M x 10 = 3 + 1 = 4; new 1.2M x 5 + 0.1M x 8 = 6.8; cost 1.2 + 0.4 = 1.6.
    // beta: old 0.2M x 2.5 + 0.05M x 10 = 1; new 1 + 0.4 = 1.4; cost 0.2 + 0.2 = 0.4.
    // gamma: g1 only (g2 was rated by "other"): old 0.1M x 2.5 = 0.25, new 0.5, cost 0.1.
    expect(result.body.customers).toEqual([
      {
        customer_id: 'alpha',
        events: 2,
        old_revenue: '4.000000000',
        new_revenue: '6.800000000',
        revenue_change: '2.800000000',
        old_cost: '1.600000000',
        new_cost: '1.600000000',
        old_margin: '2.400000000',
        new_margin: '5.200000000',
        margin_change: '2.800000000',
      },
      {
        customer_id: 'beta',
        events: 1,
        old_revenue: '1.000000000',
        new_revenue: '1.400000000',
        revenue_change: '0.400000000',
        old_cost: '0.400000000',
        new_cost: '0.400000000',
        old_margin: '0.600000000',
        new_margin: '1.000000000',
        margin_change: '0.400000000',
      },
      {
        customer_id: 'gamma',
        events: 1,
        old_revenue: '0.250000000',
        new_revenue: '0.500000000',
        revenue_change: '0.250000000',
        old_cost: '0.100000000',
        new_cost: '0.100000000',
        old_margin: '0.150000000',
        new_margin: '0.400000000',
        margin_change: '0.250000000',
      },
    ]);
    expect(result.body.total).toEqual({
      customers: 3,
      events: 4,
      old_revenue: '5.250000000',
      new_revenue: '8.700000000',
      revenue_change: '3.450000000',
      old_cost: '2.100000000',
      new_cost: '2.100000000',
      old_margin: '3.150000000',
      new_margin: '6.600000000',
      margin_change: '3.450000000',
    });
    expect(result.body).toMatchObject({
      price_book: 'llm',
      currency: 'USD',
      periods: 3,
      unratable: [],
      unratable_count: 0,
    });
    // The stored ratings are what "old" says: the receipts' amounts plus the credit beta drew.
    const b1 = await call('GET', '/v1/events/b1/receipt');
    expect(b1.amount).toBe('0.000000000');
    expect(await countRows()).toEqual(before);
  });

  it('lists the events the draft cannot rate, refused by the kernel or before it, and totals the others', async () => {
    const run = async (rateCards: unknown[]) => {
      const result = await trpc(
        harness,
        'mutation',
        'simulations.run',
        { price_book: 'llm', draft: { effective_from: '2026-06-01T00:00:00Z', rate_cards: rateCards }, ...february },
        viewer,
      );
      expect(result.status, JSON.stringify(result.error)).toBe(200);
      return result.body;
    };
    // Input less five times output, $1/M: b1's (200k - 5 x 50k) comes out negative and the kernel refuses it.
    const negative = await run([
      {
        id: 'gpt-4o',
        match: { model: 'gpt-4o' },
        charges: [{ dimension: 'uncached', price: { model: 'per_unit', rate: '1' } }],
        dimensions: { uncached: { formula: { input_tokens: 1, output_tokens: -5 } } },
      },
    ]);
    expect(negative.unratable).toEqual([
      {
        transaction_id: 'b1',
        customer_id: 'beta',
        code: 'negative_quantity',
        message: 'dimension uncached came out negative',
      },
    ]);
    expect(negative.unratable_count).toBe(1);
    // alpha: 300k + 400k uncached; gamma: g1's 100k (g2 was rated by "other"); beta rated nothing and is not listed.
    expect(negative.customers.map((c: any) => [c.customer_id, c.events, c.new_revenue])).toEqual([
      ['gamma', 1, '0.100000000'],
      ['alpha', 2, '0.700000000'],
    ]);
    // No card for the events' model: each refused before the kernel, every one listed.
    const noCard = await run([{ ...card('5', '8'), id: 'gpt-5', match: { model: 'gpt-5' } }]);
    const byTransaction = (u: any) => [u.transaction_id, u.code];
    expect(noCard.unratable.map(byTransaction).sort()).toEqual([
      ['a1', 'no_rate_card'],
      ['a2', 'no_rate_card'],
      ['b1', 'no_rate_card'],
      ['g1', 'no_rate_card'],
    ]);
    expect(noCard.total.events).toBe(0);
  });

  it('rates the period from its start under the draft: a graduated tier counts the whole month', async () => {
    const result = await trpc(
      harness,
      'mutation',
      'simulations.run',
      { price_book: 'llm', draft: tieredDraft, ...february, customers: ['alpha'] },
      tenant.session,
    );
    // alpha's input: 800k at $5 (4.0) then 200k at $5 + 200k at $3 (1.0 + 0.6); output 0.1M x 8 = 0.8: 6.4.
    expect(result.body.customers).toEqual([
      expect.objectContaining({ customer_id: 'alpha', events: 2, new_revenue: '6.400000000' }),
    ]);
  });

  it("opens the draft's receipt of any event beside the stored one", async () => {
    // An event of the other book is not this book's to simulate.
    const foreign = await trpc(
      harness,
      'mutation',
      'simulations.receipt',
      { price_book: 'llm', draft, transaction_id: 'g2' },
      viewer,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.error?.data.app?.details[0].field).toBe('transaction_id');
    const receipt = await trpc(
      harness,
      'mutation',
      'simulations.receipt',
      { price_book: 'llm', draft: tieredDraft, transaction_id: 'a2' },
      viewer,
    );
    expect(receipt.status, JSON.stringify(receipt.error)).toBe(200);
    expect(receipt.body).toMatchObject({
      transaction_id: 'a2',
      customer_id: 'alpha',
      period: { start: '2026-02-01T00:00:00.000Z' },
    });
    expect(receipt.body.old).toMatchObject({ amount: '1.000000000', card: 'gpt-4o' });
    expect(receipt.body.new).toMatchObject({ amount: '1.600000000', card: 'gpt-4o', error: null });
    // a2 crosses the draft's tier: a1 used 800k of its first million, so 200k at $5 and 200k at $3.
    expect(
      receipt.body.new.receipt.filter((s: any) => s.step === 'tier').map((s: any) => [s.quantity, s.rate]),
    ).toEqual([
      ['200000.000000', '5.000000000'],
      ['200000.000000', '3.000000000'],
    ]);
    expect(receipt.body.old.receipt.find((s: any) => s.step === 'price' && s.charge === 0)).toMatchObject({
      model: 'per_unit',
      amount: '1.000000000',
    });
  });

  it("names the draft's own field when it does not compile, and refuses bad ranges and unknown books", async () => {
    const broken = await trpc(
      harness,
      'mutation',
      'simulations.run',
      {
        price_book: 'llm',
        draft: { rate_cards: [{ id: 'x', charges: [{ price: { model: 'per_unit', rate: 'abc' } }] }] },
        ...february,
      },
      tenant.session,
    );
    expect(broken.status).toBe(400);
    expect(broken.error?.data.app?.code).toBe('price_book_invalid');
    expect(broken.error?.data.app?.details.some((d: any) => d.field.startsWith('draft.rate_cards.0'))).toBe(true);
    const backwards = await trpc(
      harness,
      'mutation',
      'simulations.run',
      { price_book: 'llm', draft, from: february.until, until: february.from },
      tenant.session,
    );
    expect(backwards.status).toBe(400);
    expect(backwards.error?.data.app?.details[0].field).toBe('until');
    expect(
      (await trpc(harness, 'mutation', 'simulations.run', { price_book: 'nope', draft, ...february }, tenant.session))
        .status,
    ).toBe(404);
    expect(
      (
        await trpc(
          harness,
          'mutation',
          'simulations.run',
          { price_book: 'llm', draft, ...february, customers: ['nobody'] },
          tenant.session,
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await trpc(
          harness,
          'mutation',
          'simulations.receipt',
          { price_book: 'llm', draft, transaction_id: 'nope' },
          tenant.session,
        )
      ).status,
    ).toBe(404);
    expect((await trpc(harness, 'mutation', 'simulations.run', { price_book: 'llm', draft, ...february })).status).toBe(
      401,
    );
  });
});

describe('simulations over many customers', () => {
  // Nine customers, two monthly periods each in the range (January and February), events acknowledged in three
  // batches: the last brings February events older than some of the second's (late events) and March events
  // (outside the range). Each customer's figures must be the kernel's own over that customer's events, period by
  // period, in acknowledgement order: the stored book's for old, the draft's for new.
  const customers = Array.from({ length: 9 }, (_, c) => `many-${c}`);
  const batches: UsageEvent[][] = [[], [], []];
  let seed = 7;
  const next = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
  const at = (month: string, day: number) =>
    `2026-${month}-${String(day).padStart(2, '0')}T${String(next(24)).padStart(2, '0')}:${String(next(60)).padStart(2, '0')}:00.${String(next(1000)).padStart(3, '0')}Z`;
  for (const customer of customers) {
    const count = 3 + next(6);
    for (let k = 0; k < count; k++) {
      const event = (id: string, timestamp: string) =>
        llm(`${customer}-${id}-${k}`, customer, timestamp, 1000 * (1 + next(400)), 1000 * next(90)) as UsageEvent;
      batches[0].push(event('jan', at('01', 2 + next(27))));
      batches[1].push(event('feb', at('02', 10 + next(18))));
      batches[2].push(event('late', at('02', 1 + next(9))));
      batches[2].push(event('mar', at('03', 1 + next(2))));
    }
  }
  let many: TenantFixture;
  const clocks = ['2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', '2026-03-03T00:00:00Z'];

  beforeAll(async () => {
    many = await signUpTenant(harness);
    const send = async (method: string, path: string, body: unknown) => {
      const response = await rest(harness, method, path, { key: many.secretKey, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
      return response.body;
    };
    harness.clock.set('2026-01-01T00:00:00Z');
    await send('POST', '/v1/price_books', { book });
    for (const customer of customers) {
      await send('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
      await send('PUT', `/v1/customers/${customer}/price_book`, {
        price_book: 'llm',
        effective_from: '2026-01-01T00:00:00Z',
      });
    }
    for (const [b, events] of batches.entries()) {
      harness.clock.set(clocks[b]);
      expect((await send('POST', '/v1/events', { events })).accepted).toBe(events.length);
    }
  });

  /** The kernel's figures over each period's events in acknowledgement order (batch, then instant, then id). */
  async function kernelFigures(compiled: CompiledBook, customer: string) {
    let amount = 0n;
    let cost = 0n;
    let events = 0;
    for (const [start, end] of [
      ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ]) {
      const own = batches.flatMap((batch) =>
        batch
          .filter((e) => e.customer_id === customer && e.timestamp >= start && e.timestamp < end)
          .sort((a, b) => a.timestamp.localeCompare(b.timestamp) || (a.transaction_id < b.transaction_id ? -1 : 1)),
      );
      const output = await rate(compiled, { [customer]: { period: { start, end } } }, own);
      for (const result of output.results) {
        expect(result.status, JSON.stringify(result.error)).toBe('rated');
        amount += toNano(result.amount!);
        cost += toNano(result.cost!);
        events += 1;
      }
    }
    return { events, amount, cost };
  }

  it("gives each customer the kernel's own figures over its events, however the work is batched", async () => {
    const compile = (versions: unknown[]) => {
      const compiled = compileBook({ ...book, versions } as never);
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
      return compiled.book;
    };
    const stored = compile(book.versions);
    const drafted = compile([{ ...tieredDraft, effective_from: '1970-01-01T00:00:00Z' }]);
    const expected = [];
    for (const customer of customers) {
      const old = await kernelFigures(stored, customer);
      const draftFigures = await kernelFigures(drafted, customer);
      expect(draftFigures.events).toBe(old.events);
      expected.push({
        customer_id: customer,
        events: old.events,
        old_revenue: formatMoney(old.amount),
        new_revenue: formatMoney(draftFigures.amount),
        old_cost: formatMoney(old.cost),
        new_cost: formatMoney(draftFigures.cost),
      });
    }
    const range = {
      price_book: 'llm',
      draft: tieredDraft,
      from: '2026-01-01T00:00:00Z',
      until: '2026-03-01T00:00:00Z',
    };
    const deps = serviceDeps(harness);
    const actor = (await authenticateApiKey(deps, many.secretKey))!;
    const byCustomer = (result: { customers: { customer_id: string }[] }) =>
      [...result.customers].sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1));
    // Reads of 7 rows split customers' periods across reads; calls of 4 periods put a customer's two periods in
    // different kernel calls or one after the other.
    for (const batching of [
      { periodsPerCall: 4, rowsPerRead: 7 },
      { periodsPerCall: 1, rowsPerRead: 1 },
    ]) {
      const result = await simulate(deps, actor, range as never, batching);
      expect(result.periods).toBe(customers.length * 2);
      expect(byCustomer(result).map((c) => ({ ...c }))).toEqual(expected.map((e) => expect.objectContaining(e)));
    }
    const answer = await trpc(harness, 'mutation', 'simulations.run', range, many.session);
    expect(answer.status, JSON.stringify(answer.error)).toBe(200);
    expect(byCustomer(answer.body)).toEqual(expected.map((e) => expect.objectContaining(e)));
    expect(answer.body.total.events).toBe(expected.reduce((n, e) => n + e.events, 0));
    expect(toNano(answer.body.total.new_revenue)).toBe(expected.reduce((sum, e) => sum + toNano(e.new_revenue), 0n));
  });

  it('ends the read with the error of a period that fails, though the next rows were already asked for', async () => {
    const { db } = serviceDeps(harness);
    const seen: string[] = [];
    const read = withTenant(db, many.tenantId, async (tx) => {
      const scope = { db: tx, tenantId: many.tenantId };
      const periods = await findPeriods(scope, { from: new Date(february.from), until: new Date(february.until) });
      expect(periods).toHaveLength(customers.length);
      // A row a read: each period is handled while the database sends the rows after it.
      await streamPeriodEvents(scope, periods, { batchRows: 1 }, (i, events) => {
        seen.push(`${periods[i].externalId}:${events.length}`);
        if (seen.length === 3) throw new Error('the third period failed');
      });
    });
    await expect(read).rejects.toThrow('the third period failed');
    // Handled in the read's order, one customer at a time, none after the failure.
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.split(':')[0])).size).toBe(3);
  });
});
