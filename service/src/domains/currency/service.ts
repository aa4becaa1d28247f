// Currencies: the tenant's reporting currency and conversion policy, its dated FX rates (supplied one by one
// or as an ECB reference-rate file), and the conversion an invoice is given (convert.ts holds the arithmetic).
import type { Actor } from '../../platform/auth.ts';
import { requirePermission, requireTenantWide } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { invalid } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import {
  findRate,
  FxDecimal,
  maxRateAgeDays,
  type Conversion,
  type FindRateResult,
  type StoredRate,
} from './convert.ts';
import {
  convertEventSums,
  displayRate,
  intervalRates,
  latestAmong,
  rateChangeInstants,
  weightedRate,
  type EventConversionResult,
  type EventSums,
} from './event-time.ts';
import { periodKey, type PeriodKey } from '../periods/index.ts';
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

/**
 * The event policy's conversions of `from` into `to` for periods (customerId, start, end): each period's events
 * converted at the rates in force at their times, and the period end's rate for the lines no event made
 * (event-time.ts). `sumsOf`: the periods' events (and, for a reseller, its levels of its children's events), by
 * periodKey, summed by the intervals of the bounds given, each line's amount converted at its events' interval
 * rates (`rates`, by interval: intervalRates', undefined where none is in force), as the invoices domain reads and
 * keys them by line. One read here: the rates of the window. Keyed by periodKey.
 */
export async function findEventConversions(
  scope: TenantScope,
  from: string,
  to: string,
  periods: (PeriodKey & { end: Date })[],
  sumsOf: (bounds: readonly Date[], rates: readonly (Conversion | undefined)[]) => Promise<Map<string, EventSums>>,
): Promise<Map<string, FindRateResult>> {
  const result = new Map<string, FindRateResult>();
  if (periods.length === 0) return result;
  const earliest = Math.min(...periods.map((p) => p.start.getTime())) - maxRateAgeDays * 86_400_000;
  const latest = Math.max(...periods.map((p) => p.end.getTime()));
  const rates = await repo.listRatesBetween(
    scope,
    [...new Set([from, to, 'EUR'])],
    new Date(earliest),
    new Date(latest),
  );
  const bounds = rateChangeInstants(rates);
  const byInterval = intervalRates(from, to, bounds, rates);
  const sums = await sumsOf(bounds, byInterval);
  // A batch's periods mostly end at the same instant: its rate is found once.
  const ends = new Map<number, Conversion | null>();
  const endRate = (at: Date) => {
    if (!ends.has(at.getTime())) {
      const found = findRate(from, to, at, 'event', latestAmong(rates, at));
      ends.set(at.getTime(), found.ok ? found.conversion : null);
    }
    return ends.get(at.getTime())!;
  };
  for (const period of periods) {
    const key = periodKey(period);
    const events = convertEventSums(from, to, sums.get(key) ?? { intervals: [], lines: new Map() }, byInterval);
    if (!events.ok) {
      result.set(key, events);
      continue;
    }
    result.set(key, eventConversion(from, to, period.end, events, endRate(period.end)));
  }
  return result;
}

/** The invoice's record of an event-policy conversion: the events' rates and the period end's. */
function eventConversion(
  from: string,
  to: string,
  at: Date,
  events: Extract<EventConversionResult, { ok: true }>,
  periodEnd: Conversion | null,
): FindRateResult {
  const fraction = weightedRate(events.events);
  const rate = fraction ? displayRate(fraction) : (events.lastRate ?? periodEnd?.rate);
  // Neither events nor a rate at the period's end: nothing to convert at; the period end's rate is what is missing.
  if (rate === undefined) return { ok: false, from, to, at };
  const stated = [...events.events.rates, ...(periodEnd ? [periodEnd] : [])];
  return {
    ok: true,
    conversion: {
      from,
      to,
      rate,
      source: [...new Set(stated.map((r) => r.source))].join('+'),
      as_of: stated.map((r) => r.as_of).sort()[0],
      policy: 'event',
      at: at.toISOString(),
      method: 'events',
      legs: [],
      events: events.events,
      period_end: periodEnd,
    },
  };
}
