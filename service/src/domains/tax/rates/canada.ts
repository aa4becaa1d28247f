import type { RateTable } from './types.ts';

/**
 * Canada: the federal GST, or the HST that replaces it in the participating provinces (entered on the province),
 * and the provincial sales taxes on software and digital services where the seller is registered for them.
 */
export const canadaRates: RateTable = {
  source:
    'CRA "GST/HST rates" (GST 5%; HST ON 13%, NB/NL/PE 15%, NS 15% until 2025-03-31 and 14% from 2025-04-01); ' +
    'Revenu Québec "QST rate" (9.975%); BC Ministry of Finance "PST on software" (7%); ' +
    'Manitoba Finance "RST bulletin 059" (7%); Saskatchewan "PST on software and digital services" (6%)',
  asOf: '2025-08-01',
  rates: [
    { jurisdiction: 'CA-AB', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-BC', tax: 'GST', rate: '0.05', from: '2013-04-01' },
    { jurisdiction: 'CA-MB', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-NT', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-NU', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-QC', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-SK', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-YT', tax: 'GST', rate: '0.05', from: '2008-01-01' },
    { jurisdiction: 'CA-ON', tax: 'HST', rate: '0.13', from: '2010-07-01' },
    { jurisdiction: 'CA-NB', tax: 'HST', rate: '0.15', from: '2016-07-01' },
    { jurisdiction: 'CA-NL', tax: 'HST', rate: '0.15', from: '2016-07-01' },
    { jurisdiction: 'CA-PE', tax: 'HST', rate: '0.15', from: '2016-10-01' },
    { jurisdiction: 'CA-NS', tax: 'HST', rate: '0.15', from: '2010-07-01' },
    { jurisdiction: 'CA-NS', tax: 'HST', rate: '0.14', from: '2025-04-01' },
    { jurisdiction: 'CA-QC', tax: 'QST', rate: '0.09975', from: '2013-01-01' },
    { jurisdiction: 'CA-BC', tax: 'PST', rate: '0.07', from: '2013-04-01' },
    { jurisdiction: 'CA-MB', tax: 'RST', rate: '0.07', from: '2019-07-01' },
    { jurisdiction: 'CA-SK', tax: 'PST', rate: '0.06', from: '2017-03-23' },
  ],
};

/** The provinces and territories (ISO 3166-2:CA subdivision codes without the country prefix). */
export const canadianProvinces: ReadonlySet<string> = new Set([
  'AB',
  'BC',
  'MB',
  'NB',
  'NL',
  'NS',
  'NT',
  'NU',
  'ON',
  'PE',
  'QC',
  'SK',
  'YT',
]);
/** Provincial taxes a seller collects only where it is registered for them (the federal part needs the CA registration). */
export const provincialTaxes: ReadonlySet<string> = new Set(['QST', 'PST', 'RST']);
