// Pure: a reseller's invoice itemised by child. The usage part of its invoice (usage lines net of allowances,
// discounts and commitments, before credits) is what it paid its parent for its whole subtree's events plus its
// own: each direct child's share is the sum of chain_daily.charge for the reseller's period, and what is left is
// the reseller's own direct usage. Exact amounts add up to the usage subtotal exactly; the rounded ones are split
// from the rounded usage lines by largest remainder, so they add up to those exactly too.
import { formatMoney, largestRemainder, sumNano } from '../../platform/money.ts';
import type { LineKind } from './build.ts';

/** The lines that make up the usage subtotal the children's charges reconcile with. */
export const usageSubtotalKinds: ReadonlySet<LineKind> = new Set(['usage', 'allowance', 'discount', 'commitment']);

export interface ChildShare {
  externalId: string;
  name: string | null;
  events: bigint;
  /** Nano-units. */
  charge: bigint;
}

export interface Breakdown {
  currency: string;
  children: { customer_id: string; name: string | null; events: string; amount: string; amount_exact: string }[];
  own_usage: { amount: string; amount_exact: string };
  usage_subtotal: { amount: string; amount_exact: string };
}

/**
 * `lines`: the invoice's lines (kind, rounded and exact nano amounts); `children`: its period's charges per child,
 * in `currency`, the invoice's.
 */
export function itemiseByChild(
  currency: string,
  minorUnit: number,
  lines: { kind: LineKind; amount: bigint; amountExact: bigint }[],
  children: ChildShare[],
): Breakdown {
  const usage = lines.filter((l) => usageSubtotalKinds.has(l.kind));
  const subtotal = sumNano(usage.map((l) => l.amount));
  const subtotalExact = sumNano(usage.map((l) => l.amountExact));
  const ownExact = subtotalExact - sumNano(children.map((c) => c.charge));
  const unit = 10n ** BigInt(9 - minorUnit);
  const rounded = largestRemainder(subtotal / unit, [...children.map((c) => c.charge), ownExact], unit).map(
    (units) => units * unit,
  );
  return {
    currency,
    children: children.map((c, i) => ({
      customer_id: c.externalId,
      name: c.name,
      events: String(c.events),
      amount: formatMoney(rounded[i]),
      amount_exact: formatMoney(c.charge),
    })),
    own_usage: { amount: formatMoney(rounded[children.length]), amount_exact: formatMoney(ownExact) },
    usage_subtotal: { amount: formatMoney(subtotal), amount_exact: formatMoney(subtotalExact) },
  };
}
