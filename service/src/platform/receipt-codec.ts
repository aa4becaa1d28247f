// Receipts as stored (migration 070): each step a positional array `[code, value, ...]` instead of an object with
// its keys, about half the bytes. The database decodes them (`receipt_json`, the same table of codes) wherever a
// receipt is read (the event_ratings view), so readers see the kernel's objects, keys in the kernel's order, values untouched.
// An event's reseller levels (events.chain) are stored positionally too (domains/events/chain-codec.ts), decoded by `chain_json` (migration 087).
import type { ReceiptStep } from '@tariff/core-wasm';

/** Per code, the step's keys in the order the kernel writes them; `step` and any constant keys first. */
const shapes = {
  o: ['step:outcome', 'outcome', 'note'],
  v: ['step:variant', 'variant'],
  q: ['step:quantity', 'charge', 'dimension', 'quantity'],
  n: ['step:minimum', 'charge', 'minimum'],
  m: ['step:modifier', 'charge', 'source', 'multiplier'],
  a: ['step:allowance', 'charge', 'pool', 'covered', 'remaining'],
  t: ['step:tier', 'charge', 'tier', 'quantity', 'rate'],
  p: ['step:price', 'charge', 'model', 'quantity', 'rate', 'per', 'amount'],
  d: ['step:discount', 'percent', 'amount'],
  c: ['step:commitment', 'mode:prepaid', 'amount', 'remaining'],
  C: ['step:commitment', 'mode:postpaid', 'amount', 'consumed'],
  g: ['step:credit', 'grant', 'kind', 'amount', 'balance'],
  Q: ['step:quote', 'quote', 'quoted_amount', 'book_version', 'expires_at'],
} as const satisfies Record<string, readonly string[]>;

interface Shape {
  code: string;
  /** Keys in order; `constant` when the value is fixed by the code. */
  keys: { key: string; constant?: string }[];
  /** The keys whose values are stored after the code, in order (those without a constant). */
  stored: string[];
}

/** By code, for reading back. */
const byCode = new Map<string, Shape>();

/** By the value of the step's `step` key: the shapes that may fit it (commitment has two, by `mode`). */
const byStep = new Map<string, Shape[]>();
for (const [code, keys] of Object.entries(shapes)) {
  const parsed = keys.map((k) => {
    const [key, constant] = k.split(':');
    return constant === undefined ? { key } : { key, constant };
  });
  const shape = { code, keys: parsed, stored: parsed.filter((k) => k.constant === undefined).map((k) => k.key) };
  byCode.set(code, shape);
  const step = parsed[0].constant!;
  byStep.set(step, [...(byStep.get(step) ?? []), shape]);
}

/**
 * Whether the step has exactly the shape's keys, in its order, with its constant values (every step of a
 * receipt goes through this when an event is stored: it compares in place, building nothing).
 */
function fits(step: Record<string, unknown>, shape: Shape): boolean {
  let k = 0;
  for (const key in step) {
    const expected = shape.keys[k++];
    if (expected === undefined || expected.key !== key) return false;
    if (expected.constant !== undefined && step[key] !== expected.constant) return false;
  }
  return k === shape.keys.length;
}

/** One step compact, or the step itself when no code fits it exactly (it is then stored, and read, as written). */
function encodeStep(step: ReceiptStep): unknown {
  const record = step as unknown as Record<string, unknown>;
  const candidates = byStep.get(record.step as string);
  if (candidates === undefined) return step;
  for (let s = 0; s < candidates.length; s++) {
    const shape = candidates[s];
    if (!fits(record, shape)) continue;
    // Sized once: every step of every stored receipt and chain level comes through here.
    const values = new Array<unknown>(shape.stored.length + 1);
    values[0] = shape.code;
    for (let k = 0; k < shape.stored.length; k++) {
      const value = record[shape.stored[k]];
      // JSON.stringify drops an undefined value where an array would hold null: keep such a step whole.
      if (value === undefined) return step;
      values[k + 1] = value;
    }
    return values;
  }
  return step;
}

/** A receipt as stored: its steps compact where a code fits. */
export function encodeReceipt(receipt: ReceiptStep[]): unknown[] {
  return receipt.map(encodeStep);
}

/**
 * A stored receipt as the kernel wrote it: what `receipt_json` gives, decoded here so that readers of many
 * receipts (hourly charts, simulations) do not pay the database's per-step JSON building.
 */
export function decodeReceipt(stored: readonly unknown[]): ReceiptStep[] {
  return stored.map((step) => {
    if (!Array.isArray(step)) return step as ReceiptStep;
    const shape = byCode.get(step[0]);
    if (!shape) return step as unknown as ReceiptStep;
    const decoded: Record<string, unknown> = {};
    let value = 1;
    for (const { key, constant } of shape.keys) decoded[key] = constant ?? step[value++];
    return decoded as unknown as ReceiptStep;
  });
}
