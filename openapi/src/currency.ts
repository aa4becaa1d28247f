// The currency part of the OpenAPI document: settings, FX rates (one by one or an ECB file) and the revenue
// and margin report. Merged into document.ts like billing.ts; bodies and queries come from the zod schemas.
import {
  fxPolicies,
  importEcbQuery,
  listRatesInput,
  revenueReportInput,
  supplyRatesInput,
  updateSettingsInput,
} from './schemas/currency.ts';
import {
  type Operation,
  type Schema,
  fromZod,
  queryParams,
  instant,
  money,
  nullable,
  object,
  ref,
  string,
  described,
} from './schema.ts';

const integer: Schema = { type: 'integer' };
const rate: Schema = {
  type: 'string',
  pattern: '^[0-9]+(\\.[0-9]+)?$',
  description: '1 base = rate quote, a decimal string.',
};

const conversionRule =
  "Conversion: each line's exact amount x the rate, rounded half-even once to the nano-unit, then the lines are rounded to the billing currency's minor unit as any invoice's. " +
  "A pair neither supplied nor its inverse is crossed through EUR (the ECB's base): rate(A->B) = rate(EUR->B) / rate(EUR->A); a derived rate (inverse or cross) is rounded half-even to 15 significant digits, and that is the rate stated. " +
  "A rate is in force from its as_of until the pair's next one, for at most 7 days.";

const eventRule =
  "The event policy: each event is converted at the rate in force at its timestamp (rates change only at a leg's as_of, or 7 days after it); " +
  'the events of each rate interval are summed (what they left to bill) and converted exactly; each event line (usage, allowance, discount, commitment, credit) ' +
  "is converted at its own events' converted / amount (`lines`: for a reseller, its level of its children's events), rounded half-even once to the nano-unit, " +
  "or at all the events' when none is keyed to it; the other lines at the period end's rate.";

export const currencySchemas: Record<string, Schema> = {
  FxConversion: object(
    {
      from: string,
      to: string,
      rate,
      source: string,
      as_of: described(instant, "The rate's own time (the older leg's, for a cross rate)."),
      policy: described(
        { type: 'string', enum: [...fxPolicies, 'issue'] },
        "The tenant's policy, or issue: converted when issued (a credit grant given in the billing currency).",
      ),
      at: described(instant, 'The instant the policy asked a rate for.'),
      method: described(
        { type: 'string', enum: ['direct', 'inverse', 'cross_eur', 'events'] },
        "events: the event policy's weighted rate (the events' converted amount / their amount, shown to 15 digits); `events` lists the rates.",
      ),
      legs: { type: 'array', items: object({ base: string, quote: string, rate, as_of: instant, source: string }) },
      amount_given: described(money, "A credit grant's: the amount given, in the billing currency, before conversion."),
      events: described(
        object(
          {
            rates: {
              type: 'array',
              items: object({
                rate,
                source: string,
                as_of: instant,
                method: { type: 'string', enum: ['direct', 'inverse', 'cross_eur'] },
                first_event_at: instant,
                last_event_at: instant,
                events: integer,
                amount: described(string, 'What those events left to bill, in the source currency.'),
                converted: described(string, 'amount x rate, exact (not rounded), in the target currency.'),
              }),
            },
            amount: string,
            converted: string,
            lines: described(
              {
                type: 'object',
                additionalProperties: object({
                  amount: described(string, "What the line's events brought to it, in the source currency."),
                  converted: described(string, 'Their exact conversion (not rounded), in the target currency.'),
                }),
              },
              "Each event line's own events, by the line's key: the line converts at converted / amount.",
            ),
          },
          ['lines'],
        ),
        eventRule,
      ),
      period_end: described(
        nullable(ref('FxConversion')),
        'The event policy: the rate of the period end, for the lines no event made (base fee, true-up, SLA credits, adjustments).',
      ),
    },
    ['at', 'method', 'legs', 'amount_given', 'events', 'period_end'],
  ),
  CurrencySettings: object({
    reporting_currency: string,
    fx_policy: described(
      { type: 'string', enum: [...fxPolicies] },
      "Which instant's rate converts an invoice: each event's time, the period's end, or the finalization.",
    ),
    updated_at: nullable(instant),
  }),
  FxRate: object({
    base: string,
    quote: string,
    rate,
    as_of: instant,
    source: string,
    created_at: instant,
    updated_at: instant,
  }),
  FxRateList: object({ data: { type: 'array', items: ref('FxRate') }, has_more: { type: 'boolean' } }),
  FxRateImport: object(
    {
      days: described(integer, 'Days (rows) of the ECB file.'),
      rates: integer,
      inserted: integer,
      replaced: described(integer, 'Rates for a pair and instant already stored, replaced.'),
      pairs: { type: 'array', items: string },
      from: nullable(instant),
      to: nullable(instant),
    },
    ['days'],
  ),
  RevenueReport: object({
    reporting_currency: string,
    from: instant,
    to: instant,
    totals: object({
      revenue: money,
      cost: money,
      margin: money,
      invoices: integer,
      converted: described(integer, 'Invoices converted and summed; the others are in missing_rates.'),
    }),
    invoices: {
      type: 'array',
      items: object({
        id: { type: 'string', format: 'uuid' },
        number: string,
        customer_id: string,
        billing_reason: string,
        finalized_at: instant,
        currency: string,
        revenue: money,
        cost_currency: string,
        cost: money,
        reporting: nullable(object({ revenue: money, cost: money, margin: money })),
        rates: { type: 'array', items: ref('FxConversion') },
      }),
    },
    missing_rates: {
      type: 'array',
      items: object({ from: string, to: string, at: instant, invoice_id: { type: 'string', format: 'uuid' } }),
    },
  }),
};

export const currencyRoutes: Record<string, Record<string, Operation>> = {
  '/v1/currency_settings': {
    get: {
      summary: "The tenant's reporting currency and conversion policy",
      operationId: 'getCurrencySettings',
      ok: [200, 'CurrencySettings'],
    },
    patch: {
      summary: 'Set the reporting currency or the conversion policy',
      operationId: 'updateCurrencySettings',
      body: fromZod(updateSettingsInput),
      ok: [200, 'CurrencySettings'],
    },
  },
  '/v1/fx_rates': {
    get: {
      summary: "FX rates, newest first (or, with `at`, each pair's rate in force then)",
      operationId: 'listFxRates',
      ok: [200, 'FxRateList'],
      params: queryParams(listRatesInput),
    },
    post: {
      summary: 'Supply dated FX rates (all or none)',
      operationId: 'supplyFxRates',
      description:
        conversionRule +
        ' A rate for a pair and instant already stored is replaced; invoices keep the rate they were converted with.',
      body: fromZod(supplyRatesInput),
      ok: [201, 'FxRateImport'],
    },
  },
  '/v1/fx_rates/ecb': {
    post: {
      summary: 'Import an ECB euro reference-rate file (eurofxref.csv or eurofxref-hist.csv), all or none',
      operationId: 'importEcbRates',
      description:
        'The body is the file (Content-Type: text/csv), or JSON `{ "csv": "...", "source": "ecb" }`: a header `Date,USD,JPY,...`, one row per day, `N/A` where a currency is not quoted. Each rate applies from its date\'s 00:00 UTC. Any malformed row: 400 invalid_rate_file naming every problem by line and column, and nothing is stored.',
      bodyType: 'text/csv',
      body: { type: 'string' },
      ok: [201, 'FxRateImport'],
      params: queryParams(importEcbQuery),
    },
  },
  '/v1/reports/revenue': {
    get: {
      summary:
        'Revenue and margin of the invoices finalized in a time range, in the reporting currency, with the rates used',
      operationId: 'reportRevenue',
      description:
        "Each invoice is converted at the rate in force when it was finalized (direct, inverse or through EUR). Revenue is the sum of its lines; cost the COGS of its period's rated events (period-end invoices). `format=csv` answers text/csv.",
      ok: [200, 'RevenueReport'],
      params: queryParams(revenueReportInput),
    },
  },
};
