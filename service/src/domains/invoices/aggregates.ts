// The invoice aggregates of periods (migration 018), kept by whoever writes rated lines, in the same transaction:
// a batch of lines is summed here per customer, period and invoice grouping, then written in one upsert. A
// period's close reads these rows instead of its receipts. Exact: decimals are added as scaled integers.
import type { ReceiptStep } from '@tariff/core-wasm';
import { Decimal } from 'decimal.js';
import type { Statement, TenantScope } from '../../platform/db.ts';
import * as repo from './repo.ts';

/** One rated line as it enters (sign 1) or leaves (sign -1, a re-rating replacing it) its period's invoice. */
export interface AggregatedLine {
  customerId: string;
  periodStart: Date;
  occurredAt: Date;
  card: string;
  /** What the line leaves to bill (its rating's amount). */
  amount: string;
  receipt: readonly ReceiptStep[];
  properties: Record<string, unknown>;
  sign?: 1 | -1;
}

/** The grouping properties invoices itemise usage by, in jsonb's key order (length, then bytes). */
const groupProperties = ['model', 'region', 'gpu_type', 'availability_class'] as const;
const stepKinds = new Set(['allowance', 'discount', 'commitment', 'credit']);

/** A running sum of decimals: an integer and a scale, kept at the largest scale added, so nothing is rounded. */
interface Sum {
  value: bigint;
  scale: number;
}

const powersOfTen: bigint[] = [1n];
const tenTo = (n: number) => powersOfTen[n] ?? (powersOfTen[n] = 10n ** BigInt(n));

/** Adds (sign 1) or subtracts (sign -1) a decimal's text to the sum, in place. */
function addTo(sum: Sum, text: string, sign: bigint): void {
  // Checked and read in one pass: its digits without the dot, as a number while they fit one exactly (15 digits;
  // every line adds a few decimals, so no slices and joins for them), else as a bigint from the text.
  const negative = text.charCodeAt(0) === 45;
  let digits = 0;
  let scale = 0;
  let dot = -1;
  let number = 0;
  for (let at = negative ? 1 : 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code >= 48 && code <= 57) {
      number = number * 10 + (code - 48);
      digits++;
      if (dot >= 0) scale++;
    } else if (code === 46 && dot < 0 && digits > 0) dot = at;
    else throw new Error(`not a decimal: ${text}`);
  }
  if (digits === 0 || (dot >= 0 && scale === 0)) throw new Error(`not a decimal: ${text}`);
  let value =
    digits <= 15
      ? BigInt(negative ? -number : number)
      : BigInt(dot < 0 ? text : text.slice(0, dot) + text.slice(dot + 1));
  if (sign < 0n) value = -value;
  if (scale === sum.scale) sum.value += value;
  else if (scale < sum.scale) sum.value += value * tenTo(sum.scale - scale);
  else {
    sum.value = sum.value * tenTo(scale - sum.scale) + value;
    sum.scale = scale;
  }
}

function formatDecimal({ value, scale }: Sum): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * An event property as PostgreSQL's `->>` gives it: strings as they are, booleans and numbers as their JSON text
 * (a number as numeric prints it: no exponent). Absent and null give no value.
 */
export function propertyText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return new Decimal(JSON.stringify(value)).toFixed();
  return JSON.stringify(value);
}

interface Row {
  row: repo.AggregateKey;
  quantity: Sum;
  covered: Sum;
  amount: Sum;
  events: bigint;
}

/** A grouping's key, every field set (one object shape for all rows: this runs for every rated line). */
function keyOf(customerId: string, periodStart: string, step: repo.AggregateKey['step']): repo.AggregateKey {
  return {
    customerId,
    periodStart,
    step,
    card: '',
    charge: -1,
    dimension: '',
    model: '',
    rate: '',
    per: '',
    group: {},
    pool: '',
    grantId: '',
    mode: '',
    percent: '',
  };
}

function newRow(key: repo.AggregateKey): Row {
  return {
    row: key,
    quantity: { value: 0n, scale: 0 },
    covered: { value: 0n, scale: 0 },
    amount: { value: 0n, scale: 0 },
    events: 0n,
  };
}

/** One period's rows: the total, and the step rows by a key of their grouping's values within the period. */
interface PeriodRows {
  total: Row;
  steps: Map<string, Row>;
}

/**
 * Pure: the lines' contributions to their periods' aggregates, one row per customer, period and grouping (the
 * rows migration 018 describes), signed. Lines stamped before their period's start are not the period's (the
 * invoice reads find a period's events from its start). Rows come out period by period, each period's total
 * first, then its step rows in the order first met.
 */
export function aggregateLines(lines: readonly AggregatedLine[]): repo.AggregateDelta[] {
  // By customer, then period start: the ids are the same strings line after line, so their hashes are kept.
  const periods = new Map<string, Map<number, PeriodRows>>();
  const order: PeriodRows[] = [];
  // An event's lines share its properties (a reseller chain has one line per level): grouped once per event.
  const groups = new Map<object, { group: Record<string, string>; groupId: string }>();
  for (const line of lines) {
    const startMs = line.periodStart.getTime();
    if (line.occurredAt.getTime() < startMs) continue;
    const sign = line.sign === -1 ? -1n : 1n;
    const { customerId } = line;
    let byStart = periods.get(customerId);
    if (!byStart) periods.set(customerId, (byStart = new Map()));
    let period = byStart.get(startMs);
    if (!period) {
      period = { total: newRow(keyOf(customerId, line.periodStart.toISOString(), 'total')), steps: new Map() };
      byStart.set(startMs, period);
      order.push(period);
    }
    const periodStart = period.total.row.periodStart;
    addTo(period.total.amount, line.amount, sign);
    period.total.events += sign;
    let group: Record<string, string> | undefined;
    let groupId = '';
    for (const step of line.receipt as readonly (ReceiptStep & Record<string, unknown>)[]) {
      let row: Row | undefined;
      if (step.step === 'price') {
        if (!group) {
          let grouped = groups.get(line.properties);
          if (!grouped) {
            const values: Record<string, string> = {};
            for (const p of groupProperties) {
              const text = propertyText(line.properties[p]);
              if (text !== undefined) values[p] = text;
            }
            groups.set(line.properties, (grouped = { group: values, groupId: JSON.stringify(values) }));
          }
          group = grouped.group;
          groupId = grouped.groupId;
        }
        const charge = step.charge as number;
        // The charge's quantity step (the first naming it), read in place: this runs for every price step.
        let dimension = '';
        for (const q of line.receipt)
          if (q.step === 'quantity' && q.charge === charge) {
            dimension = (q as { dimension?: string }).dimension ?? '';
            break;
          }
        const model = String(step.model);
        const rate = String(step.rate);
        const per = String(step.per);
        // Joined by NUL, which no stored value can hold (PostgreSQL text cannot): same values, same row.
        const id = `price\0${line.card}\0${charge}\0${dimension}\0${model}\0${rate}\0${per}\0${groupId}`;
        row = period.steps.get(id);
        if (!row) {
          const key = keyOf(customerId, periodStart, 'price');
          key.card = line.card;
          key.charge = charge;
          key.dimension = dimension;
          key.model = model;
          key.rate = rate;
          key.per = per;
          key.group = group;
          period.steps.set(id, (row = newRow(key)));
        }
      } else if (stepKinds.has(step.step)) {
        const pool = text(step.pool);
        const grantId = text(step.grant);
        const mode = text(step.mode);
        const percent = text(step.percent);
        const id = `${step.step}\0${pool}\0${grantId}\0${mode}\0${percent}`;
        row = period.steps.get(id);
        if (!row) {
          const key = keyOf(customerId, periodStart, step.step as repo.AggregateKey['step']);
          key.pool = pool;
          key.grantId = grantId;
          key.mode = mode;
          key.percent = percent;
          period.steps.set(id, (row = newRow(key)));
        }
      } else continue;
      if (typeof step.quantity === 'string') addTo(row.quantity, step.quantity, sign);
      if (typeof step.covered === 'string') addTo(row.covered, step.covered, sign);
      if (typeof step.amount === 'string') addTo(row.amount, step.amount, sign);
      row.events += sign;
    }
  }
  const deltas: repo.AggregateDelta[] = [];
  const emit = (r: Row) => {
    const k = r.row;
    deltas.push({
      customerId: k.customerId,
      periodStart: k.periodStart,
      step: k.step,
      card: k.card,
      charge: k.charge,
      dimension: k.dimension,
      model: k.model,
      rate: k.rate,
      per: k.per,
      group: k.group,
      pool: k.pool,
      grantId: k.grantId,
      mode: k.mode,
      percent: k.percent,
      quantity: formatDecimal(r.quantity),
      covered: formatDecimal(r.covered),
      amount: formatDecimal(r.amount),
      events: r.events,
    });
  };
  for (const period of order) {
    emit(period.total);
    for (const row of period.steps.values()) emit(row);
  }
  return deltas;
}

/** A receipt step's text field as the aggregates key it: a string, else empty. */
export const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** Adds lines entering their periods (ingestion) to the invoice aggregates: the statement, not sent (db.ts oneStatement). */
export function addToInvoiceAggregates(scope: TenantScope, lines: readonly AggregatedLine[]): Statement | undefined {
  return repo.upsertInvoiceAggregates(scope, aggregateLines(lines));
}

/**
 * Adds rated lines to (or, signed -1, takes them out of) their periods' invoice aggregates: one statement. The
 * caller holds the periods' locks (ingestion, re-rating), so no two transactions move the same rows at once.
 */
export async function recordInvoiceAggregates(scope: TenantScope, lines: readonly AggregatedLine[]): Promise<void> {
  const deltas = aggregateLines(lines);
  if (deltas.length === 0) return;
  await repo.upsertInvoiceAggregates(scope, deltas);
  // Only a line leaving can empty a row (re-rating); ingestion never needs the delete.
  if (lines.some((l) => l.sign === -1)) await repo.deleteEmptyInvoiceAggregates(scope, deltas);
}
