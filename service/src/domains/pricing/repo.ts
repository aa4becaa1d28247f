import type { BookVersion } from '@tariff/core-wasm';
import { isUniqueViolation, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';

export type Schedule = 'price' | 'cost';

export interface PriceBookRow {
  id: string;
  code: string;
  name: string | null;
  currency: string;
  createdAt: Date;
  createdBy: string;
  /** The reseller that owns the book (customer id); null: the tenant's. */
  ownerCustomerId: string | null;
  /** Its external id, when the session sees the owner (a reseller's own book is owned outside its subtree). */
  ownerExternalId?: string | null;
}

export interface VersionRow {
  schedule: Schedule;
  version: number;
  effectiveFrom: Date;
  body: BookVersion;
  createdAt: Date;
  createdBy: string;
}

export async function insertPriceBook({ db, tenantId }: TenantScope, book: PriceBookRow): Promise<void> {
  try {
    await db`
      insert into price_books (tenant_id, id, code, name, currency, created_at, created_by, owner_customer_id)
      values (${tenantId}, ${book.id}, ${book.code}, ${book.name}, ${book.currency}, ${book.createdAt}, ${book.createdBy},
              ${book.ownerCustomerId})`;
  } catch (error) {
    if (isUniqueViolation(error, 'price_books_code_unique')) {
      throw conflict(
        'price_book_exists',
        `A price book with id "${book.code}" already exists; add a version to it instead`,
        [{ field: 'book.id', reason: 'already in use' }],
      );
    }
    throw error;
  }
}

export async function insertVersion(
  { db, tenantId }: TenantScope,
  priceBookId: string,
  version: VersionRow,
): Promise<void> {
  try {
    await db`
      insert into price_book_versions (tenant_id, price_book_id, schedule, version, effective_from, body, created_at, created_by)
      values (${tenantId}, ${priceBookId}, ${version.schedule}, ${version.version}, ${version.effectiveFrom},
              ${db.json(version.body as never)}, ${version.createdAt}, ${version.createdBy})`;
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw conflict('version_conflict', 'Another version was added at the same time; read the book and retry');
    }
    throw error;
  }
}

export async function findPriceBookByCode(
  { db, tenantId }: TenantScope,
  code: string,
  options: { lock?: boolean } = {},
): Promise<PriceBookRow | undefined> {
  const [row] = await db`
    select b.*, ${ownerExternalId(db)} from price_books b where b.tenant_id = ${tenantId} and b.code = ${code}
    ${options.lock ? db`for update of b` : db``}`;
  return row ? fromDbPriceBook(row) : undefined;
}

export async function findPriceBookById({ db, tenantId }: TenantScope, id: string): Promise<PriceBookRow | undefined> {
  const [row] =
    await db`select b.*, ${ownerExternalId(db)} from price_books b where b.tenant_id = ${tenantId} and b.id = ${id}`;
  return row ? fromDbPriceBook(row) : undefined;
}

export async function listPriceBooks(
  { db, tenantId }: TenantScope,
  page: { limit: number; startingAfter?: string },
): Promise<PriceBookRow[]> {
  const rows = await db`
    select b.*, ${ownerExternalId(db)} from price_books b where b.tenant_id = ${tenantId}
    ${page.startingAfter !== undefined ? db`and b.code > ${page.startingAfter}` : db``}
    order by b.code collate "C" limit ${page.limit}`;
  return rows.map(fromDbPriceBook);
}

export async function listVersions({ db, tenantId }: TenantScope, priceBookId: string): Promise<VersionRow[]> {
  const rows = await db`
    select * from price_book_versions where tenant_id = ${tenantId} and price_book_id = ${priceBookId}
    order by schedule, version`;
  return rows.map((row) => ({
    schedule: row.schedule,
    version: row.version,
    effectiveFrom: row.effective_from,
    body: row.body,
    createdAt: row.created_at,
    createdBy: row.created_by,
  }));
}

function fromDbPriceBook(row: Record<string, any>): PriceBookRow {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currency: row.currency,
    createdAt: row.created_at,
    createdBy: row.created_by,
    ownerCustomerId: row.owner_customer_id,
    ownerExternalId: row.owner_external_id ?? null,
  };
}

const ownerExternalId = (db: TenantScope['db']) => db`
  (select o.external_id from customers o where o.tenant_id = b.tenant_id and o.id = b.owner_customer_id) as owner_external_id`;

/** A reseller, by external id, that may own books (within what the session sees). */
export async function findOwnerCandidate(
  { db, tenantId }: TenantScope,
  externalId: string,
): Promise<{ id: string; externalId: string; isReseller: boolean } | undefined> {
  const [row] = await db`
    select id, external_id, is_reseller from customers where tenant_id = ${tenantId} and external_id = ${externalId}`;
  return row ? { id: row.id, externalId: row.external_id, isReseller: row.is_reseller } : undefined;
}

/**
 * Who may price a customer: its parent when the parent resells, else the tenant (null). `undefined` when the
 * customer is not visible.
 */
export async function findPricingOwner({ db, tenantId }: TenantScope, customerId: string) {
  const [row] = await db`
    select case when p.is_reseller then p.id end as owner_id, p.external_id as parent_external_id
    from customers c left join customers p on p.tenant_id = c.tenant_id and p.id = c.parent_id
    where c.tenant_id = ${tenantId} and c.id = ${customerId}`;
  return row ? { ownerId: row.owner_id as string | null } : undefined;
}

/** Stored versions per book; with append-only versions, (book, count) names one exact book. */
export async function countVersions(
  { db, tenantId }: TenantScope,
  priceBookIds: string[],
): Promise<Map<string, number>> {
  const rows = await db`
    select price_book_id, count(*)::int as n from price_book_versions
    where tenant_id = ${tenantId} and price_book_id = any(${priceBookIds}::uuid[]) group by 1`;
  return new Map(rows.map((r) => [r.price_book_id, r.n]));
}
