// The only SQL that writes or locks customer_periods. A period row is what rating, close, finalization, a
// subscription's split, a hold and a re-rating of the period serialise on; every one of them locks it here, in
// the one order, so none can deadlock with another over periods.
import type { Db, Statement, TenantScope } from '../../platform/db.ts';

/** A period is named by its customer and its start. */
export interface PeriodKey {
  customerId: string;
  start: Date;
}

export interface PeriodBounds extends PeriodKey {
  end: Date;
}

export interface PeriodRow extends PeriodBounds {
  status: 'open' | 'closed';
  /** The kernel's customer state after the period's rated events. */
  state: Record<string, unknown>;
  /** What the period's rated events leave to bill (after discounts and credits), numeric text. */
  amount: string;
  eventCount: bigint;
  /** Credits events of the period drew: with `amount`, the spend budgets count. */
  creditsApplied: string;
}

/**
 * Periods known to exist, per pool: those a transaction locked (lockPeriods with `open`) and then committed.
 * Periods are never deleted, so a writer need not insert these again before locking them (lockPeriods' `known`). Bounded: past
 * a million, it starts over.
 */
const knownPeriods = new WeakMap<Db, Set<string>>();
const maxKnownPeriods = 1_000_000;

/** The periods of `db`'s pool known to exist (periodKey). */
export function knownPeriodsOf(db: Db): ReadonlySet<string> {
  let known = knownPeriods.get(db);
  if (!known) knownPeriods.set(db, (known = new Set()));
  return known;
}

/** Learns periods (periodKey) a committed transaction locked: they exist from now on. */
export function rememberPeriods(db: Db, keys: Iterable<string>): void {
  const known = knownPeriodsOf(db) as Set<string>;
  const added = [...keys];
  if (known.size + added.length > maxKnownPeriods) known.clear();
  for (const key of added) known.add(key);
}

/** The one encoding of a period key in memory (maps, sets, caches): `customer id|start in ms`. */
export function periodKey(key: PeriodKey): string {
  return `${key.customerId}|${key.start.getTime()}`;
}

export function parsePeriodKey(key: string): PeriodKey {
  const separator = key.lastIndexOf('|');
  const ms = Number(key.slice(separator + 1));
  if (separator <= 0 || !Number.isSafeInteger(ms)) throw new Error(`not a period key: ${key}`);
  return { customerId: key.slice(0, separator), start: new Date(ms) };
}

/** Orders keys as PostgreSQL orders (customer_id uuid, period_start): lowercase uuid text compares as its bytes. */
export function compareKeys(a: PeriodKey, b: PeriodKey): number {
  if (a.customerId !== b.customerId) return a.customerId < b.customerId ? -1 : 1;
  return a.start.getTime() - b.start.getTime();
}

/** The keys once each, in lock order. */
export function inLockOrder<K extends PeriodKey>(keys: readonly K[]): K[] {
  const unique = new Map<string, K>();
  for (const key of keys) unique.set(periodKey(key), key);
  return [...unique.values()].sort(compareKeys);
}

/**
 * The periods each transaction holds, and its highest: a transaction locks periods in ascending key order, in one
 * call or several, and a call that would lock one below a period it already holds is a programming error (it can
 * deadlock with a transaction taking the same two in order), refused before any SQL is sent.
 */
const heldByTransaction = new WeakMap<object, { keys: Set<string>; highest: PeriodKey }>();

function recordLockOrder(db: object, sorted: PeriodKey[]): void {
  const held = heldByTransaction.get(db);
  if (held) {
    const below = sorted.find((k) => !held.keys.has(periodKey(k)) && compareKeys(k, held.highest) < 0);
    if (below) {
      throw new Error(
        `period ${periodKey(below)} locked after ${periodKey(held.highest)}: a transaction locks periods in (customer, start) order; lock them in one call`,
      );
    }
  }
  const entry = held ?? { keys: new Set<string>(), highest: sorted[0] };
  for (const k of sorted) entry.keys.add(periodKey(k));
  const last = sorted[sorted.length - 1];
  if (compareKeys(last, entry.highest) > 0) entry.highest = last;
  heldByTransaction.set(db, entry);
}

const keyArrays = (keys: readonly PeriodKey[]) =>
  [keys.map((k) => k.customerId), keys.map((k) => k.start.toISOString())] as const;

/**
 * Locks the periods (FOR UPDATE) and returns their rows by periodKey; a key with no row is absent. The one lock
 * of customer_periods: the keys are taken once each in (customer, start) order, whatever order the caller gives,
 * so concurrent transactions touching the same periods queue instead of deadlocking; the lock serialises rating
 * per customer and period (the state a batch reads is the state the previous one committed).
 *
 * In the order of the whole system a transaction takes its locks in: credit grants (by id), invoices (by id),
 * periods, holds. Lock every period a transaction needs in one call; a later call may only add periods above
 * those already held (it throws otherwise).
 *
 * With `open`, missing periods are created first (the keys then carry their bounds), in the same order and the
 * same round trip; `open.known` holds periods the caller knows exist (knownPeriodsOf: committed before; periods are
 * never deleted), which are not inserted again.
 */
export async function lockPeriods(scope: TenantScope, keys: readonly PeriodKey[]): Promise<Map<string, PeriodRow>>;
export async function lockPeriods(
  scope: TenantScope,
  keys: readonly PeriodBounds[],
  open: { now: Date; known?: ReadonlySet<string> },
): Promise<Map<string, PeriodRow>>;
export async function lockPeriods(
  { db, tenantId }: TenantScope,
  keys: readonly PeriodKey[],
  open?: { now: Date; known?: ReadonlySet<string> },
): Promise<Map<string, PeriodRow>> {
  const periods = new Map<string, PeriodRow>();
  if (keys.length === 0) return periods;
  const sorted = inLockOrder(keys);
  recordLockOrder(db, sorted);
  const missing = open ? (sorted as PeriodBounds[]).filter((k) => !open.known?.has(periodKey(k))) : [];
  const [customerIds, starts] = keyArrays(sorted);
  const [, rows] = await Promise.all([
    missing.length > 0 && insertPeriods({ db, tenantId }, missing, open!.now),
    // Each period by its key, locked in the keys' order (lateral: a semi-join on the keys was planned, while the table
    // has no statistics, as a read of every period of the tenant).
    db`
      select p.* from unnest(${customerIds}::uuid[], ${starts}::timestamptz[]) with ordinality as k(customer_id, period_start, o)
      cross join lateral (
        select customer_id, period_start, period_end, status, state, amount::text, event_count, credits_applied::text
        from customer_periods p
        where p.tenant_id = ${tenantId} and p.customer_id = k.customer_id and p.period_start = k.period_start
        for update) p
      order by k.o`,
  ]);
  for (const r of rows) {
    const row = fromDbPeriod(r);
    periods.set(periodKey(row), row);
  }
  return periods;
}

/** One period, locked (lockPeriods of one key). */
export async function lockPeriod(scope: TenantScope, key: PeriodKey): Promise<PeriodRow | undefined> {
  return (await lockPeriods(scope, [key])).get(periodKey(key));
}

function insertPeriods({ db, tenantId }: TenantScope, periods: readonly PeriodBounds[], now: Date) {
  const [customerIds, starts] = keyArrays(periods);
  return db`
    insert into customer_periods (tenant_id, customer_id, period_start, period_end, created_at, updated_at)
    select ${tenantId}, k.customer_id, k.period_start, k.period_end, ${now}, ${now}
    from unnest(${customerIds}::uuid[], ${starts}::timestamptz[], ${periods.map((p) => p.end.toISOString())}::timestamptz[])
      as k(customer_id, period_start, period_end)
    order by k.customer_id, k.period_start
    on conflict do nothing`;
}

/** Opens periods (creates them, in lock order, without locking); existing ones are left as they are. */
export async function openPeriods(scope: TenantScope, periods: readonly PeriodBounds[], now: Date): Promise<void> {
  if (periods.length === 0) return;
  await insertPeriods(scope, inLockOrder(periods), now);
}

/** Closes periods: no event lands in them any more (late ones are billed as adjustments). Lock them first. */
export async function closePeriods(
  { db, tenantId }: TenantScope,
  keys: readonly PeriodKey[],
  now: Date,
): Promise<void> {
  if (keys.length === 0) return;
  const [customerIds, starts] = keyArrays(keys);
  await db`
    update customer_periods p set status = 'closed', updated_at = ${now}
    from unnest(${customerIds}::uuid[], ${starts}::timestamptz[]) as k(customer_id, period_start)
    where p.tenant_id = ${tenantId} and p.customer_id = k.customer_id and p.period_start = k.period_start`;
}

/**
 * Splits an open period at `at` (a subscription's amendment): it ends there, and a period from `at` to its old end
 * opens. Lock it first; the new period is above it in lock order.
 */
export async function splitPeriod(
  scope: TenantScope,
  period: PeriodBounds,
  at: Date,
  now: Date,
): Promise<PeriodBounds> {
  const { db, tenantId } = scope;
  await db`
    update customer_periods set period_end = ${at}, updated_at = ${now}
    where tenant_id = ${tenantId} and customer_id = ${period.customerId} and period_start = ${period.start}`;
  const after = { customerId: period.customerId, start: at, end: period.end };
  await insertPeriods(scope, [after], now);
  return after;
}

export interface UsageUpdate extends PeriodBounds {
  /** The kernel's state after the period's events. */
  state: Record<string, unknown>;
  amountDelta: string;
  eventCountDelta: number;
  /** Credits the events drew (numeric text): with the usage, so a period takes one write and one notice per batch. */
  creditsDelta: string;
}

/**
 * Ingestion's rated events into their (locked) periods: the new state, the amount, count and credits applied added. An upsert that
 * always finds its period, since each row then comes by its key (the arbiter index's probe): an update joined to
 * the rows was planned, with no statistics, as a read of every period of the tenant, which the RLS tenant condition
 * makes look cheap (their months x customers for a batch's few periods, ingest-reads.test.ts). A period missing
 * would be opened with the events' usage, as lockPeriods opens it.
 */
export function addUsage(
  { db, tenantId }: TenantScope,
  updates: readonly UsageUpdate[],
  now: Date,
): Statement | undefined {
  if (updates.length === 0) return undefined;
  const rows = updates.map((u) => ({
    customer_id: u.customerId,
    // Text, not a Date: a Date takes JSON.stringify off its fast path for the whole document.
    period_start: u.start.toISOString(),
    period_end: u.end.toISOString(),
    state: u.state,
    amount: u.amountDelta,
    event_count: u.eventCountDelta,
    credits: u.creditsDelta,
  }));
  return db`
    insert into customer_periods as p (tenant_id, customer_id, period_start, period_end, state, amount, event_count,
                                       credits_applied, created_at, updated_at)
    select ${tenantId}, u.customer_id, u.period_start, u.period_end, u.state, u.amount, u.event_count, u.credits, ${now}, ${now}
    from json_to_recordset(${JSON.stringify(rows)}::text::json)
      as u(customer_id uuid, period_start timestamptz, period_end timestamptz, state jsonb, amount numeric, event_count bigint,
           credits numeric)
    on conflict (tenant_id, customer_id, period_start) do update
      set state = excluded.state, amount = p.amount + excluded.amount, event_count = p.event_count + excluded.event_count,
          credits_applied = p.credits_applied + excluded.credits_applied, updated_at = excluded.updated_at`;
}

/** A replayed (locked) period's new state, its amount and credits applied moved by the differences (re-rating). */
export async function correctPeriod(
  { db, tenantId }: TenantScope,
  p: PeriodKey & { state: Record<string, unknown>; amountDelta: string; creditsDelta: string },
  now: Date,
): Promise<void> {
  await db`
    update customer_periods set state = ${db.json(p.state as never)}, amount = amount + ${p.amountDelta}::numeric,
      credits_applied = credits_applied + ${p.creditsDelta}::numeric, updated_at = ${now}
    where tenant_id = ${tenantId} and customer_id = ${p.customerId} and period_start = ${p.start}`;
}

// ---- plain reads ------------------------------------------------------------------------------------------

/** The customer's period containing `at`, unlocked. */
export async function findPeriodAt(
  { db, tenantId }: TenantScope,
  customerId: string,
  at: Date,
): Promise<PeriodRow | undefined> {
  const [r] = await db`
    select customer_id, period_start, period_end, status, state, amount::text, event_count, credits_applied::text from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and period_start <= ${at} and period_end > ${at}`;
  return r ? fromDbPeriod(r) : undefined;
}

/** The end of the customer's latest period, if it has any. */
export async function findLatestPeriodEnd(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<Date | undefined> {
  const [row] =
    await db`select max(period_end) as period_end from customer_periods where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return row?.period_end ?? undefined;
}

/** The starts of the customer's open periods that have ended by `now`, oldest first. */
export async function findEndedOpenPeriods(
  { db, tenantId }: TenantScope,
  customerId: string,
  now: Date,
): Promise<Date[]> {
  const rows = await db`
    select period_start from customer_periods
    where tenant_id = ${tenantId} and customer_id = ${customerId} and status = 'open' and period_end <= ${now}
    order by period_start`;
  return rows.map((r) => r.period_start as Date);
}

function fromDbPeriod(r: Record<string, any>): PeriodRow {
  return {
    customerId: r.customer_id,
    start: r.period_start,
    end: r.period_end,
    status: r.status,
    state: r.state,
    amount: r.amount,
    eventCount: r.event_count,
    creditsApplied: r.credits_applied,
  };
}
