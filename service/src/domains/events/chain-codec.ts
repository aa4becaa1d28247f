// A rating's reseller levels as stored in events.chain and event_revisions.chain (migrations 082, 087, 102, 139): the
// one writer (encodeChain) and the one reader (chainJsonSql, then decodeChain) of the column's form. Each level is
// stored as its values in a fixed order without their keys, its receipt compact, or the number of the level below
// whose receipt it equals (0: the event's own). event_ratings puts those receipts back (chain_levels, migration 139);
// SQL's chain_json (migration 087) then gives back migration 082's objects, and passes levels stored as objects
// (before 087) through unchanged.
import type { ReceiptStep } from '@tariff/core-wasm';
import { encodeReceipt } from '../../platform/receipt-codec.ts';

/** What one reseller level of an event's chain was charged by its parent. */
export interface ChainLevelCharge {
  customerId: string;
  /** The level customer's billing period the charge is in. */
  periodStart: Date;
  priceBookId: string;
  bookVersion: string;
  card: string;
  currency: string;
  amount: string;
  subtotal: string;
  /** Before credits: what the level pays its parent for the event. */
  net: string;
  cost: string | null;
  creditsApplied: string;
  receipt: ReceiptStep[];
}

/**
 * Each level's values in the order chain_level_json (migration 087) names them. The period start as ISO text, the
 * text JSON.stringify gives a Date: a Date takes JSON.stringify off its fast path for the whole insert document.
 * `isoText` lets a batch, whose levels share a few period starts, make each one's text once. Given the event's own
 * receipt (`ownReceipt`), a level's receipt equal to a receipt below it is stored as that level's number (0: the
 * event's).
 */
export function encodeChain(
  levels: ChainLevelCharge[],
  {
    isoText = (instant) => instant.toISOString(),
    ownReceipt,
  }: { isoText?: (instant: Date) => string; ownReceipt?: readonly ReceiptStep[] } = {},
): unknown[][] {
  return levels.map((l, k) => [
    l.customerId,
    isoText(l.periodStart),
    l.priceBookId,
    l.bookVersion,
    l.card,
    l.currency,
    l.amount,
    l.subtotal,
    l.net,
    l.cost,
    l.creditsApplied,
    ownReceipt === undefined
      ? encodeReceipt(l.receipt)
      : (sameReceiptBelow(levels, k, ownReceipt) ?? encodeReceipt(l.receipt)),
  ]);
}

/** The number of the first receipt below level k + 1 equal to its own (0: the event's), if any. */
function sameReceiptBelow(
  levels: ChainLevelCharge[],
  k: number,
  ownReceipt: readonly ReceiptStep[],
): number | undefined {
  const receipt = levels[k].receipt;
  if (sameReceipt(receipt, ownReceipt)) return 0;
  for (let below = 0; below < k; below++) {
    // Only a level that holds its receipt can be referred to: one that equals the event's refers to it.
    if (sameReceipt(levels[below].receipt, ownReceipt)) continue;
    if (sameReceipt(receipt, levels[below].receipt)) return below + 1;
  }
  return undefined;
}

/** Whether two receipts have the same steps: the same keys in the same order, with the same values. */
function sameReceipt(a: readonly ReceiptStep[], b: readonly ReceiptStep[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let s = 0; s < a.length; s++) {
    const x = a[s] as unknown as Record<string, unknown>;
    const y = b[s] as unknown as Record<string, unknown>;
    const yKeys = Object.keys(y);
    let n = 0;
    for (const key in x) if (key !== yKeys[n++] || x[key] !== y[key]) return false;
    if (n !== yKeys.length) return false;
  }
  return true;
}

/**
 * SQL: the chain in `column` (a json expression of the stored form) with its receipts decoded (json_build_object
 * keeps the kernel's key order, which jsonb would not), for decodeChain.
 */
export function chainJsonSql(column: string): string {
  return `(select json_agg(json_build_object('customer_id', x.c->>'customer_id', 'period_start', x.c->>'period_start',
            'price_book_id', x.c->>'price_book_id', 'book_version', x.c->>'book_version', 'card', x.c->>'card',
            'currency', x.c->>'currency', 'amount', x.c->>'amount', 'subtotal', x.c->>'subtotal', 'net', x.c->>'net',
            'cost', x.c->>'cost', 'credits_applied', x.c->>'credits_applied', 'receipt', receipt_json(x.c->'receipt'))
            order by x.n)
          from json_array_elements(chain_json(${column})) with ordinality as x(c, n))`;
}

/** What chainJsonSql selected, as the levels were written (none for a rating with no reseller level). */
export function decodeChain(json: Record<string, any>[] | null): ChainLevelCharge[] {
  return (json ?? []).map((l) => ({
    customerId: l.customer_id,
    periodStart: new Date(l.period_start),
    priceBookId: l.price_book_id,
    bookVersion: l.book_version,
    card: l.card,
    currency: l.currency,
    amount: l.amount,
    subtotal: l.subtotal,
    net: l.net,
    cost: l.cost,
    creditsApplied: l.credits_applied,
    receipt: l.receipt,
  }));
}
