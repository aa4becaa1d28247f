// ISO 4217 currencies and their minor units (the exponent: how many decimals the smallest unit has), from the
// `currency-codes` package (ISO 4217 list one, its publish date in `isoPublishDate`). Invoices round to ISO's
// minor unit, not to CLDR's display digits (Intl shows 0 decimals for IDR and HUF cash, ISO says 2).
import currencyCodes from 'currency-codes';
import { z } from 'zod';
import { text } from './text.ts';

/**
 * Codes whose ISO minor unit is "N.A." (funds, precious metals, testing, "no currency"): the package writes 0
 * for them, but nothing can be priced or invoiced in them, so they are not currencies here.
 */
const withoutMinorUnit = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

/**
 * Codes ISO published after the package's data (2024-06-25), with their source: the Caribbean guilder replaced
 * the Netherlands Antillean guilder in Curaçao and Sint Maarten (ISO 4217 amendment 176, in use from 2025-03-31).
 */
const publishedLater: [string, number][] = [['XCG', 2]];

export const isoPublishDate: string = currencyCodes.publishDate;

const minorUnits: ReadonlyMap<string, number> = new Map([
  ...currencyCodes.data.filter((c) => !withoutMinorUnit.has(c.code)).map((c) => [c.code, c.digits] as const),
  ...publishedLater,
]);

/** The ISO 4217 minor unit of an active currency code, or undefined for an unknown code (or one without one). */
export function minorUnitOf(currency: string): number | undefined {
  return minorUnits.get(currency);
}

/** Every currency Tariff can price and invoice in, sorted. */
export function listCurrencies(): string[] {
  return [...minorUnits.keys()].sort();
}

/** A currency field of any input: an active ISO 4217 code, else a 400 naming the field. */
export const currencyCode = text(3)
  .regex(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 code in capitals, e.g. USD', abort: true })
  .refine((code) => minorUnits.has(code), 'is not an active ISO 4217 currency with a minor unit');
