import { isUniqueViolation, type TenantScope } from '../../platform/db.ts';
import { conflict } from '../../platform/errors.ts';
import { ratingCurrencySql } from './rating-currency.ts';

export interface Customer {
  id: string;
  externalId: string;
  name: string | null;
  email: string | null;
  currency: string;
  country: string | null;
  taxId: string | null;
  taxStatus: 'business' | 'consumer' | 'exempt' | null;
  taxExemptReason: string | null;
  region: string | null;
  address: string | null;
  postalCode: string | null;
  /** The last online check of the tax id that answered (tax/service.ts verifyCustomerTaxId). */
  taxIdCheck: { status: 'valid' | 'invalid'; checked_at: string; source: string; name?: string | null } | null;
  parentId: string | null;
  /** The parent's external id, joined for output. */
  parentExternalId: string | null;
  isReseller: boolean;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** Records the answer of an online tax id check (never called when the registry did not answer). */
export async function updateTaxIdCheck(
  { db, tenantId }: TenantScope,
  id: string,
  check: NonNullable<Customer['taxIdCheck']>,
): Promise<void> {
  await db`update customers set tax_id_check = ${db.json(check)} where tenant_id = ${tenantId} and id = ${id}`;
}

export type CustomerFields = Omit<
  Customer,
  'id' | 'externalId' | 'currency' | 'parentExternalId' | 'createdAt' | 'updatedAt' | 'taxIdCheck'
>;

export async function insertCustomer(
  { db, tenantId }: TenantScope,
  customer: Omit<Customer, 'parentExternalId'>,
): Promise<void> {
  try {
    await db`
      insert into customers (tenant_id, id, external_id, name, email, currency, country, tax_id, tax_status, tax_exempt_reason, region, address, postal_code,
                             parent_id, is_reseller, metadata, created_at, updated_at)
      values (${tenantId}, ${customer.id}, ${customer.externalId}, ${customer.name}, ${customer.email}, ${customer.currency},
              ${customer.country}, ${customer.taxId}, ${customer.taxStatus}, ${customer.taxExemptReason}, ${customer.region}, ${customer.address},
              ${customer.postalCode}, ${customer.parentId}, ${customer.isReseller}, ${db.json(customer.metadata)}, ${customer.createdAt}, ${customer.updatedAt})`;
  } catch (error) {
    if (isUniqueViolation(error, 'customers_external_id_unique')) {
      throw conflict('customer_exists', `A customer with external id "${customer.externalId}" already exists`, [
        { field: 'external_id', reason: 'already in use' },
      ]);
    }
    throw error;
  }
}

export async function updateCustomer(
  { db, tenantId }: TenantScope,
  id: string,
  fields: CustomerFields,
  updatedAt: Date,
): Promise<void> {
  await db`
    update customers set name = ${fields.name}, email = ${fields.email}, country = ${fields.country}, tax_id = ${fields.taxId},
      tax_status = ${fields.taxStatus}, tax_exempt_reason = ${fields.taxExemptReason}, region = ${fields.region}, address = ${fields.address},
      postal_code = ${fields.postalCode},
      -- A changed tax id has not been checked online yet.
      tax_id_check = case when tax_id is distinct from ${fields.taxId} then null else tax_id_check end,
      parent_id = ${fields.parentId}, is_reseller = ${fields.isReseller}, metadata = ${db.json(fields.metadata)}, updated_at = ${updatedAt}
    where tenant_id = ${tenantId} and id = ${id}`;
}

const selectCustomer = (db: TenantScope['db'], tenantId: string) => db`
  select c.*, p.external_id as parent_external_id
  from customers c left join customers p on p.tenant_id = c.tenant_id and p.id = c.parent_id
  where c.tenant_id = ${tenantId}`;

export async function findCustomerByExternalId(
  { db, tenantId }: TenantScope,
  externalId: string,
): Promise<Customer | undefined> {
  const [row] = await db`${selectCustomer(db, tenantId)} and c.external_id = ${externalId}`;
  return row ? fromDbCustomer(row) : undefined;
}

export async function findCustomerById({ db, tenantId }: TenantScope, id: string): Promise<Customer | undefined> {
  const [row] = await db`${selectCustomer(db, tenantId)} and c.id = ${id}`;
  return row ? fromDbCustomer(row) : undefined;
}

export async function listCustomers(
  { db, tenantId }: TenantScope,
  page: { limit: number; startingAfter?: string },
): Promise<Customer[]> {
  const rows = await db`
    ${selectCustomer(db, tenantId)}
    ${page.startingAfter !== undefined ? db`and c.external_id > ${page.startingAfter}` : db``}
    order by c.external_id collate "C" limit ${page.limit}`;
  return rows.map(fromDbCustomer);
}

/** Whether `candidateId` is `ancestorId` itself or below it in the hierarchy. */
/** Serialises the tenant's customer moves (re-parenting) until the transaction ends. */
export async function lockHierarchy({ db, tenantId }: TenantScope): Promise<void> {
  await db`select pg_advisory_xact_lock(hashtextextended(${`customer_hierarchy:${tenantId}`}, 0))`;
}

export async function isInSubtree(
  { db, tenantId }: TenantScope,
  ancestorId: string,
  candidateId: string,
): Promise<boolean> {
  const [row] = await db`
    with recursive subtree(id) as (
      select ${ancestorId}::uuid
      union
      select c.id from customers c join subtree s on c.parent_id = s.id where c.tenant_id = ${tenantId}
    )
    select exists (select 1 from subtree where id = ${candidateId}) as found`;
  return row.found;
}

/**
 * The external ids of the customer's children (at most `limit`), read after locking the customer's row: a child
 * being inserted under it (its foreign key check holds a key-share lock on the row) commits before the read.
 */
export async function lockAndListChildren(
  { db, tenantId }: TenantScope,
  customerId: string,
  limit: number,
): Promise<string[]> {
  await db`select 1 from customers where tenant_id = ${tenantId} and id = ${customerId} for update`;
  const rows = await db`
    select external_id from customers where tenant_id = ${tenantId} and parent_id = ${customerId}
    order by external_id collate "C" limit ${limit}`;
  return rows.map((r) => r.external_id as string);
}

export interface Assignment {
  effectiveFrom: Date;
  priceBookId: string;
  priceBookCode: string;
}

export async function insertAssignment(
  { db, tenantId }: TenantScope,
  assignment: { customerId: string; priceBookId: string; effectiveFrom: Date; createdAt: Date; createdBy: string },
): Promise<void> {
  await db`
    insert into customer_price_books (tenant_id, customer_id, effective_from, price_book_id, created_at, created_by)
    values (${tenantId}, ${assignment.customerId}, ${assignment.effectiveFrom}, ${assignment.priceBookId}, ${assignment.createdAt}, ${assignment.createdBy})`;
}

export async function listAssignments(scope: TenantScope, customerId: string): Promise<Assignment[]> {
  return (await listAssignmentsOf(scope, [customerId])).get(customerId) ?? [];
}

/** Assignments by customer id, each list in effective order. */
export async function listAssignmentsOf(
  { db, tenantId }: TenantScope,
  customerIds: string[],
): Promise<Map<string, Assignment[]>> {
  const byCustomer = new Map<string, Assignment[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows = await db`
    select a.customer_id, a.effective_from, a.price_book_id, b.code
    from customer_price_books a join price_books b on b.tenant_id = a.tenant_id and b.id = a.price_book_id
    where a.tenant_id = ${tenantId} and a.customer_id = any(${customerIds}::uuid[])
    order by a.customer_id, a.effective_from`;
  for (const r of rows) {
    const list = byCustomer.get(r.customer_id) ?? [];
    list.push({ effectiveFrom: r.effective_from, priceBookId: r.price_book_id, priceBookCode: r.code });
    byCustomer.set(r.customer_id, list);
  }
  return byCustomer;
}

function fromDbCustomer(row: Record<string, any>): Customer {
  return {
    id: row.id,
    externalId: row.external_id,
    name: row.name,
    email: row.email,
    currency: row.currency,
    country: row.country,
    taxId: row.tax_id,
    taxStatus: row.tax_status,
    taxExemptReason: row.tax_exempt_reason,
    region: row.region,
    address: row.address,
    postalCode: row.postal_code,
    taxIdCheck: row.tax_id_check,
    parentId: row.parent_id,
    parentExternalId: row.parent_external_id,
    isReseller: row.is_reseller,
    metadata: row.metadata,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What ties a customer to its currency: its invoices, and the price books and credit grants in another currency than `currency`. */
export async function findCurrencyTies(
  { db, tenantId }: TenantScope,
  customerId: string,
  currency: string,
): Promise<{ invoices: number; books: string[]; grants: number }> {
  const [row] = await db`
    select
      (select count(*)::int from invoices i where i.tenant_id = ${tenantId} and i.customer_id = ${customerId}) as invoices,
      (select coalesce(array_agg(distinct b.code order by b.code), '{}')
         from customer_price_books a join price_books b on b.tenant_id = a.tenant_id and b.id = a.price_book_id
        where a.tenant_id = ${tenantId} and a.customer_id = ${customerId} and b.currency <> ${currency}) as books,
      (select count(*)::int from credit_grants g where g.tenant_id = ${tenantId} and g.customer_id = ${customerId} and g.currency <> ${currency}) as grants`;
  return { invoices: row.invoices, books: row.books, grants: row.grants };
}

export async function updateCustomerCurrency(
  { db, tenantId }: TenantScope,
  id: string,
  currency: string,
  updatedAt: Date,
): Promise<void> {
  await db`update customers set currency = ${currency}, updated_at = ${updatedAt} where tenant_id = ${tenantId} and id = ${id}`;
}

/**
 * The neighbours of a customer in a reseller chain that have a price book: its reseller parent and its children,
 * each with its latest book's currency.
 */
export async function findChainBookCurrencies(
  { db, tenantId }: TenantScope,
  customer: { id: string; parentId: string | null },
): Promise<{ externalId: string; relation: 'parent' | 'child'; currency: string }[]> {
  const rows = await db`
    select c.external_id, case when c.id = ${customer.parentId} then 'parent' else 'child' end as relation, latest.currency
    from customers c
    join lateral (
      select b.currency from customer_price_books a join price_books b on b.tenant_id = a.tenant_id and b.id = a.price_book_id
      where a.tenant_id = c.tenant_id and a.customer_id = c.id order by a.effective_from desc limit 1) latest on true
    where c.tenant_id = ${tenantId} and ((c.id = ${customer.parentId} and c.is_reseller) or c.parent_id = ${customer.id})
    order by c.external_id`;
  return rows.map((r) => ({ externalId: r.external_id, relation: r.relation, currency: r.currency }));
}

/** The currency the customer is rated in (its price books'), which its credit grants are held in. */
export async function findRatingCurrency({ db, tenantId }: TenantScope, customerId: string): Promise<string> {
  const [row] =
    await db`select ${db.unsafe(ratingCurrencySql)} as currency from customers c where c.tenant_id = ${tenantId} and c.id = ${customerId}`;
  return row.currency;
}
