import type { RateTable } from './types.ts';

/** Australia, New Zealand, Japan, Singapore and India: the rates their digital-services regimes charge. */
export const asiaPacificRates: RateTable = {
  source:
    'AU: ATO "GST on imported services and digital products" (GST 10%, A New Tax System (Goods and Services Tax) Act 1999 s 9-70); ' +
    'NZ: Inland Revenue "GST on remote services" (15% since 2010-10-01, GST Act 1985 s 8); ' +
    'JP: National Tax Agency "Consumption tax on cross-border supplies of services" (10% national and local combined since 2019-10-01); ' +
    'SG: IRAS "GST rate change" (8% from 2023-01-01, 9% from 2024-01-01; overseas vendor registration regime for digital services); ' +
    'IN: CBIC notification 11/2017-Central Tax (Rate), heading 9984 online information and database access or retrieval services: 18% (IGST, or CGST 9% + SGST 9% within a state)',
  asOf: '2025-08-01',
  rates: [
    { jurisdiction: 'AU', tax: 'GST', rate: '0.10', from: '2000-07-01' },
    { jurisdiction: 'NZ', tax: 'GST', rate: '0.15', from: '2010-10-01' },
    { jurisdiction: 'JP', tax: 'JCT', rate: '0.08', from: '2014-04-01' },
    { jurisdiction: 'JP', tax: 'JCT', rate: '0.10', from: '2019-10-01' },
    { jurisdiction: 'SG', tax: 'GST', rate: '0.07', from: '2007-07-01' },
    { jurisdiction: 'SG', tax: 'GST', rate: '0.08', from: '2023-01-01' },
    { jurisdiction: 'SG', tax: 'GST', rate: '0.09', from: '2024-01-01' },
    { jurisdiction: 'IN', tax: 'IGST', rate: '0.18', from: '2017-07-01' },
    { jurisdiction: 'IN', tax: 'CGST', rate: '0.09', from: '2017-07-01' },
    { jurisdiction: 'IN', tax: 'SGST', rate: '0.09', from: '2017-07-01' },
  ],
};
