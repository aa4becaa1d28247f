// Billing answers that were wrong (issue 12, section 4), each driven through the public API with a frozen clock:
// a property a charge needs, currencies that do not match, customers read by Tariff's id, blocking limits at
// ingestion, late events into a period whose minimum was trued up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, gpuJob, startBillingScenario, tokens } from './fixtures.ts';
import { checkLedger } from './ledger-check.ts';

describe('billing answers', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-10T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('rejects an H100 event without gpu_count, naming it, and rates it with the default the book states', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'gpu-co', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/gpu-co/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const { gpu_count: _omitted, ...withoutCount } = gpuJob(
      'g-1',
      'gpu-co',
      1,
      3600,
      '2026-03-09T00:00:00Z',
    ).properties;
    const [missing, complete] = await api.events(
      { ...gpuJob('g-1', 'gpu-co', 1, 3600, '2026-03-09T00:00:00Z'), properties: withoutCount },
      gpuJob('g-2', 'gpu-co', 2, 3600, '2026-03-09T00:00:00Z'),
    );
    expect(missing).toMatchObject({
      status: 'rejected',
      error: { code: 'missing_property', field: 'properties.gpu_count' },
    });
    expect(missing.error.message).toContain('gpu_count');
    expect(complete).toMatchObject({ status: 'accepted', amount: '5.000000000' });
    // Nothing stored for the rejected one: it can be resent, corrected, under the same id.
    expect((await api.call('GET', '/v1/events/g-1/receipt')).status).toBe(404);

    // A book that states a default: one GPU unless the event says otherwise.
    const defaulted = structuredClone(billingBook) as any;
    defaulted.id = 'ai-platform-defaults';
    defaulted.versions[0].rate_cards[1].defaults = { gpu_count: '1' };
    await api.ok('POST', '/v1/price_books', { book: defaulted });
    await api.ok('POST', '/v1/customers', { external_id: 'gpu-default', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/gpu-default/price_book', {
      price_book: 'ai-platform-defaults',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const [rated] = await api.events({
      ...gpuJob('g-3', 'gpu-default', 1, 3600, '2026-03-09T00:00:00Z'),
      properties: withoutCount,
    });
    expect(rated).toMatchObject({ status: 'accepted', amount: '2.500000000' });
  });

  it("rates a customer in its books' one currency (converted on its invoices), refuses a book or plan in a third, and lets the billing currency change until something is billed in it", async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'euro-co', currency: 'EUR' });
    await api.ok('POST', '/v1/price_books', { book: { ...billingBook, id: 'ai-platform-jpy', currency: 'JPY' } });
    await api.ok('POST', '/v1/plans', {
      code: 'jpy-plan',
      name: 'JPY plan',
      price_book: 'ai-platform-jpy',
      interval: 'month',
    });
    // A EUR customer on a USD book: rated in USD, its invoices converted into EUR (test/billing/fx.test.ts).
    await api.ok('PUT', '/v1/customers/euro-co/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const refused = await api.call('PUT', '/v1/customers/euro-co/price_book', {
      price_book: 'ai-platform-jpy',
      effective_from: '2026-02-01T00:00:00Z',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'currency_mismatch', details: [{ field: 'price_book' }] });
    expect(refused.body.error.message).toBe(
      'Customer "euro-co" is rated in USD (its price books\' currency); price_book is in JPY',
    );
    const plan = await api.call('POST', '/v1/customers/euro-co/subscriptions', {
      plan: 'jpy-plan',
      started_at: '2026-03-10T00:00:00Z',
    });
    expect(plan.status).toBe(422);
    expect(plan.body.error).toMatchObject({ code: 'currency_mismatch', details: [{ field: 'plan' }] });
    // Only the USD book was assigned.
    expect((await api.ok('GET', '/v1/customers/euro-co')).price_book_assignments).toMatchObject([
      { price_book: 'ai-platform' },
    ]);

    // No invoice, no credit yet, and its book in the new currency: the billing currency may change.
    expect(await api.ok('PATCH', '/v1/customers/euro-co', { currency: 'USD' })).toMatchObject({ currency: 'USD' });
    // Now a USD book rates it: changing back to EUR is refused, naming the field and why.
    const locked = await api.call('PATCH', '/v1/customers/euro-co', { currency: 'EUR' });
    expect(locked.status).toBe(422);
    expect(locked.body.error).toMatchObject({ code: 'currency_locked', details: [{ field: 'currency' }] });
    expect(locked.body.error.details[0].reason).toContain('"ai-platform"');
    expect((await api.call('PATCH', '/v1/customers/euro-co', { currency: 'euro' })).body.error.details[0].field).toBe(
      'currency',
    );
    // The same currency again is no change at all.
    expect(await api.ok('PATCH', '/v1/customers/euro-co', { currency: 'USD' })).toMatchObject({ currency: 'USD' });
  });

  it('shows each meter the money of its own dimension, the meters of an event adding up to its charge', async () => {
    const chat = {
      id: 'chat',
      currency: 'USD',
      versions: [
        {
          effective_from: '2026-01-01T00:00:00Z',
          rate_cards: [
            {
              id: 'chat/model',
              match: { event_type: 'chat' },
              charges: [
                { dimension: 'input_tokens', price: { model: 'per_unit', rate: '1', per: '1000000' } },
                { dimension: 'output_tokens', price: { model: 'per_unit', rate: '3', per: '1000000' } },
              ],
            },
          ],
        },
      ],
    };
    await api.ok('POST', '/v1/price_books', { book: chat });
    await api.ok('POST', '/v1/meters', {
      code: 'input_tokens',
      name: 'input tokens',
      event_type: 'chat',
      aggregation: 'sum',
      property: 'input_tokens',
    });
    await api.ok('POST', '/v1/meters', {
      code: 'output_tokens',
      name: 'output tokens',
      event_type: 'chat',
      aggregation: 'sum',
      property: 'output_tokens',
    });
    await api.ok('POST', '/v1/customers', { external_id: 'chatter', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/chatter/price_book', {
      price_book: 'chat',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const event = (id: string, input: number, output: number) => ({
      transaction_id: id,
      customer_id: 'chatter',
      event_type: 'chat',
      timestamp: '2026-03-09T00:00:00Z',
      properties: { input_tokens: input, output_tokens: output },
    });
    // $1.00 of input and $6.00 of output; then $0.000001 of input and $0.000003 of output.
    const acks = await api.events(event('chat-1', 1_000_000, 2_000_000), event('chat-2', 1, 1));
    expect(acks.map((a) => a.amount)).toEqual(['7.000000000', '0.000004000']);
    const usage = await api.ok('GET', '/v1/customers/chatter/usage');
    const amounts = Object.fromEntries(usage.meters.map((m: any) => [m.name, m.groups[0].amount]));
    expect(amounts).toEqual({ 'input tokens': '1.000001000', 'output tokens': '6.000003000' });
    expect(usage.amount).toBe('7.000004000');
  });

  it('shows each meter its part of the charge both gross and net of credits, each adding up exactly to the event', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'chatter-credit', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/chatter-credit/price_book', {
      price_book: 'chat',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.ok('POST', '/v1/customers/chatter-credit/credit_grants', { kind: 'prepaid', amount: '2.00' });
    // $1.00 of input and $6.00 of output, $2.00 of it paid by credit: $5.00 left to bill, split 1:6.
    const [ack] = await api.events({
      transaction_id: 'chat-c1',
      customer_id: 'chatter-credit',
      event_type: 'chat',
      timestamp: '2026-03-09T00:00:00Z',
      properties: { input_tokens: 1_000_000, output_tokens: 2_000_000 },
    });
    expect(ack).toMatchObject({ amount: '5.000000000', credits_applied: '2.000000000' });
    const usage = await api.ok('GET', '/v1/customers/chatter-credit/usage');
    const byMeter = Object.fromEntries(
      usage.meters.map((m: any) => [
        m.name,
        [m.groups[0].gross_amount, m.groups[0].amount, m.groups[0].days[0].gross_amount, m.groups[0].days[0].amount],
      ]),
    );
    expect(byMeter).toEqual({
      'input tokens': ['1.000000000', '0.714285714', '1.000000000', '0.714285714'],
      // The remainder nano-unit goes to the larger remainder: 0.714285714 + 4.285714286 = 5.
      'output tokens': ['6.000000000', '4.285714286', '6.000000000', '4.285714286'],
    });
  });

  it('reads a customer by its Tariff id as well as by its external id', async () => {
    const created = await api.ok('POST', '/v1/customers', { external_id: 'by-id', currency: 'USD' });
    const byExternal = await api.ok('GET', '/v1/customers/by-id');
    const byId = await api.ok('GET', `/v1/customers/${created.id}`);
    expect(byId).toEqual(byExternal);
    expect((await api.ok('GET', `/v1/customers/${created.id.toUpperCase()}`)).external_id).toBe('by-id');
    // An external id that looks like another customer's id still names its own customer first.
    await api.ok('POST', '/v1/customers', { external_id: created.id, currency: 'EUR' });
    expect((await api.ok('GET', `/v1/customers/${created.id}`)).currency).toBe('EUR');
    expect((await api.call('GET', '/v1/customers/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('blocking limits at ingestion', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;

  // $0.02 per 1,000 tokens: 2,500 tokens are $0.05, 19,500 are $0.39.
  const at = (minute: number) => `2026-03-10T00:${String(minute).padStart(2, '0')}:00Z`;
  const subscribe = async (id: string) => {
    await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
    await api.ok('PUT', `/v1/customers/${id}/price_book`, {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
  };
  const notifications = async (type: string, customer: string) =>
    (await api.ok('GET', `/v1/notifications?type=${type}&customer_id=${customer}`)).data as any[];

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-10T01:00:00Z' });
    const tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('accepts the event that crosses a block budget, says which limit and by how much, and blocks the customer from then on', async () => {
    await subscribe('capped');
    await api.ok('PUT', '/v1/customers/capped/budget', { amount: '0.40', enforcement: 'block' });
    const [under, crossing] = await api.events(
      tokens('c-1', 'capped', 2_500, at(1)),
      tokens('c-2', 'capped', 19_500, at(2)),
    );
    expect(under).toMatchObject({ status: 'accepted', amount: '0.050000000' });
    expect(under.blocked).toBeUndefined();
    expect(crossing).toMatchObject({
      status: 'accepted',
      amount: '0.390000000',
      period_total: '0.440000000',
      blocked: [
        {
          code: 'budget_exceeded',
          limit: 'budget',
          limit_amount: '0.400000000',
          spend: '0.440000000',
          exceeded_by: '0.040000000',
        },
      ],
    });
    // The usage is kept and billed.
    expect((await api.ok('GET', '/v1/customers/capped/usage')).amount).toBe('0.440000000');
    // Blocked from that instant: the check, quotes and the SDK's snapshot.
    const check = await api.ok('POST', '/v1/customers/capped/check', { estimated_cost: '0.000000001' });
    expect(check).toMatchObject({
      allowed: false,
      reasons: [{ code: 'budget_exceeded' }],
      budget: { spend: '0.440000000', remaining: '-0.040000000' },
    });
    const quote = await api.call('POST', '/v1/quotes', { event: tokens('c-q', 'capped', 1, at(3)) });
    expect(quote.status).toBe(422);
    expect(quote.body.error).toMatchObject({ code: 'budget_exceeded', details: [{ field: 'event' }] });
    const snapshot = await api.ok('GET', '/v1/customers/capped/pricing-snapshot');
    expect(snapshot).toMatchObject({ spend: '0.440000000', budget: { amount: '0.400000000', enforcement: 'block' } });
    // One notification in the outbox, however many events cross after it.
    const [later] = await api.events(tokens('c-3', 'capped', 500, at(4)));
    expect(later.blocked).toEqual([expect.objectContaining({ code: 'budget_exceeded', exceeded_by: '0.050000000' })]);
    const sent = await notifications('budget.blocked', 'capped');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      customer_id: 'capped',
      payload: {
        transaction_id: 'c-2',
        code: 'budget_exceeded',
        exceeded_by: '0.040000000',
        period_start: '2026-03-01T00:00:00.000Z',
      },
    });
  });

  it('refuses instead when the request asks, storing nothing of the refused event and rating the rest without it', async () => {
    await subscribe('gateway');
    await api.ok('PUT', '/v1/customers/gateway/budget', { amount: '0.40', enforcement: 'block' });
    const acks = await api.refusing(
      tokens('r-1', 'gateway', 2_500, at(1)),
      tokens('r-2', 'gateway', 19_500, at(2)),
      tokens('r-3', 'gateway', 5_000, at(3)),
    );
    expect(acks.map((a) => [a.status, a.error?.code ?? a.period_total])).toEqual([
      ['accepted', '0.050000000'],
      ['rejected', 'budget_exceeded'],
      ['accepted', '0.150000000'],
    ]);
    expect(acks[1].error.message).toContain('0.440000000');
    expect((await api.call('GET', '/v1/events/r-2/receipt')).status).toBe(404);
    expect((await api.ok('GET', '/v1/customers/gateway/usage')).amount).toBe('0.150000000');
    expect(await notifications('budget.blocked', 'gateway')).toEqual([]);
    // Refused, it can be sent again later; accepted then (the default), it is flagged.
    const [resent] = await api.events(tokens('r-2', 'gateway', 19_500, at(4)));
    expect(resent).toMatchObject({
      status: 'accepted',
      blocked: [{ code: 'budget_exceeded', exceeded_by: '0.140000000' }],
    });
    const bad = await api.call('POST', '/v1/events', {
      events: [tokens('r-4', 'gateway', 1, at(5))],
      on_block: 'sometimes',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('on_block');
  });

  it('applies the same rule to a customer who blocks on depletion of credit', async () => {
    await subscribe('prepaid');
    await api.ok('PATCH', '/v1/customers/prepaid/wallet', { on_depletion: 'block' });
    await api.ok('POST', '/v1/customers/prepaid/credit_grants', { kind: 'prepaid', amount: '0.10' });
    // $0.30 against $0.10 of credit: accepted, $0.20 billed, flagged.
    const [flagged] = await api.events(tokens('p-1', 'prepaid', 15_000, at(1)));
    expect(flagged).toMatchObject({
      status: 'accepted',
      amount: '0.200000000',
      credits_applied: '0.100000000',
      credit_balance: '0.000000000',
      blocked: [
        {
          code: 'credits_exhausted',
          limit: 'credits',
          limit_amount: '0.100000000',
          spend: '0.300000000',
          exceeded_by: '0.200000000',
        },
      ],
    });
    expect(await notifications('credits.exhausted', 'prepaid')).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ transaction_id: 'p-1' }) }),
    ]);
    expect((await api.ok('POST', '/v1/customers/prepaid/check', { estimated_cost: '0.01' })).allowed).toBe(false);
    // Asked to refuse, ingestion rejects it whole, as the kernel's block policy does.
    const [refused] = await api.refusing(tokens('p-2', 'prepaid', 1_000, at(2)));
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'credits_exhausted' } });
    expect((await api.call('GET', '/v1/events/p-2/receipt')).status).toBe(404);
  });
});

describe('a late event into a period finalized with a minimum true-up', () => {
  it('shrinks the true-up instead of billing the event again: the period is billed max(minimum, usage) in all', async () => {
    const { harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z');
    try {
      await api.ok('POST', '/v1/price_books', { book: billingBook });
      await api.ok('POST', '/v1/plans', {
        code: 'committed',
        name: 'Committed',
        price_book: 'ai-platform',
        interval: 'month',
        minimum_spend: '50',
        invoice_grace_hours: 0,
      });
      await api.ok('POST', '/v1/customers', { external_id: 'committed-co', currency: 'USD' });
      await api.ok('POST', '/v1/customers/committed-co/subscriptions', {
        plan: 'committed',
        started_at: '2026-03-01T00:00:00Z',
      });
      harness.clock.set('2026-03-15T00:00:00Z');
      await api.events(tokens('t-1', 'committed-co', 500_000, '2026-03-10T00:00:00Z')); // $10.00
      harness.clock.set('2026-04-01T00:00:05Z');
      await jobs.tick();
      const march = await api.invoiceOf('committed-co', '2026-03-01T00:00:00.000Z');
      expect(march).toMatchObject({ status: 'finalized', total: '50.000000000' });
      expect(march.lines.map((l: any) => [l.kind, l.amount])).toEqual([
        ['usage', '10.000000000'],
        ['allowance', '0.000000000'],
        ['minimum_true_up', '40.000000000'],
      ]);

      // $5.00 late: inside the $40.00 true-up already billed, so nothing more is owed for March.
      harness.clock.set('2026-04-05T00:00:00Z');
      const [first] = await api.events(tokens('late-5', 'committed-co', 250_000, '2026-03-20T00:00:00Z'));
      expect(first).toMatchObject({ status: 'accepted', amount: '5.000000000' });
      // $45.00 late: $35.00 of it fills the rest of the true-up, $10.00 is owed on top.
      const [second] = await api.events(tokens('late-45', 'committed-co', 2_250_000, '2026-03-25T00:00:00Z'));
      expect(second).toMatchObject({ status: 'accepted', amount: '45.000000000' });
      // March's final invoice stays as it was.
      expect((await api.invoiceOf('committed-co', '2026-03-01T00:00:00.000Z')).total).toBe('50.000000000');

      // April has no usage: its own $50.00 true-up, plus March's adjustments netting $10.00.
      harness.clock.set('2026-05-01T00:00:05Z');
      await jobs.tick();
      const april = await api.invoiceOf('committed-co', '2026-04-01T00:00:00.000Z');
      expect(april.lines.map((l: any) => [l.kind, l.amount])).toEqual([
        ['minimum_true_up', '50.000000000'],
        ['adjustment', '5.000000000'],
        ['adjustment', '-5.000000000'],
        ['adjustment', '45.000000000'],
        ['adjustment', '-35.000000000'],
      ]);
      expect(april.lines[2].description).toContain(
        'Minimum true-up of the period from 2026-03-01T00:00:00.000Z reduced by late event late-5',
      );
      expect(april.total).toBe('60.000000000');
      // March billed in all: $60.00 of usage against a $50.00 minimum, so $60.00 (50.00 + the 10.00 on April's invoice).
      await checkLedger(harness.database.owner, tenant.tenantId);
    } finally {
      await jobs.stop();
      await harness.close();
    }
  });
});

describe('invoice amounts', () => {
  // Every amount of an invoice or credit note is in whole minor units of its currency, its exact figure beside it
  // under the same name with `_exact`; only prices and the plan's threshold are not invoice amounts.
  const notAmounts = new Set([
    'threshold',
    'unit_price',
    'quantity',
    'per',
    'event_count',
    'line',
    'invoice_line',
    'minor_unit',
  ]);
  // The tax and the lines net of it are computed from the rounded lines (tax/compute.ts, the jurisdiction's
  // rounding), so they have no figure before rounding: whole minor units, with no `_exact` twin.
  const fromRoundedLines = new Set(['subtotal', 'tax_amount']);
  const money = /^-?\d+\.\d{9}$/;
  const checkAmounts = (object: Record<string, any>, minorUnit: number, where: string) => {
    const paired: string[] = [];
    for (const [key, value] of Object.entries(object)) {
      if (typeof value !== 'string' || !money.test(value) || key.endsWith('_exact') || notAmounts.has(key)) continue;
      if (fromRoundedLines.has(key)) {
        expect(object[`${key}_exact`], `${where}.${key}_exact`).toBeUndefined();
        expect(value.split('.')[1].slice(minorUnit), `${where}.${key}`).toMatch(/^0+$/);
        continue;
      }
      const exact = object[`${key}_exact`];
      expect(exact, `${where}.${key}_exact`).toMatch(money);
      // Whole minor units, within one minor unit of the exact figure.
      expect(value.split('.')[1].slice(minorUnit), `${where}.${key}`).toMatch(/^0+$/);
      const nano = (s: string) => BigInt(s.replace('.', ''));
      const diff = nano(value) - nano(exact);
      expect(diff < 0n ? -diff : diff, `${where}.${key}`).toBeLessThan(10n ** BigInt(9 - minorUnit));
      paired.push(key);
    }
    return paired;
  };

  it('carries each invoice and credit note amount in minor units with its exact figure beside, under one naming rule', async () => {
    const { harness, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z');
    try {
      await api.ok('POST', '/v1/price_books', { book: billingBook });
      await api.ok('POST', '/v1/plans', {
        code: 'payg',
        name: 'Pay as you go',
        price_book: 'ai-platform',
        base_fee: '10',
        interval: 'month',
        invoice_grace_hours: 0,
      });
      await api.ok('POST', '/v1/customers', { external_id: 'minor-co', currency: 'USD' });
      await api.ok('POST', '/v1/customers/minor-co/subscriptions', {
        plan: 'payg',
        started_at: '2026-03-01T00:00:00Z',
      });
      harness.clock.set('2026-03-15T00:00:00Z');
      // $0.02 per 1,000 tokens: 1,234 tokens are $0.02468.
      await api.events(tokens('m-1', 'minor-co', 1_234, '2026-03-10T00:00:00Z'));
      harness.clock.set('2026-04-01T00:00:05Z');
      await jobs.tick();
      const invoice = await api.invoiceOf('minor-co', '2026-03-01T00:00:00.000Z');
      expect(invoice).toMatchObject({
        status: 'finalized',
        minor_unit: 2,
        total: '10.020000000',
        total_exact: '10.024680000',
        amount_due: '10.020000000',
        amount_due_exact: '10.024680000',
      });
      expect(checkAmounts(invoice, 2, 'invoice')).toEqual(['total', 'amount_due']);
      for (const line of invoice.lines) expect(checkAmounts(line, 2, `line ${line.line}`)).toEqual(['amount']);
      const note = await api.ok('POST', `/v1/invoices/${invoice.id}/credit_notes`, { reason: 'Cancelled' });
      expect(note).toMatchObject({ minor_unit: 2, total: '10.020000000' });
      expect(checkAmounts(note, 2, 'credit note')).toEqual(['total']);
      for (const line of note.lines) expect(checkAmounts(line, 2, `credit note line ${line.line}`)).toEqual(['amount']);
      // A read gives the same figures as the answer to the action.
      expect(await api.ok('GET', `/v1/invoices/${invoice.id}`)).toEqual(invoice);
    } finally {
      await jobs.stop();
      await harness.close();
    }
  });
});
