-- What a customer's open holds set aside, kept as a running total (issue 18). A placement, an extension and ingestion
-- decided against the sum of the customer's open holds, read row by row under the customer's locks: every hold
-- placed made the next placement read one row more, so the cost of a hold grew with the holds open before it (a
-- thousand open holds of one customer: a thousand rows per decision, while its grant lock was held). The total is
-- kept by the statement that changes the holds (a trigger, so no writer of holds can forget it, maintenance by SQL
-- included), in the same transaction; a decision reads one row per customer, and the few open holds already past
-- their expiry (the scheduler closes them shortly) are taken off by an index range on their expiry.

CREATE TABLE open_hold_totals (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  -- Sum over the customer's rows in holds (every level) with status 'open', expired or not, of greatest(amount - captured, 0).
  held numeric NOT NULL,
  PRIMARY KEY (tenant_id, customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
-- Updated in place by every placement of its customer: room on the page keeps each update HOT, and the page's
-- earlier versions are pruned by the reads that follow, without vacuum (autovacuum may be off).
) WITH (fillfactor = 50);

SELECT enable_tenant_isolation('open_hold_totals');
GRANT SELECT, INSERT, UPDATE (held) ON open_hold_totals TO tariff_app;

INSERT INTO open_hold_totals (tenant_id, customer_id, held)
SELECT tenant_id, customer_id, sum(greatest(amount - captured, 0)) FROM holds WHERE status = 'open'
GROUP BY tenant_id, customer_id;

-- One upsert per statement on holds, its customers in key order (two statements never take two totals in
-- opposite orders). Runs as the writer: the totals it may change are those of the holds rows it may change.
CREATE FUNCTION open_hold_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO open_hold_totals AS t (tenant_id, customer_id, held)
    SELECT n.tenant_id, n.customer_id, sum(greatest(n.amount - n.captured, 0)) FROM new_rows n WHERE n.status = 'open'
    GROUP BY n.tenant_id, n.customer_id ORDER BY n.tenant_id, n.customer_id
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET held = t.held + excluded.held;
  ELSE
    INSERT INTO open_hold_totals AS t (tenant_id, customer_id, held)
    SELECT d.tenant_id, d.customer_id, sum(d.held) FROM (
      SELECT n.tenant_id, n.customer_id, greatest(n.amount - n.captured, 0) AS held FROM new_rows n WHERE n.status = 'open'
      UNION ALL
      SELECT o.tenant_id, o.customer_id, -greatest(o.amount - o.captured, 0) FROM old_rows o WHERE o.status = 'open'
    ) d
    GROUP BY d.tenant_id, d.customer_id HAVING sum(d.held) <> 0 ORDER BY d.tenant_id, d.customer_id
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET held = t.held + excluded.held;
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION open_hold_totals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE open_hold_totals t SET held = t.held - d.held
  FROM (
    SELECT o.tenant_id, o.customer_id, sum(greatest(o.amount - o.captured, 0)) AS held FROM old_rows o
    WHERE o.status = 'open' GROUP BY o.tenant_id, o.customer_id
  ) d
  WHERE t.tenant_id = d.tenant_id AND t.customer_id = d.customer_id;
  RETURN NULL;
END
$$;

CREATE TRIGGER holds_open_totals_inserted AFTER INSERT ON holds REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION open_hold_totals_apply();
CREATE TRIGGER holds_open_totals_updated AFTER UPDATE ON holds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION open_hold_totals_apply();
CREATE TRIGGER holds_open_totals_deleted AFTER DELETE ON holds REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION open_hold_totals_deleted();

-- Without statistics (a table no ANALYZE has seen: autovacuum off, or before its first run) the planner takes every
-- index for empty and costs them alike, and a read of holds by their ids (the idempotency lookup of every placement,
-- each hold's levels) went through holds_customer_idx on its tenant_id alone: every hold of the tenant read, and
-- the plan kept for the connection. Led by the customer, that index serves only reads that name one; a read by id
-- has the primary key alone.
DROP INDEX holds_customer_idx;
CREATE INDEX holds_customer_idx ON holds (customer_id, created_at);

-- The open holds of a customer by expiry: those past it are taken off the total; ingestion's read of a customer's
-- open holds uses its first two columns, as it used the index it replaces.
CREATE INDEX holds_open_expiry_idx ON holds (tenant_id, customer_id, expires_at) WHERE status = 'open';
DROP INDEX holds_open_idx;
