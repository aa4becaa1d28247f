// Pure: an invoice's lines from a period's rated receipts (aggregated) and the subscription's terms, and the one
// rounding stage from nano-units to the currency's minor unit.
import { formatMoney, formatQuantity, parseScaled } from '@tariff/core-wasm';
import { divideHalfEven, largestRemainder, sumNano, toNano } from '../../platform/money.ts';
import { boundaryAfter, fullPeriodOf, prorate, type Cadence, type Period } from '../periods/calendar.ts';

export type LineKind =
  | 'base_fee'
  | 'usage'
  | 'allowance'
  | 'discount'
  | 'commitment'
  | 'credit'
  | 'minimum_true_up'
  | 'sla_credit'
  | 'progressive_billing'
  | 'adjustment';

/** Price steps of the period's receipts summed by card, charge, rate and the events' grouping properties. */
export interface UsageAggregate {
  card: string;
  charge: number;
  dimension: string | null;
  model: string;
  rate: string;
  per: string;
  group: Record<string, string>;
  quantity: string;
  amount: string;
  events: bigint;
}

/** Allowance, discount, commitment and credit steps summed by pool, percentage, mode or grant. */
export interface StepAggregate {
  step: 'allowance' | 'discount' | 'commitment' | 'credit';
  pool: string | null;
  grantId: string | null;
  mode: string | null;
  percent: string | null;
  covered: string;
  amount: string;
  events: bigint;
}

export interface PlanTerms {
  code: string;
  name: string;
  baseFee: bigint;
  minimumSpend: bigint | null;
  cadence: Cadence;
}

export interface InvoiceInput {
  currency: string;
  minorUnit: number;
  period: Period;
  /** The subscription's plan, when the period is a subscription period. */
  plan?: PlanTerms;
  usage: UsageAggregate[];
  steps: StepAggregate[];
  grants: Map<string, { kind: string; name: string | null; reason: string | null }>;
  /** Sum of the receipts' amounts (what rating left to bill), to check the lines against. */
  ratedAmount: bigint;
  /** Operator credits for preempted jobs of the period (period-end invoices). */
  slaCredits?: SlaCreditLine[];
  /** The period's threshold invoices issued before this one (not void), deducted at their rounded totals. */
  previouslyBilled?: PreviousInvoice[];
  /** A contract term ending with this period: its minimum and the term's usage net of discounts, all periods. */
  termCommitment?: { start: Date; end: Date; minimum: bigint; consumed: bigint };
  /** Amounts of closed periods billed on this invoice (late events, re-rating increases), each with its original instant. */
  adjustments?: AdjustmentLine[];
}

export interface SlaCreditLine {
  id: string;
  transactionId: string;
  percent: string;
  amount: bigint;
  reason: string;
}

export interface AdjustmentLine {
  id: string;
  source: 'late_event' | 'rerating';
  reference: string;
  description: string;
  occurredAt: Date;
  periodStart: Date;
  amount: bigint;
}

export interface PreviousInvoice {
  id: string;
  number: string;
  threshold: bigint;
  total: bigint;
}

export interface DraftLine {
  kind: LineKind;
  description: string;
  card: string | null;
  dimension: string | null;
  group: Record<string, string> | null;
  /** Micro-units. */
  quantity: bigint | null;
  /** Nano-units per `per`. */
  unitPrice: bigint | null;
  /** Micro-units. */
  per: bigint | null;
  amountExact: bigint;
  amount: bigint;
  grantId: string | null;
  eventCount: bigint | null;
  details: Record<string, unknown> | null;
}

export type BuildResult =
  { ok: true; lines: DraftLine[]; total: bigint; totalExact: bigint } | { ok: false; error: string };

/** A decimal text in micro-units (quantities and `per`, as lines hold them). */
export const micro = (value: string) =>
  (parseScaled(value, 6, { allowNegative: true }) as { ok: true; value: bigint }).value;

/** An invoice's or credit note's number: its prefix and its issuer's sequence number, e.g. INV-000042. */
export function documentNumber(prefix: string, sequence: bigint): string {
  return `${prefix}-${String(sequence).padStart(6, '0')}`;
}

/**
 * The rounding stage, the only one between the kernel's nano-units and the invoice: the total is the exact sum
 * of the lines rounded half-even to the minor unit; each line is its exact amount rounded down to the minor
 * unit, and the minor units still missing to reach the total go one each to the lines with the largest
 * remainders (ties: the earlier line). So every line is within one minor unit of its exact amount, and the
 * lines add up to the total exactly.
 */
export function roundLines(exact: bigint[], minorUnit: number): { amounts: bigint[]; total: bigint } {
  const unit = 10n ** BigInt(9 - minorUnit);
  const total = divideHalfEven(sumNano(exact), unit);
  return { amounts: largestRemainder(total, exact, unit).map((u) => u * unit), total: total * unit };
}

function groupText(group: Record<string, string>): string {
  const entries = Object.entries(group);
  return entries.length === 0 ? '' : ` (${entries.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

const line = (fields: Partial<DraftLine> & Pick<DraftLine, 'kind' | 'description' | 'amountExact'>): DraftLine => ({
  card: null,
  dimension: null,
  group: null,
  quantity: null,
  unitPrice: null,
  per: null,
  amount: 0n,
  grantId: null,
  eventCount: null,
  details: null,
  ...fields,
});

/**
 * Lines in a fixed order: base fee, usage by card/dimension/rate/group, allowances used, discounts, prepaid
 * commitment, credits by grant, minimum true-up, SLA credits, then what earlier threshold invoices billed. Fails (a bug upstream) when the usage, discount, commitment
 * and credit lines do not add up to the receipts' amounts to the nano-unit.
 */
export function buildInvoice(input: InvoiceInput): BuildResult {
  const lines: DraftLine[] = [];
  if (input.plan && input.plan.baseFee > 0n) {
    const full = fullPeriodOf(input.plan.cadence, input.period);
    const fee = prorate(input.plan.baseFee, input.period, full);
    const prorated = fee.seconds < fee.fullSeconds;
    lines.push(
      line({
        kind: 'base_fee',
        description: `${input.plan.name} base fee${prorated ? ` (prorated: ${fee.seconds} of ${fee.fullSeconds} seconds)` : ''}`,
        quantity: 1_000_000n,
        unitPrice: fee.amount,
        per: 1_000_000n,
        amountExact: fee.amount,
        details: {
          plan: input.plan.code,
          full_fee: formatMoney(input.plan.baseFee),
          seconds: String(fee.seconds),
          full_period_seconds: String(fee.fullSeconds),
        },
      }),
    );
  }

  const usage = [...input.usage].sort(
    (a, b) =>
      a.card.localeCompare(b.card) ||
      a.charge - b.charge ||
      JSON.stringify(a.group).localeCompare(JSON.stringify(b.group)) ||
      (toNano(a.rate) < toNano(b.rate) ? -1 : toNano(a.rate) > toNano(b.rate) ? 1 : 0),
  );
  let usageTotal = 0n;
  for (const u of usage) {
    const amount = toNano(u.amount);
    usageTotal += amount;
    lines.push(
      line({
        kind: 'usage',
        description: `${u.card}: ${u.dimension ?? u.model}${groupText(u.group)}`,
        card: u.card,
        dimension: u.dimension,
        group: u.group,
        quantity: micro(u.quantity),
        unitPrice: toNano(u.rate),
        per: micro(u.per),
        amountExact: amount,
        eventCount: u.events,
        details: { price_model: u.model, charge: u.charge },
      }),
    );
  }

  for (const s of input.steps
    .filter((s) => s.step === 'allowance')
    .sort((a, b) => (a.pool ?? '').localeCompare(b.pool ?? ''))) {
    lines.push(
      line({
        kind: 'allowance',
        description: `Included ${s.pool}: ${formatQuantity(micro(s.covered)).replace(/\.?0+$/, '')} units`,
        quantity: micro(s.covered),
        amountExact: 0n,
        eventCount: s.events,
        details: { pool: s.pool },
      }),
    );
  }
  let discountTotal = 0n;
  for (const s of input.steps.filter((s) => s.step === 'discount')) {
    const amount = toNano(s.amount);
    discountTotal += amount;
    lines.push(
      line({
        kind: 'discount',
        description: `Negotiated discount (${Number(s.percent)}%)`,
        amountExact: -amount,
        eventCount: s.events,
        details: { percent: s.percent },
      }),
    );
  }
  let prepaidCommitment = 0n;
  for (const s of input.steps.filter((s) => s.step === 'commitment' && s.mode === 'prepaid')) {
    const amount = toNano(s.amount);
    prepaidCommitment += amount;
    if (amount !== 0n)
      lines.push(
        line({
          kind: 'commitment',
          description: 'Prepaid commitment applied',
          amountExact: -amount,
          eventCount: s.events,
        }),
      );
  }
  let creditTotal = 0n;
  for (const s of input.steps
    .filter((s) => s.step === 'credit')
    .sort((a, b) => (a.grantId ?? '').localeCompare(b.grantId ?? ''))) {
    const amount = toNano(s.amount);
    creditTotal += amount;
    const grant = s.grantId ? input.grants.get(s.grantId) : undefined;
    const label = grant
      ? `${grant.name ?? `${grant.kind} credit`}${grant.reason ? ` (${grant.reason})` : ''}`
      : 'credit';
    lines.push(
      line({
        kind: 'credit',
        description: `Credit applied: ${label}`,
        amountExact: -amount,
        grantId: s.grantId,
        eventCount: s.events,
        details: { grant_kind: grant?.kind ?? null },
      }),
    );
  }

  const billed = usageTotal - discountTotal - prepaidCommitment - creditTotal;
  if (billed !== input.ratedAmount) {
    return {
      ok: false,
      error: `usage lines net ${formatMoney(billed)} but the receipts bill ${formatMoney(input.ratedAmount)}`,
    };
  }

  if (input.plan?.minimumSpend) {
    const minimum = prorate(input.plan.minimumSpend, input.period, fullPeriodOf(input.plan.cadence, input.period));
    // Usage counted toward the minimum: net of discounts, whoever pays for it (the kernel's postpaid commitment).
    const consumed = usageTotal - discountTotal;
    if (consumed < minimum.amount) {
      lines.push(
        line({
          kind: 'minimum_true_up',
          description: `Minimum spend true-up (minimum ${formatMoney(minimum.amount)}, usage ${formatMoney(consumed)})`,
          amountExact: minimum.amount - consumed,
          details: { minimum: formatMoney(minimum.amount), consumed: formatMoney(consumed) },
        }),
      );
    }
  }

  const term = input.termCommitment;
  if (term && term.consumed < term.minimum) {
    lines.push(
      line({
        kind: 'minimum_true_up',
        description: `Term commitment true-up (${term.start.toISOString().slice(0, 10)} to ${term.end.toISOString().slice(0, 10)}: minimum ${formatMoney(term.minimum)}, usage ${formatMoney(term.consumed)})`,
        amountExact: term.minimum - term.consumed,
        details: {
          term_start: term.start.toISOString(),
          term_end: term.end.toISOString(),
          minimum: formatMoney(term.minimum),
          consumed: formatMoney(term.consumed),
        },
      }),
    );
  }

  for (const c of input.slaCredits ?? []) {
    lines.push(
      line({
        kind: 'sla_credit',
        description: `SLA credit for ${c.transactionId}: ${c.reason}`,
        amountExact: -c.amount,
        details: { sla_credit_id: c.id, transaction_id: c.transactionId, percent: c.percent, reason: c.reason },
      }),
    );
  }
  // Already rounded totals, so deducting them keeps this invoice's total = round(charges) - what was billed.
  for (const p of input.previouslyBilled ?? []) {
    lines.push(
      line({
        kind: 'progressive_billing',
        description: `Billed on threshold invoice ${p.number} (threshold ${formatMoney(p.threshold)})`,
        amountExact: -p.total,
        details: { invoice_id: p.id, number: p.number, threshold: formatMoney(p.threshold) },
      }),
    );
  }

  for (const a of input.adjustments ?? []) {
    lines.push(
      line({
        kind: 'adjustment',
        description: `${a.description} (${a.occurredAt.toISOString()})`,
        amountExact: a.amount,
        details: {
          adjustment_id: a.id,
          source: a.source,
          reference: a.reference,
          occurred_at: a.occurredAt.toISOString(),
          period_start: a.periodStart.toISOString(),
        },
      }),
    );
  }

  const rounded = roundLines(
    lines.map((l) => l.amountExact),
    input.minorUnit,
  );
  rounded.amounts.forEach((amount, i) => (lines[i].amount = amount));
  return { ok: true, lines, total: rounded.total, totalExact: lines.reduce((sum, l) => sum + l.amountExact, 0n) };
}

/**
 * Pure: the contract term a period closes, if it is the last period of one. Terms are `periods` consecutive
 * anchor periods from the subscription's start (the first, possibly partial, period counts as one), so a term
 * ends at every `periods`-th anchor boundary after the start; a period ending there closes the term.
 */
export function contractTermEndingAt(
  startedAt: Date,
  cadence: Cadence,
  periods: number,
  periodEnd: Date,
): { start: Date; end: Date } | undefined {
  let start = startedAt;
  let boundary = startedAt;
  for (let n = 1; boundary.getTime() < periodEnd.getTime(); n++) {
    boundary = boundaryAfter(cadence, boundary);
    if (n % periods === 0) {
      if (boundary.getTime() === periodEnd.getTime()) return { start, end: boundary };
      start = boundary;
    }
  }
  return undefined;
}
