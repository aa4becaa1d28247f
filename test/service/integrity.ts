// The relations that the ingestion tables keep by construction rather than by foreign keys (migration 013),
// checked over a whole database past row-level security. Each query returns the rows that break one.
import type { Db } from '../../service/src/platform/db.ts';

export async function referentialProblems(owner: Db): Promise<string[]> {
  const checks: [string, PromiseLike<readonly unknown[]>][] = [
    ['event without its customer', owner`
      select e.transaction_id from events e
      where not exists (select 1 from customers c where c.tenant_id = e.tenant_id and c.id = e.customer_id) limit 5`],
    ['event without a rated line', owner`
      select e.transaction_id from events e
      where not exists (select 1 from rated_lines l where l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id) limit 5`],
    ['rated line without its event', owner`
      select l.transaction_id from rated_lines l
      where not exists (select 1 from events e where e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id) limit 5`],
    ['rated line for another customer than its event', owner`
      select l.transaction_id from rated_lines l join events e on e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id
      where e.customer_id <> l.customer_id limit 5`],
    ['rated line without its period', owner`
      select l.transaction_id from rated_lines l
      where not exists (select 1 from customer_periods p where p.tenant_id = l.tenant_id and p.customer_id = l.customer_id and p.period_start = l.period_start) limit 5`],
    ['rated line without its price book', owner`
      select l.transaction_id from rated_lines l
      where not exists (select 1 from price_books b where b.tenant_id = l.tenant_id and b.id = l.price_book_id) limit 5`],
  ];
  const problems: string[] = [];
  for (const [name, query] of checks) {
    const rows = (await query) as { transaction_id: string }[];
    if (rows.length > 0) problems.push(`${name}: ${rows.map((r) => r.transaction_id).join(', ')}`);
  }
  return problems;
}
