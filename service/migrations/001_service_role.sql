-- The role the service connects as. It owns nothing and cannot bypass row-level security, so every query it
-- runs is filtered by the policies below. Roles are cluster-wide: several databases on one server (tests)
-- share it, and two of them may create it at the same moment.
DO $$
BEGIN
  CREATE ROLE tariff_app LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

DO $$
BEGIN
  IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = 'tariff_app') THEN
    RAISE EXCEPTION 'role tariff_app must not be a superuser nor have BYPASSRLS';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tariff_app;

-- The tenant of the current transaction, set by the service with set_config('app.tenant_id', $1, true).
-- NULL when unset or reset (a pooled connection keeps the setting defined but empty after a transaction),
-- so a policy comparing with it matches no row.
CREATE FUNCTION app_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- Enables and forces row-level security on a tenant table with the one tenant policy.
CREATE FUNCTION enable_tenant_isolation(table_name regclass) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())',
    table_name);
END
$$;
