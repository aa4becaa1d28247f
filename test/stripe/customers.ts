// /v1/customers: create, retrieve, update, delete, list, search, and the customer's payment methods.
import { invalidParam } from './errors.ts';
import type { FormParams } from './form.ts';
import { mergeMetadata, readEnum, readObject, readString } from './params.ts';
import { attachPaymentMethod } from './payment-methods.ts';
import {
  emitEvent,
  listPage,
  objectsOfType,
  requireObject,
  searchPage,
  type HandlerContext,
  type Route,
} from './routes.ts';
import { fromFixture, newId, saveObject, type StripeObject } from './store.ts';

const ADDRESS_FIELDS = ['city', 'country', 'line1', 'line2', 'postal_code', 'state'] as const;

export function readAddress(params: FormParams, name: string): Record<string, string | null> | undefined {
  const given = readObject(params, name);
  if (!given) return undefined;
  for (const key of Object.keys(given))
    if (!(ADDRESS_FIELDS as readonly string[]).includes(key))
      throw invalidParam(`${name}[${key}]`, `Received unknown parameter: ${name}[${key}]`, 'parameter_unknown');
  return Object.fromEntries(ADDRESS_FIELDS.map((field) => [field, readString(given, field) ?? null]));
}

/** The fields create and update share, applied to `customer`; returns the previous values of what changed. */
function applyCustomerFields(context: HandlerContext, customer: StripeObject): Record<string, unknown> {
  const { params } = context;
  const previous: Record<string, unknown> = {};
  const set = (field: string, value: unknown) => {
    if (value === undefined || JSON.stringify(customer[field]) === JSON.stringify(value)) return;
    previous[field] = customer[field];
    customer[field] = value;
  };
  for (const field of ['email', 'name', 'description', 'phone'] as const) {
    if (params[field] !== undefined) set(field, readString(params, field) ?? null);
  }
  set('address', readAddress(params, 'address'));
  set('tax_exempt', readEnum(params, 'tax_exempt', ['none', 'exempt', 'reverse'] as const));
  set('metadata', params.metadata === undefined ? undefined : mergeMetadata(customer.metadata, params));
  const invoiceSettings = readObject(params, 'invoice_settings');
  if (invoiceSettings) {
    const defaultPaymentMethod = readString(invoiceSettings, 'default_payment_method');
    if (defaultPaymentMethod) {
      const paymentMethod = requireObject(
        context.account,
        defaultPaymentMethod,
        'payment_method',
        'invoice_settings[default_payment_method]',
      );
      if (paymentMethod.customer !== customer.id) {
        throw invalidParam(
          'invoice_settings[default_payment_method]',
          `The customer does not have a payment method with the ID ${defaultPaymentMethod}. The payment method must be attached to the customer.`,
        );
      }
    }
    set('invoice_settings', { ...customer.invoice_settings, default_payment_method: defaultPaymentMethod ?? null });
  }
  return previous;
}

function createCustomer(context: HandlerContext): StripeObject {
  const customer = fromFixture('customer', {
    id: newId('cus', 14),
    created: context.core.now(),
    address: null,
    discount: null,
    shipping: null,
    currency: null,
    email: null,
    name: null,
    description: null,
    phone: null,
    metadata: {},
    invoice_prefix: newId('x', 8).slice(2).toUpperCase(),
  });
  customer.invoice_settings = { ...customer.invoice_settings, default_payment_method: null };
  const paymentMethod = readString(context.params, 'payment_method');
  saveObject(context.account, customer);
  if (paymentMethod) attachPaymentMethod(context, paymentMethod, customer.id);
  applyCustomerFields(context, customer);
  emitEvent(context, 'customer.created', customer);
  return customer;
}

function updateCustomer(context: HandlerContext): StripeObject {
  const customer = requireObject(context.account, context.path.id!, 'customer');
  const previous = applyCustomerFields(context, customer);
  if (Object.keys(previous).length > 0) emitEvent(context, 'customer.updated', customer, previous);
  return customer;
}

function deleteCustomer(context: HandlerContext): StripeObject {
  const customer = requireObject(context.account, context.path.id!, 'customer');
  emitEvent(context, 'customer.deleted', customer);
  customer.deleted = true;
  return { id: customer.id, object: 'customer', deleted: true };
}

const CUSTOMER_PARAMS = [
  'address',
  'description',
  'email',
  'metadata',
  'name',
  'phone',
  'payment_method',
  'invoice_settings',
  'preferred_locales',
  'tax_exempt',
  'shipping',
  'balance',
  'tax',
  'tax_id_data',
  'test_clock',
  'invoice_prefix',
  'next_invoice_sequence',
  'source',
  'default_source',
  'coupon',
  'promotion_code',
  'cash_balance',
  'validate',
  'business_name',
  'individual_name',
];

export const customerRoutes: Route[] = [
  { method: 'POST', path: '/v1/customers', accepts: CUSTOMER_PARAMS, handle: createCustomer },
  {
    method: 'GET',
    path: '/v1/customers/search',
    handle: (context) => searchPage(objectsOfType(context.account, 'customer'), context.params, '/v1/customers/search'),
  },
  {
    method: 'GET',
    path: '/v1/customers',
    handle: (context) => {
      const email = readString(context.params, 'email');
      const customers = objectsOfType(
        context.account,
        'customer',
        (customer) => email === undefined || customer.email === email,
      );
      return listPage(customers, context.params, '/v1/customers');
    },
  },
  {
    method: 'GET',
    path: '/v1/customers/:id',
    handle: (context) => {
      const customer = context.account.objects.get(context.path.id!);
      // A deleted customer is still retrievable, as a stub that says so.
      if (customer?.object === 'customer' && customer.deleted)
        return { id: customer.id, object: 'customer', deleted: true };
      return requireObject(context.account, context.path.id!, 'customer');
    },
  },
  { method: 'POST', path: '/v1/customers/:id', accepts: CUSTOMER_PARAMS, handle: updateCustomer },
  { method: 'DELETE', path: '/v1/customers/:id', handle: deleteCustomer },
  {
    method: 'GET',
    path: '/v1/customers/:id/payment_methods',
    handle: (context) => {
      const customer = requireObject(context.account, context.path.id!, 'customer');
      const type = readString(context.params, 'type');
      const methods = objectsOfType(
        context.account,
        'payment_method',
        (method) => method.customer === customer.id && (type === undefined || method.type === type),
      );
      return listPage(methods, context.params, `/v1/customers/${customer.id}/payment_methods`);
    },
  },
];
