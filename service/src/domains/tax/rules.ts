// Pure: which tax an invoice carries, from the seller's establishment and registrations and the buyer's status
// and location. Every rule is a row of `rules` with its legal basis; the first rule that applies decides.
// Digital services (SaaS, API access) are taxed where the customer is in every jurisdiction covered here, so the
// question is always: where is the customer, is the seller established or registered there, is the customer a
// business that accounts for the tax itself.
import { canadianProvinces, provincialTaxes } from './rates/canada.ts';
import { euMemberStates } from './rates/eu.ts';
import { hasRates, ratesAt } from './rates/index.ts';

export type BuyerKind = 'business' | 'consumer' | 'exempt';

/** Where the seller collects: a country (DE, GB, AU, CA), a Canadian province for its own tax (CA-QC), EU for the OSS, US for Stripe Tax. */
export interface Registration {
  jurisdiction: string;
  taxId: string | null;
}

export interface Seller {
  country: string;
  region: string | null;
  registrations: Registration[];
  /** US sales tax is computed by Stripe Tax when the tenant turns it on. */
  stripeTax: boolean;
}

export interface Buyer {
  kind: BuyerKind;
  country: string | null;
  region: string | null;
  /** A tax id of the buyer's country, well-formed (and not found invalid by an online check). */
  hasValidTaxId: boolean;
  exemptReason: string | null;
}

export interface RoundingRule {
  /** Tax rounded once per rate on the invoice's taxable total, or per line and summed. */
  scope: 'invoice' | 'line';
  /** half_up: half away from zero; down: truncated toward zero. */
  mode: 'half_up' | 'down';
  basis: string;
}

export interface TaxComponent {
  tax: string;
  jurisdiction: string;
  /** Decimal fraction as text. */
  rate: string;
}

export type RuleId =
  | 'exempt'
  | 'us_stripe_tax'
  | 'eu_domestic'
  | 'eu_reverse_charge'
  | 'eu_oss'
  | 'eu_distance_threshold'
  | 'domestic'
  | 'reverse_charge'
  | 'registered_foreign_seller'
  | 'outside_registrations';

export interface Treatment {
  rule: RuleId;
  /** Where the tax is owed (the customer's country, or the seller's under the EU threshold); null when none is. */
  jurisdiction: string | null;
  components: TaxComponent[];
  /** Printed on the invoice (e.g. "Reverse charge"); null when nothing needs saying. */
  mention: string | null;
  legalBasis: string;
  rounding: RoundingRule;
  /** The components come from Stripe Tax, not from the tables. */
  external: 'stripe_tax' | null;
}

export type Determination =
  | { ok: true; treatment: Treatment }
  | {
      ok: false;
      code: 'customer_country_missing' | 'jurisdiction_unknown' | 'customer_region_missing';
      message: string;
    };

/** The tax regime a country belongs to: the EU VAT area, Switzerland with Liechtenstein, or the country itself. */
export function regimeOf(country: string): string {
  if (euMemberStates.has(country)) return 'EU';
  if (country === 'LI') return 'CH';
  return country;
}

/** The national regimes handled by rate tables (the EU's are its member states; US goes through Stripe Tax). */
const nationalRegimes = ['GB', 'CH', 'NO', 'AU', 'NZ', 'CA', 'JP', 'SG', 'IN'] as const;
type NationalRegime = (typeof nationalRegimes)[number];

/** Per regime: the rounding rule, what a business customer's self-assessment is called, and the legal bases. */
const regimeLaw: Record<
  'EU' | NationalRegime,
  { rounding: RoundingRule; reverseCharge: { mention: string; basis: string }; domestic: string; foreignSeller: string }
> = {
  EU: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'Article 230 of Directive 2006/112/EC: VAT per rate on the invoice, rounded once to the currency unit',
    },
    reverseCharge: {
      mention: 'Reverse charge',
      basis: 'Article 196 of Directive 2006/112/EC (place of supply: Article 44); invoice mention per Article 226(11a)',
    },
    domestic: "Articles 44 and 58 of Directive 2006/112/EC: place of supply in the seller's own member state",
    foreignSeller:
      'Article 58 of Directive 2006/112/EC (place of supply where the consumer lives), declared through the One-Stop Shop (Articles 358a-369k)',
  },
  GB: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'HMRC VAT Notice 700 section 17.5: VAT on the invoice total, rounded to the nearest penny',
    },
    reverseCharge: {
      mention: 'Reverse charge: customer to account for VAT to HMRC',
      basis: 'Value Added Tax Act 1994 s 8 (reverse charge on services received from abroad); VAT Notice 741A',
    },
    domestic: 'Value Added Tax Act 1994 s 4 and Sch 4A para 15 (place of supply where the customer belongs)',
    foreignSeller:
      'Value Added Tax Act 1994 s 7A and Sch 4A para 15 (electronically supplied services to UK consumers)',
  },
  CH: {
    rounding: { scope: 'invoice', mode: 'half_up', basis: 'ESTV MWST-Info 16: tax per rate on the invoice total' },
    reverseCharge: {
      mention: 'Reverse charge (acquisition tax): the recipient accounts for VAT',
      basis: 'MWSTG (Federal VAT Act) Art. 45 para 1 lit a (Bezugsteuer)',
    },
    domestic: 'MWSTG Art. 8 para 1 (place of supply where the recipient is established)',
    foreignSeller: 'MWSTG Art. 8 para 1 and Art. 10 para 2 lit b (foreign providers of electronic services)',
  },
  NO: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'Merverdiavgiftsloven and bokføringsforskriften § 5-1-1: VAT per rate on the invoice total',
    },
    reverseCharge: {
      mention: 'Reverse charge: the recipient accounts for VAT',
      basis: 'Merverdiavgiftsloven § 3-30 (remote services to businesses) and § 11-3 (recipient liable)',
    },
    domestic: 'Merverdiavgiftsloven § 3-1 (supply of services in Norway)',
    foreignSeller: 'Merverdiavgiftsloven § 3-30 (4) and § 14-4 (VOEC: remote services to Norwegian consumers)',
  },
  AU: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'GSTR 2013/1 (rounding of GST on the total of the tax invoice)',
    },
    reverseCharge: {
      mention: 'GST not charged: supplied to a GST-registered business (reverse charge)',
      basis:
        'A New Tax System (Goods and Services Tax) Act 1999 s 84-5 (reverse charge) and s 84-65 (offshore supplies to registered businesses)',
    },
    domestic: 'A New Tax System (Goods and Services Tax) Act 1999 s 9-5 and s 9-70',
    foreignSeller:
      'A New Tax System (Goods and Services Tax) Act 1999 Division 84 Subdivision 84-C (offshore supplies to Australian consumers)',
  },
  NZ: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'Goods and Services Tax Act 1985 s 24 (taxable supply information, GST on the total)',
    },
    reverseCharge: {
      mention: 'Zero-rated: remote services to a GST-registered business',
      basis: 'Goods and Services Tax Act 1985 s 8(4D) and s 11A(1)(x) (remote services to registered persons)',
    },
    domestic: 'Goods and Services Tax Act 1985 s 8(1)',
    foreignSeller: 'Goods and Services Tax Act 1985 s 8(3)(c) (remote services to New Zealand residents)',
  },
  CA: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'CRA GST/HST Memorandum 300-7-1: tax per rate on the invoice, rounded to the nearest cent',
    },
    reverseCharge: {
      mention: 'GST/HST not charged: the registered recipient self-assesses',
      basis: 'Excise Tax Act s 211.17 (simplified registration only for consumers) and s 217-218 (self-assessment)',
    },
    domestic:
      'Excise Tax Act s 165 and Schedule IX (place of supply in the province of the recipient); provincial acts for QST/PST/RST',
    foreignSeller:
      'Excise Tax Act Part IX Division II Subdivision E (digital economy: simplified registration, from 2021-07-01)',
  },
  JP: {
    rounding: {
      scope: 'invoice',
      mode: 'down',
      basis:
        'Consumption Tax Act Enforcement Order Art. 70-10: one rounding per rate per qualified invoice (fractions truncated)',
    },
    reverseCharge: {
      mention: 'Reverse charge: the recipient accounts for consumption tax (tokutei kazei shiire)',
      basis: 'Consumption Tax Act Art. 2(1)(viii-iv) and Art. 5(1) (business-to-business electronic services)',
    },
    domestic: 'Consumption Tax Act Art. 4(3)(iii) (place of supply where the recipient is)',
    foreignSeller: 'Consumption Tax Act Art. 4(3)(iii) and Art. 5 (consumer electronic services from abroad)',
  },
  SG: {
    rounding: {
      scope: 'invoice',
      mode: 'half_up',
      basis: 'IRAS e-Tax Guide "General guide for businesses": GST on the invoice total, rounded to the nearest cent',
    },
    reverseCharge: {
      mention: 'Reverse charge: the GST-registered recipient accounts for GST',
      basis: 'Goods and Services Tax Act 1993 s 14 (imported services) and First Schedule (reverse charge)',
    },
    domestic: 'Goods and Services Tax Act 1993 s 8',
    foreignSeller:
      'Goods and Services Tax Act 1993 Eighth Schedule (overseas vendor registration for digital services, from 2020-01-01)',
  },
  IN: {
    rounding: { scope: 'line', mode: 'half_up', basis: 'CGST Rules 2017 rule 46: tax per item of the invoice' },
    reverseCharge: {
      mention: 'Reverse charge: the recipient pays IGST',
      basis: 'IGST Act 2017 s 5(3) and Notification 10/2017-Integrated Tax (Rate)',
    },
    domestic: 'CGST Act 2017 s 9 and IGST Act 2017 s 5 (intra-state: CGST + SGST; inter-state: IGST)',
    foreignSeller:
      'IGST Act 2017 s 14 (online information and database access services to non-taxable online recipients)',
  },
};

const stripeRounding: RoundingRule = {
  scope: 'line',
  mode: 'half_up',
  basis: 'Stripe Tax calculation: tax per line item',
};
const noTaxRounding: RoundingRule = { scope: 'invoice', mode: 'half_up', basis: 'no tax' };

interface Context {
  seller: Seller;
  buyer: Buyer & { country: string };
  at: Date;
  registered: (jurisdiction: string) => boolean;
  sellerRegime: string;
  buyerRegime: string;
}

/** The components of a jurisdiction's tables in force at the instant (all its taxes, e.g. CGST + SGST for India). */
function tableComponents(jurisdiction: string, at: Date, taxes?: string[]): TaxComponent[] {
  return ratesAt(jurisdiction, at)
    .filter((r) => !taxes || taxes.includes(r.tax))
    .map((r) => ({ tax: r.tax, jurisdiction, rate: r.rate }));
}

/** A national regime's components for the buyer: Canada by province, India by state, the rest by country. */
function nationalComponents(
  context: Context,
  regime: NationalRegime,
): TaxComponent[] | { error: Determination & { ok: false } } {
  const { buyer, seller, at } = context;
  if (regime === 'CA') {
    if (!buyer.region || !canadianProvinces.has(buyer.region)) {
      return {
        error: {
          ok: false,
          code: 'customer_region_missing',
          message: `A customer in Canada needs its province or territory (region, e.g. ON) to be taxed; got ${buyer.region ?? 'none'}`,
        },
      };
    }
    const province = `CA-${buyer.region}`;
    return tableComponents(province, at).filter((c) =>
      provincialTaxes.has(c.tax) ? context.registered(province) : context.registered('CA'),
    );
  }
  if (regime === 'IN') {
    // Intra-state supplies carry CGST + SGST, all others IGST; a customer without a state is inter-state.
    const intraState = seller.country === 'IN' && buyer.region !== null && buyer.region === seller.region;
    return tableComponents('IN', at, intraState ? ['CGST', 'SGST'] : ['IGST']);
  }
  return tableComponents(buyer.country, at);
}

interface Rule {
  id: RuleId;
  /** The legal basis when the rule is the same in every regime it covers; regime-specific bases come from regimeLaw. */
  basis: string;
  apply(context: Context): Treatment | Determination | undefined;
}

const treatment = (
  fields: Omit<Treatment, 'external' | 'mention'> & Partial<Pick<Treatment, 'external' | 'mention'>>,
): Treatment => ({ external: null, mention: null, ...fields });

/** The rules in the order they are tried. */
export const rules: readonly Rule[] = [
  {
    id: 'exempt',
    basis: "The customer's exemption as recorded by the seller, with its reason printed on the invoice",
    apply: ({ buyer }) =>
      buyer.kind === 'exempt'
        ? treatment({
            rule: 'exempt',
            jurisdiction: buyer.country,
            components: [],
            mention: `Tax exempt: ${buyer.exemptReason ?? 'exemption on file'}`,
            legalBasis: rules[0].basis,
            rounding: noTaxRounding,
          })
        : undefined,
  },
  {
    id: 'us_stripe_tax',
    basis:
      "US state and local sales tax as computed by Stripe Tax for the customer's address (the tenant's registrations are kept in Stripe)",
    apply: ({ buyer, seller }) =>
      buyer.country === 'US' && seller.stripeTax
        ? treatment({
            rule: 'us_stripe_tax',
            jurisdiction: buyer.region ? `US-${buyer.region}` : 'US',
            components: [],
            legalBasis: rules[1].basis,
            rounding: stripeRounding,
            external: 'stripe_tax',
          })
        : undefined,
  },
  {
    id: 'eu_domestic',
    basis: regimeLaw.EU.domestic,
    apply: ({ buyer, seller, at, registered, buyerRegime }) =>
      buyerRegime === 'EU' && buyer.country === seller.country && registered(buyer.country)
        ? treatment({
            rule: 'eu_domestic',
            jurisdiction: buyer.country,
            components: tableComponents(buyer.country, at),
            legalBasis: regimeLaw.EU.domestic,
            rounding: regimeLaw.EU.rounding,
          })
        : undefined,
  },
  {
    id: 'eu_reverse_charge',
    basis: regimeLaw.EU.reverseCharge.basis,
    apply: ({ buyer, seller, buyerRegime }) =>
      buyerRegime === 'EU' && buyer.kind === 'business' && buyer.hasValidTaxId && buyer.country !== seller.country
        ? treatment({
            rule: 'eu_reverse_charge',
            jurisdiction: buyer.country,
            components: [],
            mention: regimeLaw.EU.reverseCharge.mention,
            legalBasis: regimeLaw.EU.reverseCharge.basis,
            rounding: regimeLaw.EU.rounding,
          })
        : undefined,
  },
  {
    id: 'eu_oss',
    basis: regimeLaw.EU.foreignSeller,
    // Consumers, and businesses without a valid VAT id (they cannot take the reverse charge).
    apply: ({ buyer, at, registered, buyerRegime }) =>
      buyerRegime === 'EU' && (registered('EU') || registered(buyer.country))
        ? treatment({
            rule: 'eu_oss',
            jurisdiction: buyer.country,
            components: tableComponents(buyer.country, at),
            legalBasis: regimeLaw.EU.foreignSeller,
            rounding: regimeLaw.EU.rounding,
          })
        : undefined,
  },
  {
    id: 'eu_distance_threshold',
    basis:
      "Article 59c of Directive 2006/112/EC: cross-border supplies to consumers below EUR 10,000 a year are taxed in the supplier's member state",
    apply: ({ seller, at, registered, buyerRegime, sellerRegime }) =>
      buyerRegime === 'EU' && sellerRegime === 'EU' && registered(seller.country)
        ? treatment({
            rule: 'eu_distance_threshold',
            jurisdiction: seller.country,
            components: tableComponents(seller.country, at),
            legalBasis: rules[5].basis,
            rounding: regimeLaw.EU.rounding,
          })
        : undefined,
  },
  {
    id: 'domestic',
    basis: "Per regime (regimeLaw.domestic): a seller established in the customer's country charges its tax",
    apply: (context) => {
      const { buyerRegime, sellerRegime, registered } = context;
      if (!isNational(buyerRegime) || sellerRegime !== buyerRegime || !registered(buyerRegime)) return undefined;
      const components = nationalComponents(context, buyerRegime);
      if ('error' in components) return components.error;
      return treatment({
        rule: 'domestic',
        jurisdiction: jurisdictionOf(context),
        components,
        legalBasis: regimeLaw[buyerRegime].domestic,
        rounding: regimeLaw[buyerRegime].rounding,
      });
    },
  },
  {
    id: 'reverse_charge',
    basis: 'Per regime (regimeLaw.reverseCharge): a business customer with a valid tax id accounts for the tax itself',
    apply: (context) => {
      const { buyer, buyerRegime } = context;
      if (!isNational(buyerRegime) || buyer.kind !== 'business' || !buyer.hasValidTaxId) return undefined;
      const law = regimeLaw[buyerRegime];
      return treatment({
        rule: 'reverse_charge',
        jurisdiction: jurisdictionOf(context),
        components: [],
        mention: law.reverseCharge.mention,
        legalBasis: law.reverseCharge.basis,
        rounding: law.rounding,
      });
    },
  },
  {
    id: 'registered_foreign_seller',
    basis:
      "Per regime (regimeLaw.foreignSeller): a foreign seller registered under the country's digital-services regime charges its tax to consumers",
    apply: (context) => {
      const { buyerRegime, registered } = context;
      if (!isNational(buyerRegime) || !registered(buyerRegime)) return undefined;
      const components = nationalComponents(context, buyerRegime);
      if ('error' in components) return components.error;
      return treatment({
        rule: 'registered_foreign_seller',
        jurisdiction: jurisdictionOf(context),
        components,
        legalBasis: regimeLaw[buyerRegime].foreignSeller,
        rounding: regimeLaw[buyerRegime].rounding,
      });
    },
  },
  {
    id: 'outside_registrations',
    basis: "The place of supply is the customer's country, where the seller is not registered to collect tax",
    apply: ({ buyer, sellerRegime, buyerRegime }) =>
      treatment({
        rule: 'outside_registrations',
        jurisdiction: null,
        components: [],
        mention: `No tax charged: place of supply ${buyer.country}, where the seller does not collect tax`,
        legalBasis:
          sellerRegime === 'EU' && buyerRegime !== 'EU'
            ? 'Articles 44 and 59 of Directive 2006/112/EC: place of supply outside the EU'
            : "The place of supply is the customer's country, where the seller is not registered to collect tax",
        rounding: noTaxRounding,
      }),
  },
];

function isNational(regime: string): regime is NationalRegime {
  return (nationalRegimes as readonly string[]).includes(regime);
}

function jurisdictionOf({ buyer, buyerRegime }: Context): string {
  return buyerRegime === 'CA' && buyer.region ? `CA-${buyer.region}` : buyer.country;
}

/** Whether a registration's jurisdiction is one this module can collect in. */
export function isKnownJurisdiction(jurisdiction: string): boolean {
  return (
    jurisdiction === 'EU' ||
    jurisdiction === 'US' ||
    hasRates(jurisdiction) ||
    jurisdiction === 'CA' ||
    (jurisdiction.startsWith('CA-') && canadianProvinces.has(jurisdiction.slice(3)))
  );
}

/** The first rule that applies to the seller and buyer at the instant (the supply date). */
export function determineTax(seller: Seller, buyer: Buyer, at: Date): Determination {
  if (!buyer.country)
    return {
      ok: false,
      code: 'customer_country_missing',
      message: "The customer has no country: its tax cannot be determined (set the customer's country)",
    };
  if (!/^[A-Z]{2}$/.test(buyer.country))
    return { ok: false, code: 'jurisdiction_unknown', message: `"${buyer.country}" is not an ISO 3166-1 country code` };
  const unknown = seller.registrations.find((r) => !isKnownJurisdiction(r.jurisdiction));
  if (unknown)
    return {
      ok: false,
      code: 'jurisdiction_unknown',
      message: `The seller is registered in "${unknown.jurisdiction}", for which there is no rate table`,
    };
  const jurisdictions = new Set(seller.registrations.map((r) => r.jurisdiction));
  const context: Context = {
    seller,
    buyer: { ...buyer, country: buyer.country },
    at,
    // A Canadian province's registration implies nothing federal; the federal CA one covers GST/HST everywhere.
    registered: (jurisdiction) =>
      jurisdictions.has(jurisdiction) || (regimeOf(jurisdiction) === 'CH' && jurisdictions.has('CH')),
    sellerRegime: regimeOf(seller.country),
    buyerRegime: regimeOf(buyer.country),
  };
  for (const rule of rules) {
    const result = rule.apply(context);
    if (!result) continue;
    if ('ok' in result) return result;
    return { ok: true, treatment: result };
  }
  throw new Error('the last rule always applies');
}
