-- Invoices built at period close: draft (during the grace period) -> finalized (numbered per tenant without
-- gaps, immutable) -> paid | void. Lines keep their exact nano amount beside the amount rounded to the
-- currency's minor unit.

CREATE TABLE invoices (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  -- A finalized invoice whose total is zero is issued as a statement.
  kind text NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'statement')),
  status text NOT NULL CHECK (status IN ('draft', 'finalized', 'paid', 'void')),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- ISO 4217 exponent of the currency when the invoice was built.
  minor_unit smallint NOT NULL CHECK (minor_unit BETWEEN 0 AND 4),
  plan_code text,
  -- Sum of the rounded lines (= the exact sum rounded half-even to the minor unit), and the exact sum.
  total numeric(38, 9) NOT NULL,
  total_exact numeric(38, 9) NOT NULL,
  -- Per-tenant sequence, assigned at finalization.
  sequence bigint,
  number text,
  -- When the draft is finalized by the scheduler: the period's end plus the plan's grace.
  finalize_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  finalized_at timestamptz,
  paid_at timestamptz,
  voided_at timestamptz,
  void_reason text,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT invoices_period_unique UNIQUE (tenant_id, customer_id, period_start),
  CONSTRAINT invoices_sequence_unique UNIQUE (tenant_id, sequence),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start),
  CHECK ((status = 'draft') = (sequence IS NULL)),
  CHECK ((status = 'draft') = (finalized_at IS NULL))
);
CREATE INDEX invoices_due_idx ON invoices (finalize_at) WHERE status = 'draft';
CREATE INDEX invoices_customer_idx ON invoices (tenant_id, customer_id, period_start);

CREATE TABLE invoice_lines (
  tenant_id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  line integer NOT NULL CHECK (line >= 0),
  kind text NOT NULL CHECK (kind IN ('base_fee', 'usage', 'allowance', 'discount', 'commitment', 'credit', 'minimum_true_up')),
  description text NOT NULL,
  card text,
  dimension text,
  -- The events' grouping properties (model, gpu_type, region, availability_class) that are set.
  group_key jsonb,
  quantity numeric(38, 6),
  unit_price numeric(38, 9),
  -- unit_price is per this many units (tokens are priced per million).
  per numeric(38, 6),
  amount_exact numeric(38, 9) NOT NULL,
  amount numeric(38, 9) NOT NULL,
  grant_id uuid,
  event_count bigint,
  details jsonb,
  PRIMARY KEY (tenant_id, invoice_id, line),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

-- The last invoice number per tenant; incremented in the finalizing transaction, so a rollback leaves no gap.
CREATE TABLE invoice_sequences (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  last_number bigint NOT NULL,
  PRIMARY KEY (tenant_id)
);

-- Finalized invoices are immutable: after 'draft' only the status moves on (finalized -> paid | void) with its
-- timestamp, and lines of a non-draft invoice cannot change.
CREATE FUNCTION invoices_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'draft' THEN
    RETURN NEW;
  END IF;
  IF NEW.total IS DISTINCT FROM OLD.total OR NEW.total_exact IS DISTINCT FROM OLD.total_exact OR NEW.number IS DISTINCT FROM OLD.number
     OR NEW.sequence IS DISTINCT FROM OLD.sequence OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.finalized_at IS DISTINCT FROM OLD.finalized_at
     OR NEW.currency IS DISTINCT FROM OLD.currency OR NOT (
       (OLD.status = 'finalized' AND NEW.status IN ('finalized', 'paid', 'void')) OR NEW.status = OLD.status) THEN
    RAISE EXCEPTION 'invoice % is % and cannot change', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER invoices_guard BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_guard();

CREATE FUNCTION invoice_lines_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF (SELECT status FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id) <> 'draft' THEN
      RAISE EXCEPTION 'lines of invoice % cannot change after finalization', NEW.invoice_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF (SELECT status FROM invoices WHERE tenant_id = OLD.tenant_id AND id = OLD.invoice_id) <> 'draft' THEN
    RAISE EXCEPTION 'lines of invoice % cannot change after finalization', OLD.invoice_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER invoice_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();

SELECT enable_tenant_isolation('invoices');
SELECT enable_tenant_isolation('invoice_lines');
SELECT enable_tenant_isolation('invoice_sequences');

GRANT SELECT, INSERT, UPDATE (kind, status, total, total_exact, minor_unit, sequence, number, updated_at, finalized_at, paid_at, voided_at, void_reason)
  ON invoices TO tariff_app;
-- Draft lines are rebuilt (deleted and inserted); the guard refuses it once the invoice is finalized.
GRANT SELECT, INSERT, DELETE ON invoice_lines TO tariff_app;
GRANT SELECT, INSERT, UPDATE (last_number) ON invoice_sequences TO tariff_app;

-- The scheduler's scans (SECURITY DEFINER, keys only): periods that ended and have no invoice yet, and
-- drafts whose grace has run out.
CREATE OR REPLACE FUNCTION billing_due_periods(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, customer_id uuid, period_start timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT p.tenant_id, p.customer_id, p.period_start FROM public.customer_periods p
    WHERE p.status = 'open' AND p.period_end <= p_now
      AND NOT EXISTS (SELECT 1 FROM public.invoices i
                      WHERE i.tenant_id = p.tenant_id AND i.customer_id = p.customer_id AND i.period_start = p.period_start)
    ORDER BY p.period_end, p.tenant_id, p.customer_id
    LIMIT p_limit
  $$;

CREATE FUNCTION billing_due_invoices(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, invoice_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT i.tenant_id, i.id FROM public.invoices i
    WHERE i.status = 'draft' AND i.finalize_at <= p_now
    ORDER BY i.finalize_at, i.tenant_id, i.id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_invoices(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_invoices(timestamptz, integer) TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON invoices FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
