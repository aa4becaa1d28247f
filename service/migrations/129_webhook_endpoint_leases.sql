-- A delivery job leases its endpoint, not each delivery it takes: one row written per claimed batch instead of
-- every claimed delivery. Before, a claim locked each due delivery and moved its next_attempt_at to the lease, a
-- new row version (next_attempt_at is indexed, so not a HOT update) with an entry in each of the table's three
-- indexes, and the outcome then wrote the row again: PostgreSQL's work per delivery was about as large as the
-- sender's own. Now the job holding an endpoint's lease reads its due deliveries without writing them, in key
-- order after the last one it read, and writes each delivery once, with its outcome. A job that dies leaves the
-- lease to lapse; the deliveries it sent but never recorded are still due, and are sent again under their
-- webhook-ids by the next holder.
ALTER TABLE webhook_endpoints ADD COLUMN lease_holder uuid, ADD COLUMN lease_until timestamptz;
-- The lease is taken and renewed at every claim, and no index covers it: room on the page keeps those updates HOT.
ALTER TABLE webhook_endpoints SET (fillfactor = 50);
GRANT UPDATE (lease_holder, lease_until) ON webhook_endpoints TO tariff_app;

-- The dispatcher leaves out endpoints whose lease is held: their holder sends what is due, and continues itself
-- while a backlog remains.
CREATE OR REPLACE FUNCTION webhook_due_endpoints(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, endpoint_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT e.tenant_id, e.id FROM public.webhook_endpoints e
    CROSS JOIN LATERAL (
      SELECT d.next_attempt_at FROM public.webhook_deliveries d
      WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= p_now
      ORDER BY d.next_attempt_at
      LIMIT 1
    ) oldest
    WHERE e.enabled AND e.deleted_at IS NULL AND (e.lease_until IS NULL OR e.lease_until <= p_now)
    ORDER BY oldest.next_attempt_at
    LIMIT p_limit
  $$;
