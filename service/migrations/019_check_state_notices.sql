-- The entitlement check answers from memory (service/src/domains/budgets/check-cache.ts). Every statement that
-- changes what it reads tells the writing session at once, before its commit: a NOTICE "tariff_check" whose detail
-- is the changed rows as they now are (credit grants, period spend, scoped spend; a customer only, for the other
-- tables and for deletions), the session's backend pid and transaction id. The writing service process applies
-- them when that transaction commits, before it answers. At commit, NOTIFY tariff_check names the customers
-- changed, so that every other listening process drops them.

-- Each row the check holds carries a version. Two transactions
-- writing the same row run one after the other (the row lock), but their notices can reach the service in the
-- other order (pipelined COMMITs, sockets read as they come). Every insert or update of a row the check holds
-- takes the next number of one sequence, after its row lock: the later writer's is the greater, so memory keeps
-- a row's image only when it is newer than the one it holds, and a read from the database carries them too.

CREATE SEQUENCE check_state_version;
GRANT USAGE ON SEQUENCE check_state_version TO tariff_app;

ALTER TABLE customer_periods ADD COLUMN check_version bigint NOT NULL DEFAULT 0;
ALTER TABLE credit_grants ADD COLUMN check_version bigint NOT NULL DEFAULT 0;
ALTER TABLE scoped_spend ADD COLUMN check_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION check_state_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.check_version := nextval('check_state_version');
  RETURN NEW;
END
$$;

CREATE TRIGGER customer_periods_check_version BEFORE INSERT OR UPDATE ON customer_periods FOR EACH ROW EXECUTE FUNCTION check_state_row_version();
CREATE TRIGGER credit_grants_check_version BEFORE INSERT OR UPDATE ON credit_grants FOR EACH ROW EXECUTE FUNCTION check_state_row_version();
CREATE TRIGGER scoped_spend_check_version BEFORE INSERT OR UPDATE ON scoped_spend FOR EACH ROW EXECUTE FUNCTION check_state_row_version();

-- The notices' rows carry their version (the last element of each row's array).

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
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'period', jsonb_build_array(period_start, period_end, (amount + credits_applied)::text, check_version)))
    INTO rows FROM changed;
  ELSIF TG_TABLE_NAME = 'credit_grants' THEN
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'grant',
                     jsonb_build_array(id, status, balance::text, effective_at, expires_at, scope_cards, scope_event_types, check_version)))
    INTO rows FROM changed;
  ELSE
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'scoped', jsonb_build_array(period_start, scope_kind, scope_value, spend::text, check_version)))
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
