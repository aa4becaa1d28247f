-- The entitlement check answers from memory (service/src/domains/budgets/check-cache.ts). Every statement that
-- changes what it reads tells the writing session at once, before its commit: a NOTICE "tariff_check" whose detail
-- is the changed rows as they now are (credit grants, period spend, scoped spend; a customer only, for the other
-- tables and for deletions), the session's backend pid and transaction id. The writing service process applies
-- them when that transaction commits, before it answers. At commit, NOTIFY tariff_check names the customers
-- changed, so that every other listening process drops them.

CREATE FUNCTION check_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rows jsonb;
  customers text;
  header text := pg_backend_pid() || ' ' || pg_current_xact_id()::text;
BEGIN
  IF TG_OP = 'DELETE' OR TG_TABLE_NAME NOT IN ('customer_periods', 'credit_grants', 'scoped_spend') THEN
    IF TG_TABLE_NAME = 'customers' THEN
      SELECT jsonb_agg(DISTINCT jsonb_build_object('t', tenant_id, 'c', id)) INTO rows FROM changed;
    ELSE
      SELECT jsonb_agg(DISTINCT jsonb_build_object('t', tenant_id, 'c', customer_id)) INTO rows FROM changed;
    END IF;
  ELSIF TG_TABLE_NAME = 'customer_periods' THEN
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'period', jsonb_build_array(period_start, period_end, (amount + credits_applied)::text)))
    INTO rows FROM changed;
  ELSIF TG_TABLE_NAME = 'credit_grants' THEN
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'grant',
                     jsonb_build_array(id, status, balance::text, effective_at, expires_at, scope_cards, scope_event_types)))
    INTO rows FROM changed;
  ELSE
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'scoped', jsonb_build_array(period_start, scope_kind, scope_value, spend::text)))
    INTO rows FROM changed;
  END IF;
  IF rows IS NULL THEN
    RETURN NULL;
  END IF;
  -- Set-based maintenance (thousands of rows): the tenants only, whose every customer is dropped.
  IF jsonb_array_length(rows) > 1000 THEN
    SELECT jsonb_agg(DISTINCT jsonb_build_object('t', r->>'t')) INTO rows FROM jsonb_array_elements(rows) r;
  END IF;
  RAISE NOTICE USING MESSAGE = 'tariff_check', DETAIL = header || ' ' || rows::text;
  -- A NOTIFY payload holds under 8000 bytes: past that, the tenants changed (every customer of theirs).
  SELECT string_agg(DISTINCT (r->>'t') || ':' || coalesce(r->>'c', '*'), ' ') INTO customers FROM jsonb_array_elements(rows) r;
  IF length(customers) > 7000 THEN
    SELECT string_agg(DISTINCT (r->>'t') || ':*', ' ') INTO customers FROM jsonb_array_elements(rows) r;
    IF length(customers) > 7000 THEN
      customers := '*';
    END IF;
  END IF;
  PERFORM pg_notify('tariff_check', header || ' ' || customers);
  RETURN NULL;
END
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['customers', 'customer_wallets', 'budgets', 'scoped_budgets', 'customer_periods', 'credit_grants', 'scoped_spend'] LOOP
    -- A trigger with transition tables fires on one event only.
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed()', t || '_check_inserted', t);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed()', t || '_check_updated', t);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed()', t || '_check_deleted', t);
  END LOOP;
END
$$;
