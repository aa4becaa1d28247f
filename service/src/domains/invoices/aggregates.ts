// The invoice aggregates of periods (migration 018), kept by whoever writes rated lines, in the same transaction:
// a batch of lines is summed here per customer, period and invoice grouping, then written in one upsert. A
// period's close reads these rows instead of its receipts. Exact: decimals are added as scaled integers.
import type { ReceiptStep } from '@tariff/core-wasm';
import { Decimal } from 'decimal.js';
import type { TenantScope } from '../../platform/db.ts';
import * as repo from './repo.ts';

/** One rated line as it enters (sign 1) or leaves (sign -1, a re-rating replacing it) its period's invoice. */
export interface AggregatedLine {
  customerId: string;
  periodStart: Date;
  occurredAt: Date;
  card: string;
  /** What the line leaves to bill (rated_lines.amount). */
  amount: string;
  receipt: readonly ReceiptStep[];
  properties: Record<string, unknown>;
  sign?: 1 | -1;
}

/** The grouping properties invoices itemise usage by, in jsonb's key order (length, then bytes). */
const groupProperties = ['model', 'region', 'gpu_type', 'availability_class'] as const;
const stepKinds = new Set(['allowance', 'discount', 'commitment', 'credit']);

/** A decimal as an integer and a scale; sums keep the largest scale, so nothing is rounded. */
interface Scaled {
  value: bigint;
  scale: number;
}

const zero: Scaled = { value: 0n, scale: 0 };

function parseDecimal(text: string): Scaled {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const fraction = match[3] ?? '';
  const value = BigInt(match[2] + fraction);
  return { value: match[1] ? -value : value, scale: fraction.length };
}

function add(a: Scaled, b: Scaled, sign: bigint): Scaled {
  if (a.scale === b.scale) return { value: a.value + sign * b.value, scale: a.scale };
  const scale = Math.max(a.scale, b.scale);
  return { value: a.value * 10n ** BigInt(scale - a.scale) + sign * b.value * 10n ** BigInt(scale - b.scale), scale };
}

function formatDecimal({ value, scale }: Scaled): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * An event property as PostgreSQL's `->>` gives it: strings as they are, booleans and numbers as their JSON text
 * (a number as numeric prints it: no exponent). Absent and null give no value.
 */
function propertyText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return new Decimal(JSON.stringify(value)).toFixed();
  return JSON.stringify(value);
}

interface Row {
  row: repo.AggregateKey;
  quantity: Scaled;
  covered: Scaled;
  amount: Scaled;
  events: bigint;
}

/** A grouping's key, every field set (one object shape for all rows: this runs for every rated line). */
function keyOf(customerId: string, periodStart: string, step: repo.AggregateKey['step']): repo.AggregateKey {
  return { customerId, periodStart, step, card: '', charge: -1, dimension: '', model: '', rate: '', per: '', group: {}, pool: '', grantId: '', mode: '', percent: '' };
}

/**
 * Pure: the lines' contributions to their periods' aggregates, one row per customer, period and grouping (the
 * rows migration 018 describes), signed. Lines stamped before their period's start are not the period's (the
 * invoice reads find a period's events from its start).
 */
export function aggregateLines(lines: readonly AggregatedLine[]): repo.AggregateDelta[] {
  const rows = new Map<string, Row>();
  // Keys joined by NUL, which no stored value can hold (PostgreSQL text cannot): same values, same row.
  const rowOf = (id: string, key: () => repo.AggregateKey): Row => {
    let row = rows.get(id);
    if (!row) rows.set(id, (row = { row: key(), quantity: zero, covered: zero, amount: zero, events: 0n }));
    return row;
  };
  const periodStarts = new Map<number, string>();
  for (const line of lines) {
    const startMs = line.periodStart.getTime();
    if (line.occurredAt.getTime() < startMs) continue;
    const sign = line.sign === -1 ? -1n : 1n;
    const { customerId } = line;
    let periodStart = periodStarts.get(startMs);
    if (periodStart === undefined) periodStarts.set(startMs, (periodStart = line.periodStart.toISOString()));
    const periodId = `${customerId}\0${periodStart}`;
    const total = rowOf(`${periodId}\0total`, () => keyOf(customerId, periodStart, 'total'));
    total.amount = add(total.amount, parseDecimal(line.amount), sign);
    total.events += sign;
    let group: Record<string, string> | undefined;
    let groupId = '';
    for (const step of line.receipt as readonly (ReceiptStep & Record<string, unknown>)[]) {
      let row: Row;
      if (step.step === 'price') {
        if (!group) {
          group = {};
          for (const p of groupProperties) {
            const text = propertyText(line.properties[p]);
            if (text !== undefined) group[p] = text;
          }
          groupId = JSON.stringify(group);
        }
        const quantity = line.receipt.find((q) => q.step === 'quantity' && q.charge === step.charge) as { dimension?: string } | undefined;
        const charge = step.charge as number;
        const dimension = quantity?.dimension ?? '';
        const model = String(step.model);
        const rate = String(step.rate);
        const per = String(step.per);
        const g = group;
        row = rowOf(`${periodId}\0price\0${line.card}\0${charge}\0${dimension}\0${model}\0${rate}\0${per}\0${groupId}`, () => {
          const key = keyOf(customerId, periodStart, 'price');
          key.card = line.card;
          key.charge = charge;
          key.dimension = dimension;
          key.model = model;
          key.rate = rate;
          key.per = per;
          key.group = g;
          return key;
        });
      } else if (stepKinds.has(step.step)) {
        const pool = text(step.pool);
        const grantId = text(step.grant);
        const mode = text(step.mode);
        const percent = text(step.percent);
        row = rowOf(`${periodId}\0${step.step}\0${pool}\0${grantId}\0${mode}\0${percent}`, () => {
          const key = keyOf(customerId, periodStart, step.step as repo.AggregateKey['step']);
          key.pool = pool;
          key.grantId = grantId;
          key.mode = mode;
          key.percent = percent;
          return key;
        });
      } else continue;
      if (typeof step.quantity === 'string') row.quantity = add(row.quantity, parseDecimal(step.quantity), sign);
      if (typeof step.covered === 'string') row.covered = add(row.covered, parseDecimal(step.covered), sign);
      if (typeof step.amount === 'string') row.amount = add(row.amount, parseDecimal(step.amount), sign);
      row.events += sign;
    }
  }
  const deltas: repo.AggregateDelta[] = [];
  for (const r of rows.values()) {
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
  }
  return deltas;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

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
