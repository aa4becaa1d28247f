// Pure: the document model as a self-contained HTML page (printable, no external assets).
import type { DocumentModel, Party } from './model.ts';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function party(label: string, p: Party & { replyTo?: string | null }): string {
  return `<section class="party"><h2>${label}</h2><p><strong>${escape(p.name)}</strong></p>${p.address ? `<p class="address">${escape(p.address).replaceAll('\n', '<br>')}</p>` : ''}${
    p.country ? `<p>${escape(p.country)}</p>` : ''
  }${p.taxIds.map((id) => `<p>Tax id: ${escape(id)}</p>`).join('')}${
    p.replyTo ? `<p>Contact: <a href="mailto:${escape(p.replyTo)}">${escape(p.replyTo)}</a></p>` : ''
  }</section>`;
}

function breakdownTable(model: DocumentModel): string {
  if (!model.breakdown) return '';
  const rows = model.breakdown.rows
    .map(
      (r) =>
        `<tr><td>${escape(r.label)}</td><td class="num">${escape(r.events ?? '')}</td><td class="num">${escape(r.amount)}</td></tr>`,
    )
    .join('\n');
  return `<h2>Usage by customer</h2>
<table class="breakdown"><thead><tr><th>Customer</th><th class="num">Events</th><th class="num">Amount (${escape(model.currency)})</th></tr></thead>
<tbody>
${rows}
<tr><th>Usage subtotal</th><th></th><th class="num">${escape(model.breakdown.total)}</th></tr>
</tbody></table>`;
}

/** The stored logo inline (a data: URL, so the document stands alone), else the brand's URL. */
function logoOf(model: DocumentModel): string {
  const { logo, logoUrl, name } = model.seller;
  const src = logo ? `data:${logo.mediaType};base64,${logo.data.toString('base64')}` : logoUrl;
  return src ? `<p class="logo"><img src="${escape(src)}" alt="${escape(name)}" style="max-height: 60px"></p>` : '';
}

export function renderHtml(model: DocumentModel): string {
  const rows = model.lines
    .map(
      (l) =>
        `<tr><td>${escape(l.description)}</td><td class="num">${escape(l.quantity ?? '')}</td><td class="num">${escape(l.unitPrice ?? '')}</td><td class="num">${escape(l.tax ?? '')}</td><td class="num">${escape(l.amount)}</td></tr>`,
    )
    .join('\n');
  const taxes = model.taxes
    .map((t) => `<tr><td>${escape(t.label)} on ${escape(t.taxable)}</td><td class="num">${escape(t.amount)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(model.title)} ${escape(model.number)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #111; max-width: 800px; margin: 2em auto; }
h1 { font-size: 22px; margin: 0 0 0.5em; } h2 { font-size: 13px; text-transform: uppercase; color: #555; margin: 0 0 0.3em; }
.parties { display: flex; gap: 4em; margin: 1.5em 0; } .party p { margin: 0.1em 0; }
table { width: 100%; border-collapse: collapse; margin: 1em 0; } th, td { padding: 4px 6px; border-bottom: 1px solid #ddd; text-align: left; }
.num { text-align: right; white-space: nowrap; } .totals { width: 50%; margin-left: 50%; } .mention { font-weight: bold; border: 1px solid #111; padding: 6px; }
.meta td { border: none; padding: 1px 6px 1px 0; } .small { color: #555; font-size: 11px; }
</style></head>
<body>
${logoOf(model)}
<h1>${escape(model.title)} ${escape(model.number)}</h1>
<table class="meta">
<tr><td>Number</td><td>${escape(model.number)}</td></tr>
<tr><td>Issue date</td><td>${escape(model.issueDate)}</td></tr>
<tr><td>Supply period</td><td>${escape(model.supplyStart)} to ${escape(model.supplyEnd)}</td></tr>
<tr><td>Currency</td><td>${escape(model.currency)}</td></tr>
${model.reference ? `<tr><td>Corrects</td><td>${escape(model.reference)}</td></tr>` : ''}
</table>
<div class="parties">${party('Seller', model.seller)}${party('Bill to', model.buyer)}</div>
<table class="lines"><thead><tr><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Tax</th><th class="num">Amount (${escape(model.currency)})</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<table class="totals">
<tr><td>Subtotal</td><td class="num">${escape(model.subtotal)}</td></tr>
${taxes}
<tr><th>${escape(model.totalLabel)} (${escape(model.currency)})</th><th class="num">${escape(model.total)}</th></tr>
</table>
${breakdownTable(model)}
${model.mention ? `<p class="mention">${escape(model.mention)}</p>` : ''}
${model.legalBasis ? `<p class="small">Legal basis: ${escape(model.legalBasis)}</p>` : ''}
${model.fxNote ? `<p class="small">${escape(model.fxNote)}</p>` : ''}
${model.paymentTerms ? `<p>${escape(model.paymentTerms)}</p>` : ''}
</body></html>
`;
}
