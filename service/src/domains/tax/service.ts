// Tax: the tenant's profile and registrations, the tax of an invoice (the pipeline's step after FX conversion:
// build -> FX -> tax -> finalize), and the tax report. (A customer's tax id is checked by the customers domain.)
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, requireTenantWide } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { AppError, invalid, notFound, precondition, type FieldProblem } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { recordChange } from '../audit/service.ts';
import { computeInvoiceTax, type ComponentTax, type InvoiceTax } from './compute.ts';
import crypto from 'node:crypto';
import { calculateStripeTax, type StripeTaxRequest, type StripeTaxResult } from './connections.ts';
import { tenantStripeConnection } from '../../platform/tenant-stripe.ts';
import { sourceOf } from './rates/index.ts';
import {
  determineTax,
  isKnownJurisdiction,
  type Buyer,
  type Registration,
  type Seller,
  type Treatment,
} from './rules.ts';
import { checkTaxId } from './tax-ids.ts';
import * as repo from './repo.ts';
import type { TaxReportInput, UpdateTaxSettingsInput } from '@tariff/openapi/schemas/tax';

/** What an invoice's `tax` column holds: the treatment, the amounts, and both parties as they stood. */
export interface TaxRecord {
  rule: Treatment['rule'];
  jurisdiction: string | null;
  mention: string | null;
  legal_basis: string;
  rounding: Treatment['rounding'];
  prices_include_tax: boolean;
  currency: string;
  source: 'tables' | 'stripe_tax';
  /** Where the rates come from (the table's source and date, or the Stripe calculation). */
  rate_source: string | null;
  supply_date: string;
  components: {
    tax: string;
    jurisdiction: string;
    rate: string;
    taxable: string;
    amount: string;
    amount_exact: string;
  }[];
  line_tax: string[];
  seller: {
    name: string;
    address: string;
    country: string;
    region: string | null;
    tax_ids: { jurisdiction: string; tax_id: string }[];
  };
  buyer: {
    external_id: string;
    name: string | null;
    address: string | null;
    country: string | null;
    region: string | null;
    kind: 'business' | 'consumer' | 'exempt';
    tax_id: string | null;
    tax_id_check: { status: string; checked_at: string; source: string } | null;
  };
  payment_terms_days: number;
}

export interface TaxedInvoice {
  tax: InvoiceTax;
  record: TaxRecord;
}

/** The seller of an invoice as its tax needs it: the tenant (its tax settings), or the reseller that issues it. */
export type SellerTaxProfile = Omit<repo.TaxSettings, 'updatedAt'>;

export interface TaxContext {
  settings: repo.TaxSettings | undefined;
  customers: Map<string, repo.CustomerTaxProfile>;
  /** The reseller selling to each of these customers (absent: the tenant sells). */
  resellers: Map<string, SellerTaxProfile>;
  /** Stripe Tax calculations made before finalization, by subject (TaxedDraft.calculationSubject, else the invoice's id). */
  stripeCalculations: Map<string, repo.StoredStripeCalculation>;
}

/**
 * The tenant's tax profile, the customers' tax profiles, the resellers selling to them (brands/service.ts
 * taxContextOf reads those) and the invoices' Stripe Tax calculations, once for a batch of invoices.
 */
export async function loadTaxContext(
  scope: TenantScope,
  customerIds: string[],
  {
    resellers = new Map(),
    calculationSubjects = [],
  }: { resellers?: Map<string, SellerTaxProfile>; calculationSubjects?: string[] } = {},
): Promise<TaxContext> {
  const settings = await repo.findSettings(scope);
  const taxed = settings ? customerIds : customerIds.filter((id) => resellers.get(id)?.registrations.length);
  const [customers, stripeCalculations] = await Promise.all([
    repo.findCustomerProfiles(scope, taxed),
    settings?.stripeTax ? repo.findStripeCalculations(scope, calculationSubjects) : new Map(),
  ]);
  return { settings, customers, resellers, stripeCalculations };
}

/**
 * Who sells to the customer, for tax: its reseller, else the tenant. Undefined: no tax at all. A tenant without tax
 * settings charges none; its resellers' sales are theirs, taxed where they are registered (a reseller registered
 * nowhere under such a tenant charges none and says nothing, as the tenant).
 */
function sellerFor(context: TaxContext, customerId: string): SellerTaxProfile | undefined {
  const reseller = context.resellers.get(customerId);
  if (!reseller) return context.settings;
  return context.settings || reseller.registrations.length > 0 ? reseller : undefined;
}

function sellerOf(settings: SellerTaxProfile): Seller {
  return {
    country: settings.country,
    region: settings.region,
    registrations: settings.registrations,
    stripeTax: settings.stripeTax,
  };
}

/** The customer as the rules see it: a business needs a tax id of its country that no registry found invalid. */
export function buyerOf(customer: repo.CustomerTaxProfile): Buyer {
  const kind = customer.taxStatus ?? (customer.taxId ? 'business' : 'consumer');
  const wellFormed =
    customer.taxId !== null && customer.country !== null && checkTaxId(customer.country, customer.taxId).ok;
  return {
    kind,
    country: customer.country,
    region: customer.region,
    hasValidTaxId: wellFormed && customer.taxIdCheck?.status !== 'invalid',
    exemptReason: customer.taxExemptReason,
  };
}

/** An invoice as its tax sees it: its lines (rounded, billing currency) and the end of its supply. */
export interface TaxedDraft {
  id: string;
  /**
   * What its Stripe Tax calculation is stored under (stripe_tax_calculations.subject) when not its id: a threshold
   * invoice is calculated before it exists, under its period's subject (invoices' thresholdTaxSubject).
   */
  calculationSubject?: string;
  customerId: string;
  currency: string;
  minorUnit: number;
  lines: bigint[];
  supplyEnd: Date;
}

/** The treatment of an invoice's customer at its supply date, or the precondition error that stops it. */
function treatmentOf(seller: SellerTaxProfile, customer: repo.CustomerTaxProfile, invoice: TaxedDraft) {
  const supplyAt = new Date(invoice.supplyEnd.getTime() - 1);
  const buyer = buyerOf(customer);
  const determined = determineTax(sellerOf(seller), buyer, supplyAt);
  if (!determined.ok) {
    throw precondition(determined.code, `Customer "${customer.externalId}": ${determined.message}`, [
      { field: determined.code === 'customer_region_missing' ? 'region' : 'country', reason: determined.message },
    ]);
  }
  return { supplyAt, buyer, treatment: determined.treatment };
}

const subjectOf = (invoice: TaxedDraft) => invoice.calculationSubject ?? invoice.id;

/** Whether the customer's seller has Stripe Tax on: only then may its invoices need a calculation before they are final. */
export function sellsWithStripeTax(context: TaxContext, customerId: string): boolean {
  return sellerFor(context, customerId)?.stripeTax === true;
}

function customerOf(context: TaxContext, customerId: string): repo.CustomerTaxProfile {
  const customer = context.customers.get(customerId);
  if (!customer) throw new Error(`customer ${customerId} was not loaded for tax`);
  return customer;
}

/** What Stripe Tax is asked for an invoice, and its fingerprint (the same invoice asks the same). */
function stripeTaxRequestOf(seller: SellerTaxProfile, customer: repo.CustomerTaxProfile, invoice: TaxedDraft) {
  const request: Omit<StripeTaxRequest, 'idempotencyKey'> = {
    currency: invoice.currency,
    minorUnit: invoice.minorUnit,
    lines: invoice.lines,
    pricesIncludeTax: seller.pricesIncludeTax,
    address: {
      country: customer.country!,
      state: customer.region,
      postalCode: customer.postalCode,
      line1: customer.address,
    },
  };
  const fingerprint = crypto
    .createHash('sha256')
    .update(JSON.stringify(request, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex');
  return { request, fingerprint };
}

/**
 * Stripe Tax's calculation of a draft invoice, made OUTSIDE any transaction (no lock is held across the network
 * call) and stored for its finalization, which uses it if the invoice still asks the same (taxInvoice). With the
 * tenant's own Stripe account (its connection, kept sealed by payments). Nothing to do (undefined) when the
 * invoice is not taxed by Stripe Tax, its tax cannot be determined (the finalization reports why), or the stored
 * calculation still fits. Idempotent: the same invoice asking the same is one Stripe request.
 */
export async function calculateStripeTaxBeforeFinalization(
  deps: Deps,
  tenantId: string,
  read: (scope: TenantScope) => Promise<{ invoice: TaxedDraft; context: TaxContext } | undefined>,
): Promise<'calculated' | 'unchanged' | 'not_needed'> {
  const asked = await withTenant(deps.db, tenantId, async (tx) => {
    const scope = { db: tx, tenantId };
    const found = await read(scope);
    if (!found) return undefined;
    const { invoice, context } = found;
    const seller = sellerFor(context, invoice.customerId);
    if (!seller?.stripeTax) return undefined;
    const customer = customerOf(context, invoice.customerId);
    let treatment: Treatment;
    try {
      treatment = treatmentOf(seller, customer, invoice).treatment;
    } catch (error) {
      if (error instanceof AppError) return undefined;
      throw error;
    }
    if (treatment.external !== 'stripe_tax') return undefined;
    const { request, fingerprint } = stripeTaxRequestOf(seller, customer, invoice);
    if (context.stripeCalculations.get(subjectOf(invoice))?.fingerprint === fingerprint) return 'unchanged' as const;
    return { invoice, customer, request, fingerprint };
  });
  if (asked === undefined) return 'not_needed';
  if (asked === 'unchanged') return 'unchanged';
  const connection = await tenantStripeConnection(deps, tenantId);
  if (!connection)
    throw precondition(
      'stripe_not_connected',
      `Stripe Tax is turned on but the tenant has not connected its Stripe account (PUT /v1/stripe/connection): the tax of customer "${asked.customer.externalId}" cannot be calculated`,
    );
  let result: StripeTaxResult;
  try {
    result = await calculateStripeTax(connection, {
      ...asked.request,
      idempotencyKey: `tariff-tax-${subjectOf(asked.invoice)}-${asked.fingerprint.slice(0, 32)}`,
    });
  } catch (error) {
    throw new AppError(
      'unavailable',
      'stripe_tax_failed',
      `Stripe Tax could not compute the tax of customer "${asked.customer.externalId}": ${(error as Error).message}`,
    );
  }
  await withTenant(deps.db, tenantId, (tx) =>
    repo.saveStripeCalculation(
      { db: tx, tenantId },
      subjectOf(asked.invoice),
      {
        fingerprint: asked.fingerprint,
        calculationId: result.calculationId,
        result: {
          components: result.components.map((c) => ({
            tax: c.tax,
            jurisdiction: c.jurisdiction,
            rate: c.rate,
            taxable: c.taxable.toString(),
            amount: c.amount.toString(),
          })),
          lineTax: result.lineTax.map(String),
        },
      },
      deps.clock.now(),
    ),
  );
  return 'calculated';
}

/**
 * The tax of one invoice of a customer as its seller's (the tenant's, or the issuing reseller's), or null when
 * that seller charges no tax (sellerFor). The rates are those in force on the last day of supply (the period's
 * last instant); lines are the rounded amounts, all carrying the same treatment (one customer, one place of
 * supply). A customer whose tax cannot be determined (no country, a Canadian customer without province...) is a
 * precondition error: no invoice goes out wrong. Pure of network calls: US sales tax comes from the Stripe Tax
 * calculation stored before (calculateStripeTaxBeforeFinalization); none that fits the invoice as it stands is
 * `stripe_tax_pending`, and the invoice waits for the next billing tick.
 */
export function taxInvoice(context: TaxContext, invoice: TaxedDraft): TaxedInvoice | null {
  const seller = sellerFor(context, invoice.customerId);
  if (!seller) return null;
  const customer = customerOf(context, invoice.customerId);
  const { supplyAt, buyer, treatment } = treatmentOf(seller, customer, invoice);
  let tax: InvoiceTax;
  let rateSource: string | null = treatment.jurisdiction
    ? sourceOf(treatment.jurisdiction)
      ? `${sourceOf(treatment.jurisdiction)!.source} (read ${sourceOf(treatment.jurisdiction)!.asOf})`
      : null
    : null;
  if (treatment.external === 'stripe_tax') {
    const stored = context.stripeCalculations.get(subjectOf(invoice));
    if (!stored || stored.fingerprint !== stripeTaxRequestOf(seller, customer, invoice).fingerprint)
      throw precondition(
        'stripe_tax_pending',
        `Stripe Tax has not calculated the tax of this invoice of customer "${customer.externalId}" as it stands: it is calculated before finalization, outside it, and the invoice is finalized on the next billing tick`,
      );
    const components: ComponentTax[] = stored.result.components.map((c) => ({
      tax: c.tax,
      jurisdiction: c.jurisdiction,
      rate: c.rate,
      taxable: BigInt(c.taxable),
      amount: BigInt(c.amount),
      amountExact: BigInt(c.amount),
    }));
    tax = fromExternalTax(invoice.lines, components, stored.result.lineTax.map(BigInt), seller.pricesIncludeTax);
    rateSource = `Stripe Tax calculation ${stored.calculationId}`;
  } else {
    tax = computeInvoiceTax(invoice.lines, treatment, invoice.minorUnit, seller.pricesIncludeTax);
  }
  return {
    tax,
    record: {
      rule: treatment.rule,
      jurisdiction: treatment.jurisdiction,
      mention: treatment.mention,
      legal_basis: treatment.legalBasis,
      rounding: treatment.rounding,
      prices_include_tax: seller.pricesIncludeTax,
      currency: invoice.currency,
      source: treatment.external === 'stripe_tax' ? 'stripe_tax' : 'tables',
      rate_source: rateSource,
      supply_date: supplyAt.toISOString().slice(0, 10),
      components: tax.components.map((c) => ({
        tax: c.tax,
        jurisdiction: c.jurisdiction,
        rate: c.rate,
        taxable: formatMoney(c.taxable),
        amount: formatMoney(c.amount),
        amount_exact: formatMoney(c.amountExact),
      })),
      line_tax: tax.lineTax.map(formatMoney),
      seller: {
        name: seller.legalName,
        address: seller.address,
        country: seller.country,
        region: seller.region,
        tax_ids: seller.registrations
          .filter((r) => r.taxId !== null)
          .map((r) => ({ jurisdiction: r.jurisdiction, tax_id: r.taxId! })),
      },
      buyer: {
        external_id: customer.externalId,
        name: customer.name,
        address: customer.address,
        country: customer.country,
        region: customer.region,
        kind: buyer.kind,
        tax_id: customer.taxId,
        tax_id_check: customer.taxIdCheck
          ? {
              status: customer.taxIdCheck.status,
              checked_at: customer.taxIdCheck.checked_at,
              source: customer.taxIdCheck.source,
            }
          : null,
      },
      payment_terms_days: seller.paymentTermsDays,
    },
  };
}

/** Stripe's components and line taxes as an InvoiceTax (its per-line amounts when it had the lines, else spread by share). */
function fromExternalTax(
  lines: bigint[],
  components: ComponentTax[],
  lineTax: bigint[],
  pricesIncludeTax: boolean,
): InvoiceTax {
  const linesTotal = lines.reduce((a, b) => a + b, 0n);
  const tax = components.reduce((sum, c) => sum + c.amount, 0n);
  let shares = lineTax;
  if (shares.length !== lines.length) {
    // The net was sent as one line: its tax goes to the last line with an amount (documented on connections.ts).
    shares = lines.map(() => 0n);
    if (lines.length > 0) shares[lines.length - 1] = tax;
  }
  const subtotal = pricesIncludeTax ? linesTotal - tax : linesTotal;
  return { linesTotal, subtotal, tax, total: subtotal + tax, components, lineTax: shares };
}

export async function getTaxSettings(deps: Deps, actor: Actor) {
  requirePermission(actor, 'billing.read');
  requireTenantWide(actor, "read the tenant's tax settings");
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const settings = await repo.findSettings({ db: tx, tenantId: actor.tenantId });
    if (!settings)
      throw notFound(
        'tax_settings_not_found',
        'The tenant has no tax settings: it charges no tax (PUT /v1/tax/settings to start)',
      );
    return toApiSettings(settings);
  });
}

/**
 * Sets the tenant's tax profile and replaces its registrations. Each registration must be a jurisdiction with
 * rate tables (or EU for the OSS, US for Stripe Tax), and a country registration's tax id must have that
 * country's format.
 */
export async function updateTaxSettings(deps: Deps, actor: Actor, input: UpdateTaxSettingsInput) {
  requirePermission(actor, 'invoices.write');
  requireTenantWide(actor, "change the tenant's tax settings");
  const { registrations, problems } = checkRegistrations(input.registrations, 'registrations');
  const seen = new Set(registrations.map((r) => r.jurisdiction));
  if (input.stripe_tax && !seen.has('US'))
    problems.push({
      field: 'stripe_tax',
      reason: 'add a US registration (the states are registered in Stripe) to turn Stripe Tax on',
    });
  if (problems.length > 0) throw invalid('invalid_tax_settings', 'The tax settings do not fit', problems);
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findSettings(scope);
    await repo.saveSettings(
      scope,
      {
        legalName: input.legal_name,
        address: input.address,
        country: input.country,
        region: input.region,
        pricesIncludeTax: input.prices_include_tax,
        stripeTax: input.stripe_tax,
        paymentTermsDays: input.payment_terms_days,
        registrations,
      },
      now,
    );
    const after = toApiSettings((await repo.findSettings(scope))!);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'tax_settings.updated',
      entityType: 'tenant',
      entityId: actor.tenantId,
      before: before ? toApiSettings(before) : null,
      after,
    });
    return after;
  });
}

/**
 * A seller's registrations checked: each a jurisdiction with rate tables (or EU for the OSS, US for Stripe Tax
 * when `allowUs`), none twice, a country registration's tax id of that country's format (stored normalized).
 * Every problem is reported at once, by its field under `field`.
 */
export function checkRegistrations(
  input: { jurisdiction: string; tax_id: string | null }[],
  field: string,
  options: { allowUs: boolean } = { allowUs: true },
): { registrations: Registration[]; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const registrations = input.map((r, i) => {
    let taxId = r.tax_id;
    if (!isKnownJurisdiction(r.jurisdiction) || (r.jurisdiction === 'US' && !options.allowUs))
      problems.push({
        field: `${field}.${i}.jurisdiction`,
        reason: `"${r.jurisdiction}" is not a jurisdiction Tariff has rates for (EU member states, GB, CH, LI, NO, AU, NZ, CA and its provinces, JP, SG, IN; EU for the OSS${options.allowUs ? ', US for Stripe Tax' : "; US sales tax is the tenant's, through Stripe Tax"})`,
      });
    if (seen.has(r.jurisdiction))
      problems.push({ field: `${field}.${i}.jurisdiction`, reason: `"${r.jurisdiction}" is listed twice` });
    seen.add(r.jurisdiction);
    const country =
      r.jurisdiction === 'EU' || r.jurisdiction === 'US' || r.jurisdiction.length !== 2 ? undefined : r.jurisdiction;
    if (taxId !== null && country) {
      const checked = checkTaxId(country, taxId);
      if (!checked.ok) problems.push({ field: `${field}.${i}.tax_id`, reason: checked.reason });
      else taxId = checked.normalized;
    }
    return { jurisdiction: r.jurisdiction, taxId };
  });
  return { registrations, problems };
}

function toApiSettings(settings: repo.TaxSettings) {
  return {
    legal_name: settings.legalName,
    address: settings.address,
    country: settings.country,
    region: settings.region,
    prices_include_tax: settings.pricesIncludeTax,
    stripe_tax: settings.stripeTax,
    payment_terms_days: settings.paymentTermsDays,
    registrations: settings.registrations.map((r) => ({ jurisdiction: r.jurisdiction, tax_id: r.taxId })),
    updated_at: settings.updatedAt.toISOString(),
  };
}

/** The tax report of [from, to] (whole UTC days): per jurisdiction, tax, rate, rule and currency, as an OSS or VAT return needs it. */
export async function taxReport(deps: Deps, actor: Actor, input: TaxReportInput) {
  requirePermission(actor, 'billing.read');
  const from = new Date(`${input.from}T00:00:00Z`);
  const to = new Date(`${input.to}T00:00:00Z`);
  if (Number.isNaN(from.getTime()))
    throw invalid('invalid_request', 'Not a date', [{ field: 'from', reason: 'is not a calendar date' }]);
  if (Number.isNaN(to.getTime()))
    throw invalid('invalid_request', 'Not a date', [{ field: 'to', reason: 'is not a calendar date' }]);
  if (to.getTime() < from.getTime())
    throw invalid('invalid_request', 'The period ends before it starts', [
      { field: 'to', reason: 'must be on or after from' },
    ]);
  const end = new Date(to.getTime() + 86_400_000);
  const rows = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.sumTaxes({ db: tx, tenantId: actor.tenantId }, from, end),
  );
  return {
    from: input.from,
    to: input.to,
    data: rows.map((r) => ({
      jurisdiction: r.jurisdiction,
      tax: r.tax,
      rate: r.rate,
      rule: r.rule,
      currency: r.currency,
      documents: r.documents,
      taxable: formatMoney(toNano(r.taxable)),
      tax_amount: formatMoney(toNano(r.amount)),
    })),
  };
}

const csvColumns = ['jurisdiction', 'tax', 'rate', 'rule', 'currency', 'documents', 'taxable', 'tax_amount'] as const;

/** The tax report as CSV (RFC 4180), one row per line of the JSON report. */
export async function taxReportCsv(deps: Deps, actor: Actor, input: TaxReportInput): Promise<string> {
  const report = await taxReport(deps, actor, input);
  const quote = (value: string | number) =>
    /[",\r\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value);
  return (
    [csvColumns.join(','), ...report.data.map((row) => csvColumns.map((c) => quote(row[c])).join(','))].join('\r\n') +
    '\r\n'
  );
}
