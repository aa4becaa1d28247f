// The batched period close (close.ts, what the close jobs run when a worker fetches several) against the
// one-period close (closePeriod): two customers with the same terms and the same usage (allowance, discount,
// minimum, credit, a threshold invoice, an SLA credit; then a charge with two dimensions and a late-event
// adjustment), one closed each way, get the same invoice line by line, the same ledger postings, and the next
// period opened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePeriods } from '../../service/src/domains/invoices/close.ts';
import { closePeriod } from '../../service/src/domains/invoices/service.ts';
import { eventSlicesOf, eventSumsOf } from '../../service/src/domains/invoices/fx.ts';
import { listPeriodRatings, sumPeriodEvents } from '../../service/src/domains/invoices/repo.ts';
import { sumSlices } from '../../service/src/domains/currency/event-time.ts';
import type { Conversion } from '../../service/src/domains/currency/convert.ts';
import { periodKey } from '../../service/src/domains/periods/index.ts';
import type { TenantScope } from '../../service/src/platform/db.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

describe('batched period close', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'mixed',
      name: 'Mixed',
      price_book: 'ai-platform',
      base_fee: '30',
      interval: 'month',
      allowances: { tokens: '500000' },
      minimum_spend: '100',
      invoice_grace_hours: 0,
      progressive_thresholds: ['20'],
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  const invoiceOf = async (c: string, start: Date) =>
    (await api.ok('GET', `/v1/invoices?customer_id=${c}&limit=100`)).data.find(
      (i: any) => i.billing_reason === 'period_end' && i.period.start === start.toISOString(),
    );
  const comparable = (invoice: any, c: string) => ({
    status: invoice.status,
    kind: invoice.kind,
    total: invoice.total,
    total_exact: invoice.total_exact,
    plan: invoice.plan,
    finalized_at: invoice.finalized_at,
    lines: invoice.lines.map((l: any) => ({
      ...l,
      description: l.description.replaceAll(c, 'C').replace(/INV-\d+/, 'INV-n'),
      grant_id: l.grant_id ? 'grant' : null,
    })),
  });
  const postingOf = async (invoice: any) =>
    (await api.ok('GET', `/v1/ledger/transactions?reference=${invoice.id}`)).data.map((t: any) =>
      t.entries.map((e: any) => [e.account.replace(/:[0-9a-f-]{36}$/, ':customer'), e.amount]),
    );

  it('gives the same invoice as the one-period close', async () => {
    const ids: Record<string, string> = {};
    harness.clock.set('2026-03-10T00:00:00Z');
    for (const c of ['single', 'batched']) {
      await api.ok('POST', '/v1/customers', { external_id: c, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${c}/subscriptions`, {
        plan: 'mixed',
        started_at: '2026-03-01T00:00:00Z',
        discount_percent: '10',
      });
      await api.ok('POST', `/v1/customers/${c}/credit_grants`, { kind: 'promotional', amount: '5', name: 'Welcome' });
      await api.events(
        tokens(`${c}-1`, c, 900_000, '2026-03-02T00:00:00Z'),
        tokens(`${c}-2`, c, 700_000, '2026-03-03T00:00:00Z', 'llama-3-8b'),
        {
          ...gpuJob(`${c}-gpu`, c, 2, 7_200, '2026-03-04T00:00:00Z'),
          properties: { ...gpuJob('x', c, 2, 7_200, 'x').properties, outcome: 'preempted' },
        },
      );
      await api.ok('POST', `/v1/customers/${c}/sla_credits`, {
        transaction_id: `${c}-gpu`,
        reason: 'preempted by the provider',
        percent: '50',
      });
      const [row] = await harness.database
        .owner`select id from customers where tenant_id = ${tenant.tenantId} and external_id = ${c}`;
      ids[c] = row.id;
    }
    // Both cross the $20 threshold: a threshold invoice each, deducted at period end.
    await jobs.tick();
    const thresholdInvoices = (await api.ok('GET', '/v1/invoices?limit=100')).data.filter(
      (i: any) => i.billing_reason === 'threshold',
    );
    expect(thresholdInvoices).toHaveLength(2);

    harness.clock.set('2026-04-01T00:00:05Z');
    const deps = jobs.deps;
    const start = new Date('2026-03-01T00:00:00Z');
    expect(await closePeriod(deps, tenant.tenantId, ids.single, start)).toBe('finalized');
    expect(await closePeriods(deps, tenant.tenantId, [{ customerId: ids.batched, start }])).toEqual({
      drafted: 1,
      finalized: 1,
    });
    // A second run finds nothing to do.
    expect(await closePeriods(deps, tenant.tenantId, [{ customerId: ids.batched, start }])).toEqual({
      drafted: 0,
      finalized: 0,
    });

    const single = await invoiceOf('single', start);
    const batched = await invoiceOf('batched', start);
    expect(comparable(batched, 'batched')).toEqual(comparable(single, 'single'));
    expect(single.lines.map((l: any) => l.kind)).toEqual(
      expect.arrayContaining([
        'base_fee',
        'usage',
        'allowance',
        'discount',
        'credit',
        'minimum_true_up',
        'sla_credit',
        'progressive_billing',
      ]),
    );
    expect(Number(batched.number.slice(4))).toBe(Number(single.number.slice(4)) + 1);

    // The same postings, and the next period open for both.
    expect(await postingOf(batched)).toEqual(await postingOf(single));
    const periods = await harness.database.owner`
      select customer_id, period_start, status from customer_periods where tenant_id = ${tenant.tenantId} order by customer_id, period_start`;
    for (const id of [ids.single, ids.batched]) {
      expect(periods.filter((p) => p.customer_id === id).map((p) => [p.period_start.toISOString(), p.status])).toEqual([
        ['2026-03-01T00:00:00.000Z', 'closed'],
        ['2026-04-01T00:00:00.000Z', 'open'],
      ]);
    }
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
  // The charge of a card has another dimension under a variant (batch tier), so one period's usage of one charge
  // has two dimensions; and a late event of the closed period before is billed as an adjustment on the next.
  it("sums the periods' events in SQL as the event policy's reading of their receipts does, in both stored forms", async () => {
    const customers = await harness.database.owner`
      select id, external_id from customers where tenant_id = ${tenant.tenantId} and external_id in ('single', 'batched')`;
    const periods = customers.map((c) => ({
      customerId: c.id as string,
      start: new Date('2026-03-01T00:00:00Z'),
      end: new Date('2026-04-01T00:00:00Z'),
    }));
    // The events fall in three intervals (2, 3 and 4 March), each its own rate.
    const bounds = [new Date('2026-03-02T12:00:00Z'), new Date('2026-03-03T12:00:00Z')];
    const rates = ['0.8', '0.912345678', '1.1'];
    const conversions = rates.map((rate) => ({ rate }) as Conversion);
    const ordered = (sums: ReturnType<typeof sumSlices>) => ({
      intervals: [...sums.intervals].sort((a, b) => a.interval - b.interval),
      lines: [...sums.lines].sort(([a], [b]) => (a < b ? -1 : 1)),
    });
    const compare = async (db: TenantScope['db']) => {
      const scope = { db, tenantId: tenant.tenantId };
      const { sums, chained } = eventSumsOf(await sumPeriodEvents(scope, periods, bounds, rates));
      const ratings = await listPeriodRatings(scope, periods);
      expect(chained.size).toBe(0);
      for (const period of periods) {
        const key = periodKey(period);
        const expected = sumSlices(eventSlicesOf(ratings.get(key)!, bounds), bounds, conversions);
        expect(expected.intervals.map((i) => i.interval).sort()).toEqual([0, 1, 2]);
        // Usage by model and GPU, allowance-free lines, the discount and the credit: every event line's kind.
        expect([...expected.lines.keys()].map((k) => JSON.parse(k)[0]).sort()).toEqual([
          'credit',
          'discount',
          'usage',
          'usage',
          'usage',
        ]);
        expect(ordered(sums.get(key)!)).toEqual(ordered(expected));
      }
    };
    await harness.database.owner.begin((sql) => compare(sql));
    // Re-rated events: each sums its latest revision only (two revisions of one event, one of another, whose
    // receipts bill other amounts than the first rating's). Rolled back.
    await harness.database.owner
      .begin(async (sql) => {
        const rerated = await sql`
          select transaction_id from events
          where tenant_id = ${tenant.tenantId} and customer_id = ${periods[0].customerId} and amount > 0
          order by transaction_id limit 2`;
        expect(rerated.length).toBe(2);
        for (const [n, revision] of [
          [0, 2],
          [0, 3],
          [1, 2],
        ]) {
          await sql`
            insert into event_revisions (tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version,
                                         kernel_version, card, currency, amount, subtotal, cost, margin, receipt, rated_at, chain)
            select tenant_id, transaction_id, ${revision}, customer_id, period_start, price_book_id, book_version, kernel_version, card,
                   currency, amount * ${revision}, subtotal * ${revision}, cost, margin,
                   (select json_agg(case when s->>0 = 'p' then json_build_array('p', s->1, s->2, s->3, s->4, s->5, ((s->>6)::numeric * ${revision})::text)
                                         else s end order by n)
                    from json_array_elements(receipt) with ordinality as r(s, n)),
                   received_at, chain
            from events where tenant_id = ${tenant.tenantId} and transaction_id = ${rerated[n].transaction_id}`;
        }
        await compare(sql);
        throw new Error('rollback');
      })
      .catch((error) => {
        if ((error as Error).message !== 'rollback') throw error;
      });
    // Price steps away from their charge's quantity step (every quantity step moved last, so the SQL cannot find it
    // before the price and searches the receipt): the same sums. Rolled back.
    await harness.database.owner
      .begin(async (sql) => {
        await sql`
          update events set receipt = (select json_agg(s order by s->>0 = 'q', n) from json_array_elements(receipt) with ordinality as r(s, n))
          where tenant_id = ${tenant.tenantId}`;
        const [{ apart, near }] = await sql`
          select count(*) filter (where q.m > s.n)::int as apart, count(*) filter (where q.m < s.n)::int as near
          from events, json_array_elements(receipt) with ordinality s(v, n), json_array_elements(receipt) with ordinality q(v, m)
          where tenant_id = ${tenant.tenantId} and s.v->>0 = 'p' and q.v->>0 = 'q' and q.v->>1 = s.v->>1`;
        expect([apart > 0, near]).toEqual([true, 0]);
        await compare(sql);
        throw new Error('rollback');
      })
      .catch((error) => {
        if ((error as Error).message !== 'rollback') throw error;
      });
    // Receipts stored as the kernel's objects (before migration 070): the same sums. Rolled back.
    await harness.database.owner
      .begin(async (sql) => {
        await sql`update events set receipt = receipt_json(receipt) where tenant_id = ${tenant.tenantId}`;
        const [{ objects }] = await sql`
          select count(*)::int as objects from events, json_array_elements(receipt) s
          where tenant_id = ${tenant.tenantId} and json_typeof(s) = 'object'`;
        expect(objects).toBeGreaterThan(10);
        await compare(sql);
        throw new Error('rollback');
      })
      .catch((error) => {
        if ((error as Error).message !== 'rollback') throw error;
      });
  });

  it('gives the same invoice with two dimensions of one charge and a late-event adjustment', async () => {
    await api.ok('POST', '/v1/price_books', {
      book: {
        id: 'variant-book',
        currency: 'USD',
        versions: [
          {
            effective_from: '2026-01-01T00:00:00Z',
            rate_cards: [
              {
                id: 'llm/tiers',
                match: { event_type: 'llm.completion' },
                dimensions: { batch_tokens: { formula: { tokens: 1 } } },
                charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.02', per: '1000' } }],
                variants: [
                  {
                    when: { service_tier: 'batch' },
                    charges: [{ dimension: 'batch_tokens', price: { model: 'per_unit', rate: '0.01', per: '1000' } }],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
    await api.ok('POST', '/v1/plans', {
      code: 'variant',
      name: 'Variant',
      price_book: 'variant-book',
      base_fee: '5',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    harness.clock.set('2026-04-01T00:00:05Z');
    const march = new Date('2026-03-01T00:00:00Z');
    const april = new Date('2026-04-01T00:00:00Z');
    const ids: Record<string, string> = {};
    for (const c of ['v-single', 'v-batched']) {
      await api.ok('POST', '/v1/customers', { external_id: c, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${c}/subscriptions`, { plan: 'variant', started_at: march.toISOString() });
      await api.events(tokens(`${c}-m1`, c, 100_000, '2026-03-05T00:00:00Z'));
      const [row] = await harness.database
        .owner`select id from customers where tenant_id = ${tenant.tenantId} and external_id = ${c}`;
      ids[c] = row.id;
      expect(await closePeriod(jobs.deps, tenant.tenantId, ids[c], march)).toBe('finalized');
      // Late: March is closed, so this is billed on April's invoice.
      await api.events(tokens(`${c}-late`, c, 50_000, '2026-03-20T00:00:00Z'));
    }
    harness.clock.set('2026-04-10T00:00:00Z');
    for (const c of ['v-single', 'v-batched']) {
      const accepted = await api.events(
        tokens(`${c}-a1`, c, 200_000, '2026-04-02T00:00:00Z'),
        {
          ...tokens(`${c}-a2`, c, 300_000, '2026-04-03T00:00:00Z'),
          properties: { model: 'llama-3-70b', tokens: 300_000, service_tier: 'batch' },
        },
        tokens(`${c}-a3`, c, 400_000, '2026-04-04T00:00:00Z', 'llama-3-8b'),
      );
      expect(accepted.map((e) => e.status)).toEqual(['accepted', 'accepted', 'accepted']);
    }
    harness.clock.set('2026-05-01T00:00:05Z');
    expect(await closePeriod(jobs.deps, tenant.tenantId, ids['v-single'], april)).toBe('finalized');
    expect(await closePeriods(jobs.deps, tenant.tenantId, [{ customerId: ids['v-batched'], start: april }])).toEqual({
      drafted: 1,
      finalized: 1,
    });

    const single = await invoiceOf('v-single', april);
    const batched = await invoiceOf('v-batched', april);
    expect(comparable(batched, 'v-batched')).toEqual(comparable(single, 'v-single'));
    expect(
      single.lines.filter((l: any) => l.kind === 'usage').map((l: any) => [l.dimension, l.group, l.amount]),
    ).toEqual([
      ['batch_tokens', { model: 'llama-3-70b' }, '3.000000000'],
      ['tokens', { model: 'llama-3-70b' }, '4.000000000'],
      ['tokens', { model: 'llama-3-8b' }, '8.000000000'],
    ]);
    expect(single.lines.filter((l: any) => l.kind === 'adjustment').map((l: any) => l.amount)).toEqual(['1.000000000']);
    expect(await postingOf(batched)).toEqual(await postingOf(single));
    // The adjustment is billed once: on this invoice, and no longer pending.
    const pending = await harness.database.owner`
      select count(*)::int as n from invoice_adjustments where tenant_id = ${tenant.tenantId} and customer_id = ${ids['v-batched']} and invoice_id is null`;
    expect(pending[0].n).toBe(0);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
