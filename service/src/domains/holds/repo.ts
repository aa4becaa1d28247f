// The holds' SQL. Lock order, shared with ingestion: the customer's grants, its period, then its holds.
import type { Db, TenantScope } from '../../platform/db.ts';
import type { HoldStatus, OverrunPolicy } from '@tariff/openapi/schemas/holds';
import { ratingCurrencySql } from '../customers/rating-currency.ts';
import { customerByExternalId, customerById } from '../customers/lookup.ts';

export interface HoldRow {
  id: string;
  /** 0: the hold of its customer; k >= 1: what it sets aside at the k-th reseller above (migration 085). */
  level: number;
  customerId: string;
  customerExternalId: string;
  currency: string;
  amount: string;
  captured: string;
  captureCount: number;
  status: HoldStatus;
  overrun: OverrunPolicy;
  estimate: Record<string, unknown> | null;
  card: string | null;
  requestHash: string;
  apiKeyId: string | null;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
  /** Read for the API (level 0's row): its rows at the resellers above, level 1 first. */
  levels?: HoldLevel[];
}

/** A hold's row at the k-th reseller above its customer (k >= 1). */
export interface HoldLevel {
  level: number;
  customerExternalId: string;
  amount: string;
  captured: string;
}

const columns = (db: TenantScope['db']) =>
  db`h.*, h.amount::text as amount, h.captured::text as captured, c.external_id`;

/** The columns with the hold's rows above level 0, for the API's reads. */
const columnsWithLevels = (db: TenantScope['db']) => db`${columns(db)},
  (select coalesce(json_agg(json_build_array(l.level, lc.external_id, l.amount::text, l.captured::text) order by l.level), '[]')
     from (select l.* from holds l where l.tenant_id = h.tenant_id and l.id = h.id and l.level > 0 offset 0) l
     cross join lateral ${customerById(db, db`l.tenant_id`, db`l.customer_id`)} lc) as levels`;

function fromDbHold(r: Record<string, any>): HoldRow {
  return {
    id: r.id,
    level: r.level,
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    currency: r.currency,
    amount: r.amount,
    captured: r.captured,
    captureCount: r.capture_count,
    status: r.status,
    overrun: r.overrun,
    estimate: r.estimate,
    card: r.card,
    requestHash: r.request_hash,
    apiKeyId: r.api_key_id,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    closedAt: r.closed_at,
    ...(r.levels
      ? {
          levels: (r.levels as [number, string, string, string][]).map(
            ([level, customerExternalId, amount, captured]) => ({ level, customerExternalId, amount, captured }),
          ),
        }
      : {}),
  };
}

/** One hold by its id (its own row, level 0); `lock`: FOR UPDATE (last in the lock order). */
export async function findHold({ db, tenantId }: TenantScope, id: string, lock = false): Promise<HoldRow | undefined> {
  const [row] = await db`
    select ${columnsWithLevels(db)} from holds h join customers c on c.tenant_id = h.tenant_id and c.id = h.customer_id
    where h.tenant_id = ${tenantId} and h.id = ${id} and h.level = 0
    ${lock ? db`for update of h` : db``}`;
  return row ? fromDbHold(row) : undefined;
}

/** Every level's row of a hold, level 0 first; `lock`: FOR UPDATE (last in the lock order). */
export async function lockHoldLevels({ db, tenantId }: TenantScope, id: string, lock: boolean): Promise<HoldRow[]> {
  const rows = await db`
    select ${columns(db)} from holds h join customers c on c.tenant_id = h.tenant_id and c.id = h.customer_id
    where h.tenant_id = ${tenantId} and h.id = ${id}
    order by h.level
    ${lock ? db`for update of h` : db``}`;
  return rows.map(fromDbHold);
}

/** The holds (their own rows) among `ids`. */
export async function findHolds({ db, tenantId }: TenantScope, ids: string[]): Promise<Map<string, HoldRow>> {
  // Each by its key (lateral: "id = any(...)" was planned as a scan of the tenant's holds while the table has no
  // statistics, and every placement looks its ids up).
  const rows = await db`
    select ${columnsWithLevels(db)} from unnest(${[...new Set(ids)]}::text[]) as k(id)
    cross join lateral (select h.* from holds h where h.tenant_id = ${tenantId} and h.id = k.id and h.level = 0 offset 0) h
    cross join lateral ${customerById(db, db`h.tenant_id`, db`h.customer_id`)} c`;
  return new Map(rows.map((r) => [r.id as string, fromDbHold(r)]));
}

/** A customer a hold may be placed for, with the ancestors it could be rated through (nearest first). */
export interface Holder {
  ref: string;
  customerId: string;
  externalId: string;
  isReseller: boolean;
  /** What holds and the check count in: the customer's price books' currency (customers/rating-currency.ts). */
  currency: string;
  ancestors: { customerId: string; externalId: string; isReseller: boolean; currency: string }[];
}

/**
 * The customers `refs` name (an external id, or Tariff's id `uuid` when no external id is `ref`), each with its
 * ancestors from its path (migration 080), nearest first; and which of `ids` name a hold already placed (its own row,
 * level 0). One statement: a placement group's first read beside its billing (holds/place.ts), which reads a
 * replay's hold in full afterwards (findHolds).
 */
export async function findHoldersAndPlaced(
  { db, tenantId }: TenantScope,
  refs: { ref: string; uuid: string | null }[],
  ids: string[],
): Promise<{ holders: Map<string, Holder>; placed: Set<string> }> {
  // One row at least (the ids placed), then one per customer found (none: a single row without a customer).
  const rows = await db`
    select k.placed, r.ref, c.id, c.external_id, c.is_reseller, ${db.unsafe(ratingCurrencySql)} as currency,
      (select coalesce(json_agg(json_build_array(a.id, a.external_id, a.is_reseller, a.currency) order by p.o desc), '[]')
         -- The path without the customer, then each ancestor (offset 0: not flattened into a join, which was planned
         -- as every customer of the tenant against the path, even for a customer without a parent).
         from (select p.id, p.o from unnest(c.path) with ordinality as p(id, o) where p.id <> c.id) p
         cross join lateral (select c.id, c.external_id, c.is_reseller, ${db.unsafe(ratingCurrencySql)} as currency
           from customers c where c.tenant_id = ${tenantId} and c.id = p.id offset 0) a) as ancestors
    -- Each id by its key (lateral: "id = any(...)" was planned as a scan of the tenant's holds while the table has no
    -- statistics, and every placement looks its ids up).
    from (select coalesce(array_agg(i.id), '{}') as placed from unnest(${[...new Set(ids)]}::text[]) as i(id)
          where exists (select from holds h where h.tenant_id = ${tenantId} and h.id = i.id and h.level = 0 offset 0)) k
    left join (
      unnest(${refs.map((r) => r.ref)}::text[], ${refs.map((r) => r.uuid)}::uuid[]) as r(ref, uid)
      -- Each by its key: a join on "external_id = ref or id = uid" read every customer of the tenant per ref. Ordered by
      -- the key (one row at most, the order costs nothing on the key's index): without statistics, the planner
      -- otherwise reads the tenant's customers by another index on tenant_id and filters them.
      cross join lateral (
        ${customerByExternalId(db, tenantId, db`r.ref`)}
        union all
        (select c.* from customers c where c.tenant_id = ${tenantId} and c.id = r.uid
          and not exists ${customerByExternalId(db, tenantId, db`r.ref`)}
          order by c.id limit 1)) c) on true`;
  const holders = new Map<string, Holder>();
  for (const r of rows) {
    if (r.ref === null) continue;
    holders.set(r.ref, {
      ref: r.ref,
      customerId: r.id,
      externalId: r.external_id,
      isReseller: r.is_reseller,
      currency: r.currency,
      ancestors: (r.ancestors as [string, string, boolean, string][]).map(([id, externalId, isReseller, currency]) => ({
        customerId: id,
        externalId,
        isReseller,
        currency,
      })),
    });
  }
  return { holders, placed: new Set(rows[0].placed as string[]) };
}

/**
 * What each customer's open holds (every level) set aside at `now`, `except` one hold (all its levels): the running
 * total of its open holds (migration 114) less those already past their expiry, so a decision reads one row per
 * customer (by its key: "customer_id = any(...)" was planned as a read of the tenant's totals while the table has no
 * statistics) and the few holds the scheduler has yet to close, however many holds are open.
 */
export async function sumOpenHoldsByCustomer(
  { db, tenantId }: TenantScope,
  customerIds: string[],
  now: Date,
  except?: string,
): Promise<Map<string, string>> {
  const rows = await db`
    select t.customer_id, (t.held
      - coalesce((select sum(greatest(h.amount - h.captured, 0)) from holds h
          where h.tenant_id = t.tenant_id and h.customer_id = t.customer_id and h.status = 'open' and h.expires_at <= ${now}), 0)
      ${
        except === undefined
          ? db``
          : // By the primary key alone (the conditions in the sum): no other index may serve it.
            db`- coalesce((select sum(case when h.customer_id = t.customer_id and h.status = 'open' and h.expires_at > ${now}
                then greatest(h.amount - h.captured, 0) end) from holds h where h.tenant_id = t.tenant_id and h.id = ${except}), 0)`
      })::text as held
    from unnest(${[...new Set(customerIds)]}::uuid[]) as k(customer_id)
    cross join lateral (
      select * from open_hold_totals t where t.tenant_id = ${tenantId} and t.customer_id = k.customer_id offset 0) t`;
  return new Map(rows.map((r) => [r.customer_id as string, r.held as string]));
}

/** What the customer's open holds set aside at `now` (those past their expiry no longer count). */
export async function sumOpenHolds(
  scope: TenantScope,
  customerId: string,
  now: Date,
  except?: string,
): Promise<string> {
  return (await sumOpenHoldsByCustomer(scope, [customerId], now, except)).get(customerId) ?? '0';
}

export type NewHold = Omit<HoldRow, 'customerExternalId' | 'captured' | 'captureCount' | 'closedAt'>;

/** Inserts holds (each level a row) in one statement, sent at once (before a pipelined COMMIT). */
export function insertHolds({ db, tenantId }: TenantScope, holds: NewHold[]): Promise<unknown> {
  const rows = holds.map((h) => ({
    id: h.id,
    level: h.level,
    customer_id: h.customerId,
    currency: h.currency,
    amount: h.amount,
    status: h.status,
    overrun: h.overrun,
    estimate: h.estimate,
    card: h.card,
    request_hash: h.requestHash,
    api_key_id: h.apiKeyId,
    expires_at: h.expiresAt.toISOString(),
    created_at: h.createdAt.toISOString(),
    updated_at: h.updatedAt.toISOString(),
  }));
  return db`
    insert into holds (tenant_id, id, level, customer_id, currency, amount, status, overrun, estimate, card, request_hash, api_key_id, expires_at, created_at, updated_at)
    select ${tenantId}, h.id, h.level, h.customer_id, h.currency, h.amount, h.status, h.overrun, h.estimate, h.card, h.request_hash, h.api_key_id, h.expires_at, h.created_at, h.updated_at
    from jsonb_to_recordset(${db.json(rows as never)}) as h(id text, level smallint, customer_id uuid, currency text, amount numeric, status text, overrun text,
      estimate jsonb, card text, request_hash text, api_key_id uuid, expires_at timestamptz, created_at timestamptz, updated_at timestamptz)
    order by h.id, h.level`.execute();
}

/**
 * Updates every level of a hold: `amounts[k]` is level k's new amount; `estimate` and `card` what the levels were
 * priced from.
 */
export async function updateHold(
  { db, tenantId }: TenantScope,
  id: string,
  change: {
    amounts?: string[];
    estimate?: Record<string, unknown>;
    card?: string | null;
    expiresAt?: Date;
    status?: HoldStatus;
    closedAt?: Date | null;
  },
  now: Date,
): Promise<void> {
  await db`
    update holds set
      amount = coalesce((${change.amounts ?? null}::numeric[])[level + 1], amount),
      estimate = ${change.estimate === undefined ? db`estimate` : db`${db.json(change.estimate as never)}`},
      card = ${change.card === undefined ? db`card` : change.card},
      expires_at = coalesce(${change.expiresAt ?? null}::timestamptz, expires_at),
      status = coalesce(${change.status ?? null}, status),
      closed_at = ${change.closedAt === undefined ? db`closed_at` : change.closedAt},
      updated_at = ${now}
    where tenant_id = ${tenantId} and id = ${id}`;
}

/**
 * Ingestion's read, under its period locks: the holds its events name and the open holds of the customers it
 * must count holds for (block on depletion or a blocking budget), locked so that a release cannot slip between
 * the settlement and its write.
 */
export async function lockHoldsForRating(
  { db, tenantId }: TenantScope,
  customerIds: string[],
  holdIds: string[],
): Promise<HoldRow[]> {
  if (customerIds.length === 0 && holdIds.length === 0) return [];
  const rows = await db`
    select ${columns(db)} from holds h join customers c on c.tenant_id = h.tenant_id and c.id = h.customer_id
    where h.tenant_id = ${tenantId}
      and (h.id = any(${holdIds}::text[]) or (h.status = 'open' and h.customer_id = any(${customerIds}::uuid[])))
    order by h.id
    for update of h`;
  return rows.map(fromDbHold);
}

export interface HoldSettlement {
  id: string;
  level: number;
  captured: string;
  captureCount: number;
  status: HoldStatus;
  closedAt: Date | null;
}

export interface HoldCapture {
  holdId: string;
  level: number;
  transactionId: string;
  amount: string;
  final: boolean;
}

/**
 * What one ingestion transaction settled: the holds' new totals and statuses, and one row per capturing event.
 * Sent at once (postgres.js sends a query when executed), so that they go out before the pipelined COMMIT.
 */
export function writeSettlements(
  { db, tenantId }: TenantScope,
  settlements: HoldSettlement[],
  captures: HoldCapture[],
  now: Date,
): Promise<unknown>[] {
  if (settlements.length === 0) return [];
  return [
    db`
      update holds h set captured = s.captured, capture_count = s.capture_count, status = s.status, closed_at = s.closed_at, updated_at = ${now}
      from jsonb_to_recordset(${db.json(settlements.map((s) => ({ id: s.id, level: s.level, captured: s.captured, capture_count: s.captureCount, status: s.status, closed_at: s.closedAt?.toISOString() ?? null })) as never)})
        as s(id text, level smallint, captured numeric, capture_count integer, status text, closed_at timestamptz)
      where h.tenant_id = ${tenantId} and h.id = s.id and h.level = s.level`.execute(),
    db`
      insert into hold_captures (tenant_id, hold_id, level, transaction_id, amount, final, captured_at)
      select ${tenantId}, c.hold_id, c.level, c.transaction_id, c.amount, c.final, ${now}
      from jsonb_to_recordset(${db.json(captures.map((c) => ({ hold_id: c.holdId, level: c.level, transaction_id: c.transactionId, amount: c.amount, final: c.final })) as never)})
        as c(hold_id text, level smallint, transaction_id text, amount numeric, final boolean)`.execute(),
  ];
}

export async function listHolds(
  { db, tenantId }: TenantScope,
  customerId: string,
  filter: { status?: HoldStatus; limit: number },
): Promise<HoldRow[]> {
  const rows = await db`
    select ${columnsWithLevels(db)} from holds h join customers c on c.tenant_id = h.tenant_id and c.id = h.customer_id
    where h.tenant_id = ${tenantId} and h.customer_id = ${customerId} and h.level = 0
    ${filter.status ? db`and h.status = ${filter.status}` : db``}
    order by h.created_at desc, h.id limit ${filter.limit}`;
  return rows.map(fromDbHold);
}

/** The captures of a hold at every level (level 0 first). */
export async function listCaptures(
  { db, tenantId }: TenantScope,
  holdId: string,
): Promise<(HoldCapture & { capturedAt: Date })[]> {
  const rows = await db`
    select hold_id, level, transaction_id, amount::text, final, captured_at from hold_captures
    where tenant_id = ${tenantId} and hold_id = ${holdId} order by level, captured_at, transaction_id`;
  return rows.map((r) => ({
    holdId: r.hold_id,
    level: r.level,
    transactionId: r.transaction_id,
    amount: r.amount,
    final: r.final,
    capturedAt: r.captured_at,
  }));
}

/** Open holds past their expiry, across tenants (SECURITY DEFINER). */
export async function findDueExpiries(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; holdId: string }[]> {
  const rows = await db`select tenant_id, hold_id from billing_due_hold_expiries(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, holdId: r.hold_id }));
}

export interface BalanceKeyRow {
  keyId: string;
  privateKey: Buffer;
  publicKey: Buffer;
  createdAt: Date;
}

export async function listBalanceKeys({ db, tenantId }: TenantScope): Promise<BalanceKeyRow[]> {
  const rows =
    await db`select key_id, private_key, public_key, created_at from balance_token_keys where tenant_id = ${tenantId} order by created_at desc, key_id`;
  return rows.map((r) => ({
    keyId: r.key_id,
    privateKey: r.private_key,
    publicKey: r.public_key,
    createdAt: r.created_at,
  }));
}

/** Inserts the tenant's first key unless a concurrent request did; the caller reads the keys again. */
export async function insertBalanceKey({ db, tenantId }: TenantScope, key: BalanceKeyRow): Promise<void> {
  await db`
    insert into balance_token_keys (tenant_id, key_id, private_key, public_key, created_at)
    values (${tenantId}, ${key.keyId}, ${key.privateKey}, ${key.publicKey}, ${key.createdAt})
    on conflict do nothing`;
}
