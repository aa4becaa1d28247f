// Pure: how the events of one ingestion transaction settle against holds, walked in the order they were rated.
// A hold sets aside part of its customer's credit and budget; an event carrying its id draws on that part first
// (what is held for it), and only the rest (an overrun, or an event without a hold) must fit what the customer's
// other holds leave free. Ingestion (events/service.ts findBlocks) asks `assess` per event and `capture` for the
// events it keeps; `settlements` is what it writes in the acknowledging transaction.
import type { HoldCapture, HoldRow, HoldSettlement } from './repo.ts';
import type { HoldStatus, OverrunPolicy } from '@tariff/openapi/schemas/holds';
import { formatMoney, toNano } from '../../platform/money.ts';

interface LiveHold {
  id: string;
  level: number;
  customerId: string;
  amount: bigint;
  captured: bigint;
  captureCount: number;
  status: HoldStatus;
  overrun: OverrunPolicy;
  expiresAt: number;
  changed: boolean;
  closedAt: Date | null;
}

export interface HoldAssessment {
  /** The event names a hold of its customer that is open: it draws on it. */
  hold?: { id: string; remaining: bigint; overrun: OverrunPolicy };
  /** The named hold does not exist or is another customer's: the event is rejected. */
  unknown?: boolean;
  /** The named hold is closed or lapsed: the event is rated as if it named none. */
  closed?: HoldStatus;
  /** What the customer's other open holds set aside. */
  others: bigint;
  /** The part of the charge beyond what its hold still holds. */
  excess: bigint;
}

const keyOf = (id: string, level: number) => `${level}|${id}`;

export class HoldBook {
  private readonly holds = new Map<string, LiveHold>();
  private readonly captures: HoldCapture[] = [];

  constructor(
    rows: HoldRow[],
    private readonly now: Date,
  ) {
    for (const r of rows) {
      this.holds.set(keyOf(r.id, r.level), {
        id: r.id,
        level: r.level,
        customerId: r.customerId,
        amount: toNano(r.amount),
        captured: toNano(r.captured),
        captureCount: r.captureCount,
        status: r.status,
        overrun: r.overrun,
        expiresAt: r.expiresAt.getTime(),
        changed: false,
        closedAt: r.closedAt,
      });
    }
  }

  private isOpen(hold: LiveHold): boolean {
    return hold.status === 'open' && hold.expiresAt > this.now.getTime();
  }

  private remaining(hold: LiveHold): bigint {
    return this.isOpen(hold) && hold.amount > hold.captured ? hold.amount - hold.captured : 0n;
  }

  /** What the customer's open holds set aside now. */
  reserved(customerId: string): bigint {
    let total = 0n;
    for (const hold of this.holds.values()) if (hold.customerId === customerId) total += this.remaining(hold);
    return total;
  }

  /**
   * What `customerId`'s open holds set aside apart from the row of hold `holdId` at `level` (the event's own hold
   * at a reseller level of its chain, which the event draws on first).
   */
  othersAt(customerId: string, holdId: string | undefined, level: number): bigint {
    const own = holdId === undefined ? undefined : this.holds.get(keyOf(holdId, level));
    return this.reserved(customerId) - (own && own.customerId === customerId ? this.remaining(own) : 0n);
  }

  /** Where an event of `customerId` charging `charge` (before credits) stands, naming `holdId` or not. */
  assess(customerId: string, holdId: string | undefined, charge: bigint): HoldAssessment {
    const reserved = this.reserved(customerId);
    if (holdId === undefined) return { others: reserved, excess: charge };
    const hold = this.holds.get(keyOf(holdId, 0));
    if (!hold || hold.customerId !== customerId) return { unknown: true, others: reserved, excess: charge };
    if (!this.isOpen(hold))
      return { closed: hold.status === 'open' ? 'expired' : hold.status, others: reserved, excess: charge };
    const remaining = this.remaining(hold);
    return {
      hold: { id: hold.id, remaining, overrun: hold.overrun },
      others: reserved - remaining,
      excess: charge > remaining ? charge - remaining : 0n,
    };
  }

  /**
   * Records an event kept against its hold at `level` (0: the hold itself; k: its row at the k-th reseller, which
   * draws what that reseller was charged): the charge adds to what it captured; a final capture closes it.
   * A level the hold has no row at (the chain changed since) records nothing.
   */
  capture(
    holdId: string,
    level: number,
    transactionId: string,
    charge: bigint,
    final: boolean,
  ): { captured: bigint; remaining: bigint; status: HoldStatus } | undefined {
    const hold = this.holds.get(keyOf(holdId, level));
    if (!hold) return undefined;
    hold.captured += charge;
    hold.captureCount += 1;
    hold.changed = true;
    if (final) {
      hold.status = 'captured';
      hold.closedAt = this.now;
    }
    this.captures.push({ holdId, level, transactionId, amount: formatMoney(charge), final });
    return { captured: hold.captured, remaining: this.remaining(hold), status: hold.status };
  }

  settlements(): { settlements: HoldSettlement[]; captures: HoldCapture[] } {
    const settlements: HoldSettlement[] = [];
    for (const hold of this.holds.values()) {
      if (!hold.changed) continue;
      settlements.push({
        id: hold.id,
        level: hold.level,
        captured: formatMoney(hold.captured),
        captureCount: hold.captureCount,
        status: hold.status,
        closedAt: hold.closedAt,
      });
    }
    return { settlements, captures: this.captures };
  }
}
