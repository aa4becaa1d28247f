// The invoice document: every finalized invoice and credit note as HTML and PDF, with what the law asks of an
// invoice (seller and buyer with addresses and tax ids, number, issue and supply dates, currency, lines, tax per
// rate, the reverse-charge or exemption mention, the FX note, payment terms). Parties come from the tax record
// frozen at finalization; invoices of a tenant without tax settings print its name and the customer as they are.
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import { toNano } from '../../platform/money.ts';
import * as creditNotesRepo from '../creditnotes/repo.ts';
import { findLogo, type Issuer } from '../brands/service.ts';
import * as invoicesRepo from '../invoices/repo.ts';
import { breakdownsOf } from '../invoices/service.ts';
import * as taxRepo from '../tax/repo.ts';
import type { TaxRecord } from '../tax/service.ts';
import { formatAmount, formatQuantity, formatRate, fxNoteOf, type DocumentModel, type Party } from './model.ts';
import * as repo from './repo.ts';
import { renderHtml } from './render-html.ts';
import { renderPdf } from './render-pdf.ts';

const day = (instant: Date) => instant.toISOString().slice(0, 10);
const lastDay = (end: Date) => day(new Date(end.getTime() - 1));

/** The issuing reseller as seller (its brand frozen on the invoice at finalization), never the tenant. */
async function resellerSeller(scope: TenantScope, issuer: Issuer): Promise<DocumentModel['seller']> {
  const logo = issuer.logo ? await findLogo(scope, issuer.logo.digest) : undefined;
  return {
    logo: logo ? { mediaType: logo.media_type, data: logo.data } : null,
    name: issuer.legal_name ?? issuer.name,
    address: issuer.address,
    country: issuer.country,
    taxIds: issuer.tax_ids.map((t) => `${t.tax_id} (${t.jurisdiction})`),
    logoUrl: issuer.logo_url,
    replyTo: issuer.reply_to,
  };
}

async function partiesOf(
  scope: TenantScope,
  tax: TaxRecord | null,
  customerId: string,
  issuer: Issuer | null,
): Promise<{ seller: DocumentModel['seller']; buyer: Party & { reference: string }; terms: number | null }> {
  const parties = await tenantPartiesOf(scope, tax, customerId);
  return {
    ...parties,
    seller: issuer
      ? await resellerSeller(scope, issuer)
      : { ...parties.seller, logoUrl: null, logo: null, replyTo: null },
  };
}

async function tenantPartiesOf(
  scope: TenantScope,
  tax: TaxRecord | null,
  customerId: string,
): Promise<{ seller: Party; buyer: Party & { reference: string }; terms: number | null }> {
  if (tax) {
    return {
      seller: {
        name: tax.seller.name,
        address: tax.seller.address,
        country: tax.seller.country,
        taxIds: tax.seller.tax_ids.map((t) => `${t.tax_id} (${t.jurisdiction})`),
      },
      buyer: {
        name: tax.buyer.name ?? tax.buyer.external_id,
        address: tax.buyer.address,
        country: tax.buyer.country,
        taxIds: tax.buyer.tax_id ? [tax.buyer.tax_id] : [],
        reference: tax.buyer.external_id,
      },
      terms: tax.payment_terms_days,
    };
  }
  const [settings, customers, tenantName] = await Promise.all([
    taxRepo.findSettings(scope),
    taxRepo.findCustomerProfiles(scope, [customerId]),
    repo.findTenantName(scope),
  ]);
  const customer = customers.get(customerId)!;
  return {
    seller: settings
      ? {
          name: settings.legalName,
          address: settings.address,
          country: settings.country,
          taxIds: settings.registrations.filter((r) => r.taxId).map((r) => `${r.taxId} (${r.jurisdiction})`),
        }
      : { name: tenantName, address: null, country: null, taxIds: [] },
    buyer: {
      name: customer.name ?? customer.externalId,
      address: customer.address,
      country: customer.country,
      taxIds: customer.taxId ? [customer.taxId] : [],
      reference: customer.externalId,
    },
    terms: settings?.paymentTermsDays ?? null,
  };
}

/** A unit price at full precision, with at least the currency's decimals (prices per million tokens have many). */
function formatPrice(nano: string, minorUnit: number): string {
  const full = formatAmount(nano, 9);
  const [whole, fraction] = full.split('.');
  const kept = fraction.replace(/0+$/, '').padEnd(minorUnit, '0');
  return kept.length > 0 ? `${whole}.${kept}` : whole;
}

function taxLabel(c: { tax: string; rate: string; jurisdiction: string }): string {
  return `${c.tax} ${formatRate(c.rate)} (${c.jurisdiction})`;
}

export async function invoiceDocument(scope: TenantScope, invoiceId: string): Promise<DocumentModel> {
  const invoice = await invoicesRepo.findInvoice(scope, invoiceId);
  if (!invoice) throw notFound('invoice_not_found', `No invoice "${invoiceId}"`);
  if (invoice.status === 'draft' || !invoice.number || !invoice.finalizedAt) {
    throw conflict('document_not_final', 'A draft has no invoice document yet: it is issued at finalization');
  }
  const [lines, fx, parties] = await Promise.all([
    invoicesRepo.listLines(scope, [invoice.id]),
    repo.findFx(scope, invoice.id),
    partiesOf(scope, invoice.tax, invoice.customerId, invoice.issuer),
  ]);
  const breakdown = (await breakdownsOf(scope, [invoice], lines)).get(invoice.id);
  const tax = invoice.tax;
  const money = (amount: string | bigint) => formatAmount(amount, invoice.minorUnit);
  const issued = day(invoice.finalizedAt);
  const due = parties.terms === null ? null : day(new Date(invoice.finalizedAt.getTime() + parties.terms * 86_400_000));
  const paymentTerms =
    invoice.status === 'paid' && invoice.paidAt
      ? `Paid on ${day(invoice.paidAt)}.`
      : invoice.status === 'void'
        ? `Void${invoice.voidReason ? `: ${invoice.voidReason}` : ''}. Nothing is due.`
        : due === null
          ? 'Payable on receipt.'
          : `Payment due within ${parties.terms} days of the issue date, by ${due}.`;
  const taxShown = tax && tax.components.length > 0;
  return {
    kind: 'invoice',
    title: invoice.status === 'void' ? 'Invoice (void)' : invoice.kind === 'statement' ? 'Statement' : 'Invoice',
    number: invoice.number,
    issueDate: issued,
    supplyStart: day(invoice.periodStart),
    supplyEnd: lastDay(invoice.periodEnd),
    currency: invoice.currency,
    seller: parties.seller,
    buyer: parties.buyer,
    lines: (lines.get(invoice.id) ?? []).map((l, i) => ({
      description: l.description,
      quantity: l.quantity === null ? null : formatQuantity(l.quantity),
      unitPrice:
        l.unitPrice === null
          ? null
          : `${formatPrice(l.unitPrice, invoice.minorUnit)}${l.per !== null && formatQuantity(l.per) !== '1' ? ` / ${formatQuantity(l.per)}` : ''}`,
      amount: money(l.amount),
      tax: taxShown ? money(tax.line_tax[i] ?? '0') : null,
    })),
    subtotal: money(toNano(invoice.total) - toNano(invoice.taxAmount)),
    taxes: taxShown
      ? tax.components.map((c) => ({ label: taxLabel(c), taxable: money(c.taxable), amount: money(c.amount) }))
      : [],
    total: money(invoice.total),
    totalLabel: invoice.status === 'finalized' ? 'Total due' : 'Total',
    mention: tax?.mention ?? null,
    legalBasis: tax ? tax.legal_basis : null,
    fxNote: fxNoteOf(fx),
    paymentTerms,
    reference: null,
    breakdown: breakdown
      ? {
          rows: [
            ...breakdown.children.map((c) => ({
              label: `${c.name ?? c.customer_id} (${c.customer_id})`,
              events: c.events,
              amount: money(c.amount),
            })),
            { label: 'Own usage', events: null, amount: money(breakdown.own_usage.amount) },
          ],
          total: money(breakdown.usage_subtotal.amount),
        }
      : null,
  };
}

export async function creditNoteDocument(scope: TenantScope, creditNoteId: string): Promise<DocumentModel> {
  const note = await creditNotesRepo.findCreditNote(scope, creditNoteId);
  if (!note) throw notFound('credit_note_not_found', `No credit note "${creditNoteId}"`);
  const invoice = (await invoicesRepo.findInvoice(scope, note.invoiceId))!;
  const [lines, fx, parties] = await Promise.all([
    creditNotesRepo.listCreditNoteLines(scope, [note.id]),
    repo.findFx(scope, invoice.id),
    partiesOf(scope, invoice.tax, note.customerId, invoice.issuer),
  ]);
  const money = (amount: string | bigint) => formatAmount(amount, note.minorUnit);
  const components = note.tax?.components ?? [];
  return {
    kind: 'credit_note',
    title: 'Credit note',
    number: note.number,
    issueDate: day(note.createdAt),
    supplyStart: day(invoice.periodStart),
    supplyEnd: lastDay(invoice.periodEnd),
    currency: note.currency,
    seller: parties.seller,
    buyer: parties.buyer,
    lines: (lines.get(note.id) ?? []).map((l) => ({
      description: l.description,
      quantity: null,
      unitPrice: null,
      amount: money(l.amount),
      tax: null,
    })),
    subtotal: money(toNano(note.total) - toNano(note.taxAmount)),
    taxes:
      components.length > 0 && invoice.tax && invoice.tax.components.length > 0
        ? components.map((c) => ({
            label: taxLabel(c),
            taxable: money(toNano(note.total) - toNano(note.taxAmount)),
            amount: money(c.amount),
          }))
        : [],
    total: money(note.total),
    totalLabel: 'Total credited',
    mention: note.tax?.mention ?? invoice.tax?.mention ?? null,
    legalBasis: invoice.tax?.legal_basis ?? null,
    fxNote: fxNoteOf(fx),
    paymentTerms: `Credited against invoice ${invoice.number}; the amount is deducted from what is owed or refunded.`,
    reference: `Invoice ${invoice.number} of ${day(invoice.finalizedAt!)}. Reason: ${note.reason}`,
    breakdown: null,
  };
}

export type DocumentFormat = 'html' | 'pdf';

async function render(
  model: DocumentModel,
  format: DocumentFormat,
): Promise<{ contentType: string; body: Buffer | string; filename: string }> {
  const filename = `${model.number}.${format}`;
  if (format === 'html') return { contentType: 'text/html; charset=utf-8', body: renderHtml(model), filename };
  return { contentType: 'application/pdf', body: await renderPdf(model), filename };
}

export async function getInvoiceDocument(deps: Deps, actor: Actor, invoiceId: string, format: DocumentFormat) {
  requirePermission(actor, 'billing.read');
  const model = await withTenant(deps.db, actor.tenantId, (tx) =>
    invoiceDocument({ db: tx, tenantId: actor.tenantId }, invoiceId),
  );
  return render(model, format);
}

export async function getCreditNoteDocument(deps: Deps, actor: Actor, creditNoteId: string, format: DocumentFormat) {
  requirePermission(actor, 'billing.read');
  const model = await withTenant(deps.db, actor.tenantId, (tx) =>
    creditNoteDocument({ db: tx, tenantId: actor.tenantId }, creditNoteId),
  );
  return render(model, format);
}
