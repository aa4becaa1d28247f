// Reseller margin reports: what each reseller level resold to its children minus what it paid its parent, summed
// from the chain_daily aggregate per currency and the groupings asked for, as JSON rows or CSV.
import type { MarginGroup, MarginReportInput } from '@tariff/openapi/schemas/resellers';
import { marginGroups } from '@tariff/openapi/schemas/resellers';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { precondition } from '../../platform/errors.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { requireCustomer } from '../customers/service.ts';
import * as repo from './repo.ts';

export interface MarginRow {
  /** With `level`: the reseller whose margin the row is, and its depth (0: a direct customer of the tenant). */
  reseller_id?: string;
  depth?: number;
  /** With `reseller`: the direct child that reseller sold to (a reseller below it, or the end user). */
  child_id?: string;
  end_user_id?: string;
  card?: string;
  day?: string;
  currency: string;
  /** Events rated at the row's levels (an event counts once per level it crosses when levels are summed). */
  events: number;
  /** What the children paid (the level below's net price). */
  resale: string;
  /** What the reseller paid its parent (its own net price, before its credits). */
  charge: string;
  /** resale - charge. */
  margin: string;
}

export interface MarginTotal {
  currency: string;
  events: number;
  resale: string;
  charge: string;
  margin: string;
}

export interface MarginReport {
  /** The reseller reported on; null for the tenant-wide report. */
  reseller_id: string | null;
  from: string;
  to: string;
  group_by: MarginGroup[];
  data: MarginRow[];
  /** One per currency: amounts in different currencies are never added together. */
  totals: MarginTotal[];
}

/** Input with the groupings parsed; a REST or tRPC caller's `format` is the router's business. */
type ReportInput = Pick<MarginReportInput, 'from' | 'to' | 'group_by'>;

/**
 * One reseller's margins over [from, to] (UTC days): its own rows, or with `level` its own and every reseller's
 * below it, one row per reseller. 404 for an unknown customer, 422 not_a_reseller for a customer that does not resell.
 */
export async function reportResellerMargins(
  deps: Deps,
  actor: Actor,
  customerId: string,
  input: ReportInput,
): Promise<MarginReport> {
  requirePermission(actor, 'billing.read');
  const groupBy = input.group_by ?? [];
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope: TenantScope = { db: tx, tenantId: actor.tenantId };
    const customer = await requireCustomer(scope, customerId);
    if (!customer.isReseller) {
      throw precondition('not_a_reseller', `Customer "${customer.externalId}" is not a reseller`, [
        { field: 'customer_id', reason: 'is not a reseller (is_reseller is false): it has no margin' },
      ]);
    }
    const rows = await repo.sumMargins(scope, {
      scope: groupBy.includes('level')
        ? { kind: 'subtree', customerId: customer.id }
        : { kind: 'reseller', customerId: customer.id },
      fromDay: input.from,
      toDay: input.to,
      groups: groupFlags(groupBy),
    });
    return buildReport(customer.externalId, input, groupBy, rows);
  });
}

/** Every reseller's margins over [from, to]; grouped by `level` (one row per reseller) unless group_by says otherwise. */
export async function reportTenantMargins(deps: Deps, actor: Actor, input: ReportInput): Promise<MarginReport> {
  requirePermission(actor, 'billing.read');
  const groupBy = input.group_by ?? ['level'];
  const rows = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.sumMargins(
      { db: tx, tenantId: actor.tenantId },
      { scope: { kind: 'tenant' }, fromDay: input.from, toDay: input.to, groups: groupFlags(groupBy) },
    ),
  );
  return buildReport(null, input, groupBy, rows);
}

function groupFlags(groupBy: readonly MarginGroup[]): Record<MarginGroup, boolean> {
  return Object.fromEntries(marginGroups.map((g) => [g, groupBy.includes(g)])) as Record<MarginGroup, boolean>;
}

/** The row's columns of one grouping, in the order they are shown (JSON keys and CSV columns). */
const groupColumns: Record<MarginGroup, (keyof MarginRow)[]> = {
  level: ['reseller_id', 'depth'],
  reseller: ['child_id'],
  end_user: ['end_user_id'],
  card: ['card'],
  day: ['day'],
};

const amountColumns = ['currency', 'events', 'resale', 'charge', 'margin'] as const;

/** Rows sorted by the groupings in the order asked (a level by depth, then id), then by currency. */
function compareRows(groupBy: readonly MarginGroup[]) {
  const byText = (a: string | undefined, b: string | undefined) => (a! < b! ? -1 : a! > b! ? 1 : 0);
  return (a: MarginRow, b: MarginRow): number => {
    for (const group of groupBy) {
      const order =
        group === 'level'
          ? a.depth! - b.depth! || byText(a.reseller_id, b.reseller_id)
          : byText(a[groupColumns[group][0]] as string, b[groupColumns[group][0]] as string);
      if (order !== 0) return order;
    }
    return byText(a.currency, b.currency);
  };
}

function buildReport(
  resellerId: string | null,
  input: ReportInput,
  groupBy: MarginGroup[],
  rows: repo.MarginSumRow[],
): MarginReport {
  const totals = new Map<string, { events: bigint; resale: bigint; charge: bigint }>();
  const data = rows.map((r): MarginRow => {
    const resale = toNano(r.resale);
    const charge = toNano(r.charge);
    const total = totals.get(r.currency) ?? { events: 0n, resale: 0n, charge: 0n };
    totals.set(r.currency, {
      events: total.events + r.events,
      resale: total.resale + resale,
      charge: total.charge + charge,
    });
    const keys: Record<MarginGroup, Partial<MarginRow>> = {
      level: { reseller_id: r.resellerExternalId!, depth: r.resellerDepth! },
      reseller: { child_id: r.childExternalId! },
      end_user: { end_user_id: r.endUserExternalId! },
      card: { card: r.card! },
      day: { day: r.day! },
    };
    return {
      // The grouping columns in the order asked, as the CSV's.
      ...Object.assign({}, ...groupBy.map((g) => keys[g])),
      currency: r.currency,
      events: Number(r.events),
      resale: formatMoney(resale),
      charge: formatMoney(charge),
      margin: formatMoney(resale - charge),
    };
  });
  data.sort(compareRows(groupBy));
  return {
    reseller_id: resellerId,
    from: input.from,
    to: input.to,
    group_by: groupBy,
    data,
    totals: [...totals.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, t]) => ({
        currency,
        events: Number(t.events),
        resale: formatMoney(t.resale),
        charge: formatMoney(t.charge),
        margin: formatMoney(t.resale - t.charge),
      })),
  };
}

/** A CSV field (RFC 4180): quoted when it holds a quote, comma or line break, its quotes doubled. */
const csvField = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** The report's rows as CSV (RFC 4180, CRLF, a header row): the grouping columns in the order asked, then the amounts. */
export function marginReportCsv(report: MarginReport): string {
  const columns = [...report.group_by.flatMap((g) => groupColumns[g]), ...amountColumns];
  const lines = [
    columns.join(','),
    ...report.data.map((row) => columns.map((c) => csvField(String(row[c]))).join(',')),
  ];
  return lines.map((line) => `${line}\r\n`).join('');
}
