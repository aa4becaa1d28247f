-- Spend holds (issue 18): an amount set aside from a customer's available balance and budget while a request runs,
-- captured by the usage events that carry its id, released, or expired by the scheduler. A hold is an
-- authorisation, not money movement: nothing of it reaches the ledger; the events that capture it do.

CREATE TABLE holds (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  -- Chosen by the caller: every operation on a hold is idempotent by it.
  id text NOT NULL CHECK (length(id) BETWEEN 1 AND 255),
  customer_id uuid NOT NULL,
  currency text NOT NULL,
  -- What is set aside, and what the events carrying the hold's id charged so far (before credits).
  amount numeric NOT NULL CHECK (amount > 0),
  captured numeric NOT NULL DEFAULT 0 CHECK (captured >= 0),
  capture_count integer NOT NULL DEFAULT 0,
  -- open: counts against the balance and budget until expires_at; captured: closed by a final capture;
  -- released: closed by a call (or a final capture of nothing); expired: closed by the scheduler.
  status text NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
  -- What a capture beyond the hold does: charge it (subject to the customer's limits) or refuse the event.
  overrun text NOT NULL CHECK (overrun IN ('charge', 'refuse')),
  -- The event-shaped estimate the amount was priced from (null when the caller gave an amount), with its card.
  estimate jsonb,
  card text,
  -- sha256 of the placing request: the same id with another request is a conflict, not a second hold.
  request_hash text NOT NULL,
  api_key_id uuid,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  closed_at timestamptz,
  check_version bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX holds_open_idx ON holds (tenant_id, customer_id) WHERE status = 'open';
CREATE INDEX holds_customer_idx ON holds (tenant_id, customer_id, created_at);
CREATE INDEX holds_expiry_idx ON holds (expires_at) WHERE status = 'open';

-- Each event that captured a hold, with what it charged: append-only.
CREATE TABLE hold_captures (
  tenant_id uuid NOT NULL,
  hold_id text NOT NULL,
  transaction_id text NOT NULL,
  amount numeric NOT NULL,
  final boolean NOT NULL,
  captured_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, hold_id, transaction_id),
  FOREIGN KEY (tenant_id, hold_id) REFERENCES holds (tenant_id, id)
);

SELECT enable_tenant_isolation('holds');
SELECT enable_tenant_isolation('hold_captures');

GRANT SELECT, INSERT, UPDATE (amount, captured, capture_count, status, expires_at, updated_at, closed_at) ON holds TO tariff_app;
GRANT SELECT, INSERT ON hold_captures TO tariff_app;

-- The scheduler's one cross-tenant read: open holds past their expiry.
CREATE FUNCTION billing_due_hold_expiries(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, hold_id text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT h.tenant_id, h.id FROM public.holds h
    WHERE h.status = 'open' AND h.expires_at <= p_now
    ORDER BY h.expires_at, h.tenant_id, h.id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_hold_expiries(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_hold_expiries(timestamptz, integer) TO tariff_app;

-- The entitlement check counts open holds (budgets/check-cache.ts): their rows are images in its notices, like
-- grants, versioned the same way (migration 019).
CREATE TRIGGER holds_check_version BEFORE INSERT OR UPDATE ON holds FOR EACH ROW EXECUTE FUNCTION check_state_row_version();

CREATE OR REPLACE FUNCTION check_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rows jsonb;
  customers text;
  header text := pg_backend_pid() || ' ' || pg_current_xact_id()::text;
BEGIN
  IF TG_OP = 'DELETE' OR TG_TABLE_NAME NOT IN ('customer_periods', 'credit_grants', 'scoped_spend', 'holds') THEN
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
  ELSIF TG_TABLE_NAME = 'holds' THEN
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'hold',
                     jsonb_build_array(id, status, greatest(amount - captured, 0)::text, expires_at, check_version)))
    INTO rows FROM changed;
  ELSE
    SELECT jsonb_agg(jsonb_build_object('t', tenant_id, 'c', customer_id, 'scoped', jsonb_build_array(period_start, scope_kind, scope_value, spend::text, check_version)))
    INTO rows FROM changed;
  END IF;
  IF rows IS NULL THEN
    RETURN NULL;
  END IF;
  IF jsonb_array_length(rows) > 1000 THEN
    SELECT jsonb_agg(DISTINCT jsonb_build_object('t', r->>'t')) INTO rows FROM jsonb_array_elements(rows) r;
  END IF;
  RAISE NOTICE USING MESSAGE = 'tariff_check', DETAIL = header || ' ' || rows::text;
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

CREATE TRIGGER holds_check_inserted AFTER INSERT ON holds REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed();
CREATE TRIGGER holds_check_updated AFTER UPDATE ON holds REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed();

-- Ed25519 key pairs per tenant that sign balance tokens (holds/token.ts): the public half is published
-- (GET /v1/balance_token_keys) so a gateway verifies a token without any secret of the tenant.
CREATE TABLE balance_token_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  key_id text NOT NULL CHECK (key_id ~ '^[a-z0-9_]{1,40}$'),
  -- PKCS#8 DER of the private key, SPKI DER of the public key.
  private_key bytea NOT NULL,
  public_key bytea NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key_id)
);
SELECT enable_tenant_isolation('balance_token_keys');
GRANT SELECT, INSERT ON balance_token_keys TO tariff_app;
