// Pure: what an invoice or credit note document says, from its stored rows. The HTML and PDF renderers print
// this model and nothing else, so both show the same legal fields.
import { formatMoney, toNano } from '../../platform/money.ts';

export interface Party {
  name: string;
  address: string | null;
  country: string | null;
  taxIds: string[];
}

export interface DocumentLine {
  description: string;
  quantity: string | null;
  unitPrice: string | null;
  amount: string;
  tax: string | null;
}

export interface DocumentModel {
  kind: 'invoice' | 'credit_note';
  title: string;
  number: string;
  issueDate: string;
  /** The period of supply (first and last day). */
  supplyStart: string;
  supplyEnd: string;
  currency: string;
  seller: Party & {
    /** A reseller's logo (an https URL) when a reseller issues the document: the HTML's when no image is stored. */
    logoUrl: string | null;
    /** The issuing reseller's uploaded logo, printed in the PDF and the HTML. */
    logo: { mediaType: 'image/png' | 'image/jpeg'; data: Buffer } | null;
    /** Where replies go: the issuing reseller's reply-to. */
    replyTo: string | null;
  };
  buyer: Party & { reference: string };
  lines: DocumentLine[];
  subtotal: string;
  taxes: { label: string; taxable: string; amount: string }[];
  total: string;
  totalLabel: string;
  /** Reverse charge, exemption, or why no tax: printed prominently. */
  mention: string | null;
  legalBasis: string | null;
  fxNote: string | null;
  paymentTerms: string | null;
  /** Credit notes: the invoice they correct, and why. */
  reference: string | null;
  /** A reseller's invoice: its usage by direct child, and its own; the amounts add up to `total`. */
  breakdown: { rows: { label: string; events: string | null; amount: string }[]; total: string } | null;
}

/** A nano amount as the currency prints it: grouped thousands, exactly the minor unit's decimals. */
export function formatAmount(nano: bigint | string, minorUnit: number): string {
  const value = typeof nano === 'string' ? toNano(nano) : nano;
  const negative = value < 0n;
  const unit = 10n ** BigInt(9 - minorUnit);
  const units = (negative ? -value : value) / unit;
  const text = units.toString().padStart(minorUnit + 1, '0');
  const whole = text.slice(0, text.length - minorUnit).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = minorUnit > 0 ? `.${text.slice(-minorUnit)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** A rate fraction ("0.09975") as a percentage ("9.975%"), exactly. */
export function formatRate(rate: string): string {
  const [whole, fraction = ''] = rate.split('.');
  const digits = `${whole}${fraction.padEnd(2, '0')}`;
  const point = whole.length + 2;
  const integer = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const decimals = digits.slice(point).replace(/0+$/, '');
  return `${integer}${decimals ? `.${decimals}` : ''}%`;
}

export function formatQuantity(micro: string): string {
  return micro.replace(/\.?0+$/, '');
}

/** The FX note from the invoice's `fx` (the currency domain's record of the conversion it applied). */
export function fxNoteOf(
  fx: { from?: string; to?: string; rate?: string; source?: string; as_of?: string; policy?: string } | null,
): string | null {
  if (!fx || !fx.from || !fx.to || !fx.rate) return null;
  return `Converted from ${fx.from} to ${fx.to} at ${fx.rate} (${fx.source ?? 'source not stated'}, rate of ${fx.as_of ?? 'date not stated'}${fx.policy ? `, policy: ${fx.policy}` : ''}).`;
}

export { formatMoney };
