// The invoice pipeline's FX stage (build -> FX -> tax -> finalize): a period's lines, built in the currency of
// the customer's price books, converted into the customer's billing currency under the tenant's policy. The
// arithmetic and its one rounding are currency/convert.ts's; the lines are then rounded to the billing
// currency's minor unit by the invoice's own stage (build.ts roundLines), so they still add up to the total.
import { formatMoney, toNano } from '../../platform/money.ts';
import { AppError, type FieldProblem } from '../../platform/errors.ts';
import { convertNano, FxDecimal, type Conversion, type FxPolicy } from '../currency/convert.ts';
import {
  convertNanoByFraction,
  intervalOf,
  weightedRate,
  type EventSlice,
  type EventSums,
} from '../currency/event-time.ts';
import type { Period } from '../periods/calendar.ts';
import { aggregateLines, propertyText, text } from './aggregates.ts';
import { micro, roundLines, type DraftLine } from './build.ts';
import { periodKey } from '../periods/index.ts';
import type { AggregateDelta, PeriodEventSumRow, PeriodRating } from './repo.ts';

/** The instant whose rate converts an invoice under `policy`: its period's end, or the finalization (now). */
export function conversionInstant(policy: FxPolicy, period: Period, now: Date): Date {
  if (policy === 'finalization') return now;
  // 'event': the period's end converts the lines no event made (currency/event-time.ts).
  return period.end;
}

export interface MissingRate {
  code: 'fx_rate_missing';
  from: string;
  to: string;
  at: string;
  policy: FxPolicy;
}

/** The clear error of an invoice that cannot be finalized for want of a rate: it names the pair and the instant. */
export class FxRateMissingError extends AppError {
  readonly missing: MissingRate;
  constructor(missing: MissingRate, message: string, details: FieldProblem[]) {
    super('precondition', 'fx_rate_missing', message, details);
    this.missing = missing;
  }
}

export function fxRateMissing(missing: MissingRate): FxRateMissingError {
  return new FxRateMissingError(
    missing,
    `No ${missing.from}/${missing.to} rate for ${missing.at} (policy ${missing.policy}): supply one (POST /v1/fx_rates or an ECB file) and the invoice is finalized on the next billing tick`,
    [
      {
        field: 'fx_rates',
        reason: `no ${missing.from}->${missing.to} rate, direct, inverse or through EUR, in force at ${missing.at}`,
      },
    ],
  );
}

/** The lines an event's receipt makes: under the event policy they convert at the events' weighted rate. */
const eventLineKinds = new Set<DraftLine['kind']>(['usage', 'allowance', 'discount', 'commitment', 'credit']);

/** The fields of an event line that tell it from the others of its invoice (build.ts makes one per aggregate row). */
type LineIdentity = Pick<DraftLine, 'kind'> &
  Partial<Pick<DraftLine, 'card' | 'dimension' | 'unitPrice' | 'per' | 'group' | 'grantId' | 'details'>>;

/** The key of an event line, whether it is read from the line or from the aggregate row that makes it (rowKeyOf). */
function lineKeyOf(line: LineIdentity): string | undefined {
  const details = (line.details ?? {}) as { charge?: number; price_model?: string; percent?: string | null };
  switch (line.kind) {
    case 'usage':
      return JSON.stringify([
        'usage',
        line.card,
        details.charge,
        line.dimension ?? '',
        details.price_model,
        String(line.unitPrice),
        String(line.per),
        Object.entries(line.group ?? {}).sort(),
      ]);
    case 'discount':
      return JSON.stringify(['discount', details.percent ?? '']);
    case 'commitment':
      return JSON.stringify(['commitment']);
    case 'credit':
      return JSON.stringify(['credit', line.grantId ?? '']);
    default:
      return undefined;
  }
}

/** The key of the line an aggregate row makes: the row's fields as buildInvoice puts them on its line. */
function rowKeyOf(row: AggregateDelta): string | undefined {
  switch (row.step) {
    case 'price':
      return lineKeyOf({
        kind: 'usage',
        card: row.card,
        dimension: row.dimension,
        unitPrice: toNano(row.rate),
        per: micro(row.per),
        group: row.group,
        details: { charge: row.charge, price_model: row.model },
      });
    case 'discount':
      return lineKeyOf({ kind: 'discount', details: { percent: row.percent } });
    case 'commitment':
      return row.mode === 'prepaid' ? lineKeyOf({ kind: 'commitment' }) : undefined;
    case 'credit':
      return lineKeyOf({ kind: 'credit', grantId: row.grantId });
    default:
      return undefined;
  }
}

/**
 * Pure: a period's ratings as the event policy weighs them, summed by the interval of `bounds` (the instants where
 * the rate may change, event-time.ts) each falls in: what they leave to bill, and what they bring to each event
 * line (the invoice aggregates' grouping, aggregates.ts, so the same rows as the lines'). The ratings of an
 * interval are aggregated together, one aggregateLines call for the period (its customer key is the interval), so
 * the cost is the steps', not a map and a key per event.
 */
export function eventSlicesOf(ratings: readonly PeriodRating[], bounds: readonly Date[]): EventSlice[] {
  const epoch = new Date(0);
  const times = new Map<string, { firstAt: Date; lastAt: Date }>();
  const lines = ratings.map((r) => {
    const interval = String(intervalOf(bounds, r.occurredAt));
    const seen = times.get(interval);
    if (!seen) times.set(interval, { firstAt: r.occurredAt, lastAt: r.occurredAt });
    else if (r.occurredAt.getTime() < seen.firstAt.getTime()) seen.firstAt = r.occurredAt;
    else if (r.occurredAt.getTime() > seen.lastAt.getTime()) seen.lastAt = r.occurredAt;
    return { ...r, customerId: interval, periodStart: epoch };
  });
  const slices = new Map<string, EventSlice & { lines: Map<string, bigint> }>();
  for (const row of aggregateLines(lines)) {
    let slice = slices.get(row.customerId);
    if (!slice)
      slices.set(
        row.customerId,
        (slice = { amount: 0n, events: 0, ...times.get(row.customerId)!, lines: new Map<string, bigint>() }),
      );
    if (row.step === 'total') {
      slice.amount = toNano(row.amount);
      slice.events = Number(row.events);
      continue;
    }
    const key = rowKeyOf(row);
    if (key !== undefined) slice.lines.set(key, (slice.lines.get(key) ?? 0n) + toNano(row.amount));
  }
  return [...slices.values()];
}

const stepOfCode = { p: 'price', d: 'discount', c: 'commitment', g: 'credit' } as const;

/**
 * Pure: the rows of sumPeriodEvents (repo.ts) as each period's EventSums, by periodKey: its intervals, and each
 * event line's amount and conversion, the step rows keyed as the lines they make (rowKeyOf, so the same keys as
 * eventSlicesOf's). `chained`: the periods whose sums lack their chain levels (resellers), read from their ratings.
 */
export function eventSumsOf(rows: readonly PeriodEventSumRow[]): {
  sums: Map<string, EventSums>;
  chained: Set<string>;
} {
  const sums = new Map<string, EventSums>();
  const converted = new Map<string, Map<string, { amount: bigint; converted: InstanceType<typeof FxDecimal> }>>();
  const chained = new Set<string>();
  for (const r of rows) {
    const key = periodKey({ customerId: r.customerId, start: r.periodStart });
    if (r.code === 'chain') {
      chained.add(key);
      continue;
    }
    let period = sums.get(key);
    if (!period) sums.set(key, (period = { intervals: [], lines: new Map() }));
    if (r.code === 't') {
      period.intervals.push(...r.intervals!);
      continue;
    }
    const group: Record<string, string> = {};
    for (const [name, value] of Object.entries(r.group)) {
      const shown = propertyText(value);
      if (shown !== undefined) group[name] = shown;
    }
    const lineKey = rowKeyOf({
      customerId: r.customerId,
      periodStart: r.periodStart.toISOString(),
      step: stepOfCode[r.code],
      card: r.card ?? '',
      charge: r.charge === null ? -1 : Number(r.charge),
      dimension: r.dimension ?? '',
      model: r.model ?? '',
      rate: r.rate ?? '',
      per: r.per ?? '',
      group,
      pool: '',
      grantId: text(r.grant),
      mode: r.code === 'c' ? 'prepaid' : '',
      percent: text(r.percent),
      quantity: '0',
      covered: '0',
      amount: r.amount ?? '0',
      events: BigInt(r.events),
    });
    if (lineKey === undefined || r.amount === null) continue;
    let lines = converted.get(key);
    if (!lines) converted.set(key, (lines = new Map()));
    const line = lines.get(lineKey) ?? { amount: 0n, converted: new FxDecimal(0) };
    line.amount += toNano(r.amount);
    line.converted = line.converted.plus(r.converted ?? 0);
    lines.set(lineKey, line);
  }
  for (const [key, lines] of converted)
    for (const [lineKey, l] of lines)
      sums.get(key)!.lines.set(lineKey, { amount: l.amount, converted: l.converted.toFixed() });
  return { sums, chained };
}

/**
 * The rate each line converts at: the conversion's, or under the event policy the weighted rate (a fraction, exact)
 * of the events that make the line (else of all the period's events) for event lines, and the period end's for
 * the others. Undefined: the period end's rate is needed and missing.
 */
export function lineRatesOf(lines: readonly DraftLine[], conversion: Conversion): (LineRate | undefined)[] {
  const events = conversion.events;
  if (!events) return lines.map(() => ({ rate: conversion.rate }));
  let ofAll: LineRate | undefined;
  const periodEnd = conversion.period_end ? { rate: conversion.period_end.rate } : undefined;
  return lines.map((line) => {
    if (!eventLineKinds.has(line.kind)) return periodEnd;
    const key = lineKeyOf(line);
    const own = key === undefined ? undefined : events.lines?.[key];
    const fraction = own && weightedRate(own);
    if (fraction) return { fraction };
    if (!ofAll) {
      const all = weightedRate(events);
      ofAll = all ? { fraction: all } : { rate: conversion.rate };
    }
    return ofAll;
  });
}

export type LineRate = { rate: string } | { fraction: { numerator: string; denominator: string } };

const convertBy = (amount: bigint, by: LineRate) =>
  'rate' in by ? convertNano(amount, by.rate) : convertNanoByFraction(amount, by.fraction);

/** Whether a line to convert has no rate (lineRatesOf: under the event policy, lines no event made need the period end's). */
export function missingLineRate(lines: readonly DraftLine[], rates: readonly (LineRate | undefined)[]): boolean {
  return lines.some((l, i) => l.kind !== 'progressive_billing' && l.amountExact !== 0n && !rates[i]);
}

/**
 * Pure: the lines converted with `conversion`. Each line's exact amount and unit price are multiplied by its rate
 * and rounded half-even to the nano-unit (the one conversion rounding), the source amounts kept in the line's
 * details; then the lines are rounded to `minorUnit` as any invoice's. Lines deducting earlier threshold
 * invoices are left as they are: those invoices were issued, converted, in the billing currency already.
 */
export function convertLines(
  lines: DraftLine[],
  conversion: Conversion,
  minorUnit: number,
  rates = lineRatesOf(lines, conversion),
): { lines: DraftLine[]; total: bigint; totalExact: bigint } {
  const converted = lines.map((line, i): DraftLine => {
    if (line.kind === 'progressive_billing') return { ...line };
    const by = rates[i];
    if (!by) {
      if (line.amountExact !== 0n) throw new Error(`no rate to convert a ${line.kind} line (missingLineRate first)`);
      return { ...line };
    }
    return {
      ...line,
      amountExact: convertBy(line.amountExact, by),
      unitPrice: line.unitPrice === null ? null : convertBy(line.unitPrice, by),
      details: {
        ...line.details,
        fx: {
          currency: conversion.from,
          amount_exact: formatMoney(line.amountExact),
          ...(line.unitPrice === null ? {} : { unit_price: formatMoney(line.unitPrice) }),
          ...('rate' in by ? { rate: by.rate } : { rate: conversion.rate, weighted: by.fraction }),
        },
      },
    };
  });
  const rounded = roundLines(
    converted.map((l) => l.amountExact),
    minorUnit,
  );
  rounded.amounts.forEach((amount, i) => (converted[i].amount = amount));
  return { lines: converted, total: rounded.total, totalExact: converted.reduce((sum, l) => sum + l.amountExact, 0n) };
}
