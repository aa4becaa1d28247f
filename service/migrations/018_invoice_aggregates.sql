-- Invoice aggregates, and the finalized-lines guard checked per statement (at the end).
--
-- What a period's invoice needs from its receipts, kept by every writer of rated lines (ingestion, re-rating)
-- in the transaction that writes them, so a close reads a handful of rows per customer-period instead of
-- every receipt (invoices/aggregates.ts). Of each period: the latest revision of every rated line stamped in
-- it, less late events (billed as adjustments on a later invoice). test/service/integrity.ts checks the rows
-- against the receipts at the end of every scenario test.
--
-- One row per invoice grouping: price steps by card, charge, the charge's dimension (the receipt's quantity
-- step), price model, rate, per and the events' grouping properties; allowance, discount, commitment and credit
-- steps by pool, grant, mode and percentage; and one 'total' row (the rated lines' amounts and count). Columns a
-- step does not have hold '' (-1 for charge), so the grouping can be the primary key.
CREATE TABLE invoice_aggregates (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  step text NOT NULL CHECK (step IN ('price', 'allowance', 'discount', 'commitment', 'credit', 'total')),
  card text NOT NULL DEFAULT '',
  charge integer NOT NULL DEFAULT -1,
  dimension text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  rate text NOT NULL DEFAULT '',
  per text NOT NULL DEFAULT '',
  -- model, gpu_type, region and availability_class of the events, those that are set.
  group_key jsonb NOT NULL DEFAULT '{}',
  pool text NOT NULL DEFAULT '',
  grant_id text NOT NULL DEFAULT '',
  mode text NOT NULL DEFAULT '',
  percent text NOT NULL DEFAULT '',
  -- Sums of the steps' quantity, covered and amount; how many steps (for 'total': lines) are summed.
  quantity numeric NOT NULL,
  covered numeric NOT NULL,
  amount numeric NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent)
);

SELECT enable_tenant_isolation('invoice_aggregates');
-- Re-rating moves rows and removes those it empties.
GRANT SELECT, INSERT, UPDATE (quantity, covered, amount, events), DELETE ON invoice_aggregates TO tariff_app;

-- Periods rated before this migration: their aggregates from their receipts.
WITH lines AS (
  SELECT l.tenant_id, l.customer_id, l.period_start, l.card, l.amount, l.receipt, e.properties
  FROM rated_lines l
  JOIN events e ON e.tenant_id = l.tenant_id AND e.transaction_id = l.transaction_id AND e.occurred_at >= l.period_start
  WHERE NOT EXISTS (SELECT 1 FROM rated_lines n WHERE n.tenant_id = l.tenant_id AND n.transaction_id = l.transaction_id AND n.revision > l.revision)
    AND NOT EXISTS (SELECT 1 FROM invoice_adjustments a WHERE a.tenant_id = l.tenant_id AND a.reference = l.transaction_id AND a.source = 'late_event')
)
INSERT INTO invoice_aggregates (tenant_id, customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode,
                                percent, quantity, covered, amount, events)
SELECT l.tenant_id, l.customer_id, l.period_start, s->>'step',
       CASE WHEN s->>'step' = 'price' THEN l.card ELSE '' END,
       CASE WHEN s->>'step' = 'price' THEN (s->>'charge')::int ELSE -1 END,
       CASE WHEN s->>'step' = 'price' THEN coalesce((SELECT q->>'dimension' FROM jsonb_array_elements(l.receipt) q
                                                     WHERE q->>'step' = 'quantity' AND q->'charge' = s->'charge' LIMIT 1), '') ELSE '' END,
       CASE WHEN s->>'step' = 'price' THEN s->>'model' ELSE '' END,
       CASE WHEN s->>'step' = 'price' THEN s->>'rate' ELSE '' END,
       CASE WHEN s->>'step' = 'price' THEN s->>'per' ELSE '' END,
       CASE WHEN s->>'step' = 'price' THEN jsonb_strip_nulls(jsonb_build_object(
         'model', l.properties->>'model', 'gpu_type', l.properties->>'gpu_type',
         'region', l.properties->>'region', 'availability_class', l.properties->>'availability_class')) ELSE '{}' END,
       CASE WHEN s->>'step' <> 'price' THEN coalesce(s->>'pool', '') ELSE '' END,
       CASE WHEN s->>'step' <> 'price' THEN coalesce(s->>'grant', '') ELSE '' END,
       CASE WHEN s->>'step' <> 'price' THEN coalesce(s->>'mode', '') ELSE '' END,
       CASE WHEN s->>'step' <> 'price' THEN coalesce(s->>'percent', '') ELSE '' END,
       coalesce(sum((s->>'quantity')::numeric), 0), coalesce(sum((s->>'covered')::numeric), 0), coalesce(sum((s->>'amount')::numeric), 0), count(*)
FROM lines l CROSS JOIN jsonb_array_elements(l.receipt) s
WHERE s->>'step' IN ('price', 'allowance', 'discount', 'commitment', 'credit')
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
UNION ALL
SELECT tenant_id, customer_id, period_start, 'total', '', -1, '', '', '', '', '{}', '', '', '', '', 0, 0, sum(amount), count(*)
FROM lines GROUP BY 1, 2, 3;

-- Lines of a finalized invoice cannot change (migration 008's guard): inserts and deletes are now checked once per
-- statement, on the lines it wrote, instead of one invoice lookup per line (a close writes thousands at once).
CREATE FUNCTION invoice_lines_guard_written() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  final uuid;
BEGIN
  -- Planned on each run (EXECUTE): a plan cached while invoices was small could scan it whole on every statement.
  EXECUTE 'SELECT i.id FROM (SELECT DISTINCT tenant_id, invoice_id FROM written) w
           JOIN invoices i ON i.tenant_id = w.tenant_id AND i.id = w.invoice_id
           WHERE i.status <> ''draft'' LIMIT 1' INTO final;
  IF final IS NOT NULL THEN
    RAISE EXCEPTION 'lines of invoice % cannot change after finalization', final USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER invoice_lines_guard ON invoice_lines;
CREATE TRIGGER invoice_lines_guard BEFORE UPDATE ON invoice_lines FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();
CREATE TRIGGER invoice_lines_guard_insert AFTER INSERT ON invoice_lines
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION invoice_lines_guard_written();
CREATE TRIGGER invoice_lines_guard_delete AFTER DELETE ON invoice_lines
  REFERENCING OLD TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION invoice_lines_guard_written();
