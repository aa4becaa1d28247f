import { z } from 'zod';
import { text } from './text.ts';

const countryCode = text(2).regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE' });
const regionCode = text(3).regex(/^[A-Z0-9]{1,3}$/, {
  message: 'must be a subdivision code in capitals without the country, e.g. ON',
});

export const registrationInput = z.strictObject({
  /** DE, GB, AU, CA (GST/HST), CA-QC (a province's own tax), EU (the One-Stop Shop), US (Stripe Tax). */
  jurisdiction: text(6).regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, {
    message: 'must be a country code, a country-region code (CA-QC), or EU',
  }),
  tax_id: text(64, { trim: true }).nullable().default(null),
});

export const updateTaxSettingsInput = z.strictObject({
  /** The seller's name and postal address as printed on invoices. */
  legal_name: text(300, { trim: true }),
  address: text(1000, { trim: true, controls: 'whitespace' }),
  /** Where the tenant is established. */
  country: countryCode,
  region: regionCode.nullable().default(null),
  prices_include_tax: z.boolean().default(false),
  stripe_tax: z.boolean().default(false),
  payment_terms_days: z.number().int().min(0).max(365).default(30),
  registrations: z.array(registrationInput).max(100).default([]),
});
export type UpdateTaxSettingsInput = z.infer<typeof updateTaxSettingsInput>;

const day = text(10).regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date such as 2026-01-01' });

export const taxReportInput = z.strictObject({
  /** First day of the period (UTC), inclusive. */
  from: day,
  /** Last day of the period (UTC), inclusive. */
  to: day,
});
export type TaxReportInput = z.infer<typeof taxReportInput>;
