// The event policy over HTTP: a EUR customer of a USD book, its events spread over March, USD->EUR rates supplied
// daily and intraday with a gap. The invoice waits (a clear error naming the first event without a rate, and a
// notification) until the gap is filled; then each event is converted at the rate in force at its timestamp, the
// lines equal a decimal.js computation made event by event from the acknowledged amounts, and the invoice and its
// document list every rate used with its source and date.
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { client, createProPlan, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const Reference = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });
const march = '2026-03-01T00:00:00.000Z';
const day = 86_400_000;

/** A small deterministic generator (the test's random cases are the same on every run). */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const rates = [
  { rate: '0.9012', as_of: '2026-02-27T00:00:00Z', source: 'ECB' },
  { rate: '0.90377', as_of: '2026-03-03T00:00:00Z', source: 'ECB' },
  { rate: '0.9101', as_of: '2026-03-05T12:30:00Z', source: 'treasury desk' },
  { rate: '0.8999', as_of: '2026-03-09T00:00:00Z', source: 'ECB' },
  // 2026-03-09 + 7 days: no rate from 2026-03-16T00:00:00.001Z until the gap is filled.
  { rate: '0.92', as_of: '2026-03-20T00:00:00Z', source: 'ECB' },
  { rate: '0.9333', as_of: '2026-03-27T00:00:00Z', source: 'ECB' },
  { rate: '0.9401', as_of: '2026-03-31T18:00:00Z', source: 'ECB' },
].map((r) => ({ base: 'USD', quote: 'EUR', ...r }));
const gapRate = { base: 'USD', quote: 'EUR', rate: '0.911', as_of: '2026-03-15T00:00:00Z', source: 'ECB' };

/** The rate in force at `at`: the latest supplied at or before it, at most 7 days old. */
function rateAt(supplied: typeof rates, at: number): string | undefined {
  const fresh = supplied
    .filter((r) => Date.parse(r.as_of) <= at && Date.parse(r.as_of) >= at - 7 * day)
    .sort((a, b) => Date.parse(b.as_of) - Date.parse(a.as_of));
  return fresh[0]?.rate;
}

describe("invoices converted at each event's time", () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  const acked: { at: number; amount: string; model: string }[] = [];

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await createProPlan(api);
    await api.ok('POST', '/v1/customers', { external_id: 'euro-co', currency: 'EUR' });
    await api.ok('POST', '/v1/customers/euro-co/subscriptions', { plan: 'pro', started_at: march });
    expect(await api.ok('PATCH', '/v1/currency_settings', { fx_policy: 'event' })).toMatchObject({
      fx_policy: 'event',
    });
    await api.ok('POST', '/v1/fx_rates', { rates });
    harness.clock.set('2026-03-31T23:00:00Z');
    const next = random(15);
    const events = Array.from({ length: 40 }, (_, i) => {
      const at = Date.parse(march) + Math.floor(next() * 31 * day);
      const count = 1 + Math.floor(next() * 3_000_000);
      return tokens(
        `ev-${i}`,
        'euro-co',
        count,
        new Date(at).toISOString(),
        i % 3 === 0 ? 'llama-3-8b' : 'llama-3-70b',
      );
    });
    // One event in the gap, so the invoice has to wait for it.
    events.push(tokens('ev-gap', 'euro-co', 777_777, '2026-03-17T06:00:00.000Z'));
    const results = await api.events(...events);
    results.forEach((r: any, i: number) => {
      expect(r.status).toBe('accepted');
      acked.push({ at: Date.parse(events[i].timestamp), amount: r.amount, model: events[i].properties.model });
    });
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it('waits with a clear error and a notification naming the first event without a rate', async () => {
    harness.clock.set('2026-04-01T00:00:05Z');
    await jobs.tick();
    const draft = await api.invoiceOf('euro-co', march);
    expect(draft).toMatchObject({ status: 'draft', currency: 'USD', fx: null });
    const firstWithout = acked
      .filter((e) => rateAt(rates, e.at) === undefined)
      .reduce((min, e) => Math.min(min, e.at), Infinity);
    expect(draft.fx_blocked).toEqual({
      code: 'fx_rate_missing',
      from: 'USD',
      to: 'EUR',
      at: new Date(firstWithout).toISOString(),
      policy: 'event',
    });
    const finalize = await api.call('POST', `/v1/invoices/${draft.id}/finalize`);
    expect(finalize.status).toBe(422);
    expect(finalize.body.error.code).toBe('fx_rate_missing');
    expect(finalize.body.error.message).toContain(`(policy event)`);
    const notices = await api.ok('GET', '/v1/notifications?type=invoice.finalization_blocked');
    expect(notices.data.map((n: any) => [n.customer_id, n.payload.policy, n.payload.error.code])).toEqual([
      ['euro-co', 'event', 'fx_rate_missing'],
    ]);
  });

  it('converts each event at the rate in force at its timestamp, exactly as a decimal.js sum event by event', async () => {
    await api.ok('POST', '/v1/fx_rates', { rates: [gapRate] });
    harness.clock.set('2026-04-01T00:02:00Z');
    await jobs.tick();
    const invoice = await api.invoiceOf('euro-co', march);
    expect(invoice).toMatchObject({ status: 'finalized', currency: 'EUR', fx_blocked: null });
    const supplied = [...rates, gapRate];
    const amount = acked.reduce((sum, e) => sum.plus(e.amount), new Reference(0));
    const converted = acked.reduce(
      (sum, e) => sum.plus(new Reference(e.amount).times(rateAt(supplied, e.at)!)),
      new Reference(0),
    );
    expect(new Reference(invoice.fx.events.amount).eq(amount)).toBe(true);
    expect(new Reference(invoice.fx.events.converted).eq(converted)).toBe(true);
    expect(invoice.fx).toMatchObject({ policy: 'event', method: 'events', from: 'USD', to: 'EUR' });
    expect(invoice.fx.period_end).toMatchObject({ rate: '0.9401', source: 'ECB', as_of: '2026-03-31T18:00:00.000Z' });
    // Every rate in force at some event is listed, with as many events as were converted at it.
    const used = new Map<string, number>();
    for (const e of acked) used.set(rateAt(supplied, e.at)!, (used.get(rateAt(supplied, e.at)!) ?? 0) + 1);
    const listed = new Map<string, number>();
    for (const r of invoice.fx.events.rates) listed.set(r.rate, (listed.get(r.rate) ?? 0) + r.events);
    expect(listed).toEqual(used);
    expect(used.size).toBeGreaterThan(4);
    // Intervals cut where the rate did not change are one entry.
    expect(invoice.fx.events.rates.length).toBe(used.size);
    // Each line: an event line at its own events' converted / amount (the model's events, converted one by one),
    // the base fee at the period end's rate; one rounding each.
    const lines = await api.ok('GET', `/v1/invoices/${invoice.id}`);
    for (const line of lines.lines) {
      const source = new Reference(line.amount_exact); // converted, nano-exact
      expect(source.decimalPlaces()).toBeLessThanOrEqual(9);
    }
    const detailed = await harness.database.owner`
      select kind, amount_exact::text, group_key, details from invoice_lines where invoice_id = ${invoice.id} order by line`;
    expect(detailed.filter((l: any) => l.kind === 'usage').map((l: any) => l.group_key.model)).toEqual([
      'llama-3-70b',
      'llama-3-8b',
    ]);
    for (const line of detailed) {
      const from = new Reference(line.details.fx.amount_exact);
      const own = acked.filter((e) => e.model === line.group_key?.model);
      const expected =
        line.kind === 'base_fee'
          ? from.times('0.9401')
          : own.reduce((sum, e) => sum.plus(new Reference(e.amount).times(rateAt(supplied, e.at)!)), new Reference(0));
      expect(own.reduce((sum, e) => sum.plus(e.amount), new Reference(0)).eq(line.kind === 'base_fee' ? 0 : from)).toBe(
        true,
      );
      expect(line.amount_exact).toBe(expected.toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN).toFixed(9));
    }
    // The models' events were not converted at one rate: the weighted rate of all the events would not give these.
    const [first] = detailed.filter((l: any) => l.kind === 'usage');
    expect(first.amount_exact).not.toBe(
      new Reference(first.details.fx.amount_exact)
        .times(converted)
        .div(amount)
        .toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN)
        .toFixed(9),
    );
    // The lines add up to the events converted one by one, to the lines' rounding, plus the base fee.
    const total = detailed.reduce((s: Decimal, l: any) => s.plus(l.amount_exact), new Reference(0));
    const expectedTotal = converted.plus(new Reference(100).times('0.9401'));
    expect(total.minus(expectedTotal).abs().lte(new Reference(detailed.length).times('0.0000000005'))).toBe(true);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });

  it("lists every rate, its source and date on the invoice's document", async () => {
    const invoice = await api.invoiceOf('euro-co', march);
    const response = await fetch(`${harness.url}/v1/invoices/${invoice.id}/html`, {
      headers: { authorization: `Bearer ${tenant.secretKey}` },
    });
    expect(response.status).toBe(200);
    const html = (await response.text()).replaceAll('&#39;', "'");
    expect(html).toContain("at the rate in force at each event's time (policy: event)");
    for (const r of invoice.fx.events.rates)
      expect(html).toContain(
        `${r.rate} (${r.source}, rate of ${r.as_of.endsWith('T00:00:00.000Z') ? r.as_of.slice(0, 10) : r.as_of.slice(0, 16) + 'Z'}) for ${r.events} event(s)`,
      );
    expect(html).toContain("Other charges at 0.9401 (ECB, rate of 2026-03-31T18:00Z), the period's end.");
    expect(html).toContain('treasury desk');
  });
});
