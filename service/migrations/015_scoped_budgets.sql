-- Budgets scoped to one API key or one project tag of a customer: the spend ingestion attributes to each scope
-- per period (events sent with the key; events whose `project` property is the tag), and the alerts they fire,
-- each threshold once per period.

CREATE TABLE scoped_budgets (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  customer_id uuid NOT NULL,
  scope_kind text NOT NULL CHECK (scope_kind IN ('api_key', 'project')),
  -- The API key's id, or the project tag.
  scope_value text NOT NULL CHECK (length(scope_value) BETWEEN 1 AND 200),
  amount numeric(38, 9) NOT NULL CHECK (amount > 0),
  enforcement text NOT NULL CHECK (enforcement IN ('alert', 'block')),
  thresholds integer[] NOT NULL CHECK (cardinality(thresholds) BETWEEN 1 AND 10),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT scoped_budgets_scope_unique UNIQUE (tenant_id, customer_id, scope_kind, scope_value),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- Spend per customer, period and scope: usage net of discounts, whoever pays it (as a customer budget counts).
CREATE TABLE scoped_spend (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  scope_kind text NOT NULL CHECK (scope_kind IN ('api_key', 'project')),
  scope_value text NOT NULL,
  spend numeric(38, 9) NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, scope_kind, scope_value),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start)
);

-- Keyed by scope, not by budget: a budget removed and set again does not fire a threshold twice in a period.
CREATE TABLE scoped_budget_alerts (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  scope_kind text NOT NULL,
  scope_value text NOT NULL,
  threshold integer NOT NULL,
  budget_amount numeric(38, 9) NOT NULL,
  spend numeric(38, 9) NOT NULL,
  fired_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, scope_kind, scope_value, threshold),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start)
);

SELECT enable_tenant_isolation('scoped_budgets');
SELECT enable_tenant_isolation('scoped_spend');
SELECT enable_tenant_isolation('scoped_budget_alerts');

GRANT SELECT, INSERT, UPDATE (amount, enforcement, thresholds, updated_at), DELETE ON scoped_budgets TO tariff_app;
GRANT SELECT, INSERT, UPDATE (spend, updated_at) ON scoped_spend TO tariff_app;
-- Alerts are history: append-only.
GRANT SELECT, INSERT ON scoped_budget_alerts TO tariff_app;
