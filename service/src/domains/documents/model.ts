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

interface StatedRate {
  rate: string;
  source?: string;
  as_of?: string;
}

interface StatedConversion extends StatedRate {
  from?: string;
  to?: string;
  policy?: string;
  /** The event policy: every rate the events were converted at. */
  events?: { rates: (StatedRate & { first_event_at: string; last_event_at: string; events: number })[] };
  period_end?: StatedRate | null;
}

/** An instant as a document prints it: the day alone at midnight UTC, else to the minute. */
const when = (iso: string) => (iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 16)}Z`);

const stated = (r: StatedRate) =>
  `${r.rate} (${r.source ?? 'source not stated'}, rate of ${r.as_of ? when(r.as_of) : 'date not stated'})`;

/** The FX note from the invoice's `fx` (the currency domain's record of the conversion it applied). */
export function fxNoteOf(fx: Partial<StatedConversion> | null): string | null {
  if (!fx || !fx.from || !fx.to || !fx.rate) return null;
  if (fx.events) {
    const rates = fx.events.rates.map(
      (r) => `${stated(r)} for ${r.events} event(s) from ${when(r.first_event_at)} to ${when(r.last_event_at)}`,
    );
    const others = fx.period_end ? ` Other charges at ${stated(fx.period_end)}, the period's end.` : '';
    return `Converted from ${fx.from} to ${fx.to} at the rate in force at each event's time (policy: event): ${rates.join('; ')}; weighted rate ${fx.rate}.${others}`;
  }
  return `Converted from ${fx.from} to ${fx.to} at ${stated(fx as StatedRate)}${fx.policy ? `, policy: ${fx.policy}` : ''}.`;
}

export { formatMoney };
