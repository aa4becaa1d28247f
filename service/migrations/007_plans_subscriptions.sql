-- Plans (base fee, interval, price book, included allowances, minimum spend, invoice grace), subscriptions that
-- tie a customer to a plan from an instant, and what the period-close scheduler may read across tenants.

CREATE TABLE plans (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  price_book_id uuid NOT NULL,
  -- Per full period, billed in arrears at period close, prorated by the second for partial periods.
  base_fee numeric(38, 9) NOT NULL CHECK (base_fee >= 0),
  billing_interval text NOT NULL CHECK (billing_interval IN ('month', 'year')),
  -- Allowance pool -> units included per period (the price book's charges draw these pools).
  allowances jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(allowances) = 'object'),
  -- Usage net of discounts below this per period is trued up at close (prorated like the base fee).
  minimum_spend numeric(38, 9) CHECK (minimum_spend > 0),
  -- After a period ends its invoice stays a draft this long, and late events still land in the period.
  invoice_grace_seconds integer NOT NULL CHECK (invoice_grace_seconds BETWEEN 0 AND 2592000),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  archived_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT plans_code_unique UNIQUE (tenant_id, code),
  FOREIGN KEY (tenant_id, price_book_id) REFERENCES price_books (tenant_id, id)
);

CREATE TABLE subscriptions (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  customer_id uuid NOT NULL,
  plan_id uuid NOT NULL,
  -- Whole seconds: the first period runs from here to the first anchor boundary after it.
  started_at timestamptz NOT NULL CHECK (started_at = date_trunc('second', started_at)),
  -- Periods start at 00:00 UTC on this day of the month (clamped to the month's last day)...
  anchor_day smallint NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
  -- ...and, for yearly plans, of this month.
  anchor_month smallint CHECK (anchor_month BETWEEN 1 AND 12),
  -- Negotiated percentage off every event's subtotal (the kernel's discount step).
  discount_percent numeric(10, 7) NOT NULL DEFAULT 0 CHECK (discount_percent >= 0 AND discount_percent <= 100),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active')),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);
-- One subscription per customer until amendments and cancellations exist.
CREATE UNIQUE INDEX subscriptions_customer_unique ON subscriptions (tenant_id, customer_id);

-- The scheduler's scan: open periods by end.
CREATE INDEX customer_periods_due_idx ON customer_periods (period_end) WHERE status = 'open';
GRANT UPDATE (status) ON customer_periods TO tariff_app;

SELECT enable_tenant_isolation('plans');
SELECT enable_tenant_isolation('subscriptions');

GRANT SELECT, INSERT, UPDATE (name, archived_at) ON plans TO tariff_app;
GRANT SELECT, INSERT ON subscriptions TO tariff_app;

-- Periods whose end has passed and which are still open: the period-close scheduler runs before any tenant is
-- known, so like authentication it reads through a SECURITY DEFINER function returning only the keys.
CREATE FUNCTION billing_due_periods(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, customer_id uuid, period_start timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT p.tenant_id, p.customer_id, p.period_start FROM public.customer_periods p
    WHERE p.status = 'open' AND p.period_end <= p_now
    ORDER BY p.period_end, p.tenant_id, p.customer_id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_periods(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_periods(timestamptz, integer) TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON customer_periods FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
