-- The dispatcher's read of which endpoints have deliveries due, once a second: one probe of the endpoint's due
-- index per enabled endpoint instead of grouping every due delivery (038's version read the whole backlog, all
-- 100,000 rows of a large one, every second while it drained).
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
    WHERE e.enabled AND e.deleted_at IS NULL
    ORDER BY oldest.next_attempt_at
    LIMIT p_limit
  $$;

-- A delivery job claims an endpoint's due deliveries in key order and resumes after the last one it claimed:
-- the entries it already claimed (moved to their lease, or sent) stay in the index as dead entries until vacuum,
-- and a claim from the start would step over all of them again, every claim of a large backlog.
CREATE INDEX webhook_deliveries_endpoint_due_key_idx ON webhook_deliveries (tenant_id, endpoint_id, next_attempt_at, message_id) WHERE status = 'pending';
DROP INDEX webhook_deliveries_endpoint_due_idx;
