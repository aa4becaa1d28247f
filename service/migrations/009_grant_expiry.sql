-- Credit expiry: the scheduler finds active grants whose expiry has passed (across tenants, keys only), and a
-- job ends each one, writing what was left to the ledger.
CREATE INDEX credit_grants_expiry_idx ON credit_grants (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;

CREATE FUNCTION billing_due_grant_expiries(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, grant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT g.tenant_id, g.id FROM public.credit_grants g
    WHERE g.status = 'active' AND g.expires_at <= p_now
    ORDER BY g.expires_at, g.tenant_id, g.id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_grant_expiries(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_grant_expiries(timestamptz, integer) TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON credit_grants FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
