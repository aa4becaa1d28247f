// Currencies: the tenant's reporting currency and conversion policy, its dated FX rates (supplied one by one
// or as an ECB reference-rate file), and the conversion an invoice is given (convert.ts holds the arithmetic).
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, requireTenantWide } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid, precondition } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import { findRate, FxDecimal, type Conversion, type FindRateResult, type StoredRate } from './convert.ts';
import { parseEcbCsv } from './ecb.ts';
import * as repo from './repo.ts';
import type {
  ImportEcbInput,
  ListRatesInput,
  SupplyRatesInput,
  UpdateSettingsInput,
} from '@tariff/openapi/schemas/currency';

/** A tenant that never chose: reports in USD, converts invoices at the rate of the period's end. */
export const defaultSettings: repo.Settings = { reportingCurrency: 'USD', fxPolicy: 'period_end', updatedAt: null };

export async function readSettings(scope: TenantScope): Promise<repo.Settings> {
  return (await repo.findSettings(scope)) ?? defaultSettings;
}

const toApiSettings = (s: repo.Settings) => ({
  reporting_currency: s.reportingCurrency,
  fx_policy: s.fxPolicy,
  updated_at: s.updatedAt?.toISOString() ?? null,
});

export async function getSettings(deps: Deps, actor: Actor) {
  requirePermission(actor, 'billing.read');
  requireTenantWide(actor, "read the tenant's currency settings");
  return withTenant(deps.db, actor.tenantId, async (tx) =>
    toApiSettings(await readSettings({ db: tx, tenantId: actor.tenantId })),
  );
}

export async function updateSettings(deps: Deps, actor: Actor, input: UpdateSettingsInput) {
  requirePermission(actor, 'invoices.write');
  requireTenantWide(actor, "change the tenant's currency settings");
  // Converting each event at its own time needs the period's lines split by rate interval (each line then carries
  // several rates); until the invoice can state that, the policy is refused rather than approximated.
  if (input.fx_policy === 'event') {
    throw precondition(
      'fx_policy_not_supported',
      "Converting at each event's time is not supported yet: choose period_end or finalization",
      [{ field: 'fx_policy', reason: 'event is not supported yet; period_end and finalization are' }],
    );
  }
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await readSettings(scope);
    const after: repo.Settings = {
      reportingCurrency: input.reporting_currency ?? before.reportingCurrency,
      fxPolicy: input.fx_policy ?? before.fxPolicy,
      updatedAt: now,
    };
    await repo.upsertSettings(scope, after, now);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'currency_settings.updated',
      entityType: 'tenant',
      entityId: actor.tenantId,
      before: toApiSettings(before),
      after: toApiSettings(after),
    });
    return toApiSettings(after);
  });
}

const toApiRate = (r: repo.RateRow) => ({
  base: r.base,
  quote: r.quote,
  rate: new FxDecimal(r.rate).toFixed(),
  as_of: r.asOf.toISOString(),
  source: r.source,
  created_at: r.createdAt.toISOString(),
  updated_at: r.updatedAt.toISOString(),
});

/** Stores the given rates, all or none; a rate for a pair and instant already stored is replaced. */
export async function supplyRates(deps: Deps, actor: Actor, input: SupplyRatesInput) {
  requirePermission(actor, 'invoices.write');
  requireTenantWide(actor, 'supply exchange rates');
  const seen = new Map<string, number>();
  input.rates.forEach((r, i) => {
    const key = `${r.base}/${r.quote}@${new Date(r.as_of).getTime()}`;
    const first = seen.get(key);
    if (first !== undefined)
      throw invalid('duplicate_rate', `rates.${i} is for the same pair and instant as rates.${first}`, [
        { field: `rates.${i}.as_of`, reason: `same pair and instant as rates.${first}` },
      ]);
    seen.set(key, i);
  });
  const rates = input.rates.map((r) => ({
    base: r.base,
    quote: r.quote,
    rate: r.rate,
    asOf: new Date(r.as_of),
    source: r.source,
  }));
  return storeRates(deps, actor, rates, { action: 'fx_rates.supplied' });
}

/** Imports an ECB reference-rate file: every rate of it, or (any row malformed) none, with every problem named. */
export async function importEcbRates(deps: Deps, actor: Actor, input: ImportEcbInput) {
  requirePermission(actor, 'invoices.write');
  requireTenantWide(actor, 'import exchange rates');
  const parsed = parseEcbCsv(input.csv);
  if (!parsed.ok) {
    const shown = parsed.problems.slice(0, 100);
    throw invalid(
      'invalid_rate_file',
      `The rate file has ${parsed.problems.length} problem(s); nothing was imported. ${shown
        .slice(0, 3)
        .map((p) => `${p.field}: ${p.reason}`)
        .join('; ')}`,
      shown.map((p) => ({ field: `csv.${p.field}`, reason: p.reason })),
    );
  }
  const rates = parsed.rates.map((r) => ({ ...r, source: input.source }));
  return { days: parsed.days, ...(await storeRates(deps, actor, rates, { action: 'fx_rates.imported' })) };
}

async function storeRates(deps: Deps, actor: Actor, rates: StoredRate[], audit: { action: string }) {
  const now = deps.clock.now();
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const counts = await repo.upsertRates({ db: tx, tenantId: actor.tenantId }, rates, now);
    const pairs = [...new Set(rates.map((r) => `${r.base}/${r.quote}`))].sort();
    const instants = rates.map((r) => r.asOf.getTime());
    const summary = {
      rates: rates.length,
      inserted: counts.inserted,
      replaced: counts.replaced,
      pairs,
      from: instants.length ? new Date(Math.min(...instants)).toISOString() : null,
      to: instants.length ? new Date(Math.max(...instants)).toISOString() : null,
    };
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: audit.action,
      entityType: 'tenant',
      entityId: actor.tenantId,
      after: { ...summary, pairs: pairs.slice(0, 50) },
    });
    return summary;
  });
}

export async function listRates(deps: Deps, actor: Actor, input: ListRatesInput) {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const rows = await repo.listRates(
      { db: tx, tenantId: actor.tenantId },
      { base: input.base, quote: input.quote, at: input.at ? new Date(input.at) : undefined, limit: input.limit },
    );
    return { data: rows.map(toApiRate), has_more: rows.length === input.limit };
  });
}

/**
 * The conversions of `from` into `to` at each instant (one statement for all): what an invoice, or a batch of
 * invoices closing at the same instants, is converted with. Keyed by the instant's milliseconds.
 */
export async function findConversions(
  scope: TenantScope,
  from: string,
  to: string,
  instants: Date[],
  policy: Conversion['policy'],
): Promise<Map<number, FindRateResult>> {
  const unique = [...new Map(instants.map((i) => [i.getTime(), i])).values()];
  const latest = await repo.findLatestRates(scope, [...new Set([from, to, 'EUR'])], unique);
  const result = new Map<number, FindRateResult>();
  for (const at of unique) {
    const rates = latest.get(at.getTime())!;
    result.set(
      at.getTime(),
      findRate(from, to, at, policy, (base, quote) => rates.find((r) => r.base === base && r.quote === quote)),
    );
  }
  return result;
}
