import type { RateTable } from './types.ts';

/**
 * EU-27 standard VAT rates, which apply to electronically supplied services (Annex II of Directive 2006/112/EC;
 * no member state applies a reduced rate to SaaS or API access). Regional exceptions (Madeira, the Azores, the
 * Canary Islands, Heligoland, Mount Athos...) are outside this table: customers there are taxed at the
 * national rate or, for territories outside the EU VAT area, need an exempt status.
 */
export const euRates: RateTable = {
  source:
    'European Commission, DG TAXUD, "VAT rates applied in the Member States of the European Union" (situation at 1 January 2025), ' +
    'with the later changes announced by the member states: Estonia 24% from 2025-07-01 (Riigi Teataja RT I, 2024), Romania 21% from 2025-08-01 (Law 141/2025)',
  asOf: '2025-08-01',
  rates: [
    { jurisdiction: 'AT', tax: 'VAT', rate: '0.20', from: '2016-01-01' },
    { jurisdiction: 'BE', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'BG', tax: 'VAT', rate: '0.20', from: '2016-01-01' },
    { jurisdiction: 'HR', tax: 'VAT', rate: '0.25', from: '2016-01-01' },
    { jurisdiction: 'CY', tax: 'VAT', rate: '0.19', from: '2016-01-01' },
    { jurisdiction: 'CZ', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'DK', tax: 'VAT', rate: '0.25', from: '2016-01-01' },
    { jurisdiction: 'EE', tax: 'VAT', rate: '0.20', from: '2016-01-01' },
    { jurisdiction: 'EE', tax: 'VAT', rate: '0.22', from: '2024-01-01' },
    { jurisdiction: 'EE', tax: 'VAT', rate: '0.24', from: '2025-07-01' },
    { jurisdiction: 'FI', tax: 'VAT', rate: '0.24', from: '2016-01-01' },
    { jurisdiction: 'FI', tax: 'VAT', rate: '0.255', from: '2024-09-01' },
    { jurisdiction: 'FR', tax: 'VAT', rate: '0.20', from: '2016-01-01' },
    { jurisdiction: 'DE', tax: 'VAT', rate: '0.19', from: '2016-01-01' },
    // The temporary reduction of the second half of 2020 (Zweites Corona-Steuerhilfegesetz).
    { jurisdiction: 'DE', tax: 'VAT', rate: '0.16', from: '2020-07-01' },
    { jurisdiction: 'DE', tax: 'VAT', rate: '0.19', from: '2021-01-01' },
    { jurisdiction: 'GR', tax: 'VAT', rate: '0.24', from: '2016-06-01' },
    { jurisdiction: 'HU', tax: 'VAT', rate: '0.27', from: '2016-01-01' },
    { jurisdiction: 'IE', tax: 'VAT', rate: '0.23', from: '2016-01-01' },
    { jurisdiction: 'IT', tax: 'VAT', rate: '0.22', from: '2016-01-01' },
    { jurisdiction: 'LV', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'LT', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'LU', tax: 'VAT', rate: '0.17', from: '2016-01-01' },
    // The temporary reduction of 2023 (loi du 26 octobre 2022).
    { jurisdiction: 'LU', tax: 'VAT', rate: '0.16', from: '2023-01-01' },
    { jurisdiction: 'LU', tax: 'VAT', rate: '0.17', from: '2024-01-01' },
    { jurisdiction: 'MT', tax: 'VAT', rate: '0.18', from: '2016-01-01' },
    { jurisdiction: 'NL', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'PL', tax: 'VAT', rate: '0.23', from: '2016-01-01' },
    { jurisdiction: 'PT', tax: 'VAT', rate: '0.23', from: '2016-01-01' },
    { jurisdiction: 'RO', tax: 'VAT', rate: '0.19', from: '2017-01-01' },
    { jurisdiction: 'RO', tax: 'VAT', rate: '0.21', from: '2025-08-01' },
    { jurisdiction: 'SK', tax: 'VAT', rate: '0.20', from: '2016-01-01' },
    { jurisdiction: 'SK', tax: 'VAT', rate: '0.23', from: '2025-01-01' },
    { jurisdiction: 'SI', tax: 'VAT', rate: '0.22', from: '2016-01-01' },
    { jurisdiction: 'ES', tax: 'VAT', rate: '0.21', from: '2016-01-01' },
    { jurisdiction: 'SE', tax: 'VAT', rate: '0.25', from: '2016-01-01' },
  ],
};

export const euMemberStates: ReadonlySet<string> = new Set(euRates.rates.map((r) => r.jurisdiction));
