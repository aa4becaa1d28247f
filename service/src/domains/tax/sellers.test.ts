// Whose tax an invoice carries: the tenant's for its own customers, the issuing reseller's for a reseller's
// children, with or without the tenant's tax settings (tax/service.ts sellerFor, through taxInvoice).
import { describe, expect, it } from 'vitest';
import type { CustomerTaxProfile, TaxSettings } from './repo.ts';
import { taxInvoice, type SellerTaxProfile, type TaxContext } from './service.ts';

const buyer = (id: string, country: string): CustomerTaxProfile => ({
  id,
  externalId: id,
  name: null,
  email: null,
  address: null,
  postalCode: null,
  country,
  region: null,
  taxId: null,
  taxStatus: 'consumer',
  taxExemptReason: null,
  taxIdCheck: null,
});

const tenant: TaxSettings = {
  legalName: 'Tenant Inc',
  address: 'San Francisco',
  country: 'US',
  region: null,
  pricesIncludeTax: false,
  stripeTax: false,
  paymentTermsDays: 14,
  registrations: [],
  updatedAt: new Date('2026-01-01T00:00:00Z'),
};

const reseller = (registrations: SellerTaxProfile['registrations']): SellerTaxProfile => ({
  legalName: 'Rhein Compute GmbH',
  address: 'Mainz',
  country: 'DE',
  region: null,
  pricesIncludeTax: false,
  stripeTax: false,
  paymentTermsDays: 14,
  registrations,
});

/** The tax of a 100.00 EUR invoice of `customer` (a German consumer) in `context`. */
const tax = (context: Omit<TaxContext, 'customers' | 'stripeCalculations'>, customer = 'child') =>
  taxInvoice(
    { ...context, customers: new Map([[customer, buyer(customer, 'DE')]]), stripeCalculations: new Map() },
    {
      id: 'invoice',
      customerId: customer,
      currency: 'EUR',
      minorUnit: 2,
      lines: [100_000_000_000n],
      supplyEnd: new Date('2026-04-01T00:00:00Z'),
    },
  );

describe('the seller an invoice is taxed as', () => {
  it("taxes a reseller's child by the reseller's registrations, not the tenant's", async () => {
    const taxed = await tax({
      settings: tenant,
      resellers: new Map([['child', reseller([{ jurisdiction: 'DE', taxId: null }])]]),
    });
    expect(taxed?.record).toMatchObject({ rule: 'eu_domestic', seller: { name: 'Rhein Compute GmbH', country: 'DE' } });
    expect(taxed?.tax.tax).toBe(19_000_000_000n);
    // The tenant's own customer in the same place: the tenant collects nothing there.
    const direct = await tax({ settings: tenant, resellers: new Map() }, 'direct');
    expect(direct?.record).toMatchObject({ rule: 'outside_registrations', seller: { name: 'Tenant Inc' } });
  });

  it('lets a registered reseller collect under a tenant without tax settings; an unregistered one charges none', async () => {
    const registered = await tax({
      settings: undefined,
      resellers: new Map([['child', reseller([{ jurisdiction: 'DE', taxId: null }])]]),
    });
    expect(registered?.tax.tax).toBe(19_000_000_000n);
    expect(await tax({ settings: undefined, resellers: new Map([['child', reseller([])]]) })).toBeNull();
    // Under a tenant with tax settings, the unregistered reseller states why it charges none.
    const stated = await tax({ settings: tenant, resellers: new Map([['child', reseller([])]]) });
    expect(stated?.record).toMatchObject({
      rule: 'outside_registrations',
      mention: expect.stringContaining('No tax charged'),
    });
    expect(stated?.tax.tax).toBe(0n);
  });
});
