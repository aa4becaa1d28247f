// Progressive billing over HTTP with a frozen clock: a plan with thresholds at $50 and $120 of usage; the billing
// tick issues a threshold invoice (finalized, numbered) when the running period's charges cross one, the next
// one bills only what the first did not, and the period-end invoice deducts both. Also the minimum commitment
// true-up at period end, per period and per contract term (over all the term's periods, at its last one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractTermEndingAt } from '../../service/src/domains/invoices/build.ts';
import { crossedThreshold } from '../../service/src/domains/invoices/service.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { startJobRunner, type Jobs } from './jobs-harness.ts';
import { checkLedger, nano } from './ledger-check.ts';

describe('progressive billing', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;

  const invoicesOf = async (customer: string) =>
    (await api.ok('GET', `/v1/invoices?customer_id=${customer}&limit=100`)).data as any[];
  const summary = (invoice: any) => invoice.lines.map((l: any) => [l.kind, l.amount]);

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/customers', { external_id: 'fast-grower', currency: 'USD' });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('refuses thresholds that are not ascending positive amounts, naming the field', async () => {
    const bad = await api.call('POST', '/v1/plans', {
      code: 'bad',
      name: 'Bad',
      price_book: 'ai-platform',
      interval: 'month',
      progressive_thresholds: ['100', '50'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('progressive_thresholds');
    const zero = await api.call('POST', '/v1/plans', {
      code: 'bad',
      name: 'Bad',
      price_book: 'ai-platform',
      interval: 'month',
      progressive_thresholds: ['0'],
    });
    expect(zero.status).toBe(400);
    expect(zero.body.error.details[0].field).toBe('progressive_thresholds.0');
  });

  it('issues a threshold invoice when the period crosses a threshold, and the period-end invoice deducts what they billed', async () => {
    const plan = await api.ok('POST', '/v1/plans', {
      code: 'progressive',
      name: 'Progressive',
      price_book: 'ai-platform',
      base_fee: '20',
      interval: 'month',
      invoice_grace_hours: 0,
      progressive_thresholds: ['50', '120'],
    });
    expect(plan.progressive_thresholds).toEqual(['50.000000000', '120.000000000']);
    await api.ok('POST', '/v1/customers/fast-grower/subscriptions', {
      plan: 'progressive',
      started_at: '2026-03-01T00:00:00Z',
    });

    // $40 of usage: below the first threshold, nothing is issued.
    harness.clock.set('2026-03-05T00:00:00Z');
    await api.events(tokens('p-1', 'fast-grower', 2_000_000, '2026-03-04T00:00:00Z'));
    await jobs.tick();
    expect(await invoicesOf('fast-grower')).toEqual([]);

    // $60: the $50 threshold is crossed; the next tick issues a finalized, numbered invoice for the charges so far.
    harness.clock.set('2026-03-10T00:00:00Z');
    await api.events(tokens('p-2', 'fast-grower', 1_000_000, '2026-03-09T00:00:00Z'));
    await jobs.tick();
    const [first] = await invoicesOf('fast-grower');
    expect(first).toMatchObject({
      billing_reason: 'threshold',
      threshold: '50.000000000',
      status: 'finalized',
      kind: 'invoice',
      total: '60.000000000',
      amount_due: '60.000000000',
      finalized_at: '2026-03-10T00:00:00.000Z',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    });
    expect(first.number).toMatch(/^INV-\d{6}$/);
    // Charges so far only: no base fee (billed at period end). The card names a pool the plan does not fill: 0 covered.
    expect(summary(first)).toEqual([
      ['usage', '60.000000000'],
      ['allowance', '0.000000000'],
    ]);
    // Another tick with no new crossing issues nothing more.
    await jobs.tick();
    expect(await invoicesOf('fast-grower')).toHaveLength(1);

    // $140: the $120 threshold; the second threshold invoice bills the charges so far less the first.
    harness.clock.set('2026-03-20T00:00:00Z');
    await api.events(tokens('p-3', 'fast-grower', 4_000_000, '2026-03-19T00:00:00Z'));
    await jobs.tick();
    const second = (await invoicesOf('fast-grower')).find((i) => i.threshold === '120.000000000');
    expect(second).toMatchObject({ billing_reason: 'threshold', status: 'finalized', total: '80.000000000' });
    expect(summary(second)).toEqual([
      ['usage', '140.000000000'],
      ['allowance', '0.000000000'],
      ['progressive_billing', '-60.000000000'],
    ]);
    expect(second.lines[2].description).toBe(`Billed on threshold invoice ${first.number} (threshold 50.000000000)`);
    expect(Number(second.number.slice(4))).toBe(Number(first.number.slice(4)) + 1);

    // $150 by the end; the period-end invoice: base fee + all usage - both threshold invoices.
    harness.clock.set('2026-03-26T00:00:00Z');
    const [late] = await api.events(tokens('p-4', 'fast-grower', 500_000, '2026-03-25T00:00:00Z'));
    expect(late).toMatchObject({ status: 'accepted', amount: '10.000000000' });
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const last = (await invoicesOf('fast-grower')).find((i) => i.billing_reason === 'period_end');
    expect(last).toMatchObject({
      status: 'finalized',
      threshold: null,
      total: '30.000000000',
      amount_due: '30.000000000',
    });
    expect(summary(last)).toEqual([
      ['base_fee', '20.000000000'],
      ['usage', '150.000000000'],
      ['allowance', '0.000000000'],
      ['progressive_billing', '-60.000000000'],
      ['progressive_billing', '-80.000000000'],
    ]);
    expect(Number(last.number.slice(4))).toBe(Number(second.number.slice(4)) + 1);

    // Everything billed once: the receivable is the base fee plus all usage, across the three invoices.
    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    const receivable = [...balances].find(([code]) => code.startsWith('receivable:'))!;
    expect(receivable[1]).toBe(nano('170'));
    expect(balances.get('revenue:usage:USD')).toBe(-nano('150'));
    expect(balances.get('revenue:subscription:USD')).toBe(-nano('20'));

    // Deducted by a final invoice, a threshold invoice can no longer be voided (its charges would be billed nowhere).
    const voided = await api.call('POST', `/v1/invoices/${second.id}/void`, { reason: 'x' });
    expect(voided.status).toBe(409);
    expect(voided.body.error.code).toBe('invoice_deducted');
    // A threshold invoice is an ordinary finalized invoice: it can be paid.
    expect(await api.ok('POST', `/v1/invoices/${first.id}/pay`, {})).toMatchObject({
      status: 'paid',
      amount_due: '0.000000000',
    });
  });

  it('trues up a minimum commitment at period end: the shortfall is its own line, usage above it has none', async () => {
    harness.clock.set('2026-04-01T00:00:10Z');
    await api.ok('POST', '/v1/plans', {
      code: 'committed',
      name: 'Committed',
      price_book: 'ai-platform',
      interval: 'month',
      minimum_spend: '50',
      invoice_grace_hours: 0,
    });
    for (const id of ['under-commit', 'over-commit']) {
      await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${id}/subscriptions`, {
        plan: 'committed',
        started_at: '2026-04-01T00:00:00Z',
        discount_percent: '10',
      });
    }
    harness.clock.set('2026-04-15T00:00:00Z');
    // $40 list, 10% off: $36 counts toward the $50 minimum. 3M tokens: $60 list, $54 net, above it.
    await api.events(tokens('c-1', 'under-commit', 2_000_000, '2026-04-10T00:00:00Z'));
    await api.events(tokens('c-2', 'over-commit', 3_000_000, '2026-04-10T00:00:00Z'));
    const receipt = (await api.ok('GET', '/v1/events/c-1/receipt')).receipt;
    expect(receipt.find((s: any) => s.step === 'commitment')).toMatchObject({
      mode: 'postpaid',
      amount: '36.000000000',
      consumed: '36.000000000',
    });

    harness.clock.set('2026-05-01T00:00:05Z');
    await jobs.tick();
    const [underInvoice] = (await invoicesOf('under-commit')).filter(
      (i) => i.period.start === '2026-04-01T00:00:00.000Z',
    );
    expect(underInvoice).toMatchObject({ status: 'finalized', total: '50.000000000' });
    expect(summary(underInvoice)).toEqual([
      ['usage', '40.000000000'],
      ['allowance', '0.000000000'],
      ['discount', '-4.000000000'],
      ['minimum_true_up', '14.000000000'],
    ]);
    expect(underInvoice.lines[3].description).toBe('Minimum spend true-up (minimum 50.000000000, usage 36.000000000)');
    const [overInvoice] = (await invoicesOf('over-commit')).filter(
      (i) => i.period.start === '2026-04-01T00:00:00.000Z',
    );
    expect(overInvoice.total).toBe('54.000000000');
    expect(overInvoice.lines.map((l: any) => l.kind)).not.toContain('minimum_true_up');
    // The true-up is minimum-commitment revenue in the ledger.
    const posting = (await api.ok('GET', `/v1/ledger/transactions?reference=${underInvoice.id}`)).data[0];
    expect(posting.entries).toContainEqual({ account: 'revenue:minimum_commitment:USD', amount: '-14.000000000' });
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it("trues up a commitment per contract term at the close of the term's last period, over all its periods", async () => {
    harness.clock.set('2026-05-01T00:00:10Z');
    const bad = await api.call('POST', '/v1/plans', {
      code: 'bad-term',
      name: 'Bad',
      price_book: 'ai-platform',
      interval: 'month',
      term_commitment: { minimum_spend: '300', periods: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('term_commitment.periods');
    const plan = await api.ok('POST', '/v1/plans', {
      code: 'quarterly-commit',
      name: 'Quarterly commit',
      price_book: 'ai-platform',
      interval: 'month',
      invoice_grace_hours: 0,
      term_commitment: { minimum_spend: '300', periods: 3 },
    });
    expect(plan.term_commitment).toEqual({ minimum_spend: '300.000000000', periods: 3 });
    await api.ok('POST', '/v1/customers', { external_id: 'term-co', currency: 'USD' });
    await api.ok('POST', '/v1/customers/term-co/subscriptions', {
      plan: 'quarterly-commit',
      started_at: '2026-05-01T00:00:00Z',
    });
    // $50 in May, $80 in June, $100 in July: $230 over the term, $70 short of $300.
    const months = [
      ['2026-05', 2_500_000],
      ['2026-06', 4_000_000],
      ['2026-07', 5_000_000],
    ] as const;
    const totals: string[] = [];
    for (const [i, [month, count]] of months.entries()) {
      harness.clock.set(`${month}-20T00:00:00Z`);
      await api.events(tokens(`term-${i}`, 'term-co', count, `${month}-10T00:00:00Z`));
      const next = i === 2 ? '2026-08' : months[i + 1][0];
      harness.clock.set(`${next}-01T00:00:05Z`);
      await jobs.tick();
      const invoice = (await invoicesOf('term-co')).find((inv) => inv.period.start === `${month}-01T00:00:00.000Z`);
      totals.push(invoice.total);
      if (i < 2) expect(invoice.lines.map((l: any) => l.kind)).not.toContain('minimum_true_up');
      else {
        expect(invoice.lines.at(-1)).toMatchObject({
          kind: 'minimum_true_up',
          description: 'Term commitment true-up (2026-05-01 to 2026-08-01: minimum 300.000000000, usage 230.000000000)',
          amount: '70.000000000',
        });
      }
    }
    expect(totals).toEqual(['50.000000000', '80.000000000', '170.000000000']);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it('places contract terms on anchor boundaries from the subscription start (pure)', () => {
    const cadence = { interval: 'month' as const, anchorDay: 1 };
    // Started mid-month: the partial first period counts as one of the three.
    expect(
      contractTermEndingAt(new Date('2026-01-15T00:00:00Z'), cadence, 3, new Date('2026-03-01T00:00:00Z')),
    ).toBeUndefined();
    expect(
      contractTermEndingAt(new Date('2026-01-15T00:00:00Z'), cadence, 3, new Date('2026-04-01T00:00:00Z')),
    ).toEqual({ start: new Date('2026-01-15T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') });
    expect(
      contractTermEndingAt(new Date('2026-01-15T00:00:00Z'), cadence, 3, new Date('2026-07-01T00:00:00Z')),
    ).toEqual({ start: new Date('2026-04-01T00:00:00Z'), end: new Date('2026-07-01T00:00:00Z') });
    // A period cut inside a month (an amendment) does not end a term.
    expect(
      contractTermEndingAt(new Date('2026-01-01T00:00:00Z'), cadence, 2, new Date('2026-02-15T00:00:00Z')),
    ).toBeUndefined();
  });

  it('picks the highest threshold reached above those invoiced (pure)', () => {
    const t = [50n, 120n, 300n];
    expect(crossedThreshold(t, 49n, [])).toBeUndefined();
    expect(crossedThreshold(t, 50n, [])).toBe(50n);
    expect(crossedThreshold(t, 200n, [])).toBe(120n);
    expect(crossedThreshold(t, 200n, [120n])).toBeUndefined();
    expect(crossedThreshold(t, 400n, [50n])).toBe(300n);
  });
});
