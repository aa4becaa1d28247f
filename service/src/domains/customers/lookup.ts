// Lookups of one customer by its key, as SQL fragments that other domains' statements embed (lateral subqueries).
import type { TenantScope } from '../../platform/db.ts';

/**
 * The customer (at most one) of the tenant whose external id is `ref`, an SQL expression of the enclosing query (a
 * lateral subquery: `cross join lateral ${customerByExternalId(...)} c`), read by its key whatever the statistics.
 * Without them (autovacuum off, or a table not yet analyzed) the planner takes "tenant_id = $1" for as selective as
 * the whole key and may read the tenant's customers by any index led by tenant_id, filtering them: a lookup by
 * external id cost the tenant's customers. Compared and ordered in the collation of customers_external_id_bytes_idx
 * (migration 054; equality is the same in any deterministic collation), that index alone serves the lookup in key
 * order, with both columns as its bounds.
 */
export function customerByExternalId(db: TenantScope['db'], tenantId: string, ref: ReturnType<TenantScope['db']>) {
  return db`(select c.* from customers c where c.tenant_id = ${tenantId} and (c.external_id collate "C") = ${ref}
    order by (c.external_id collate "C") limit 1)`;
}

/** The customer `id` of tenant `tenantId` (SQL expressions of the enclosing query), by its primary key, the same way. */
export function customerById(
  db: TenantScope['db'],
  tenantId: ReturnType<TenantScope['db']>,
  id: ReturnType<TenantScope['db']>,
) {
  return db`(select c.* from customers c where c.tenant_id = ${tenantId} and c.id = ${id} order by c.tenant_id, c.id limit 1)`;
}
