// Table-driven: seller country x buyer kind x buyer country -> the rule, the rate, the mention and the tax on
// two lines (1000.00 + 234.56, or JPY 100000 + 23456), the expected amounts worked out by hand.
import { describe, expect, it } from 'vitest';
import { formatMoney, toNano } from '../../platform/money.ts';
import { computeInvoiceTax } from './compute.ts';
import { determineTax, type Buyer, type Seller } from './rules.ts';

const sellers: Record<string, Seller> = {
  DE_OSS: {
    country: 'DE',
    region: null,
    registrations: [
      { jurisdiction: 'DE', taxId: 'DE136695976' },
      { jurisdiction: 'EU', taxId: null },
    ],
    stripeTax: false,
  },
  FR_HOME: {
    country: 'FR',
    region: null,
    registrations: [{ jurisdiction: 'FR', taxId: 'FR40303265045' }],
    stripeTax: false,
  },
  GB_CO: {
    country: 'GB',
    region: null,
    registrations: ['GB', 'EU', 'NO', 'CH'].map((jurisdiction) => ({ jurisdiction, taxId: null })),
    stripeTax: false,
  },
  US_CO: {
    country: 'US',
    region: 'CA',
    registrations: ['AU', 'NZ', 'JP', 'SG', 'IN', 'CA', 'GB'].map((jurisdiction) => ({ jurisdiction, taxId: null })),
    stripeTax: false,
  },
  US_STRIPE: { country: 'US', region: 'CA', registrations: [{ jurisdiction: 'US', taxId: null }], stripeTax: true },
  CA_ON: {
    country: 'CA',
    region: 'ON',
    registrations: [
      { jurisdiction: 'CA', taxId: '123456782RT0001' },
      { jurisdiction: 'CA-QC', taxId: null },
    ],
    stripeTax: false,
  },
  IN_MH: {
    country: 'IN',
    region: '27',
    registrations: [{ jurisdiction: 'IN', taxId: '27AAPFU0939F1ZV' }],
    stripeTax: false,
  },
  AU_CO: {
    country: 'AU',
    region: null,
    registrations: [{ jurisdiction: 'AU', taxId: '51824753556' }],
    stripeTax: false,
  },
  JP_CO: {
    country: 'JP',
    region: null,
    registrations: [{ jurisdiction: 'JP', taxId: 'T5835678256246' }],
    stripeTax: false,
  },
  SG_CO: {
    country: 'SG',
    region: null,
    registrations: [{ jurisdiction: 'SG', taxId: '197401143C' }],
    stripeTax: false,
  },
  CH_CO: {
    country: 'CH',
    region: null,
    registrations: [{ jurisdiction: 'CH', taxId: 'CHE116281710MWST' }],
    stripeTax: false,
  },
  NO_CO: {
    country: 'NO',
    region: null,
    registrations: [{ jurisdiction: 'NO', taxId: 'NO974760673MVA' }],
    stripeTax: false,
  },
  NZ_CO: { country: 'NZ', region: null, registrations: [{ jurisdiction: 'NZ', taxId: '49091850' }], stripeTax: false },
};

type Kind = 'business' | 'business_no_id' | 'consumer' | 'exempt';
const buyer = (kind: Kind, country: string | null, region: string | null = null): Buyer => ({
  kind: kind === 'business_no_id' ? 'business' : kind,
  country,
  region,
  hasValidTaxId: kind === 'business',
  exemptReason: kind === 'exempt' ? 'charity (certificate 42)' : null,
});

const RC = 'Reverse charge';
// seller, buyer kind, buyer country, region, rule, summed rate, mention (substring) or null, tax, supply date when not 2026-11-15
const cells: [string, Kind, string, string | null, string, string, string | null, string, string?][] = [
  ['DE_OSS', 'business', 'DE', null, 'eu_domestic', '0.19', null, '234.57'],
  ['DE_OSS', 'consumer', 'DE', null, 'eu_domestic', '0.19', null, '234.57'],
  ['DE_OSS', 'business', 'FR', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['DE_OSS', 'consumer', 'FR', null, 'eu_oss', '0.20', null, '246.91'],
  ['DE_OSS', 'business_no_id', 'FR', null, 'eu_oss', '0.20', null, '246.91'],
  ['DE_OSS', 'consumer', 'HU', null, 'eu_oss', '0.27', null, '333.33'],
  ['DE_OSS', 'consumer', 'FI', null, 'eu_oss', '0.255', null, '314.81'],
  ['DE_OSS', 'consumer', 'RO', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'EE', null, 'eu_oss', '0.24', null, '296.29'],
  ['DE_OSS', 'consumer', 'SK', null, 'eu_oss', '0.23', null, '283.95'],
  ['DE_OSS', 'consumer', 'LU', null, 'eu_oss', '0.17', null, '209.88'],
  ['DE_OSS', 'exempt', 'DE', null, 'exempt', '0', 'Tax exempt: charity', '0.00'],
  ['DE_OSS', 'consumer', 'US', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  [
    'DE_OSS',
    'business',
    'GB',
    null,
    'reverse_charge',
    '0',
    'Reverse charge: customer to account for VAT to HMRC',
    '0.00',
  ],
  ['DE_OSS', 'consumer', 'GB', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['DE_OSS', 'consumer', 'CH', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['DE_OSS', 'business', 'IE', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['DE_OSS', 'consumer', 'IE', null, 'eu_oss', '0.23', null, '283.95'],
  ['DE_OSS', 'consumer', 'SE', null, 'eu_oss', '0.25', null, '308.64'],
  ['DE_OSS', 'consumer', 'MT', null, 'eu_oss', '0.18', null, '222.22'],
  ['DE_OSS', 'consumer', 'CY', null, 'eu_oss', '0.19', null, '234.57'],
  ['DE_OSS', 'consumer', 'GR', null, 'eu_oss', '0.24', null, '296.29'],
  ['DE_OSS', 'consumer', 'HR', null, 'eu_oss', '0.25', null, '308.64'],
  ['DE_OSS', 'consumer', 'DK', null, 'eu_oss', '0.25', null, '308.64'],
  ['DE_OSS', 'consumer', 'PL', null, 'eu_oss', '0.23', null, '283.95'],
  ['DE_OSS', 'consumer', 'IT', null, 'eu_oss', '0.22', null, '271.60'],
  ['DE_OSS', 'consumer', 'ES', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'NL', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'BE', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'AT', null, 'eu_oss', '0.20', null, '246.91'],
  ['DE_OSS', 'consumer', 'PT', null, 'eu_oss', '0.23', null, '283.95'],
  ['DE_OSS', 'consumer', 'CZ', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'SI', null, 'eu_oss', '0.22', null, '271.60'],
  ['DE_OSS', 'consumer', 'LV', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'LT', null, 'eu_oss', '0.21', null, '259.26'],
  ['DE_OSS', 'consumer', 'BG', null, 'eu_oss', '0.20', null, '246.91'],
  ['DE_OSS', 'consumer', 'DE', null, 'eu_domestic', '0.16', null, '197.53', '2020-08-01'],
  ['DE_OSS', 'consumer', 'FI', null, 'eu_oss', '0.24', null, '296.29', '2024-06-01'],
  ['FR_HOME', 'consumer', 'DE', null, 'eu_distance_threshold', '0.20', null, '246.91'],
  ['FR_HOME', 'business', 'DE', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['FR_HOME', 'consumer', 'FR', null, 'eu_domestic', '0.20', null, '246.91'],
  ['FR_HOME', 'consumer', 'AU', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['GB_CO', 'consumer', 'GB', null, 'domestic', '0.20', null, '246.91'],
  ['GB_CO', 'business', 'GB', null, 'domestic', '0.20', null, '246.91'],
  ['GB_CO', 'business', 'DE', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['GB_CO', 'consumer', 'DE', null, 'eu_oss', '0.19', null, '234.57'],
  ['GB_CO', 'consumer', 'NO', null, 'registered_foreign_seller', '0.25', null, '308.64'],
  ['GB_CO', 'business', 'NO', null, 'reverse_charge', '0', 'Reverse charge: the recipient accounts for VAT', '0.00'],
  ['GB_CO', 'consumer', 'CH', null, 'registered_foreign_seller', '0.081', null, '100.00'],
  ['GB_CO', 'consumer', 'LI', null, 'registered_foreign_seller', '0.081', null, '100.00'],
  ['GB_CO', 'consumer', 'JP', null, 'outside_registrations', '0', 'No tax charged', '0'],
  ['US_CO', 'consumer', 'AU', null, 'registered_foreign_seller', '0.10', null, '123.46'],
  ['US_CO', 'business', 'AU', null, 'reverse_charge', '0', 'GST not charged', '0.00'],
  ['US_CO', 'consumer', 'NZ', null, 'registered_foreign_seller', '0.15', null, '185.18'],
  ['US_CO', 'business', 'NZ', null, 'reverse_charge', '0', 'Zero-rated', '0.00'],
  ['US_CO', 'consumer', 'JP', null, 'registered_foreign_seller', '0.10', null, '12345'],
  [
    'US_CO',
    'business',
    'JP',
    null,
    'reverse_charge',
    '0',
    'Reverse charge: the recipient accounts for consumption tax',
    '0',
  ],
  ['US_CO', 'consumer', 'SG', null, 'registered_foreign_seller', '0.09', null, '111.11'],
  ['US_CO', 'business', 'SG', null, 'reverse_charge', '0', 'Reverse charge: the GST-registered recipient', '0.00'],
  ['US_CO', 'consumer', 'IN', null, 'registered_foreign_seller', '0.18', null, '222.22'],
  ['US_CO', 'business', 'IN', null, 'reverse_charge', '0', 'the recipient pays IGST', '0.00'],
  ['US_CO', 'consumer', 'CA', 'ON', 'registered_foreign_seller', '0.13', null, '160.49'],
  ['US_CO', 'consumer', 'CA', 'QC', 'registered_foreign_seller', '0.05', null, '61.73'],
  ['US_CO', 'business', 'CA', 'BC', 'reverse_charge', '0', 'GST/HST not charged', '0.00'],
  ['US_CO', 'consumer', 'US', 'NY', 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['US_CO', 'consumer', 'BR', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['US_CO', 'consumer', 'GB', null, 'registered_foreign_seller', '0.20', null, '246.91'],
  ['US_CO', 'business', 'DE', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['US_CO', 'consumer', 'DE', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['CA_ON', 'consumer', 'CA', 'ON', 'domestic', '0.13', null, '160.49'],
  ['CA_ON', 'business', 'CA', 'QC', 'domestic', '0.14975', null, '184.88'],
  ['CA_ON', 'consumer', 'CA', 'BC', 'domestic', '0.05', null, '61.73'],
  ['CA_ON', 'consumer', 'CA', 'NS', 'domestic', '0.14', null, '172.84'],
  ['CA_ON', 'consumer', 'CA', 'NS', 'domestic', '0.15', null, '185.18', '2025-01-01'],
  ['CA_ON', 'consumer', 'CA', 'AB', 'domestic', '0.05', null, '61.73'],
  ['CA_ON', 'consumer', 'US', 'WA', 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['IN_MH', 'consumer', 'IN', '27', 'domestic', '0.18', null, '222.22'],
  ['IN_MH', 'business', 'IN', '29', 'domestic', '0.18', null, '222.22'],
  ['IN_MH', 'consumer', 'DE', null, 'outside_registrations', '0', 'No tax charged', '0.00'],
  ['AU_CO', 'consumer', 'AU', null, 'domestic', '0.10', null, '123.46'],
  ['AU_CO', 'business', 'AU', null, 'domestic', '0.10', null, '123.46'],
  ['JP_CO', 'business', 'JP', null, 'domestic', '0.10', null, '12345'],
  ['SG_CO', 'consumer', 'SG', null, 'domestic', '0.09', null, '111.11'],
  ['SG_CO', 'consumer', 'SG', null, 'domestic', '0.08', null, '98.76', '2023-06-01'],
  ['CH_CO', 'consumer', 'CH', null, 'domestic', '0.081', null, '100.00'],
  ['CH_CO', 'business', 'DE', null, 'eu_reverse_charge', '0', RC, '0.00'],
  ['NO_CO', 'consumer', 'NO', null, 'domestic', '0.25', null, '308.64'],
  ['NZ_CO', 'business', 'NZ', null, 'domestic', '0.15', null, '185.18'],
  ['US_STRIPE', 'consumer', 'US', 'NY', 'us_stripe_tax', '0', null, '0.00'],
];

describe('tax determination: seller x buyer kind x buyer country', () => {
  it('covers at least 60 cells', () => expect(cells.length).toBeGreaterThanOrEqual(60));

  it.each(cells)(
    '%s sells to a %s in %s %s: %s at %s',
    (seller, kind, country, region, rule, rate, mention, tax, date) => {
      const determined = determineTax(
        sellers[seller],
        buyer(kind, country, region),
        new Date(`${date ?? '2026-11-15'}T12:00:00Z`),
      );
      if (!determined.ok) throw new Error(determined.message);
      const { treatment } = determined;
      expect(treatment.rule).toBe(rule);
      expect(treatment.legalBasis.length).toBeGreaterThan(10);
      const summed = treatment.components.reduce((sum, c) => sum + Number(c.rate) * 1e6, 0) / 1e6;
      expect(summed).toBe(Number(rate));
      if (mention === null) expect(treatment.mention).toBeNull();
      else expect(treatment.mention).toContain(mention);
      if (rule === 'eu_reverse_charge') expect(treatment.legalBasis).toContain('Article 196 of Directive 2006/112/EC');
      const jpy = country === 'JP' && rule !== 'eu_reverse_charge';
      const minorUnit = jpy ? 0 : 2;
      const lines = jpy ? [toNano('100000'), toNano('23456')] : [toNano('1000.00'), toNano('234.56')];
      const computed = computeInvoiceTax(lines, treatment, minorUnit, false);
      expect(computed.tax).toBe(toNano(tax));
      expect(computed.total).toBe(computed.subtotal + computed.tax);
      expect(computed.lineTax.reduce((a, b) => a + b, 0n)).toBe(computed.tax);
    },
  );

  it('splits India intra-state supplies into CGST and SGST, each rounded per line', () => {
    const determined = determineTax(sellers.IN_MH, buyer('consumer', 'IN', '27'), new Date('2026-11-15T00:00:00Z'));
    if (!determined.ok) throw new Error(determined.message);
    const computed = computeInvoiceTax([toNano('1000.00'), toNano('234.56')], determined.treatment, 2, false);
    expect(computed.components.map((c) => [c.tax, formatMoney(c.amount)])).toEqual([
      ['CGST', '111.110000000'],
      ['SGST', '111.110000000'],
    ]);
    expect(computed.lineTax).toEqual([toNano('180.00'), toNano('42.22')]);
  });

  it('extracts tax from prices that include it', () => {
    const determined = determineTax(sellers.DE_OSS, buyer('consumer', 'DE'), new Date('2026-11-15T00:00:00Z'));
    if (!determined.ok) throw new Error(determined.message);
    // 119.00 gross at 19%: 19.00 tax, 100.00 net.
    const computed = computeInvoiceTax([toNano('119.00')], determined.treatment, 2, true);
    expect([computed.subtotal, computed.tax, computed.total]).toEqual([
      toNano('100.00'),
      toNano('19.00'),
      toNano('119.00'),
    ]);
  });

  it.each([
    [buyer('consumer', null), 'customer_country_missing'],
    [buyer('consumer', 'Germany'), 'jurisdiction_unknown'],
    [buyer('consumer', 'CA', null), 'customer_region_missing'],
  ])('refuses %o with %s', (who, code) => {
    const determined = determineTax(sellers.US_CO, who, new Date('2026-11-15T00:00:00Z'));
    expect(determined).toMatchObject({ ok: false, code });
  });

  it('refuses a registration in a jurisdiction without rate tables', () => {
    const seller = { ...sellers.DE_OSS, registrations: [{ jurisdiction: 'BR', taxId: null }] };
    expect(determineTax(seller, buyer('consumer', 'DE'), new Date())).toMatchObject({
      ok: false,
      code: 'jurisdiction_unknown',
    });
  });
});
