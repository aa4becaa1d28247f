// The tax domain's two outside services: Stripe Tax (US sales tax, through the official SDK pointed at
// Stripe or at its test double by host/port/protocol) and the online tax id check (VIES by default).
import Stripe from 'stripe';
import type { ComponentTax } from './compute.ts';

import type { StripeConnection } from '../../platform/tenant-stripe.ts';

/** An answer of a tax registry, or undefined when none came (unreachable, timeout, not covered). */
export interface TaxIdVerifier {
  verify(
    country: string,
    taxId: string,
  ): Promise<{ status: 'valid' | 'invalid'; source: string; name?: string | null } | undefined>;
}

const clients = new Map<string, Stripe>();

function clientOf(connection: StripeConnection): Stripe {
  const key = JSON.stringify(connection);
  let client = clients.get(key);
  if (!client) {
    client = new Stripe(connection.apiKey, {
      host: connection.host,
      port: connection.port,
      protocol: connection.protocol,
      maxNetworkRetries: connection.maxNetworkRetries ?? 2,
      timeout: connection.timeoutMs ?? 20_000,
    });
    if (clients.size > 1000) clients.clear();
    clients.set(key, client);
  }
  return client;
}

export interface StripeTaxRequest {
  currency: string;
  minorUnit: number;
  /** Lines in nano-units, whole minor units. */
  lines: bigint[];
  pricesIncludeTax: boolean;
  address: { country: string; state: string | null; postalCode: string | null; line1: string | null };
  /** Makes retries of one invoice's calculation one Stripe request. */
  idempotencyKey: string;
}

export interface StripeTaxResult {
  calculationId: string;
  components: ComponentTax[];
  lineTax: bigint[];
}

/** Stripe's tax code for SaaS, business use (Stripe's tax categories: txcd_10103001). */
const saasTaxCode = 'txcd_10103001';

/**
 * Asks Stripe Tax for the tax of an invoice's lines. Stripe takes non-negative minor-unit amounts per line, so
 * when the invoice has negative lines (credits, discounts) its net is sent as one line, and the tax is spread
 * back over the lines by the caller's rule. Amounts cross the SDK as integers of minor units (its type) and come
 * back to bigint at once.
 */
export async function calculateStripeTax(
  connection: StripeConnection,
  request: StripeTaxRequest,
): Promise<StripeTaxResult> {
  const unit = 10n ** BigInt(9 - request.minorUnit);
  const net = request.lines.reduce((a, b) => a + b, 0n);
  const perLine = request.lines.every((l) => l >= 0n);
  const sent = perLine ? request.lines : [net > 0n ? net : 0n];
  const calculation = await clientOf(connection).tax.calculations.create(
    {
      currency: request.currency.toLowerCase(),
      customer_details: {
        address: {
          country: request.address.country,
          state: request.address.state ?? undefined,
          postal_code: request.address.postalCode ?? undefined,
          line1: request.address.line1 ?? undefined,
        },
        address_source: 'billing',
      },
      line_items: sent.map((amount, i) => ({
        amount: Number(amount / unit),
        reference: `line-${i}`,
        tax_behavior: request.pricesIncludeTax ? 'inclusive' : 'exclusive',
        tax_code: saasTaxCode,
      })),
      expand: ['line_items'],
    },
    { idempotencyKey: request.idempotencyKey },
  );
  const components: ComponentTax[] = calculation.tax_breakdown
    .filter((b) => BigInt(b.amount) !== 0n)
    .map((b) => ({
      tax: (b.tax_rate_details?.tax_type ?? 'sales_tax').toUpperCase(),
      jurisdiction: b.tax_rate_details?.state
        ? `${b.tax_rate_details.country ?? request.address.country}-${b.tax_rate_details.state}`
        : (b.tax_rate_details?.country ?? request.address.country),
      rate: percentToFraction(b.tax_rate_details?.percentage_decimal ?? '0'),
      taxable: BigInt(b.taxable_amount) * unit,
      amount: BigInt(b.amount) * unit,
      amountExact: BigInt(b.amount) * unit,
    }));
  const byReference = new Map(
    (calculation.line_items?.data ?? []).map((l) => [l.reference, BigInt(l.amount_tax) * unit]),
  );
  const lineTax = perLine ? request.lines.map((_, i) => byReference.get(`line-${i}`) ?? 0n) : [];
  return { calculationId: calculation.id ?? '', components, lineTax };
}

/** "8.875" (percent) as "0.08875" (a fraction), exactly, by moving the decimal point. */
export function percentToFraction(percent: string): string {
  const [whole, fraction = ''] = percent.split('.');
  const digits = (whole.padStart(3, '0') + fraction).replace(/^0+(?=\d)/, '');
  const padded = digits.padStart(fraction.length + 3, '0');
  const point = padded.length - fraction.length - 2;
  const text = `${padded.slice(0, point)}.${padded.slice(point)}`.replace(/\.?0+$/, '');
  return text.startsWith('.') ? `0${text}` : text === '' ? '0' : text;
}

/**
 * VIES, the EU's VAT id check (its REST API). Unreachable from here in tests and sometimes down in production:
 * no answer is `undefined`, recorded as nothing, and billing goes on with the format check alone.
 */
export const viesVerifier: TaxIdVerifier = {
  async verify(country, taxId) {
    const prefix = country === 'GR' ? 'EL' : country;
    const number = taxId.toUpperCase().startsWith(prefix) ? taxId.slice(2) : taxId;
    try {
      const response = await fetch('https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ countryCode: prefix, vatNumber: number }),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) return undefined;
      const body = (await response.json()) as { valid?: boolean; name?: string; userError?: string };
      if (
        typeof body.valid !== 'boolean' ||
        (body.userError && body.userError !== 'VALID' && body.userError !== 'INVALID')
      )
        return undefined;
      return { status: body.valid ? 'valid' : 'invalid', source: 'vies', name: body.name ?? null };
    } catch {
      return undefined;
    }
  },
};
