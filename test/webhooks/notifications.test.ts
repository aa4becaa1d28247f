// Every notification source over the public API with a frozen clock and the real pg-boss workers: each cause
// (a subscription, a period close batched or one at a time, a threshold invoice, a draft's grace running out,
// credit draws, a grant's expiry, budget alerts, blocks and their lifting, a re-rating) makes its notification,
// which reaches a receiving endpoint signed per Standard Webhooks (verified with the standardwebhooks package),
// exactly once, with the object's ids, decimal-string amounts and currency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingBook, startBillingScenario, tokens, type client } from '../billing/fixtures.ts';
import type { Jobs } from '../billing/jobs-harness.ts';
import type { Harness } from '../service/harness.ts';
import { startReceiver, verifyAt, type Receiver } from './receiver.ts';

process.env.WEBHOOK_ALLOW_PRIVATE = '1';
process.env.WEBHOOK_TIMEOUT_MS = '3000';

interface Delivered {
  id: string;
  type: string;
  data: any;
}

describe('notification sources', () => {
  let harness: Harness;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let receiver: Receiver;
  let secret: string;

  /** Every message the endpoint got, each verified with its signature (as at the instant it was signed). */
  const delivered = (): Delivered[] =>
    receiver.received.map((r) => {
      const body = verifyAt(secret, r, new Date(Number(r.timestamp) * 1000)) as { type: string; data: unknown };
      return { id: r.id, type: body.type, data: body.data };
    });
  /** The messages of a type whose data matches; one webhook-id never arrives twice (nothing is retried here). */
  const deliveredOf = (type: string, match: (data: any) => boolean = () => true) => {
    const all = delivered();
    expect(new Set(all.map((d) => d.id)).size, 'each webhook-id once').toBe(all.length);
    return all.filter((d) => d.type === type && match(d.data));
  };
  /** The billing tick records what is due (closes, finalizations, expiries, previews); the next one delivers it. */
  const deliver = async () => {
    await jobs.tick();
    await jobs.tick();
  };
  const version = (effectiveFrom: string, rate: string) => ({
    ...billingBook.versions[0],
    effective_from: effectiveFrom,
    rate_cards: [
      {
        ...billingBook.versions[0].rate_cards[0],
        charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate, per: '1000' } }],
      },
    ],
  });

  beforeAll(async () => {
    ({ harness, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    receiver = await startReceiver();
    secret = (await api.ok('POST', '/v1/webhook_endpoints', { url: `${receiver.url}/all` })).secret;
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/price_books', {
      book: { ...billingBook, id: 'rerated-book', versions: [version('2026-01-01T00:00:00Z', '0.02')] },
    });
    const plan = (code: string, extra: object) =>
      api.ok('POST', '/v1/plans', {
        code,
        name: code,
        price_book: 'ai-platform',
        interval: 'month',
        base_fee: '10',
        invoice_grace_hours: 0,
        ...extra,
      });
    await plan('monthly', {});
    await plan('monthly-plus', { base_fee: '20' });
    await plan('graced', { invoice_grace_hours: 24 });
    await plan('steps', { progressive_thresholds: ['50'] });
    for (const [customer, subscribed] of [
      ['closer', 'monthly'],
      ['amender', 'monthly'],
      ['graced-co', 'graced'],
      ['stepper', 'steps'],
    ]) {
      await api.ok('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${customer}/subscriptions`, {
        plan: subscribed,
        started_at: '2026-03-01T00:00:00Z',
      });
    }
  });
  afterAll(async () => {
    await jobs?.stop();
    await receiver?.close();
    await harness?.close();
  });

  it('sends subscription.created for each subscription and subscription.amended for an amendment', async () => {
    harness.clock.set('2026-03-10T00:00:00Z');
    const amendment = await api.ok('POST', '/v1/customers/amender/subscription/amendments', {
      effective_at: '2026-03-20T00:00:00Z',
      plan: 'monthly-plus',
    });
    await deliver();
    for (const customer of ['closer', 'amender', 'graced-co', 'stepper']) {
      const [created, ...again] = deliveredOf('subscription.created', (d) => d.customer_id === customer);
      expect(again).toEqual([]);
      expect(created.data).toMatchObject({ customer_id: customer, id: expect.any(String) });
    }
    expect(deliveredOf('subscription.amended')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          id: amendment.id,
          customer_id: 'amender',
          plan: 'monthly-plus',
          effective_at: '2026-03-20T00:00:00.000Z',
        }),
      }),
    ]);
  });

  it('sends invoice.created and invoice.finalized for threshold invoices, the batched close, a close by hand and a draft whose grace ran out', async () => {
    // $60 of usage crosses the $50 threshold: the tick issues a threshold invoice, created and finalized at once.
    await api.events(
      tokens('s-1', 'stepper', 3_000_000, '2026-03-09T00:00:00Z'),
      tokens('c-1', 'closer', 1_000_000, '2026-03-09T00:00:00Z'),
    );
    await api.ok('POST', '/v1/customers', { external_id: 'by-hand', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/by-hand/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.events(tokens('h-1', 'by-hand', 500_000, '2026-03-09T00:00:00Z'));
    await deliver();
    const threshold = (await api.ok('GET', '/v1/invoices?customer_id=stepper')).data[0];
    expect(threshold).toMatchObject({ billing_reason: 'threshold', status: 'finalized' });
    expect(deliveredOf('invoice.created', (d) => d.invoice_id === threshold.id)).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          status: 'draft',
          billing_reason: 'threshold',
          customer_id: 'stepper',
          currency: 'USD',
          total: '60.000000000',
          number: null,
        }),
      }),
    ]);
    expect(deliveredOf('invoice.finalized', (d) => d.invoice_id === threshold.id)).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          status: 'finalized',
          number: threshold.number,
          total: '60.000000000',
          threshold: '50.000000000',
        }),
      }),
    ]);

    // The usage-only customer's March closed by hand (one period, not the batch); the rest by the tick's batched close.
    harness.clock.set('2026-04-01T00:00:05Z');
    const [byHand] = (await api.ok('POST', '/v1/customers/by-hand/periods/close', {})).data;
    expect(byHand).toMatchObject({ status: 'draft', total: '10.000000000' });
    await deliver();
    const march = async (customer: string) => api.invoiceOf(customer, '2026-03-01T00:00:00.000Z');
    const closed = {
      closer: await march('closer'),
      amender: await march('amender'),
      stepper: await march('stepper'),
      graced: await march('graced-co'),
    };
    expect(closed.closer).toMatchObject({ status: 'finalized', total: '30.000000000' });
    expect(closed.graced).toMatchObject({ status: 'draft' });
    for (const invoice of [...Object.values(closed), byHand]) {
      expect(deliveredOf('invoice.created', (d) => d.invoice_id === invoice.id)).toHaveLength(1);
    }
    expect(deliveredOf('invoice.created', (d) => d.invoice_id === closed.closer.id)[0].data).toMatchObject({
      customer_id: 'closer',
      status: 'draft',
      billing_reason: 'period_end',
      currency: 'USD',
      total: '30.000000000',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
      finalize_at: '2026-04-01T00:00:00.000Z',
    });
    for (const invoice of [closed.closer, closed.amender, closed.stepper]) {
      expect(deliveredOf('invoice.finalized', (d) => d.invoice_id === invoice.id)).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({
            number: invoice.number,
            status: 'finalized',
            total: invoice.total,
            kind: 'invoice',
          }),
        }),
      ]);
    }
    expect(
      deliveredOf('invoice.finalized', (d) => d.invoice_id === closed.graced.id || d.invoice_id === byHand.id),
    ).toEqual([]);

    // Their grace runs out: the finalize jobs finalize them one at a time.
    harness.clock.set('2026-04-02T00:00:10Z');
    await deliver();
    for (const invoice of [closed.graced, byHand]) {
      const final = await api.ok('GET', `/v1/invoices/${invoice.id}`);
      expect(final.status).toBe('finalized');
      expect(deliveredOf('invoice.finalized', (d) => d.invoice_id === invoice.id)).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({ number: final.number, total: final.total, currency: 'USD' }),
        }),
      ]);
    }
    // Once per finalized invoice (the amender's March is two, split by its amendment), and never again.
    await deliver();
    const finalized = (await api.ok('GET', '/v1/invoices?limit=100')).data.filter((i: any) => i.status === 'finalized');
    expect(finalized.length).toBeGreaterThanOrEqual(7);
    expect(
      deliveredOf('invoice.finalized')
        .map((d) => d.data.invoice_id)
        .sort(),
    ).toEqual(finalized.map((i: any) => i.id).sort());
  });

  it('sends credits.low when a draw crosses the wallet threshold and credits.depleted when credit runs out, once each', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'drawer', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/drawer/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    const grant = await api.ok('POST', '/v1/customers/drawer/credit_grants', { kind: 'prepaid', amount: '10' });
    const refused = await api.call('PATCH', '/v1/customers/drawer/wallet', { low_balance_threshold: '-1' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].field).toBe('low_balance_threshold');
    expect(await api.ok('PATCH', '/v1/customers/drawer/wallet', { low_balance_threshold: '3' })).toMatchObject({
      on_depletion: 'overage',
      low_balance_threshold: '3.000000000',
    });
    // $5 (balance 5), $3 (balance 2: low), $1 (balance 1: still low, no second notice), $5 (balance 0: depleted).
    await api.events(tokens('d-1', 'drawer', 250_000, '2026-04-01T10:00:00Z'));
    await api.events(tokens('d-2', 'drawer', 150_000, '2026-04-01T11:00:00Z'));
    await api.events(tokens('d-3', 'drawer', 50_000, '2026-04-01T12:00:00Z'));
    await api.events(tokens('d-4', 'drawer', 250_000, '2026-04-01T13:00:00Z'));
    await deliver();
    expect(deliveredOf('credits.low')).toEqual([
      expect.objectContaining({
        data: {
          customer_id: 'drawer',
          currency: 'USD',
          balance: '2.000000000',
          previous_balance: '5.000000000',
          threshold: '3.000000000',
          transaction_id: 'd-2',
        },
      }),
    ]);
    expect(deliveredOf('credits.depleted')).toEqual([
      expect.objectContaining({
        data: {
          customer_id: 'drawer',
          currency: 'USD',
          balance: '0.000000000',
          previous_balance: '1.000000000',
          transaction_id: 'd-4',
        },
      }),
    ]);
    expect(
      (await api.ok('GET', '/v1/customers/drawer/wallet')).grants.find((g: any) => g.id === grant.id).balance,
    ).toBe('0.000000000');
  });

  it('sends credit_grant.expired with what lapsed when a grant expires', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'expirer', currency: 'USD' });
    const expiresAt = new Date(harness.clock.now().getTime() + 3_600_000).toISOString();
    const grant = await api.ok('POST', '/v1/customers/expirer/credit_grants', {
      kind: 'prepaid',
      amount: '7.5',
      expires_at: expiresAt,
    });
    harness.clock.set(new Date(harness.clock.now().getTime() + 2 * 3_600_000));
    await deliver();
    expect(deliveredOf('credit_grant.expired')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          grant_id: grant.id,
          customer_id: 'expirer',
          currency: 'USD',
          amount: '7.500000000',
          lapsed: '7.500000000',
          expires_at: expiresAt,
        }),
      }),
    ]);
  });

  it('sends budget.threshold_crossed at an alert threshold, and budget.unblocked once when a raised budget lifts the block', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'capped', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/capped/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.ok('PUT', '/v1/customers/capped/budget', { amount: '1', enforcement: 'block', thresholds: [50] });
    const at = new Date(harness.clock.now().getTime() - 60_000).toISOString();
    // $0.60: half the budget; then $1.20: past it, blocked.
    await api.events(tokens('b-1', 'capped', 30_000, at));
    const [crossing] = await api.events(tokens('b-2', 'capped', 30_000, at));
    expect(crossing.blocked).toEqual([expect.objectContaining({ code: 'budget_exceeded' })]);
    // Raising it to $2 lifts the block; raising it again tells nothing more.
    await api.ok('PUT', '/v1/customers/capped/budget', { amount: '2', enforcement: 'block', thresholds: [50] });
    await api.ok('PUT', '/v1/customers/capped/budget', { amount: '3', enforcement: 'block', thresholds: [50] });
    await deliver();
    expect(deliveredOf('budget.threshold_crossed')).toEqual([
      expect.objectContaining({
        data: {
          customer_id: 'capped',
          currency: 'USD',
          period_start: '2026-04-01T00:00:00.000Z',
          threshold_percent: 50,
          budget_amount: '1.000000000',
          spend: '0.600000000',
          scope: null,
        },
      }),
    ]);
    expect(deliveredOf('budget.blocked', (d) => d.customer_id === 'capped')).toHaveLength(1);
    expect(deliveredOf('budget.unblocked')).toEqual([
      expect.objectContaining({
        data: {
          customer_id: 'capped',
          currency: 'USD',
          period_start: '2026-04-01T00:00:00.000Z',
          spend: '1.200000000',
          budget: { amount: '2.000000000', enforcement: 'block' },
          reason: 'budget_raised',
        },
      }),
    ]);
    // The check agrees the block is lifted.
    expect((await api.ok('POST', '/v1/customers/capped/check', { estimated_cost: '0.1' })).allowed).toBe(true);
  });

  it('sends rerating.previewed and rerating.applied with the re-rating', async () => {
    await api.ok('POST', '/v1/customers', { external_id: 'rerated', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/rerated/price_book', {
      price_book: 'rerated-book',
      effective_from: '2026-01-01T00:00:00Z',
    });
    await api.events(tokens('r-1', 'rerated', 1_000_000, '2026-04-01T06:00:00Z'));
    await api.ok('POST', '/v1/price_books/rerated-book/versions', {
      version: version('2026-04-01T00:00:00Z', '0.01'),
      retroactive: true,
    });
    await deliver();
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=rerated-book')).data;
    expect(rerating.status).toBe('previewed');
    expect(deliveredOf('rerating.previewed')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ id: rerating.id, price_book: 'rerated-book', status: 'previewed' }),
      }),
    ]);
    const [previewed] = deliveredOf('rerating.previewed');
    expect(previewed.data.preview.customers).toEqual([
      expect.objectContaining({
        customer_id: 'rerated',
        old_amount: '20.000000000',
        new_amount: '10.000000000',
        difference: '-10.000000000',
      }),
    ]);
    await api.ok('POST', `/v1/reratings/${rerating.id}/approve`);
    await deliver();
    expect(deliveredOf('rerating.applied')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ id: rerating.id, status: 'applied' }) }),
    ]);
    expect(deliveredOf('rerating.previewed')).toHaveLength(1);
  });
});
