// The relations that the ingestion tables (migration 013) and the webhook attempt log (migration 140) keep by
// construction rather than by foreign keys, and the invoice aggregates ingestion keeps beside the receipts
// (migration 018), checked over a whole database past row-level security. Each query returns the rows that break one.
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
    [
      // Migration 140: the attempt log's relation to its deliveries, kept by construction.
      'webhook attempt without its delivery',
      owner`
      select a.message_id as transaction_id from webhook_attempts a
      where not exists (select 1 from webhook_deliveries d
                        where d.tenant_id = a.tenant_id and d.endpoint_id = a.endpoint_id and d.message_id = a.message_id) limit 5`,
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
 *
 * Set-based, so it runs in about the time of a few scans at a million events: each event's latest rating is its
 * highest revision joined by key (not an anti-join probed per row), each receipt step is decoded once into
 * columns (the stored form, migration 070: a compact array by position, as receipt_step_json reads it, or an
 * object step by name) and the dimension of a price step is its line's first quantity step of the same charge,
 * found by a join. The aggregation is hashed, without JIT (its compile cost more than the query at test sizes).
 */
export async function invoiceAggregateProblems(owner: Db): Promise<string[]> {
  const rows = await owner.begin(async (tx) => {
    await tx`set local jit = off`;
    await tx`set local work_mem = '256MB'`;
    return tx`
    with latest as (
      select e.tenant_id, e.transaction_id, e.occurred_at, e.properties,
             coalesce(r.customer_id, e.customer_id) as customer_id, coalesce(r.period_start, e.period_start) as period_start,
             coalesce(r.card, e.card) as card, coalesce(r.amount, e.amount) as amount, coalesce(r.receipt, e.receipt) as receipt,
             case when r.revision is null then chain_levels(e.chain, e.receipt) else chain_levels(r.chain, r.receipt) end as chain
      from events e
      left join (select distinct on (tenant_id, transaction_id) tenant_id, transaction_id, revision, customer_id, period_start, card,
                        amount, receipt, chain
                 from event_revisions order by tenant_id, transaction_id, revision desc) r
        on r.tenant_id = e.tenant_id and r.transaction_id = e.transaction_id and r.revision > 1),
    lines as materialized (
      select row_number() over () as line, u.* from (
        select l.tenant_id, l.customer_id, l.period_start, l.card, l.amount, l.receipt, l.properties
        from latest l
        where l.occurred_at >= l.period_start
          and not exists (select 1 from invoice_adjustments a where a.tenant_id = l.tenant_id and a.reference = l.transaction_id
                          and a.customer_id = l.customer_id and a.source = 'late_event')
        union all
        -- Reseller levels of an event's chain (migration 082) as last rated (re-ratings revise it, migration 102): each
        -- level's own receipt, in its own period.
        select l.tenant_id, (c->>'customer_id')::uuid, (c->>'period_start')::timestamptz, c->>'card', (c->>'amount')::numeric,
               c->'receipt', l.properties
        from latest l cross join json_array_elements(chain_json(l.chain)) c
        where l.chain is not null
          and not exists (select 1 from invoice_adjustments a where a.tenant_id = l.tenant_id and a.reference = l.transaction_id
                          and a.customer_id = (c->>'customer_id')::uuid and a.source = 'late_event')) u),
    decoded as materialized (
      select l.line, x.n, x.value->>0 as k, x.value::jsonb as s
      from lines l cross join json_array_elements(l.receipt) with ordinality x(value, n)),
    steps as materialized (
      select line, n,
             coalesce(case k when 'p' then 'price' when 'q' then 'quantity' when 'a' then 'allowance' when 'd' then 'discount'
                             when 'c' then 'commitment' when 'C' then 'commitment' when 'g' then 'credit' end, s->>'step') as step,
             coalesce(case when k in ('p', 'q', 'a') then s->>1 end, s->>'charge') as charge,
             coalesce(case k when 'q' then s->>2 end, s->>'dimension') as dimension,
             coalesce(case k when 'p' then s->>2 end, s->>'model') as model,
             coalesce(case k when 'p' then s->>4 end, s->>'rate') as rate,
             coalesce(case k when 'p' then s->>5 end, s->>'per') as per,
             coalesce(case k when 'p' then s->>3 end, s->>'quantity') as quantity,
             coalesce(case k when 'a' then s->>3 end, s->>'covered') as covered,
             coalesce(case k when 'p' then s->>6 when 'd' then s->>2 when 'c' then s->>1 when 'C' then s->>1 when 'g' then s->>3 end,
                      s->>'amount') as amount,
             coalesce(case k when 'a' then s->>2 end, s->>'pool') as pool,
             coalesce(case k when 'g' then s->>1 end, s->>'grant') as grant_id,
             coalesce(case k when 'c' then 'prepaid' when 'C' then 'postpaid' end, s->>'mode') as mode,
             coalesce(case k when 'd' then s->>1 end, s->>'percent') as percent
      from decoded),
    dimensions as (
      select line, charge, (array_agg(dimension order by n))[1] as dimension from steps where step = 'quantity' group by 1, 2),
    oracle as (
      select l.tenant_id, l.customer_id, l.period_start, st.step,
             case when st.step = 'price' then l.card else '' end as card,
             case when st.step = 'price' then st.charge::int else -1 end as charge,
             case when st.step = 'price' then coalesce(d.dimension, '') else '' end as dimension,
             case when st.step = 'price' then st.model else '' end as model,
             case when st.step = 'price' then st.rate else '' end as rate,
             case when st.step = 'price' then st.per else '' end as per,
             case when st.step = 'price' then jsonb_strip_nulls(jsonb_build_object(
               'model', l.properties->>'model', 'gpu_type', l.properties->>'gpu_type',
               'region', l.properties->>'region', 'availability_class', l.properties->>'availability_class')) else '{}' end as group_key,
             case when st.step <> 'price' then coalesce(st.pool, '') else '' end as pool,
             case when st.step <> 'price' then coalesce(st.grant_id, '') else '' end as grant_id,
             case when st.step <> 'price' then coalesce(st.mode, '') else '' end as mode,
             case when st.step <> 'price' then coalesce(st.percent, '') else '' end as percent,
             coalesce(sum(st.quantity::numeric), 0) as quantity, coalesce(sum(st.covered::numeric), 0) as covered,
             coalesce(sum(st.amount::numeric), 0) as amount, count(*) as events
      from steps st join lines l using (line)
      left join dimensions d on d.line = st.line and d.charge = st.charge and st.step = 'price'
      where st.step in ('price', 'allowance', 'discount', 'commitment', 'credit')
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
  });
  return rows.map(
    (r) =>
      `${r.customer_id} ${r.period_start.toISOString()} ${r.step} ${r.card} ${r.charge} ${r.dimension} ${r.price} ${r.group_key} ${r.step_key}: ` +
      `${r.kept_events ?? '-'} x (${r.kept_quantity ?? '-'}, ${r.kept_covered ?? '-'}, ${r.kept_amount ?? '-'}) | ${r.events ?? '-'} x (${r.quantity ?? '-'}, ${r.covered ?? '-'}, ${r.amount ?? '-'})`,
  );
}
