-- Progressive billing (plans' thresholds; threshold invoices issued mid-period and deducted at period end),
-- advance notice of credit expiry (recorded notifications, once per grant), and SLA credits an operator issues
-- for a preempted GPU job (an invoice line with its reason).

-- Usage amounts (what the period's rated events leave to bill, after credits) at which a running period is
-- invoiced early, ascending.
ALTER TABLE plans ADD COLUMN progressive_thresholds numeric(38, 9)[] NOT NULL DEFAULT '{}'
  CHECK (cardinality(progressive_thresholds) <= 20);

-- A period has one period-end invoice and any number of threshold invoices (one per threshold at most).
ALTER TABLE invoices ADD COLUMN billing_reason text NOT NULL DEFAULT 'period_end' CHECK (billing_reason IN ('period_end', 'threshold'));
ALTER TABLE invoices ADD COLUMN threshold numeric(38, 9);
ALTER TABLE invoices ADD CONSTRAINT invoices_threshold_check CHECK ((billing_reason = 'threshold') = (threshold IS NOT NULL));
ALTER TABLE invoices DROP CONSTRAINT invoices_period_unique;
CREATE UNIQUE INDEX invoices_period_end_unique ON invoices (tenant_id, customer_id, period_start) WHERE billing_reason = 'period_end';
CREATE UNIQUE INDEX invoices_threshold_unique ON invoices (tenant_id, customer_id, period_start, threshold) WHERE billing_reason = 'threshold' AND status <> 'void';

ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_kind_check;
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_kind_check
  CHECK (kind IN ('base_fee', 'usage', 'allowance', 'discount', 'commitment', 'credit', 'minimum_true_up', 'sla_credit', 'progressive_billing'));

-- The period-close scan counts period-end invoices only.
CREATE OR REPLACE FUNCTION billing_due_periods(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, customer_id uuid, period_start timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT p.tenant_id, p.customer_id, p.period_start FROM public.customer_periods p
    WHERE p.status = 'open' AND p.period_end <= p_now
      AND NOT EXISTS (SELECT 1 FROM public.invoices i
                      WHERE i.tenant_id = p.tenant_id AND i.customer_id = p.customer_id AND i.period_start = p.period_start
                        AND i.billing_reason = 'period_end')
    ORDER BY p.period_end, p.tenant_id, p.customer_id
    LIMIT p_limit
  $$;

-- Running subscription periods whose amount has reached a threshold of the plan that no threshold invoice of
-- the period covers yet (keys only, across tenants: the billing tick's scan).
CREATE FUNCTION billing_due_thresholds(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, customer_id uuid, period_start timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT p.tenant_id, p.customer_id, p.period_start
    FROM public.customer_periods p
    JOIN public.subscriptions s ON s.tenant_id = p.tenant_id AND s.customer_id = p.customer_id AND s.status = 'active'
    JOIN public.plans pl ON pl.tenant_id = s.tenant_id AND pl.id = s.plan_id
    WHERE p.status = 'open' AND p.period_end > p_now AND p.period_start >= s.started_at
      AND cardinality(pl.progressive_thresholds) > 0
      AND p.amount >= pl.progressive_thresholds[1]
      AND EXISTS (SELECT 1 FROM unnest(pl.progressive_thresholds) t(amount)
                  WHERE t.amount <= p.amount
                    AND NOT EXISTS (SELECT 1 FROM public.invoices i
                                    WHERE i.tenant_id = p.tenant_id AND i.customer_id = p.customer_id AND i.period_start = p.period_start
                                      AND i.billing_reason = 'threshold' AND i.status <> 'void' AND i.threshold >= t.amount))
    ORDER BY p.period_end, p.tenant_id, p.customer_id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_thresholds(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_thresholds(timestamptz, integer) TO tariff_app;

-- Expiry notice: days before expires_at, per grant; else the tenant's setting; else 7.
ALTER TABLE credit_grants ADD COLUMN expiry_notice_days integer CHECK (expiry_notice_days BETWEEN 0 AND 365);

CREATE TABLE billing_settings (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  credit_expiry_notice_days integer NOT NULL CHECK (credit_expiry_notice_days BETWEEN 0 AND 365),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);

-- What happened that the tenant's systems should hear about, recorded once per (type, subject): the outbox
-- that webhook delivery will read. Append-only for the service.
CREATE TABLE notifications (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  type text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  customer_id uuid,
  -- What it is about (a grant id, ...): with type, fires once.
  subject_id text NOT NULL,
  payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  created_at timestamptz NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT notifications_once UNIQUE (tenant_id, type, subject_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX notifications_list_idx ON notifications (tenant_id, seq);

CREATE FUNCTION billing_due_expiry_notices(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, grant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT g.tenant_id, g.id FROM public.credit_grants g
    LEFT JOIN public.billing_settings s ON s.tenant_id = g.tenant_id
    WHERE g.status = 'active' AND g.balance > 0 AND g.expires_at > p_now
      AND g.expires_at - make_interval(days => coalesce(g.expiry_notice_days, s.credit_expiry_notice_days, 7)) <= p_now
      AND NOT EXISTS (SELECT 1 FROM public.notifications n
                      WHERE n.tenant_id = g.tenant_id AND n.type = 'credit_grant.expiring' AND n.subject_id = g.id::text)
    ORDER BY g.expires_at, g.tenant_id, g.id
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION billing_due_expiry_notices(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_expiry_notices(timestamptz, integer) TO tariff_app;

-- SLA credits: an operator credits a preempted GPU job; the amount is computed from the job's charge and the
-- credit is a line (with its reason) on the invoice of the job's period. Once per event.
CREATE TABLE sla_credits (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  customer_id uuid NOT NULL,
  transaction_id text NOT NULL,
  period_start timestamptz NOT NULL,
  -- Percentage of the job's charge (net of the negotiated discount) credited.
  percent numeric(10, 7) NOT NULL CHECK (percent > 0 AND percent <= 100),
  charge numeric(38, 9) NOT NULL CHECK (charge >= 0),
  amount numeric(38, 9) NOT NULL CHECK (amount >= 0),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT sla_credits_once UNIQUE (tenant_id, transaction_id),
  FOREIGN KEY (tenant_id, transaction_id) REFERENCES events (tenant_id, transaction_id),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start)
);

SELECT enable_tenant_isolation('billing_settings');
SELECT enable_tenant_isolation('notifications');
SELECT enable_tenant_isolation('sla_credits');

GRANT SELECT, INSERT, UPDATE (credit_expiry_notice_days, updated_at) ON billing_settings TO tariff_app;
GRANT SELECT, INSERT ON notifications TO tariff_app;
GRANT SELECT, INSERT ON sla_credits TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON subscriptions FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON plans FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON billing_settings FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON notifications FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
