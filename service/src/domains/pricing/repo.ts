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
      insert into price_books (tenant_id, id, code, name, currency, created_at, created_by)
      values (${tenantId}, ${book.id}, ${book.code}, ${book.name}, ${book.currency}, ${book.createdAt}, ${book.createdBy})`;
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
    select * from price_books where tenant_id = ${tenantId} and code = ${code}
    ${options.lock ? db`for update` : db``}`;
  return row ? fromDbPriceBook(row) : undefined;
}

export async function findPriceBookById({ db, tenantId }: TenantScope, id: string): Promise<PriceBookRow | undefined> {
  const [row] = await db`select * from price_books where tenant_id = ${tenantId} and id = ${id}`;
  return row ? fromDbPriceBook(row) : undefined;
}

export async function listPriceBooks(
  { db, tenantId }: TenantScope,
  page: { limit: number; startingAfter?: string },
): Promise<PriceBookRow[]> {
  const rows = await db`
    select * from price_books where tenant_id = ${tenantId}
    ${page.startingAfter !== undefined ? db`and code > ${page.startingAfter}` : db``}
    order by code collate "C" limit ${page.limit}`;
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
  };
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
