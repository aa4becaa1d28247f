// The shape of the rate tables: one file per jurisdiction group, each naming its source and the date it was read.

/** A rate in force from `from` (inclusive, a UTC date) until the next entry of the same jurisdiction and tax. */
export interface RateEntry {
  /** ISO 3166-1 alpha-2 country, or country-region for a sub-national tax (CA-QC). */
  jurisdiction: string;
  /** The tax's name as printed on the invoice: VAT, GST, HST, QST, PST, RST, IGST, CGST, SGST, JCT. */
  tax: string;
  /** A decimal fraction as text ("0.19"), never a number. */
  rate: string;
  from: string;
}

export interface RateTable {
  /** Where the figures come from, so a reviewer can check them. */
  source: string;
  /** When the source was read. */
  asOf: string;
  /** Standard rates applying to digital services (SaaS, APIs, electronically supplied services). */
  rates: RateEntry[];
}
