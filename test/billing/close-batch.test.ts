// The batched period close (close.ts, what the close jobs run when a worker fetches several) against the
// one-period close (closePeriod): two customers with the same terms and the same usage (allowance, discount,
// minimum, credit, a threshold invoice, an SLA credit), one closed each way, get the same invoice line by line,
// the same ledger postings, and the next period opened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePeriods } from '../../service/src/domains/invoices/close.ts';
import { closePeriod } from '../../service/src/domains/invoices/service.ts';
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

  it('gives the same invoice as the one-period close', async () => {
    const ids: Record<string, string> = {};
    harness.clock.set('2026-03-10T00:00:00Z');
    for (const c of ['single', 'batched']) {
      await api.ok('POST', '/v1/customers', { external_id: c, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${c}/subscriptions`, { plan: 'mixed', started_at: '2026-03-01T00:00:00Z', discount_percent: '10' });
      await api.ok('POST', `/v1/customers/${c}/credit_grants`, { kind: 'promotional', amount: '5', name: 'Welcome' });
      await api.events(
        tokens(`${c}-1`, c, 900_000, '2026-03-02T00:00:00Z'),
        tokens(`${c}-2`, c, 700_000, '2026-03-03T00:00:00Z', 'llama-3-8b'),
        { ...gpuJob(`${c}-gpu`, c, 2, 7_200, '2026-03-04T00:00:00Z'), properties: { ...gpuJob('x', c, 2, 7_200, 'x').properties, outcome: 'preempted' } },
      );
      await api.ok('POST', `/v1/customers/${c}/sla_credits`, { transaction_id: `${c}-gpu`, reason: 'preempted by the provider', percent: '50' });
      const [row] = await harness.database.owner`select id from customers where tenant_id = ${tenant.tenantId} and external_id = ${c}`;
      ids[c] = row.id;
    }
    // Both cross the $20 threshold: a threshold invoice each, deducted at period end.
    await jobs.tick();
    const thresholdInvoices = (await api.ok('GET', '/v1/invoices?limit=100')).data.filter((i: any) => i.billing_reason === 'threshold');
    expect(thresholdInvoices).toHaveLength(2);

    harness.clock.set('2026-04-01T00:00:05Z');
    const deps = jobs.deps;
    const start = new Date('2026-03-01T00:00:00Z');
    expect(await closePeriod(deps, tenant.tenantId, ids.single, start)).toBe('finalized');
    expect(await closePeriods(deps, tenant.tenantId, [{ customerId: ids.batched, start }])).toEqual({ drafted: 1, finalized: 1 });
    // A second run finds nothing to do.
    expect(await closePeriods(deps, tenant.tenantId, [{ customerId: ids.batched, start }])).toEqual({ drafted: 0, finalized: 0 });

    const invoiceOf = async (c: string) =>
      (await api.ok('GET', `/v1/invoices?customer_id=${c}&limit=100`)).data.find((i: any) => i.billing_reason === 'period_end' && i.period.start === start.toISOString());
    const single = await invoiceOf('single');
    const batched = await invoiceOf('batched');
    const comparable = (invoice: any, c: string) => ({
      status: invoice.status,
      kind: invoice.kind,
      total: invoice.total,
      total_exact: invoice.total_exact,
      plan: invoice.plan,
      finalized_at: invoice.finalized_at,
      lines: invoice.lines.map((l: any) => ({ ...l, description: l.description.replaceAll(c, 'C').replace(/INV-\d+/, 'INV-n'), grant_id: l.grant_id ? 'grant' : null })),
    });
    expect(comparable(batched, 'batched')).toEqual(comparable(single, 'single'));
    expect(single.lines.map((l: any) => l.kind)).toEqual(expect.arrayContaining(['base_fee', 'usage', 'allowance', 'discount', 'credit', 'minimum_true_up', 'sla_credit', 'progressive_billing']));
    expect(Number(batched.number.slice(4))).toBe(Number(single.number.slice(4)) + 1);

    // The same postings, and the next period open for both.
    const postingOf = async (invoice: any) => (await api.ok('GET', `/v1/ledger/transactions?reference=${invoice.id}`)).data.map((t: any) => t.entries.map((e: any) => [e.account.replace(/:[0-9a-f-]{36}$/, ':customer'), e.amount]));
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
});
