// The event policy for a reseller's own invoice: its lines are made by its children's events (its level of their
// chains), not by events of its own, and each line converts at the rates in force at the times of the events that
// make it. Two children use two models at opposite ends of a month whose USD->EUR rate climbs every day: each
// usage line equals a decimal.js sum, event by event, of the reseller-level amount x the rate of the event's time.
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TenantFixture } from '../service/harness.ts';
import { billingBook, client, startBillingScenario, tokens } from './fixtures.ts';
import type { Jobs } from './jobs-harness.ts';
import { checkLedger } from './ledger-check.ts';

const Reference = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });
const march = '2026-03-01T00:00:00.000Z';
const day = 86_400_000;
/** USD->EUR each day from February 25th: 0.9000, 0.9037, 0.9074, ... */
const rates = Array.from({ length: 36 }, (_, d) => ({
  base: 'USD',
  quote: 'EUR',
  rate: new Decimal('0.9').plus(new Decimal('0.0037').times(d)).toFixed(4),
  as_of: new Date(Date.parse('2026-02-25T00:00:00Z') + d * day).toISOString(),
  source: 'ECB',
}));
const rateAt = (at: number) =>
  rates.filter((r) => Date.parse(r.as_of) <= at).sort((a, b) => Date.parse(b.as_of) - Date.parse(a.as_of))[0].rate;

describe("a reseller's invoice converted at its children's events' times", () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  /** The children's events: when, how many tokens (0.02 USD per 1,000 at the reseller's level), which model. */
  const sent: { at: number; tokens: number; model: string }[] = [];

  beforeAll(async () => {
    ({ harness, tenant, api, jobs } = await startBillingScenario('2026-03-01T00:00:00Z'));
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('PATCH', '/v1/currency_settings', { fx_policy: 'event' });
    await api.ok('POST', '/v1/fx_rates', { rates });
    await api.ok('POST', '/v1/customers', { external_id: 'reseller', currency: 'EUR', is_reseller: true });
    await api.ok('PUT', '/v1/customers/reseller/price_book', {
      price_book: 'ai-platform',
      effective_from: '2020-01-01T00:00:00Z',
    });
    // The reseller sells at twice the price: its children's book, which it owns.
    await api.ok('POST', '/v1/price_books', {
      book: {
        ...billingBook,
        id: 'resale',
        versions: [
          {
            ...billingBook.versions[0],
            rate_cards: [
              {
                id: 'llm/tokens',
                match: { event_type: 'llm.completion' },
                charges: [{ dimension: 'tokens', price: { model: 'per_unit', rate: '0.04', per: '1000' } }],
              },
            ],
          },
        ],
      },
      owner_customer_id: 'reseller',
    });
    for (const child of ['early', 'late']) {
      await api.ok('POST', '/v1/customers', { external_id: child, currency: 'USD', parent_id: 'reseller' });
      await api.ok('PUT', `/v1/customers/${child}/price_book`, {
        price_book: 'resale',
        effective_from: '2020-01-01T00:00:00Z',
      });
    }
    harness.clock.set('2026-03-31T23:00:00Z');
    const events = [];
    for (let i = 0; i < 12; i++) {
      // "early" uses llama-3-8b in the first days, "late" llama-3-70b in the last: the lines' rates differ.
      const early = {
        at: Date.parse(march) + i * 5 * 3_600_000 + 1_000,
        tokens: 100_000 + i * 7_919,
        model: 'llama-3-8b',
      };
      const late = {
        at: Date.parse('2026-03-25T00:00:00Z') + i * 11 * 3_600_000,
        tokens: 90_000 + i * 6_007,
        model: 'llama-3-70b',
      };
      sent.push(early, late);
      events.push(
        tokens(`early-${i}`, 'early', early.tokens, new Date(early.at).toISOString(), early.model),
        tokens(`late-${i}`, 'late', late.tokens, new Date(late.at).toISOString(), late.model),
      );
    }
    for (const r of await api.events(...events)) expect(r.status).toBe('accepted');
  });
  afterAll(async () => {
    await jobs?.stop();
    await harness?.close();
  });

  it("converts each of the reseller's lines at the rates of its own chain events, exactly", async () => {
    harness.clock.set('2026-04-01T02:00:00Z');
    await api.ok('POST', '/v1/customers/reseller/periods/close', { period_start: march });
    const invoice = await api.invoiceOf('reseller', march);
    expect(invoice).toMatchObject({ status: 'finalized', currency: 'EUR', fx: { policy: 'event', method: 'events' } });
    const lines = await harness.database.owner`
      select kind, amount_exact::text, group_key, details from invoice_lines where invoice_id = ${invoice.id} order by line`;
    const usage = lines.filter((l: any) => l.kind === 'usage');
    expect(usage.map((l: any) => l.group_key.model)).toEqual(['llama-3-70b', 'llama-3-8b']);
    for (const line of usage) {
      const own = sent.filter((e) => e.model === line.group_key.model);
      // At the reseller's level an event costs 0.02 USD per 1,000 tokens.
      const amounts = own.map((e) => new Reference(e.tokens).times('0.00002'));
      expect(new Reference(line.details.fx.amount_exact).eq(amounts.reduce((a, b) => a.plus(b)))).toBe(true);
      const converted = own.reduce((sum, e, i) => sum.plus(amounts[i].times(rateAt(e.at))), new Reference(0));
      expect(line.amount_exact).toBe(converted.toDecimalPlaces(9, Decimal.ROUND_HALF_EVEN).toFixed(9));
    }
    // Early events at about 0.92, late ones at about 1.01: not one rate for both lines, nor the period end's.
    const [late, early] = usage.map((l: any) => new Reference(l.amount_exact).div(l.details.fx.amount_exact));
    expect([early.gt('0.914') && early.lt('0.93'), late.gt('1.0') && late.lt('1.03')]).toEqual([true, true]);
    // The invoice lists the children's events under the rates they were converted at.
    expect(invoice.fx.events.rates.reduce((n: number, r: any) => n + r.events, 0)).toBe(sent.length);
    await checkLedger(harness.database.owner, tenant.tenantId);
  });
});
