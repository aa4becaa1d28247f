-- Budgets per customer and the alerts they fired: each threshold fires at most once per billing period.

CREATE TABLE budgets (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  -- Per billing period, in the customer's currency.
  amount numeric(38, 9) NOT NULL CHECK (amount > 0),
  -- alert: only alerts; block: the entitlement check refuses requests that would exceed it.
  enforcement text NOT NULL CHECK (enforcement IN ('alert', 'block')),
  -- Percentages of the amount, ascending.
  thresholds integer[] NOT NULL CHECK (cardinality(thresholds) BETWEEN 1 AND 10),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE budget_alerts (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  threshold integer NOT NULL,
  -- The budget and the period's spend when it fired.
  budget_amount numeric(38, 9) NOT NULL,
  spend numeric(38, 9) NOT NULL,
  fired_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, threshold),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start)
);

SELECT enable_tenant_isolation('budgets');
SELECT enable_tenant_isolation('budget_alerts');

GRANT SELECT, INSERT, UPDATE (amount, enforcement, thresholds, updated_at), DELETE ON budgets TO tariff_app;
-- Alerts are history: append-only.
GRANT SELECT, INSERT ON budget_alerts TO tariff_app;
