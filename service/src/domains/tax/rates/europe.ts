import type { RateTable } from './types.ts';

/** European countries outside the EU: the United Kingdom, Switzerland (with Liechtenstein's shared rate) and Norway. */
export const europeRates: RateTable = {
  source:
    'GB: HMRC "VAT rates on different goods and services" (standard rate 20% since 2011-01-04); ' +
    'CH: Swiss Federal Tax Administration (ESTV) "MWST-Satzerhöhung per 1. Januar 2024" (8.1% from 2024-01-01, 7.7% 2018-2023; LI applies the Swiss rates by treaty); ' +
    'NO: Skatteetaten "Merverdiavgift - satser" (general rate 25%, also for electronic services from abroad, VOEC/ENK)',
  asOf: '2025-08-01',
  rates: [
    { jurisdiction: 'GB', tax: 'VAT', rate: '0.20', from: '2011-01-04' },
    { jurisdiction: 'CH', tax: 'VAT', rate: '0.077', from: '2018-01-01' },
    { jurisdiction: 'CH', tax: 'VAT', rate: '0.081', from: '2024-01-01' },
    { jurisdiction: 'LI', tax: 'VAT', rate: '0.077', from: '2018-01-01' },
    { jurisdiction: 'LI', tax: 'VAT', rate: '0.081', from: '2024-01-01' },
    { jurisdiction: 'NO', tax: 'VAT', rate: '0.25', from: '2005-01-01' },
  ],
};
