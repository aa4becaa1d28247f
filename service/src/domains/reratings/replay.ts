// Pure parts of a re-rating: the credit an event keeps when it is rated again, the usage lines a preview shows,
// and whether a new rating differs from the stored one.
import type { ReceiptStep } from '@tariff/core-wasm';
import { formatMoney, toNano } from '../../platform/money.ts';

type CreditStep = Extract<ReceiptStep, { step: 'credit' }>;

export interface CappedCredit {
  /** The credit steps the new receipt ends with. */
  steps: CreditStep[];
  /** Credit the event keeps. */
  kept: bigint;
  /** Credit given back, per grant. */
  returned: { grantId: string; amount: bigint }[];
}

/**
 * The credit an event keeps when re-rated: what it drew before, up to its new pre-credit amount. The draws are
 * kept in their order (the kernel's draw order), so a cheaper event gives back its last draws first; a dearer
 * one draws nothing more (the rest is billed). A step's balance is the grant's balance after the draw as it
 * stood then, raised by what this event gives back.
 */
export function capCredits(oldReceipt: ReceiptStep[], preCredit: bigint): CappedCredit {
  let left = preCredit > 0n ? preCredit : 0n;
  const steps: CreditStep[] = [];
  const returned: CappedCredit['returned'] = [];
  let kept = 0n;
  for (const step of oldReceipt) {
    if (step.step !== 'credit') continue;
    const drawn = toNano(step.amount);
    const keep = drawn < left ? drawn : left;
    left -= keep;
    kept += keep;
    if (keep > 0n)
      steps.push({ ...step, amount: formatMoney(keep), balance: formatMoney(toNano(step.balance) + drawn - keep) });
    if (drawn > keep) returned.push({ grantId: step.grant, amount: drawn - keep });
  }
  return { steps, kept, returned };
}

/** The grouping properties invoices itemise usage by. */
const groupProperties = ['model', 'gpu_type', 'region', 'availability_class'] as const;

export interface UsageLineAmount {
  key: string;
  card: string;
  dimension: string | null;
  group: Record<string, string>;
  amount: bigint;
}

/** An event's price steps as invoice usage lines: by card, dimension (of the charge) and grouping properties. */
export function usageLinesOf(
  card: string,
  receipt: ReceiptStep[],
  properties: Record<string, unknown>,
): UsageLineAmount[] {
  const group: Record<string, string> = {};
  for (const p of groupProperties) if (typeof properties[p] === 'string') group[p] = properties[p] as string;
  const lines: UsageLineAmount[] = [];
  for (const step of receipt) {
    if (step.step !== 'price') continue;
    const quantity = receipt.find((q) => q.step === 'quantity' && q.charge === step.charge) as
      Extract<ReceiptStep, { step: 'quantity' }> | undefined;
    const dimension = quantity?.dimension ?? null;
    lines.push({ key: JSON.stringify([card, dimension, group]), card, dimension, group, amount: toNano(step.amount) });
  }
  return lines;
}

/** JSON with object keys sorted at every level: a jsonb round trip reorders keys, the content stays. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
