// chain_daily's rule (migration 082), for ingestion and re-rating alike: per reseller level of an event, what the
// level paid its parent (charge, its net before credits), what the level below paid it (resale) and what is left
// to bill it after its credits (billed), keyed by level customer, its period, UTC day, child, end user and card.
import { formatMoney, type ReceiptStep } from '@tariff/core-wasm';
import { toNano } from '../../platform/money.ts';
import { netOf } from './chain.ts';
import type { TenantScope } from '../../platform/db.ts';
import * as repo from './repo.ts';
import type { ChainDailyDelta } from './repo.ts';

/** One level's rating of an event, as chain_daily reads it. */
export interface ChainDailyRating {
  customerId: string;
  card: string;
  currency: string;
  amount: string;
  receipt: ReceiptStep[];
  /** netOf(this rating), when the caller has it already. */
  netNano?: bigint;
  /** The amount in nano-units, when the caller has it already. */
  amountNano?: bigint;
}

/** One event's path up its chain: its own customer's rating, then each reseller level's. */
export interface ChainDailyPath {
  occurredAt: Date;
  own: Pick<ChainDailyRating, 'customerId' | 'amount' | 'receipt' | 'netNano'>;
  levels: (ChainDailyRating & { level: number; periodStart: Date })[];
  /** -1 takes the path out (re-rating removes an event's old ratings before adding its new ones). */
  sign?: 1 | -1;
}

/** The deltas to add to chain_daily for these paths, one per row key. */
export function chainDailyDeltas(paths: ChainDailyPath[]): ChainDailyDelta[] {
  const sums = new Map<string, { delta: ChainDailyDelta; charge: bigint; resale: bigint; billed: bigint }>();
  // A batch's events fall on a few UTC days: each day's text is made once.
  const days = new Map<number, string>();
  for (const path of paths) {
    const sign = BigInt(path.sign ?? 1);
    const ms = path.occurredAt.getTime();
    const dayNumber = Math.floor(ms / 86_400_000);
    let day = days.get(dayNumber);
    if (day === undefined) days.set(dayNumber, (day = path.occurredAt.toISOString().slice(0, 10)));
    let belowId = path.own.customerId;
    // What the level below paid: each level's net is computed once, as its own charge and then as the resale above it.
    let belowNet = path.own.netNano ?? netOf(path.own);
    for (const level of path.levels) {
      const net = level.netNano ?? netOf(level);
      const key = `${level.customerId}|${level.periodStart.getTime()}|${day}|${belowId}|${path.own.customerId}|${level.card}`;
      let sum = sums.get(key);
      if (!sum) {
        sum = {
          delta: {
            customerId: level.customerId,
            periodStart: level.periodStart,
            day,
            childId: belowId,
            endCustomerId: path.own.customerId,
            level: level.level,
            card: level.card,
            currency: level.currency,
            events: 0,
            charge: '',
            resale: '',
            billed: '',
          },
          charge: 0n,
          resale: 0n,
          billed: 0n,
        };
        sums.set(key, sum);
      }
      sum.delta.events += Number(sign);
      sum.charge += sign * net;
      sum.resale += sign * belowNet;
      sum.billed += sign * (level.amountNano ?? toNano(level.amount));
      belowId = level.customerId;
      belowNet = net;
    }
  }
  const deltas: ChainDailyDelta[] = [];
  for (const { delta, charge, resale, billed } of sums.values()) {
    delta.charge = formatMoney(charge);
    delta.resale = formatMoney(resale);
    delta.billed = formatMoney(billed);
    deltas.push(delta);
  }
  return deltas;
}

/** Adds the paths' deltas to chain_daily (re-rating; ingestion sends its deltas in its one statement). */
export async function moveChainDaily(scope: TenantScope, paths: ChainDailyPath[]): Promise<void> {
  await repo.upsertChainDaily(scope, chainDailyDeltas(paths));
}
