-- The lines' guard (migration 018) joined the invoices a statement wrote lines for to the tenant's invoices, and the
-- planner could take the tenant's invoices as the outer side: while invoices has no useful statistics (analyzed
-- nearly empty, every index led by tenant_id is estimated at a few rows), a nested loop over every non-draft invoice
-- of the tenant, each compared with every distinct invoice written (a close's batch of 500 invoices after 2,000
-- finalized ones: 1,000,000 comparisons, growing with each batch). Planning on each run (EXECUTE) did not help:
-- the estimate is the same every time. Each written invoice's status is now read by its key, a probe per
-- distinct invoice whatever the estimates.
CREATE OR REPLACE FUNCTION invoice_lines_guard_written() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  final uuid;
BEGIN
  -- Still planned on each run: a plan made while invoices was a page or two could probe it by a scan.
  EXECUTE 'SELECT w.invoice_id FROM (SELECT DISTINCT tenant_id, invoice_id FROM written) w
           WHERE (SELECT i.status FROM invoices i WHERE i.tenant_id = w.tenant_id AND i.id = w.invoice_id) <> ''draft''
           LIMIT 1' INTO final;
  IF final IS NOT NULL THEN
    RAISE EXCEPTION 'lines of invoice % cannot change after finalization', final USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;
