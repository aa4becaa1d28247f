// /v1/tax/calculations (Stripe Tax), kept small: US sales tax from a table of state rates the test controls, one
// rate per state (no county or city rates, no product taxability), rounded half up per line as Stripe does.
// Anything outside the US, or a state missing from the table, is 'not_collecting' (no registration there).
import { Decimal } from 'decimal.js';
import { invalidParam, invalidRequest, missingParam } from './errors.ts';
import type { FormParams } from './form.ts';
import { readEnum, readInteger, readObject, readObjectArray, readString } from './params.ts';
import { listPage, requireObject, type HandlerContext, type Route } from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';
import { readAddress } from './customers.ts';

/** Statewide base rates in percent (2026), enough for tests; a test sets its own table through the double. */
export const DEFAULT_US_SALES_TAX_RATES: Record<string, string> = {
  CA: '7.25',
  NY: '4',
  TX: '6.25',
  WA: '6.5',
  FL: '6',
  IL: '6.25',
  MA: '6.25',
};

const TaxDecimal = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

interface TaxLocation {
  country: string;
  state: string | null;
  address: Record<string, string | null>;
  addressSource: 'billing' | 'shipping';
}

function locationOf(context: HandlerContext): TaxLocation {
  const details = readObject(context.params, 'customer_details');
  const customerId = readString(context.params, 'customer');
  if (details) {
    const address = readAddress(details, 'address');
    if (!address) throw missingParam('customer_details[address]');
    const addressSource = readEnum(details, 'address_source', ['billing', 'shipping'] as const);
    if (!addressSource) throw missingParam('customer_details[address_source]');
    return withCountry(address, addressSource, 'customer_details[address][country]');
  }
  if (customerId) {
    const customer = requireObject(context.account, customerId, 'customer', 'customer');
    return withCountry(customer.address ?? {}, 'billing', 'customer');
  }
  throw missingParam('customer_details');
}

function withCountry(
  address: Record<string, string | null>,
  addressSource: 'billing' | 'shipping',
  param: string,
): TaxLocation {
  if (!address.country) {
    throw invalidRequest("The customer's location isn't recognized. Provide a valid address with at least a country.", {
      param,
      code: 'customer_tax_location_invalid',
    });
  }
  return {
    country: address.country.toUpperCase(),
    state: address.state?.toUpperCase() ?? null,
    address,
    addressSource,
  };
}

interface LineTax {
  amount: number;
  amountTax: number;
  inclusive: boolean;
  percentage: string;
  reason: 'standard_rated' | 'not_collecting';
}

function taxOfLine(amount: number, inclusive: boolean, percentage: string | undefined): LineTax {
  if (percentage === undefined) return { amount, amountTax: 0, inclusive, percentage: '0.0', reason: 'not_collecting' };
  const rate = new TaxDecimal(percentage).dividedBy(100);
  const amountTax = inclusive
    ? new TaxDecimal(amount).minus(new TaxDecimal(amount).dividedBy(rate.plus(1)).toDecimalPlaces(0)).toNumber()
    : new TaxDecimal(amount).times(rate).toDecimalPlaces(0).toNumber();
  return { amount, amountTax, inclusive, percentage, reason: 'standard_rated' };
}

function rateDetails(location: TaxLocation, tax: LineTax) {
  return {
    country: location.country,
    percentage_decimal: tax.percentage,
    state: location.state,
    tax_type: 'sales_tax',
    flat_amount: null,
    rate_type: 'percentage',
  };
}

/** Tax each line; line item objects are kept beside the calculation for its line_items endpoint. */
const lineItemsOf = new WeakMap<StripeObject, StripeObject[]>();

function createCalculation(context: HandlerContext): StripeObject {
  const { params } = context;
  const currency = readString(params, 'currency', 'required').toLowerCase();
  const lines = readObjectArray(params, 'line_items');
  if (!lines || lines.length === 0) throw missingParam('line_items');
  const location = locationOf(context);
  const percentage =
    location.country === 'US' && location.state ? context.core.taxRates.get(location.state) : undefined;
  const items = lines.map((line: FormParams, index) => {
    const amount = readInteger(line, 'amount');
    if (amount === undefined) throw missingParam(`line_items[${index}][amount]`);
    if (amount < 0) throw invalidParam(`line_items[${index}][amount]`, 'Line item amounts must not be negative.');
    const reference = readString(line, 'reference');
    if (!reference) throw missingParam(`line_items[${index}][reference]`);
    const behavior = readEnum(line, 'tax_behavior', ['exclusive', 'inclusive'] as const) ?? 'exclusive';
    const tax = taxOfLine(amount, behavior === 'inclusive', percentage);
    const item = fromFixture('tax.calculation_line_item', {
      id: newId('tax_li', 14),
      amount,
      amount_tax: tax.amountTax,
      product: readString(line, 'product') ?? null,
      quantity: readInteger(line, 'quantity') ?? 1,
      reference,
      tax_behavior: behavior,
      tax_code: readString(line, 'tax_code') ?? 'txcd_10000000',
      metadata: null,
      tax_breakdown: [
        {
          amount: tax.amountTax,
          jurisdiction: {
            country: location.country,
            display_name: location.state ?? location.country,
            level: 'state',
            state: location.state,
          },
          sourcing: 'destination',
          tax_rate_details: rateDetails(location, tax),
          taxability_reason: tax.reason,
          taxable_amount: tax.reason === 'standard_rated' ? amount - (tax.inclusive ? tax.amountTax : 0) : 0,
        },
      ],
    });
    return { item, tax };
  });
  const taxes = items.map(({ tax }) => tax);
  const exclusiveTax = taxes.filter((tax) => !tax.inclusive).reduce((sum, tax) => sum + tax.amountTax, 0);
  const inclusiveTax = taxes.filter((tax) => tax.inclusive).reduce((sum, tax) => sum + tax.amountTax, 0);
  const shipping = readObject(params, 'shipping_cost');
  const shippingAmount = shipping ? (readInteger(shipping, 'amount') ?? 0) : 0;
  const breakdown = new Map<string, { amount: number; taxable_amount: number; inclusive: boolean; tax: LineTax }>();
  for (const tax of taxes) {
    const key = `${tax.inclusive}:${tax.percentage}:${tax.reason}`;
    const entry = breakdown.get(key) ?? { amount: 0, taxable_amount: 0, inclusive: tax.inclusive, tax };
    entry.amount += tax.amountTax;
    entry.taxable_amount += tax.reason === 'standard_rated' ? tax.amount - (tax.inclusive ? tax.amountTax : 0) : 0;
    breakdown.set(key, entry);
  }
  const now = context.core.now();
  const calculation = fromFixture('tax.calculation', {
    id: newId('taxcalc'),
    currency,
    customer: readString(params, 'customer') ?? null,
    amount_total: taxes.reduce((sum, tax) => sum + tax.amount, 0) + exclusiveTax + shippingAmount,
    tax_amount_exclusive: exclusiveTax,
    tax_amount_inclusive: inclusiveTax,
    tax_date: readInteger(params, 'tax_date') ?? now,
    expires_at: now + 90 * 24 * 3600,
    shipping_cost: shipping
      ? { amount: shippingAmount, amount_tax: 0, tax_behavior: 'exclusive', tax_code: 'txcd_92010001' }
      : null,
    ship_from_details: null,
    tax_breakdown: [...breakdown.values()].map((entry) => ({
      amount: entry.amount,
      inclusive: entry.inclusive,
      tax_rate_details: rateDetails(location, entry.tax),
      taxability_reason: entry.tax.reason,
      taxable_amount: entry.taxable_amount,
    })),
  });
  calculation.customer_details = {
    ...calculation.customer_details,
    address: location.address,
    address_source: location.addressSource,
    ip_address: null,
    tax_ids: [],
    taxability_override: 'none',
  };
  lineItemsOf.set(
    calculation,
    items.map(({ item }) => item),
  );
  saveObject(context.account, calculation);
  return withLineItems(calculation, context.params);
}

/** `line_items` is includable: present only when asked for with `expand[]=line_items`, as on Stripe. */
function withLineItems(calculation: StripeObject, params: FormParams): StripeObject {
  const expand = params.expand;
  const wanted = Array.isArray(expand) ? expand.includes('line_items') : expand === 'line_items';
  if (!wanted) return calculation;
  const { expand: _omit, ...rest } = params;
  return {
    ...calculation,
    line_items: listPage(
      lineItemsOf.get(calculation) ?? [],
      { ...rest, limit: '100' },
      `/v1/tax/calculations/${calculation.id}/line_items`,
    ),
  };
}

export const taxRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/tax/calculations',
    accepts: [
      'currency',
      'line_items',
      'customer',
      'customer_details',
      'shipping_cost',
      'tax_date',
      'ship_from_details',
    ],
    handle: createCalculation,
  },
  {
    method: 'GET',
    path: '/v1/tax/calculations/:id',
    handle: (context) =>
      withLineItems(requireObject(context.account, context.path.id!, 'tax.calculation'), context.params),
  },
  {
    method: 'GET',
    path: '/v1/tax/calculations/:id/line_items',
    handle: (context) => {
      const calculation = requireObject(context.account, context.path.id!, 'tax.calculation');
      return listPage(
        lineItemsOf.get(calculation) ?? [],
        context.params,
        `/v1/tax/calculations/${calculation.id}/line_items`,
      );
    },
  },
];
