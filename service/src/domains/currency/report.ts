// The revenue and margin report: finalized invoices of a time range in the tenant's reporting currency, each
// amount converted at the rate in force when its invoice was finalized, with every rate used stated.
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { FxDecimal, convertAmountText, type Conversion } from './convert.ts';
import * as repo from './repo.ts';
import type { RevenueReportInput } from '@tariff/openapi/schemas/currency';
import { findConversions, readSettings } from './service.ts';

const money = (value: string) => new FxDecimal(value).toFixed(9);

export interface RevenueReport {
  reporting_currency: string;
  from: string;
  to: string;
  /** Sums over the invoices that could be converted (`converted`); the others are listed in `missing_rates`. */
  totals: { revenue: string; cost: string; margin: string; invoices: number; converted: number };
  invoices: {
    id: string;
    number: string;
    customer_id: string;
    billing_reason: string;
    finalized_at: string;
    currency: string;
    revenue: string;
    cost_currency: string;
    cost: string;
    reporting: { revenue: string; cost: string; margin: string } | null;
    /** The rates used (revenue's, then cost's when its currency differs), at the invoice's finalization. */
    rates: Conversion[];
  }[];
  missing_rates: { from: string; to: string; at: string; invoice_id: string }[];
}

export async function reportRevenue(deps: Deps, actor: Actor, input: RevenueReportInput): Promise<RevenueReport> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const { reportingCurrency } = await readSettings(scope);
    const invoices = await repo.listReportedInvoices(scope, new Date(input.from), new Date(input.to));
    // One rate read per currency converted, for all the invoices' instants.
    const needed = new Map<string, Date[]>();
    for (const i of invoices) {
      for (const currency of new Set([i.currency, i.costCurrency])) {
        if (currency !== reportingCurrency) needed.set(currency, [...(needed.get(currency) ?? []), i.finalizedAt]);
      }
    }
    const conversions = new Map<string, Awaited<ReturnType<typeof findConversions>>>();
    for (const [currency, instants] of needed)
      conversions.set(currency, await findConversions(scope, currency, reportingCurrency, instants, 'finalization'));

    const report: RevenueReport = {
      reporting_currency: reportingCurrency,
      from: new Date(input.from).toISOString(),
      to: new Date(input.to).toISOString(),
      totals: { revenue: '0', cost: '0', margin: '0', invoices: invoices.length, converted: 0 },
      invoices: [],
      missing_rates: [],
    };
    let revenueTotal = new FxDecimal(0);
    let costTotal = new FxDecimal(0);
    for (const i of invoices) {
      const rates: Conversion[] = [];
      const convert = (amount: string, currency: string): string | undefined => {
        if (currency === reportingCurrency) return money(amount);
        const found = conversions.get(currency)!.get(i.finalizedAt.getTime())!;
        if (!found.ok) {
          report.missing_rates.push({
            from: currency,
            to: reportingCurrency,
            at: i.finalizedAt.toISOString(),
            invoice_id: i.id,
          });
          return undefined;
        }
        if (!rates.some((r) => r.from === currency)) rates.push(found.conversion);
        return convertAmountText(amount, found.conversion.rate);
      };
      const revenue = convert(i.revenue, i.currency);
      const cost = convert(i.cost, i.costCurrency);
      const reporting =
        revenue !== undefined && cost !== undefined
          ? { revenue, cost, margin: money(new FxDecimal(revenue).minus(cost).toFixed()) }
          : null;
      if (reporting) {
        revenueTotal = revenueTotal.plus(reporting.revenue);
        costTotal = costTotal.plus(reporting.cost);
        report.totals.converted++;
      }
      report.invoices.push({
        id: i.id,
        number: i.number,
        customer_id: i.customerExternalId,
        billing_reason: i.billingReason,
        finalized_at: i.finalizedAt.toISOString(),
        currency: i.currency,
        revenue: money(i.revenue),
        cost_currency: i.costCurrency,
        cost: money(i.cost),
        reporting,
        rates,
      });
    }
    report.totals.revenue = money(revenueTotal.toFixed());
    report.totals.cost = money(costTotal.toFixed());
    report.totals.margin = money(revenueTotal.minus(costTotal).toFixed());
    return report;
  });
}

const csvCell = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** The report as CSV: one row per invoice, amounts in their currency and in the reporting currency, the rates used. */
export function revenueReportCsv(report: RevenueReport): string {
  const header = [
    'invoice_number',
    'customer_id',
    'billing_reason',
    'finalized_at',
    'currency',
    'revenue',
    'cost_currency',
    'cost',
    'reporting_currency',
    'reporting_revenue',
    'reporting_cost',
    'reporting_margin',
    'rates',
  ];
  const rows = report.invoices.map((i) => [
    i.number,
    i.customer_id,
    i.billing_reason,
    i.finalized_at,
    i.currency,
    i.revenue,
    i.cost_currency,
    i.cost,
    report.reporting_currency,
    i.reporting?.revenue ?? '',
    i.reporting?.cost ?? '',
    i.reporting?.margin ?? '',
    i.rates.map((r) => `${r.from}/${r.to}=${r.rate} (${r.source}, ${r.as_of})`).join('; '),
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}
