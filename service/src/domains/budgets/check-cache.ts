// The entitlement check's state per customer, in memory and exact for this process's writes, so that a check
// answers without a round trip (a round trip's tail is the event loop's and the machine's, not PostgreSQL's).
//
// How it stays exact. Migration 019's triggers raise, on the writing connection and before its COMMIT, a notice
// carrying every changed row the check reads as it now is (or only the customer, for the rarely written tables
// and for deletions). withTenant tells this module when each transaction ends (platform/db.ts), and a committed
// one's rows are applied before withTenant returns: a check after any write through this process, whatever the
// domain, sees it. Writes by other sessions (another service process, psql) are learnt from LISTEN tariff_check
// at their commit and drop the customers they name. Each row carries a version (migration 019) taken after its
// row lock, so a row's image older than the one held is ignored whatever order notices arrive in. Whenever the
// order of two writers' effects on a customer cannot be told otherwise, the customer's entry is dropped and the
// next check reads the database: a wrong answer is never cheaper than a slow one.
import type postgres from 'postgres';
import { isEmbedded, observeSessions, type Db } from '../../platform/db.ts';
import type { Logger } from '../../platform/log.ts';
import { toNano } from '../../platform/money.ts';
import type { Enforcement, ScopeKind } from '@tariff/openapi/schemas/budgets';

export interface CheckGrant {
  balance: bigint;
  effectiveAt: Date | null;
  expiresAt: Date | null;
  scopeCards: string[] | null;
  scopeEventTypes: string[] | null;
}

/** What the check reads of one customer: valid for the instants [from, until). */
export interface CheckState {
  tenantId: string;
  customerId: string;
  /** The currency of every amount here: the customer's rating currency (its price books'), not its billing one. */
  currency: string;
  onDepletion: 'overage' | 'block';
  /** Blocked by dunning (an unpaid invoice past the policy's delay, payments/collect.ts): every request is refused. */
  blocked: boolean;
  /** Whether the customer resells, and its parent's external id: the check walks up the reseller chain. */
  isReseller: boolean;
  parentExternalId: string | null;
  budget: { amount: bigint; enforcement: Enforcement } | null;
  /** All the customer's scoped budgets, by kind then value. */
  scopedBudgets: { kind: ScopeKind; value: string; amount: bigint; enforcement: Enforcement }[];
  /** The period's bounds, or when no period contains the instant, those of the gap between periods. */
  from: number;
  until: number;
  period: { start: number; spend: bigint } | null;
  /** Active grants by id, in force or not (the check decides at its instant). */
  grants: Map<string, CheckGrant>;
  /** The period's spend by "kind:value" of scope. */
  scopedSpend: Map<string, bigint>;
  /** Open holds by id: what each still sets aside, until when (migration 065; the check counts those not expired at its instant). */
  holds: Map<string, { remaining: bigint; expiresAt: number }>;
  /** The version (migration 019) of each row held: "p:<period start ms>", "g:<grant id>", "s:<kind>:<value>", "h:<hold id>". */
  versions: Map<string, number>;
}

/** One changed row, as the trigger describes it (see the migration). No customer: every customer of the tenant. */
export interface ChangedRow {
  t: string;
  c?: string;
  period?: [start: string, end: string, spend: string, version: number];
  grant?: [
    id: string,
    status: string,
    balance: string,
    effectiveAt: string | null,
    expiresAt: string | null,
    cards: string[] | null,
    types: string[] | null,
    version: number,
  ];
  scoped?: [periodStart: string, kind: ScopeKind, value: string, spend: string, version: number];
  hold?: [id: string, status: string, remaining: string, expiresAt: string, version: number];
}

/** What one session's statements changed since its transaction began, waiting for it to end. */
interface PendingTransaction {
  rows: ChangedRow[];
  xids: Set<string>;
  /** Per customer key: the customer's event count before this transaction's first notice, and its own events since. */
  marks: Map<string, { before: number; own: number }>;
  tenants: Set<string>;
  since: number;
}

const maxEntries = 100_000;
const entries = new Map<string, CheckState>(); // by tenant:external id
const externalIds = new Map<string, string>(); // tenant:customer id -> tenant:external id
const pending = new Map<number, PendingTransaction>(); // by backend pid
/** Sessions seen ending a withTenant transaction: the service's own connections. */
const servicePids = new Set<number>();
/** Transactions whose rows were applied here, by "pid xid", so that their own NOTIFY is not taken for a stranger's. */
const applied = new Map<string, number>();

// Every event on a customer (a notice, a transaction's end, a drop) counts in `events`, so that a transaction
// ending can tell whether anyone else's event fell between its first notice and its end. While reads from the
// database are under way, `history` keeps what each customer's ends applied (or that it was dropped), by
// `sequence`, so that a read which a commit overtook is brought up to date before it is kept.
let sequence = 0;
let loadsInFlight = 0;
let clearedAt = 0;
const tenantsDroppedAt = new Map<string, number>();
const events = new Map<string, number>();
const history = new Map<string, { at: number; rows: ChangedRow[] | null }[]>();
/** Per customer, how many transactions have noticed a change to it and not ended. */
const inFlight = new Map<string, number>();

const listening = new WeakSet<Db>();
/** Counters for benchmarks and tests: checks answered from memory, states read from the database, entries dropped. */
const stats = { hits: 0, loads: 0, drops: 0 };
export function checkCacheStats(): Readonly<typeof stats> {
  return { ...stats };
}
const started = new WeakSet<Db>();

observeSessions({ notice: onNotice, ended: onEnded });

function customerKey(tenantId: string, customerId: string) {
  return `${tenantId}:${customerId}`;
}

function eventsOf(key: string, tenantId: string): number {
  return (events.get(key) ?? 0) + (events.get(tenantId) ?? 0) + (events.get('*') ?? 0);
}

function count(key: string) {
  events.set(key, (events.get(key) ?? 0) + 1);
}

function remember(key: string, rows: ChangedRow[] | null) {
  if (loadsInFlight === 0) return;
  const log = history.get(key);
  if (log) log.push({ at: ++sequence, rows });
  else history.set(key, [{ at: ++sequence, rows }]);
}

function drop(tenantId: string, customerId?: string) {
  if (customerId === undefined) {
    for (const [external, state] of entries) if (state.tenantId === tenantId && entries.delete(external)) stats.drops++;
    count(tenantId);
    tenantsDroppedAt.set(tenantId, ++sequence);
    return;
  }
  const key = customerKey(tenantId, customerId);
  const external = externalIds.get(key);
  if (external && entries.delete(external)) stats.drops++;
  count(key);
  remember(key, null);
}

function clear() {
  entries.clear();
  externalIds.clear();
  clearedAt = ++sequence;
  count('*');
}

function onNotice(notice: postgres.Notice) {
  if (notice.message !== 'tariff_check' || !notice.detail) return;
  const detail = notice.detail;
  const first = detail.indexOf(' ');
  const second = detail.indexOf(' ', first + 1);
  const pid = Number(detail.slice(0, first));
  const xid = detail.slice(first + 1, second);
  const rows = JSON.parse(detail.slice(second + 1)) as ChangedRow[];
  let transaction = pending.get(pid);
  if (!transaction) {
    transaction = { rows: [], xids: new Set(), marks: new Map(), tenants: new Set(), since: Date.now() };
    pending.set(pid, transaction);
  }
  transaction.xids.add(xid);
  for (const row of rows) {
    transaction.rows.push(row);
    if (row.c === undefined) {
      transaction.tenants.add(row.t);
      count(row.t);
      continue;
    }
    const key = customerKey(row.t, row.c);
    let mark = transaction.marks.get(key);
    if (!mark) {
      mark = { before: eventsOf(key, row.t), own: 0 };
      transaction.marks.set(key, mark);
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    }
    count(key);
    mark.own++;
  }
}

/** A withTenant transaction ended on connection `pid`: apply what it committed, or forget what it rolled back. */
function onEnded(pid: number, committed: boolean) {
  servicePids.add(pid);
  const transaction = pending.get(pid);
  if (!transaction) return;
  forget(pid, transaction);
  for (const xid of transaction.xids) overdue.delete(`${pid} ${xid}`);
  if (committed) for (const xid of transaction.xids) applied.set(`${pid} ${xid}`, Date.now());
  const rowsByCustomer = new Map<string, ChangedRow[]>();
  for (const row of transaction.rows) {
    if (row.c === undefined) continue;
    const key = customerKey(row.t, row.c);
    const rows = rowsByCustomer.get(key);
    if (rows) rows.push(row);
    else rowsByCustomer.set(key, [row]);
  }
  for (const [key, rows] of rowsByCustomer) {
    const { t: tenantId, c: customerId } = rows[0];
    const mark = transaction.marks.get(key)!;
    // Someone else's event on the customer between this transaction's first notice and its end: the rows'
    // versions order their images anyway, but the entry goes all the same (one read, rarely). So it does on a
    // rollback (the connection's notices may hold an earlier statement's committed rows) and for a change the
    // state cannot absorb.
    const alone = eventsOf(key, tenantId) - mark.before === mark.own && !transaction.tenants.has(tenantId);
    const external = externalIds.get(key);
    const state = external ? entries.get(external) : undefined;
    if (
      !committed ||
      !alone ||
      !rows.every((row) => absorbable(row)) ||
      (state && !rows.every((row) => applyRow(state, row)))
    ) {
      drop(tenantId, customerId);
      continue;
    }
    count(key);
    remember(key, rows);
  }
  for (const tenantId of transaction.tenants) drop(tenantId);
  // The counts only matter between a transaction's first notice and its end.
  if (pending.size === 0) events.clear();
  prune();
}

function forget(pid: number, transaction: PendingTransaction) {
  pending.delete(pid);
  for (const key of transaction.marks.keys()) {
    const n = (inFlight.get(key) ?? 1) - 1;
    if (n > 0) inFlight.set(key, n);
    else inFlight.delete(key);
  }
}

function absorbable(row: ChangedRow): boolean {
  return row.period !== undefined || row.grant !== undefined || row.scoped !== undefined || row.hold !== undefined;
}

/**
 * Applies one changed row to a customer's state; false when the state cannot absorb it (the entry must go). A row
 * whose version is not above the one held is older than what the state has (or the same): nothing to do.
 */
export function applyRow(state: CheckState, row: ChangedRow): boolean {
  const newer = (key: string, version: number) => {
    if ((state.versions.get(key) ?? -1) >= version) return false;
    state.versions.set(key, version);
    return true;
  };
  if (row.period) {
    const [start, end, spend, version] = row.period;
    const from = Date.parse(start);
    const until = Date.parse(end);
    if (state.period && state.period.start === from && state.until === until) {
      if (newer(`p:${from}`, version)) state.period.spend = toNano(spend);
      return true;
    }
    // Another period: only one reaching into this state's instants changes its answer.
    if (until <= state.from || from >= state.until) return true;
    // The first usage of a period in the gap this state answers for: the state now answers for that period.
    if (!state.period && state.scopedSpend.size === 0) {
      state.period = { start: from, spend: toNano(spend) };
      state.from = Math.max(state.from, from);
      state.until = Math.min(state.until, until);
      state.versions.set(`p:${from}`, version);
      return true;
    }
    return false;
  }
  if (row.grant) {
    const [id, status, balance, effectiveAt, expiresAt, scopeCards, scopeEventTypes, version] = row.grant;
    if (!newer(`g:${id}`, version)) return true;
    if (status === 'active') {
      state.grants.set(id, {
        balance: toNano(balance),
        effectiveAt: effectiveAt ? new Date(effectiveAt) : null,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
        scopeCards,
        scopeEventTypes,
      });
    } else {
      state.grants.delete(id);
    }
    return true;
  }
  if (row.hold) {
    const [id, status, remaining, expiresAt, version] = row.hold;
    if (!newer(`h:${id}`, version)) return true;
    if (status === 'open') state.holds.set(id, { remaining: toNano(remaining), expiresAt: Date.parse(expiresAt) });
    else state.holds.delete(id);
    return true;
  }
  if (row.scoped) {
    const [periodStart, kind, value, spend, version] = row.scoped;
    if (state.period && state.period.start === Date.parse(periodStart) && newer(`s:${kind}:${value}`, version))
      state.scopedSpend.set(`${kind}:${value}`, toNano(spend));
    return true;
  }
  // A customer, its wallet, budgets or scoped budgets, or a deletion: read again.
  return false;
}

/** LISTEN tariff_check: "<pid> <xid> <tenant>:<customer|*> ..." or "<pid> <xid> *", sent at the writer's commit. */
function onNotify(payload: string) {
  const [pid, xid, ...changed] = payload.split(' ');
  const token = `${pid} ${xid}`;
  // Ours, applied at its end (one NOTIFY per statement that wrote: the token stays until pruned).
  if (applied.has(token)) return;
  // Ours, ahead of its COMMIT's answer (and at times of its notices, which come on another socket): its end,
  // which comes before withTenant returns, applies it. Should the end not come (a transaction helper that does
  // not report it, a statement outside a transaction), what it names is dropped a second later.
  if (servicePids.has(Number(pid))) {
    const late = overdue.get(token);
    if (late) late.changed.push(...changed);
    else overdue.set(token, { at: Date.now(), changed });
    return;
  }
  // A stranger's; if its notices reached us (a pool of this process outside withTenant), it is done with them.
  const transaction = pending.get(Number(pid));
  if (transaction?.xids.has(xid)) {
    transaction.xids.delete(xid);
    if (transaction.xids.size === 0) forget(Number(pid), transaction);
  }
  dropChanged(changed);
}

function dropChanged(changed: string[]) {
  for (const item of changed) {
    if (item === '*') {
      clear();
      continue;
    }
    const [tenantId, customerId] = item.split(':');
    drop(tenantId, customerId === '*' ? undefined : customerId);
  }
}

/** NOTIFYs of this process's transactions that came before their end, by "pid xid", with what they named. */
const overdue = new Map<string, { at: number; changed: string[] }>();
let overdueCheckedAt = 0;
function dropOverdue() {
  if (overdue.size === 0) return;
  const now = Date.now();
  if (now - overdueCheckedAt < 100) return;
  overdueCheckedAt = now;
  for (const [token, late] of overdue) {
    if (now - late.at < 1000) continue;
    overdue.delete(token);
    dropChanged(late.changed);
  }
}

let prunedAt = Date.now();
/** Forgets what will not be asked for: our applied transactions whose NOTIFY never came, strangers' rolled-back writes. */
function prune() {
  const now = Date.now();
  if (now - prunedAt < 10_000) return;
  prunedAt = now;
  for (const [token, at] of applied) if (now - at > 60_000) applied.delete(token);
  for (const [pid, transaction] of pending) {
    if (servicePids.has(pid) || now - transaction.since < 60_000) continue;
    forget(pid, transaction);
    for (const key of transaction.marks.keys()) drop(key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1));
    for (const tenantId of transaction.tenants) drop(tenantId);
  }
}

/**
 * Starts listening on the pool's own LISTEN connection, once; until it listens (and on PGlite, which has one
 * backend for every connection, never), nothing is served from memory. Each (re)connection starts empty, since
 * notifications sent while it was away are lost.
 */
function startListening(db: Db, logger: Logger) {
  if (started.has(db) || isEmbedded(db)) return;
  started.add(db);
  db.listen('tariff_check', onNotify, () => {
    clear();
    listening.add(db);
  }).catch((error: unknown) => {
    // Not retried: postgres.js keeps a failed LISTEN's promise for the channel. Checks read the database.
    listening.delete(db);
    logger.warn('entitlement check: no LISTEN connection, checks read the database', {
      error: error instanceof Error ? error.message : String(error),
    });
  });
}

/** The customer's state if it is held and answers for `at`. */
export function cachedCheckState(
  db: Db,
  logger: Logger,
  tenantId: string,
  externalId: string,
  at: Date,
): CheckState | undefined {
  startListening(db, logger);
  if (!listening.has(db)) return undefined;
  dropOverdue();
  const state = entries.get(`${tenantId}:${externalId}`);
  const instant = at.getTime();
  if (!state || instant < state.from || instant >= state.until) return undefined;
  stats.hits++;
  return state;
}

/** Before reading a customer's state from the database: what `keepCheckState` is given back. */
export function loadStarted(): number {
  stats.loads++;
  loadsInFlight++;
  return sequence;
}

/**
 * After the read (`state` undefined when it failed or found nothing): keeps the state, brought up to date with
 * what commits seen since the read began applied, unless a drop or a change it cannot absorb came in between.
 */
export function keepCheckState(db: Db, externalId: string, state: CheckState | undefined, since: number): void {
  loadsInFlight--;
  const keep =
    state !== undefined &&
    listening.has(db) &&
    clearedAt <= since &&
    (tenantsDroppedAt.get(state.tenantId) ?? 0) <= since &&
    caughtUp(state, since);
  if (loadsInFlight === 0) history.clear();
  if (!keep) return;
  const key = customerKey(state.tenantId, state.customerId);
  // Bounded: past the limit the longest held goes (it is read again when asked for).
  if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
  entries.set(`${state.tenantId}:${externalId}`, state);
  externalIds.set(key, `${state.tenantId}:${externalId}`);
}

/**
 * Replays onto a state read from the database what commits seen since the read began applied. Their rows are
 * the rows as they were written, with their versions: one the read already holds, or holds newer, is skipped.
 * (Kept from before the versions, as a second guard: a customer that a transaction still in flight has written is
 * not kept from a read that needs a replay.)
 */
function caughtUp(state: CheckState, since: number): boolean {
  const key = customerKey(state.tenantId, state.customerId);
  const replay = (history.get(key) ?? []).filter(({ at }) => at > since);
  if (replay.length === 0) return true;
  if (inFlight.has(key)) return false;
  return replay.every(({ rows }) => rows !== null && rows.every((row) => applyRow(state, row)));
}

/** For tests: whether a customer's state is held. */
export function checkCacheHolds(tenantId: string, externalId: string): boolean {
  return entries.has(`${tenantId}:${externalId}`);
}
