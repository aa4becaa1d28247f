// Rows a statement reads, by EXPLAIN ANALYZE: how the tests prove that a path's reads do not grow with the tenant's
// data (holds-reads, ingest-reads).

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
