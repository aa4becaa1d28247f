-- Subscription amendments: new terms (plan, included allowances, discount) from an instant inside the current
-- billing period. The period is split there: the part before keeps the old terms and is invoiced on them, the
-- part after is a new period on the new terms (each base fee prorated by the second).

CREATE TABLE subscription_amendments (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  subscription_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  -- Whole seconds, like a subscription's start.
  effective_at timestamptz NOT NULL CHECK (effective_at = date_trunc('second', effective_at)),
  plan_id uuid NOT NULL,
  -- Allowance pool -> units included per period, replacing the plan's; null: the plan's.
  allowances jsonb CHECK (allowances IS NULL OR jsonb_typeof(allowances) = 'object'),
  discount_percent numeric(10, 7) NOT NULL CHECK (discount_percent >= 0 AND discount_percent <= 100),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT subscription_amendments_instant_unique UNIQUE (tenant_id, customer_id, effective_at),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);

SELECT enable_tenant_isolation('subscription_amendments');
-- Amendments are history: a later one supersedes, none is changed.
GRANT SELECT, INSERT ON subscription_amendments TO tariff_app;
-- The amendment ends the running period at its instant (the only change of a period's bounds).
GRANT UPDATE (period_end) ON customer_periods TO tariff_app;
