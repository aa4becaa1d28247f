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
  const deltas = new Map<string, ChainDailyDelta & { nano: { charge: bigint; resale: bigint; billed: bigint } }>();
  for (const path of paths) {
    const sign = BigInt(path.sign ?? 1);
    const day = path.occurredAt.toISOString().slice(0, 10);
    let belowId = path.own.customerId;
    // What the level below paid: each level's net is computed once, as its own charge and then as the resale above it.
    let belowNet = path.own.netNano ?? netOf(path.own);
    for (const level of path.levels) {
      const net = level.netNano ?? netOf(level);
      const key = `${level.customerId}|${level.periodStart.getTime()}|${day}|${belowId}|${path.own.customerId}|${level.card}`;
      let delta = deltas.get(key);
      if (!delta) {
        delta = {
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
          nano: { charge: 0n, resale: 0n, billed: 0n },
        };
        deltas.set(key, delta);
      }
      delta.events += Number(sign);
      delta.nano.charge += sign * net;
      delta.nano.resale += sign * belowNet;
      delta.nano.billed += sign * (level.amountNano ?? toNano(level.amount));
      belowId = level.customerId;
      belowNet = net;
    }
  }
  return [...deltas.values()].map(({ nano: n, ...d }) => ({
    ...d,
    charge: formatMoney(n.charge),
    resale: formatMoney(n.resale),
    billed: formatMoney(n.billed),
  }));
}

/** Adds the paths' deltas to chain_daily (re-rating; ingestion sends its deltas in its one statement). */
export async function moveChainDaily(scope: TenantScope, paths: ChainDailyPath[]): Promise<void> {
  await repo.upsertChainDaily(scope, chainDailyDeltas(paths));
}
