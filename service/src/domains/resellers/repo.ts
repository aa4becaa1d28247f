// The margin reports' SQL: sums of the chain_daily aggregate (migration 082), never the raw events.
import type { MarginGroup } from '@tariff/openapi/schemas/resellers';
import type { TenantScope } from '../../platform/db.ts';

export interface MarginFilter {
  /** Whose rows: one reseller's, that reseller's and its descendants', or every reseller of the tenant. */
  scope: { kind: 'reseller'; customerId: string } | { kind: 'subtree'; customerId: string } | { kind: 'tenant' };
  /** UTC days, both inclusive (YYYY-MM-DD). */
  fromDay: string;
  toDay: string;
  groups: Record<MarginGroup, boolean>;
}

export interface MarginSumRow {
  currency: string;
  /** With `level`: the reseller whose margin the row is (external id) and its ancestors' count (0: the tenant's direct customer). */
  resellerExternalId: string | null;
  resellerDepth: number | null;
  /** With `reseller`: the direct child sold to (external id). */
  childExternalId: string | null;
  endUserExternalId: string | null;
  card: string | null;
  day: string | null;
  events: bigint;
  /** numeric text, 9 decimals */
  resale: string;
  charge: string;
}

/** Depth guard of the recursive walks (a cycle in parent_id cannot happen, but a walk must end anyway). */
const maxDepth = 100;

function marginQuery({ db, tenantId }: TenantScope, filter: MarginFilter) {
  const { groups, scope } = filter;
  // Constant SQL only: a column when grouped by it, else a null of its type (one statement shape for all 32 sets).
  const column = (on: boolean, expression: string, type: string) => db.unsafe(on ? expression : `null::${type}`);
  // The rows of the chosen level customers: an equality on chain_daily's primary key prefix (tenant_id,
  // customer_id), one per customer of a subtree, or the (tenant_id, day) index for the whole tenant.
  const scoped =
    scope.kind === 'reseller'
      ? db`and d.customer_id = ${scope.customerId}`
      : scope.kind === 'subtree'
        ? db`and d.customer_id in (select id from subtree)`
        : db``;
  const subtree =
    scope.kind === 'subtree'
      ? // Down through resellers only: their end users (the many leaves) have no chain_daily rows of their own.
        db`with recursive subtree(id, depth) as (
             select ${scope.customerId}::uuid, 0
             union all
             select c.id, s.depth + 1 from customers c join subtree s on c.parent_id = s.id
             where c.tenant_id = ${tenantId} and c.is_reseller and s.depth < ${maxDepth}
           ),`
      : db`with`;
  return db`
    ${subtree} sums as (
      select d.currency,
             ${column(groups.level, 'd.customer_id', 'uuid')} as customer_id,
             ${column(groups.reseller, 'd.child_id', 'uuid')} as child_id,
             ${column(groups.end_user, 'd.end_customer_id', 'uuid')} as end_customer_id,
             ${column(groups.card, 'd.card', 'text')} as card,
             ${column(groups.day, 'd.day', 'date')} as day,
             sum(d.events) as events, sum(d.resale) as resale, sum(d.charge) as charge
      from chain_daily d
      where d.tenant_id = ${tenantId} and d.day >= ${filter.fromDay}::date and d.day <= ${filter.toDay}::date ${scoped}
      group by 1, 2, 3, 4, 5, 6
    ),
    -- Each reseller's ancestors counted once, not once per row.
    depths as (
      select l.customer_id, walk.depth
      from (select distinct customer_id from sums where customer_id is not null) l
      cross join lateral (
        with recursive up(id, n) as (
          select p.parent_id, 0 from customers p where p.tenant_id = ${tenantId} and p.id = l.customer_id
          union all
          select c.parent_id, up.n + 1 from customers c join up on c.id = up.id
          where c.tenant_id = ${tenantId} and up.n < ${maxDepth}
        )
        select count(*)::int as depth from up where up.id is not null
      ) walk
    )
    select s.currency, r.external_id as reseller_external_id, depths.depth as reseller_depth,
           child.external_id as child_external_id, end_user.external_id as end_user_external_id,
           s.card, to_char(s.day, 'YYYY-MM-DD') as day, s.events, s.resale::text as resale, s.charge::text as charge
    from sums s
    left join depths on depths.customer_id = s.customer_id
    left join customers r on r.tenant_id = ${tenantId} and r.id = s.customer_id
    left join customers child on child.tenant_id = ${tenantId} and child.id = s.child_id
    left join customers end_user on end_user.tenant_id = ${tenantId} and end_user.id = s.end_customer_id`;
}

/** chain_daily summed per currency and the chosen groupings, in no particular order (the service sorts). */
export async function sumMargins(scope: TenantScope, filter: MarginFilter): Promise<MarginSumRow[]> {
  const rows = await marginQuery(scope, filter);
  return rows.map((r) => ({
    currency: r.currency,
    resellerExternalId: r.reseller_external_id,
    resellerDepth: r.reseller_depth,
    childExternalId: r.child_external_id,
    endUserExternalId: r.end_user_external_id,
    card: r.card,
    day: r.day,
    events: BigInt(r.events),
    resale: r.resale,
    charge: r.charge,
  }));
}

/** PostgreSQL's plan of sumMargins' statement (EXPLAIN, format JSON), to check which indexes it uses. */
export async function explainSumMargins(scope: TenantScope, filter: MarginFilter): Promise<unknown> {
  const [row] = await scope.db`explain (format json) ${marginQuery(scope, filter)}`;
  return row['QUERY PLAN'];
}
