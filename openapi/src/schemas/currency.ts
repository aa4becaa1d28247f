import { z } from 'zod';
import { text } from './text.ts';
import { currencyCode } from './iso4217.ts';

export { currencyCode };

export const fxPolicies = ['event', 'period_end', 'finalization'] as const;

const ratePattern = /^\d{1,12}(\.\d{1,18})?$/;

/** What is wrong with a rate's text ("1 base = rate quote"), or undefined when it is a valid rate. */
export function rateProblem(value: string): string | undefined {
  if (!ratePattern.test(value))
    return 'must be a decimal such as "1.0834" (up to 12 digits before the point and 18 after, no sign or exponent)';
  if (!/[1-9]/.test(value)) return 'must be greater than zero';
  return undefined;
}

export const rateText = text(40, {
  typeError: 'must be a string such as "1.0834": rates are decimal strings, never JSON numbers',
}).refine((value) => rateProblem(value) === undefined, { error: (issue) => rateProblem(String(issue.input)) });

const instant = z.iso.datetime({ offset: true });
const source = text(100, { trim: true });

export const fxRateInput = z
  .strictObject({
    base: currencyCode,
    quote: currencyCode,
    /** 1 base = rate quote. */
    rate: rateText,
    /** From when the rate is in force (until the pair's next rate). */
    as_of: instant,
    /** Where the rate comes from, stated on the invoices it converts, e.g. "ecb" or "bank". */
    source,
  })
  .refine((r) => r.base !== r.quote, { path: ['quote'], message: 'must differ from base' });

export const supplyRatesInput = z.strictObject({ rates: z.array(fxRateInput).min(1).max(10_000) });
export type SupplyRatesInput = z.infer<typeof supplyRatesInput>;

export const listRatesInput = z.strictObject({
  base: currencyCode.optional(),
  quote: currencyCode.optional(),
  /** Rates in force at this instant (each pair's latest at or before it), instead of the history. */
  at: instant.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ListRatesInput = z.infer<typeof listRatesInput>;

/** An ECB reference-rate file (eurofxref.csv or eurofxref-hist.csv), up to 16 MiB. */
export const importEcbInput = z.strictObject({
  csv: text(16 * 1024 * 1024, { min: 1, controls: 'whitespace' }),
  source: source.default('ecb'),
});
export type ImportEcbInput = z.infer<typeof importEcbInput>;

export const importEcbQuery = z.strictObject({ source: source.default('ecb') });

export const updateSettingsInput = z.strictObject({
  reporting_currency: currencyCode.optional(),
  /** Which instant's rate converts an invoice: the period's end or the finalization (each event's time: not yet, 422). */
  fx_policy: z.enum(fxPolicies).optional(),
});
export type UpdateSettingsInput = z.infer<typeof updateSettingsInput>;

export const revenueReportInput = z
  .strictObject({
    /** Invoices finalized from this instant (inclusive) ... */
    from: instant,
    /** ... to this one (exclusive). */
    to: instant,
    format: z.enum(['json', 'csv']).default('json'),
  })
  .refine((r) => new Date(r.from).getTime() < new Date(r.to).getTime(), {
    path: ['to'],
    message: 'must be after from',
  });
export type RevenueReportInput = z.infer<typeof revenueReportInput>;
