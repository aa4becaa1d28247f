// Rows a statement reads, by EXPLAIN ANALYZE: how the tests prove that a path's reads do not grow with the tenant's
// data (holds-reads, ingest-reads, the key checks).
import type postgres from 'postgres';

/** A statement as postgres.js sent it (its `debug` hook). */
export interface Sent {
  query: string;
  parameters: unknown[];
}

/** Rows read by the plan's scans (returned and filtered out), every loop counted. */
export function rowsRead(node: Record<string, any>): number {
  const own = node['Relation Name']
    ? ((node['Actual Rows'] ?? 0) +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1)
    : 0;
  return own + ((node.Plans as Record<string, any>[] | undefined) ?? []).reduce((sum, n) => sum + rowsRead(n), 0);
}

/**
 * The rows each statement reads, keyed by its first words (statements of the same text summed), each planned and run
 * again by `explain`, which returns the plan's root node.
 */
export async function rowsReadByStatement(
  statements: readonly Sent[],
  explain: (statement: Sent) => Promise<Record<string, any>>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const statement of statements) {
    const plan = await explain(statement);
    const label = statement.query.replace(/\s+/g, ' ').trim().slice(0, 90);
    counts.set(label, (counts.get(label) ?? 0) + rowsRead(plan));
  }
  return counts;
}

/**
 * Rows a referential key check (`SELECT 1 FROM ONLY "public"."<table>" x WHERE "tenant_id" = $1 AND "id" = $2 FOR KEY
 * SHARE OF x`, as ri_triggers.c sends it) reads for the last of 2,000 rows when its generic plan was made after the
 * first 500 and kept, as the trigger keeps it for the connection's life. `insert` adds `count` rows of `tenantId` and
 * returns the last id; foreign keys and triggers are not run (session_replication_role replica).
 */
export async function keyCheckRowsRead(
  owner: postgres.Sql,
  table: string,
  tenantId: string,
  insert: (tx: postgres.TransactionSql, count: number) => Promise<string>,
): Promise<number> {
  const keyCheck = `SELECT 1 FROM ONLY "public"."${table}" x WHERE "tenant_id" OPERATOR(pg_catalog.=) $1 AND "id" OPERATOR(pg_catalog.=) $2 FOR KEY SHARE OF x`;
  return owner.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`select set_config('plan_cache_mode', 'force_generic_plan', true)`;
    const first = await insert(tx, 500);
    await tx.unsafe(`prepare key_check(uuid, uuid) as ${keyCheck}`);
    await tx.unsafe(`execute key_check('${tenantId}', '${first}')`);
    const last = await insert(tx, 2000);
    const [row] = await tx.unsafe(`explain (analyze, format json) execute key_check('${tenantId}', '${last}')`);
    await tx.unsafe('deallocate key_check');
    return rowsRead(row['QUERY PLAN'][0].Plan as Record<string, any>);
  });
}
