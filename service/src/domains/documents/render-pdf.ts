// The document model as a PDF (pdfkit, pure JavaScript): A4, one column, the same fields in the same order as the
// HTML. The standard Helvetica font covers Latin text (WinAnsi); other characters print as "?" in the PDF, while
// the HTML document shows them as they are.
import PDFDocument from 'pdfkit';
import type { DocumentModel, Party } from './model.ts';

/** WinAnsi (cp1252) is what the standard fonts can draw: Latin-1 plus a few typographic marks. */
const drawable = (text: string) =>
  text.replace(/[^\u0020-\u007e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u20ac\n]/g, '?');

export function renderPdf(model: DocumentModel): Promise<Buffer> {
  const issued = new Date(`${model.issueDate}T00:00:00Z`);
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    // Fixed dates make the same document the same bytes.
    info: { Title: `${model.title} ${model.number}`, Author: model.seller.name, CreationDate: issued, ModDate: issued },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = 50;
  const width = doc.page.width - 100;
  const text = (value: string, options: PDFKit.Mixins.TextOptions = {}) => doc.text(drawable(value), options);

  if (model.seller.logo) {
    // At most 180 x 60 points, its proportions kept, above the title.
    doc.image(model.seller.logo.data, left, doc.y, { fit: [180, 60] });
    doc.x = left;
    doc.y += 70;
  }
  doc.font('Helvetica-Bold').fontSize(18);
  text(`${model.title} ${model.number}`);
  doc.moveDown(0.5).font('Helvetica').fontSize(10);
  text(`Number: ${model.number}`);
  text(`Issue date: ${model.issueDate}`);
  text(`Supply period: ${model.supplyStart} to ${model.supplyEnd}`);
  text(`Currency: ${model.currency}`);
  if (model.reference) text(`Corrects: ${model.reference}`);
  doc.moveDown();

  const top = doc.y;
  const column = (label: string, p: Party & { replyTo?: string | null }, x: number) => {
    doc
      .font('Helvetica-Bold')
      .fontSize(9)
      .text(label.toUpperCase(), x, top, { width: width / 2 - 10 });
    doc
      .font('Helvetica-Bold')
      .fontSize(10)
      .text(drawable(p.name), { width: width / 2 - 10 });
    doc.font('Helvetica');
    if (p.address) doc.text(drawable(p.address), { width: width / 2 - 10 });
    if (p.country) doc.text(drawable(p.country), { width: width / 2 - 10 });
    for (const id of p.taxIds) doc.text(drawable(`Tax id: ${id}`), { width: width / 2 - 10 });
    if (p.replyTo) doc.text(drawable(`Contact: ${p.replyTo}`), { width: width / 2 - 10 });
    return doc.y;
  };
  const bottom = Math.max(column('Seller', model.seller, left), column('Bill to', model.buyer, left + width / 2));
  doc.x = left;
  doc.y = bottom + 20;

  const columns = [
    { label: 'Description', width: width * 0.42, align: 'left' as const },
    { label: 'Quantity', width: width * 0.14, align: 'right' as const },
    { label: 'Unit price', width: width * 0.16, align: 'right' as const },
    { label: 'Tax', width: width * 0.1, align: 'right' as const },
    { label: `Amount (${model.currency})`, width: width * 0.18, align: 'right' as const },
  ];
  const row = (cells: string[], bold = false) => {
    if (doc.y > doc.page.height - 120) doc.addPage();
    const y = doc.y;
    let x = left;
    let lowest = y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
    cells.forEach((cell, i) => {
      doc.text(drawable(cell), x, y, { width: columns[i].width - 4, align: columns[i].align });
      lowest = Math.max(lowest, doc.y);
      x += columns[i].width;
    });
    doc.x = left;
    doc.y = lowest + 3;
  };
  row(
    columns.map((c) => c.label),
    true,
  );
  for (const l of model.lines) row([l.description, l.quantity ?? '', l.unitPrice ?? '', l.tax ?? '', l.amount]);
  doc.moveDown();

  const total = (label: string, amount: string, bold = false) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(10);
    doc.text(drawable(label), left + width * 0.4, y, { width: width * 0.4 });
    const after = doc.y;
    doc.text(drawable(amount), left + width * 0.8, y, { width: width * 0.2, align: 'right' });
    doc.x = left;
    doc.y = Math.max(after, doc.y);
  };
  total('Subtotal', model.subtotal);
  for (const t of model.taxes) total(`${t.label} on ${t.taxable}`, t.amount);
  total(`${model.totalLabel} (${model.currency})`, model.total, true);
  doc.moveDown();
  if (model.breakdown) {
    doc.x = left;
    doc.font('Helvetica-Bold').fontSize(10);
    text('Usage by customer', { width });
    doc.moveDown(0.3);
    row(['Customer', 'Events', '', '', `Amount (${model.currency})`], true);
    for (const r of model.breakdown.rows) row([r.label, r.events ?? '', '', '', r.amount]);
    row(['Usage subtotal', '', '', '', model.breakdown.total], true);
    doc.moveDown();
  }
  doc.x = left;
  if (model.mention) {
    doc.font('Helvetica-Bold').fontSize(10);
    text(model.mention, { width });
    doc.moveDown(0.5);
  }
  doc.font('Helvetica').fontSize(8);
  if (model.legalBasis) text(`Legal basis: ${model.legalBasis}`, { width });
  if (model.fxNote) text(model.fxNote, { width });
  doc.fontSize(10);
  if (model.paymentTerms) {
    doc.moveDown(0.5);
    text(model.paymentTerms, { width });
  }
  doc.end();
  return done;
}
