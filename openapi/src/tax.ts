// The tax part of the OpenAPI document: the tenant's tax settings, the tax report, the online tax id check, and
// the invoice and credit note documents (PDF, HTML).
import { taxReportInput, updateTaxSettingsInput } from './schemas/tax.ts';
import {
  type Operation,
  type Schema,
  decimal,
  fromZod,
  instant,
  money,
  nullable,
  object,
  string,
  described,
} from './schema.ts';

const uuidPath = { name: 'id', in: 'path' as const, schema: { type: 'string', format: 'uuid' }, required: true };
const customerPath = {
  name: 'id',
  in: 'path' as const,
  schema: string,
  required: true,
  description: "The customer's external id (percent-encoded).",
};
const reportParams = Object.entries((fromZod(taxReportInput) as { properties: Record<string, Schema> }).properties).map(
  ([name, schema]) => ({
    name,
    in: 'query' as const,
    schema,
    required: true,
  }),
);

export const taxRule =
  'Tax is decided per invoice by the first rule of service/src/domains/tax/rules.ts that applies, each with its legal basis: an exempt customer pays none; ' +
  'US customers go through Stripe Tax when it is on; in the EU, domestic supplies carry the local rate, a business with a valid VAT id in another member state is reverse charged ' +
  "(Article 196 of Directive 2006/112/EC), consumers pay their country's rate through the OSS (or the seller's rate below the Article 59c threshold); GB, CH, NO, AU, NZ, CA (GST/HST by province, " +
  'QST/PST/RST where registered), JP, SG and IN charge their rate when the seller is established or registered there, and reverse charge (or zero-rate) business customers with a tax id; ' +
  'anywhere else the seller does not collect, no tax. Rates are effective-dated tables (each naming its source and date), applied at the last day of supply; tax is computed with decimal.js and rounded ' +
  "to the currency's minor unit per the jurisdiction's rule (per invoice and rate, half-up; Japan truncates; India per line). Tax is set at finalization; drafts show it as 0.";

export const taxSchemas: Record<string, Schema> = {
  TaxSettings: object({
    legal_name: string,
    address: string,
    country: string,
    region: nullable(string),
    prices_include_tax: described(
      { type: 'boolean' },
      "Price books' amounts include tax (it is extracted) or exclude it (it is added).",
    ),
    stripe_tax: described({ type: 'boolean' }, 'US sales tax through Stripe Tax (needs a US registration).'),
    payment_terms_days: { type: 'integer' },
    registrations: { type: 'array', items: object({ jurisdiction: string, tax_id: nullable(string) }) },
    updated_at: instant,
  }),
  TaxReport: object({
    from: string,
    to: string,
    data: {
      type: 'array',
      items: object({
        jurisdiction: described(
          string,
          "Where the tax is owed (member state for the OSS return); the customer's country for untaxed rules.",
        ),
        tax: described(string, 'VAT, GST, HST, QST, ... (empty for untaxed rules such as reverse charge).'),
        rate: decimal,
        rule: string,
        currency: string,
        documents: described({ type: 'integer' }, 'Invoices and credit notes counted.'),
        taxable: described(money, 'Net amount taxed (credit notes negative).'),
        tax_amount: money,
      }),
    },
  }),
  TaxIdCheck: object({
    status: described(
      { type: 'string', enum: ['valid', 'invalid', 'unavailable'] },
      'unavailable: no registry answered; nothing is recorded and billing goes on with the format check.',
    ),
    checked_at: instant,
    source: nullable(string),
  }),
};

export const taxRoutes: Record<string, Record<string, Operation>> = {
  '/v1/tax/settings': {
    get: {
      summary: "The tenant's tax settings and registrations",
      operationId: 'getTaxSettings',
      description: taxRule,
      ok: [200, 'TaxSettings'],
    },
    put: {
      summary: "Set the tenant's tax settings and registrations",
      operationId: 'updateTaxSettings',
      description:
        "Registrations: a country (DE, GB, AU, CA...), a Canadian province for its own tax (CA-QC, CA-BC...), EU for the One-Stop Shop, US for Stripe Tax. A country registration's tax id is checked for " +
        "that country's format. 400 invalid_tax_settings names each field that does not fit. " +
        taxRule,
      body: fromZod(updateTaxSettingsInput),
      ok: [200, 'TaxSettings'],
    },
  },
  '/v1/tax/report': {
    get: {
      summary: 'Tax per jurisdiction, tax, rate and rule for a period (the figures of an OSS or VAT return)',
      operationId: 'getTaxReport',
      description:
        'Finalized invoices by finalization day and credit notes by issue day, from `from` to `to` inclusive (UTC days); credit notes count negative.',
      ok: [200, 'TaxReport'],
      params: reportParams,
    },
  },
  '/v1/tax/report.csv': {
    get: {
      summary: 'The tax report as CSV',
      operationId: 'getTaxReportCsv',
      ok: [200, ''],
      media: 'text/csv',
      params: reportParams,
    },
  },
  '/v1/customers/{id}/tax_id/verify': {
    post: {
      summary: "Check the customer's tax id online (VIES for EU ids)",
      operationId: 'verifyCustomerTaxId',
      description:
        'An answer is recorded on the customer (tax_id_check); an invalid id makes the customer a consumer for tax until the id changes. No answer (VIES unreachable) records nothing and never blocks billing.',
      ok: [200, 'TaxIdCheck'],
      params: [customerPath],
    },
  },
  '/v1/invoices/{id}/pdf': {
    get: {
      summary: 'The finalized invoice as a PDF',
      operationId: 'getInvoicePdf',
      description: '409 document_not_final for a draft.',
      ok: [200, ''],
      media: 'application/pdf',
      params: [uuidPath],
    },
  },
  '/v1/invoices/{id}/html': {
    get: {
      summary: 'The finalized invoice as HTML',
      operationId: 'getInvoiceHtml',
      description: '409 document_not_final for a draft.',
      ok: [200, ''],
      media: 'text/html',
      params: [uuidPath],
    },
  },
  '/v1/credit_notes/{id}/pdf': {
    get: {
      summary: 'The credit note as a PDF',
      operationId: 'getCreditNotePdf',
      ok: [200, ''],
      media: 'application/pdf',
      params: [uuidPath],
    },
  },
  '/v1/credit_notes/{id}/html': {
    get: {
      summary: 'The credit note as HTML',
      operationId: 'getCreditNoteHtml',
      ok: [200, ''],
      media: 'text/html',
      params: [uuidPath],
    },
  },
};
