-- Placing holds (issue 18) paid, per insert statement, more in triggers than in the insert itself: a row trigger
-- stamping each row's check version, a foreign key check per row against tenants, and two statement triggers, each
-- a function call reading the new rows (the open totals of migration 114, the check's notice of migration 065,
-- whose generic function then parsed its own JSON again to name the customers). The same work, in fewer steps:

-- The customer's foreign key already implies the tenant's (customers reference tenants).
ALTER TABLE holds DROP CONSTRAINT holds_tenant_id_fkey;

-- A new row's version is the column's default: the next number of the same sequence, taken as the row is formed.
-- No other writer can hold the row before it exists, so every later update (which still takes the next number
-- after its row lock, migration 019) stamps a greater one. The service may not choose the column on insert.
ALTER TABLE holds ALTER COLUMN check_version SET DEFAULT nextval('check_state_version');
DROP TRIGGER holds_check_version ON holds;
CREATE TRIGGER holds_check_version BEFORE UPDATE ON holds FOR EACH ROW EXECUTE FUNCTION check_state_row_version();
REVOKE INSERT ON holds FROM tariff_app;
GRANT INSERT (tenant_id, id, level, customer_id, currency, amount, captured, capture_count, status, overrun, estimate,
  card, request_hash, api_key_id, expires_at, created_at, updated_at, closed_at) ON holds TO tariff_app;

-- One statement trigger for inserts: the open totals (as open_hold_totals_apply does), then the check's notice and
-- NOTIFY, exactly as check_state_changed words them for holds, with the customers named in the same read of the rows.
CREATE FUNCTION holds_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rows jsonb;
  customers text;
  row_count bigint;
  header text := pg_backend_pid() || ' ' || pg_current_xact_id()::text;
BEGIN
  INSERT INTO open_hold_totals AS t (tenant_id, customer_id, held)
  SELECT n.tenant_id, n.customer_id, sum(greatest(n.amount - n.captured, 0)) FROM new_rows n WHERE n.status = 'open'
  GROUP BY n.tenant_id, n.customer_id ORDER BY n.tenant_id, n.customer_id
  ON CONFLICT (tenant_id, customer_id) DO UPDATE SET held = t.held + excluded.held;

  SELECT jsonb_agg(jsonb_build_object('t', n.tenant_id, 'c', n.customer_id, 'hold',
           jsonb_build_array(n.id, n.status, greatest(n.amount - n.captured, 0)::text, n.expires_at, n.check_version))),
         string_agg(DISTINCT n.tenant_id::text || ':' || n.customer_id::text, ' '),
         count(*)
  INTO rows, customers, row_count FROM new_rows n;
  IF row_count = 0 THEN
    RETURN NULL;
  END IF;
  IF row_count > 1000 THEN
    SELECT jsonb_agg(DISTINCT jsonb_build_object('t', n.tenant_id)), string_agg(DISTINCT n.tenant_id::text || ':*', ' ')
    INTO rows, customers FROM new_rows n;
  END IF;
  RAISE NOTICE USING MESSAGE = 'tariff_check', DETAIL = header || ' ' || rows::text;
  IF length(customers) > 7000 THEN
    SELECT string_agg(DISTINCT n.tenant_id::text || ':*', ' ') INTO customers FROM new_rows n;
    IF length(customers) > 7000 THEN
      customers := '*';
    END IF;
  END IF;
  PERFORM pg_notify('tariff_check', header || ' ' || customers);
  RETURN NULL;
END
$$;

DROP TRIGGER holds_check_inserted ON holds;
DROP TRIGGER holds_open_totals_inserted ON holds;
CREATE TRIGGER holds_inserted AFTER INSERT ON holds REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION holds_inserted();
