// The document model as a PDF (pdfkit, pure JavaScript): A4, one column, the same fields in the same order as the
// HTML. The standard Helvetica draws Latin text (WinAnsi); Greek, Cyrillic, Arabic, Hebrew, Chinese, Japanese kana
// and Korean are drawn with Noto fonts, run by run (fonts.ts), embedded as subsets. A line mixing directions is put
// in visual order first (bidi.ts: the Unicode Bidirectional Algorithm); right-to-left runs are shaped by fontkit.
import PDFDocument from 'pdfkit';
import { visualRunsOf } from './bidi.ts';
import type { Run } from './fonts.ts';
import type { DocumentModel, Party } from './model.ts';

/**
 * Draws `value` in runs of one font each, `base` (a standard font) for Latin, at (x, y) when given; each of its
 * lines in visual order (a line break ends a bidi paragraph).
 */
function write(
  doc: PDFKit.PDFDocument,
  base: string,
  value: string,
  at?: { x: number; y: number },
  options: PDFKit.Mixins.TextOptions = {},
) {
  const runs: Run[] = value
    .split('\n')
    .flatMap((line, i) => [...(i > 0 ? [{ text: '\n', font: null }] : []), ...visualRunsOf(line)]);
  if (runs.length === 0) runs.push({ text: '', font: null });
  runs.forEach((run, i) => {
    doc.font(run.font ?? base);
    const continued = { ...options, continued: i < runs.length - 1 };
    if (i === 0 && at) doc.text(run.text, at.x, at.y, continued);
    else doc.text(run.text, continued);
  });
  doc.font(base);
}

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
  let base = 'Helvetica';
  const setFont = (font: string) => {
    base = font;
    return doc.font(font);
  };
  const text = (value: string, options: PDFKit.Mixins.TextOptions = {}) => write(doc, base, value, undefined, options);

  if (model.seller.logo) {
    // At most 180 x 60 points, its proportions kept, above the title.
    doc.image(model.seller.logo.data, left, doc.y, { fit: [180, 60] });
    doc.x = left;
    doc.y += 70;
  }
  setFont('Helvetica-Bold').fontSize(18);
  text(`${model.title} ${model.number}`);
  doc.moveDown(0.5);
  setFont('Helvetica').fontSize(10);
  text(`Number: ${model.number}`);
  text(`Issue date: ${model.issueDate}`);
  text(`Supply period: ${model.supplyStart} to ${model.supplyEnd}`);
  text(`Currency: ${model.currency}`);
  if (model.reference) text(`Corrects: ${model.reference}`);
  doc.moveDown();

  const top = doc.y;
  const column = (label: string, p: Party & { replyTo?: string | null }, x: number) => {
    const options = { width: width / 2 - 10 };
    setFont('Helvetica-Bold').fontSize(9);
    write(doc, base, label.toUpperCase(), { x, y: top }, options);
    doc.fontSize(10);
    text(p.name, options);
    setFont('Helvetica');
    if (p.address) text(p.address, options);
    if (p.country) text(p.country, options);
    for (const id of p.taxIds) text(`Tax id: ${id}`, options);
    if (p.replyTo) text(`Contact: ${p.replyTo}`, options);
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
    setFont(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
    cells.forEach((cell, i) => {
      write(doc, base, cell, { x, y }, { width: columns[i].width - 4, align: columns[i].align });
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
    setFont(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(10);
    write(doc, base, label, { x: left + width * 0.4, y }, { width: width * 0.4 });
    const after = doc.y;
    write(doc, base, amount, { x: left + width * 0.8, y }, { width: width * 0.2, align: 'right' });
    doc.x = left;
    doc.y = Math.max(after, doc.y);
  };
  total('Subtotal', model.subtotal);
  for (const t of model.taxes) total(`${t.label} on ${t.taxable}`, t.amount);
  total(`${model.totalLabel} (${model.currency})`, model.total, true);
  doc.moveDown();
  if (model.breakdown) {
    doc.x = left;
    setFont('Helvetica-Bold').fontSize(10);
    text('Usage by customer', { width });
    doc.moveDown(0.3);
    row(['Customer', 'Events', '', '', `Amount (${model.currency})`], true);
    for (const r of model.breakdown.rows) row([r.label, r.events ?? '', '', '', r.amount]);
    row(['Usage subtotal', '', '', '', model.breakdown.total], true);
    doc.moveDown();
  }
  doc.x = left;
  if (model.mention) {
    setFont('Helvetica-Bold').fontSize(10);
    text(model.mention, { width });
    doc.moveDown(0.5);
  }
  setFont('Helvetica').fontSize(8);
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
