// The relations that the ingestion tables keep by construction rather than by foreign keys (migration 013), and
// the invoice aggregates they keep beside the receipts (migration 018), checked over a whole database past
// row-level security. Each query returns the rows that break one.
import type { Db } from '../../service/src/platform/db.ts';

export async function referentialProblems(owner: Db): Promise<string[]> {
  const checks: [string, PromiseLike<readonly unknown[]>][] = [
    [
      'event without its customer',
      owner`
      select e.transaction_id from events e
      where not exists (select 1 from customers c where c.tenant_id = e.tenant_id and c.id = e.customer_id) limit 5`,
    ],
    [
      'event without a rated line',
      owner`
      select e.transaction_id from events e
      where not exists (select 1 from event_ratings l where l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id) limit 5`,
    ],
    [
      'rated line without its event',
      owner`
      select l.transaction_id from event_ratings l
      where not exists (select 1 from events e where e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id) limit 5`,
    ],
    [
      'rated line for another customer than its event',
      owner`
      select l.transaction_id from event_ratings l join events e on e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id
      where e.customer_id <> l.customer_id limit 5`,
    ],
    [
      'rated line without its period',
      owner`
      select l.transaction_id from event_ratings l
      where not exists (select 1 from customer_periods p where p.tenant_id = l.tenant_id and p.customer_id = l.customer_id and p.period_start = l.period_start) limit 5`,
    ],
    [
      'rated line without its price book',
      owner`
      select l.transaction_id from event_ratings l
      where not exists (select 1 from price_books b where b.tenant_id = l.tenant_id and b.id = l.price_book_id) limit 5`,
    ],
  ];
  const problems: string[] = [];
  for (const [name, query] of checks) {
    const rows = (await query) as { transaction_id: string }[];
    if (rows.length > 0) problems.push(`${name}: ${rows.map((r) => r.transaction_id).join(', ')}`);
  }
  const aggregates = await invoiceAggregateProblems(owner);
  if (aggregates.length > 0)
    problems.push(
      `invoice aggregates differ from the receipts (row: kept | from receipts):\n  ${aggregates.join('\n  ')}`,
    );
  return problems;
}

/**
 * The invoice aggregates ingestion and re-rating keep (migration 018) against the same sums taken from the
 * receipts (the close's former read, the oracle): every period's latest revision of each rated line stamped in it,
 * less late events, its receipt steps exploded and grouped. Returns the rows that differ, both sides.
 */
export async function invoiceAggregateProblems(owner: Db): Promise<string[]> {
  const rows = await owner`
    with lines as (
      select l.tenant_id, l.customer_id, l.period_start, l.card, l.amount, l.receipt, e.properties
      from event_ratings l
      join events e on e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id and e.occurred_at >= l.period_start
      where not exists (select 1 from event_ratings n where n.tenant_id = l.tenant_id and n.transaction_id = l.transaction_id and n.revision > l.revision)
        and not exists (select 1 from invoice_adjustments a where a.tenant_id = l.tenant_id and a.reference = l.transaction_id
                        and a.customer_id = l.customer_id and a.source = 'late_event')
      union all
      -- Reseller levels of an event's chain (migration 082) as last rated (re-ratings revise it, migration 102): each
      -- level's own receipt, in its own period.
      select e.tenant_id, (c->>'customer_id')::uuid, (c->>'period_start')::timestamptz, c->>'card', (c->>'amount')::numeric,
             receipt_json(c->'receipt'), e.properties
      from events e
      join event_ratings l on l.tenant_id = e.tenant_id and l.transaction_id = e.transaction_id
      cross join json_array_elements(chain_json(l.chain)) c
      where l.chain is not null
        and not exists (select 1 from event_ratings n where n.tenant_id = l.tenant_id and n.transaction_id = l.transaction_id and n.revision > l.revision)
        and not exists (select 1 from invoice_adjustments a where a.tenant_id = e.tenant_id and a.reference = e.transaction_id
                        and a.customer_id = (c->>'customer_id')::uuid and a.source = 'late_event')),
    oracle as (
      select l.tenant_id, l.customer_id, l.period_start, s->>'step' as step,
             case when s->>'step' = 'price' then l.card else '' end as card,
             case when s->>'step' = 'price' then (s->>'charge')::int else -1 end as charge,
             case when s->>'step' = 'price' then coalesce((select q->>'dimension' from json_array_elements(l.receipt) q
                                                           where q->>'step' = 'quantity' and q->>'charge' = s->>'charge' limit 1), '') else '' end as dimension,
             case when s->>'step' = 'price' then s->>'model' else '' end as model,
             case when s->>'step' = 'price' then s->>'rate' else '' end as rate,
             case when s->>'step' = 'price' then s->>'per' else '' end as per,
             case when s->>'step' = 'price' then jsonb_strip_nulls(jsonb_build_object(
               'model', l.properties->>'model', 'gpu_type', l.properties->>'gpu_type',
               'region', l.properties->>'region', 'availability_class', l.properties->>'availability_class')) else '{}' end as group_key,
             case when s->>'step' <> 'price' then coalesce(s->>'pool', '') else '' end as pool,
             case when s->>'step' <> 'price' then coalesce(s->>'grant', '') else '' end as grant_id,
             case when s->>'step' <> 'price' then coalesce(s->>'mode', '') else '' end as mode,
             case when s->>'step' <> 'price' then coalesce(s->>'percent', '') else '' end as percent,
             coalesce(sum((s->>'quantity')::numeric), 0) as quantity, coalesce(sum((s->>'covered')::numeric), 0) as covered,
             coalesce(sum((s->>'amount')::numeric), 0) as amount, count(*) as events
      from lines l cross join json_array_elements(l.receipt) s
      where s->>'step' in ('price', 'allowance', 'discount', 'commitment', 'credit')
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
      union all
      select tenant_id, customer_id, period_start, 'total', '', -1, '', '', '', '', '{}', '', '', '', '', 0, 0, sum(amount), count(*)
      from lines group by 1, 2, 3),
    kept as (
      select tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent,
             quantity, covered, amount, events
      from invoice_aggregates)
    select coalesce(k.customer_id, o.customer_id) as customer_id, coalesce(k.period_start, o.period_start) as period_start,
           coalesce(k.step, o.step) as step, coalesce(k.card, o.card) as card, coalesce(k.charge, o.charge) as charge,
           coalesce(k.dimension, o.dimension) as dimension, coalesce(k.group_key, o.group_key)::text as group_key,
           coalesce(k.pool, o.pool) || coalesce(k.grant_id, o.grant_id) || coalesce(k.mode, o.mode) || coalesce(k.percent, o.percent) as step_key,
           coalesce(k.model, o.model) || ' ' || coalesce(k.rate, o.rate) || '/' || coalesce(k.per, o.per) as price,
           k.quantity::text as kept_quantity, k.covered::text as kept_covered, k.amount::text as kept_amount, k.events as kept_events,
           o.quantity::text as quantity, o.covered::text as covered, o.amount::text as amount, o.events
    from kept k full join oracle o using (tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent)
    where k.events is distinct from o.events or k.quantity is distinct from o.quantity or k.covered is distinct from o.covered
       or k.amount is distinct from o.amount
    limit 10`;
  return rows.map(
    (r) =>
      `${r.customer_id} ${r.period_start.toISOString()} ${r.step} ${r.card} ${r.charge} ${r.dimension} ${r.price} ${r.group_key} ${r.step_key}: ` +
      `${r.kept_events ?? '-'} x (${r.kept_quantity ?? '-'}, ${r.kept_covered ?? '-'}, ${r.kept_amount ?? '-'}) | ${r.events ?? '-'} x (${r.quantity ?? '-'}, ${r.covered ?? '-'}, ${r.amount ?? '-'})`,
  );
}
