// An invoice's email, composed when the outbox delivers it: from the seller on the document (the tenant, or the
// issuing reseller under its brand, with its reply-to), saying what is due and by when, with the PDF attached.
import type { TenantScope } from '../../platform/db.ts';
import type { Email } from '../../platform/mail.ts';
import { renderPdf } from './render-pdf.ts';
import { invoiceDocument } from './service.ts';

export async function composeInvoiceEmail(scope: TenantScope, invoiceId: string): Promise<Omit<Email, 'to'>> {
  const model = await invoiceDocument(scope, invoiceId);
  const seller = model.seller.name;
  const body = [
    `${seller} has issued ${model.title.toLowerCase()} ${model.number} to ${model.buyer.name}.`,
    '',
    `${model.totalLabel}: ${model.total} ${model.currency}`,
    `Period of supply: ${model.supplyStart} to ${model.supplyEnd}`,
    ...(model.paymentTerms ? [model.paymentTerms] : []),
    '',
    `The invoice is attached as ${model.number}.pdf.`,
    ...(model.seller.replyTo ? [`Questions about it? Reply to this email to reach ${seller}.`] : []),
  ].join('\n');
  return {
    subject: `${model.title} ${model.number} from ${seller}`,
    body,
    fromName: seller,
    replyTo: model.seller.replyTo ?? undefined,
    attachments: [{ filename: `${model.number}.pdf`, contentType: 'application/pdf', content: await renderPdf(model) }],
  };
}
