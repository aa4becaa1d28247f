// The pure rules of collection and dunning: amounts in Stripe's minor units, idempotency keys, and what a failed
// attempt leads to. service.ts applies them; dunning.test.ts checks them table by table.
import { NANO_PER_UNIT } from '../../platform/money.ts';

/** The default schedule: retries 1, 3, 5 and 7 days after the first failure; no block. */
export const defaultRetryAfterSeconds = [1, 3, 5, 7].map((days) => days * 86_400);

export interface DunningPolicy {
  retryAfterSeconds: number[];
  blockAfterSeconds: number | null;
}

export type MinorAmount = { ok: true; amount: bigint } | { ok: false; error: string };

/**
 * Nano-units to the currency's minor unit (its ISO 4217 exponent), exactly: an amount with a fraction of the minor
 * unit is refused, never rounded (an invoice's amount due is already whole minor units).
 */
export function toMinorUnits(nano: bigint, exponent: number): MinorAmount {
  const unit = NANO_PER_UNIT / 10n ** BigInt(exponent);
  if (nano % unit !== 0n)
    return { ok: false, error: `${nano} nano-units is not a whole number of minor units (exponent ${exponent})` };
  return { ok: true, amount: nano / unit };
}

export function fromMinorUnits(minor: bigint, exponent: number): bigint {
  return minor * (NANO_PER_UNIT / 10n ** BigInt(exponent));
}

/**
 * The Stripe idempotency key of an invoice's attempt: every send of that attempt (a retry after a timeout, a crash,
 * a second worker) is the same request to Stripe, which answers it once and replays that answer.
 */
export function attemptIdempotencyKey(tenantId: string, invoiceId: string, attempt: number): string {
  return `tariff:${tenantId}:invoice:${invoiceId}:attempt:${attempt}`;
}

/** The Stripe customer of a Tariff customer is created once, whatever retries. */
export function customerIdempotencyKey(tenantId: string, customerId: string): string {
  return `tariff:${tenantId}:customer:${customerId}`;
}

export type FailureOutcome =
  /** Try again at `at` with the next attempt number. */
  | { kind: 'retry'; at: Date; firstFailedAt: Date; blockAt: Date | null }
  /** The schedule ran out: the invoice is uncollectible. */
  | { kind: 'exhausted'; firstFailedAt: Date; blockAt: Date | null };

/**
 * What attempt `attempt` failing at `now` leads to. Retries are counted from the first failure: attempt 1 fails,
 * attempt 2 runs at first failure + schedule[0], ..., and when the last scheduled retry has failed too the invoice
 * is uncollectible. A retry whose time has already passed (an operator's retry ran late) runs now.
 */
export function afterFailure(
  policy: DunningPolicy,
  attempt: number,
  firstFailedAt: Date | null,
  now: Date,
): FailureOutcome {
  const first = firstFailedAt ?? now;
  const blockAt =
    policy.blockAfterSeconds === null ? null : new Date(first.getTime() + policy.blockAfterSeconds * 1000);
  const delay = policy.retryAfterSeconds[attempt - 1];
  if (delay === undefined) return { kind: 'exhausted', firstFailedAt: first, blockAt };
  const at = new Date(Math.max(first.getTime() + delay * 1000, now.getTime()));
  return { kind: 'retry', at, firstFailedAt: first, blockAt };
}

/** Invoice statuses from which money can still be collected (by Stripe or out of band). */
export const unpaidStatuses = ['finalized', 'past_due', 'uncollectible'] as const;
export type UnpaidStatus = (typeof unpaidStatuses)[number];
export function isUnpaid(status: string): status is UnpaidStatus {
  return (unpaidStatuses as readonly string[]).includes(status);
}
