-- Usage events (raw, append-only), their rated lines, per-customer billing periods with the kernel's state,
-- and usage aggregates per meter, group and day, all written in the transaction that acknowledges the events.

CREATE TABLE customer_periods (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL CHECK (period_end > period_start),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  -- The kernel's CustomerState after the last event rated in the period (counters, allowances, credits...).
  state jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(state) = 'object'),
  -- Sum of the rated amounts of the period's events, in the currency of the books that rated them.
  amount numeric(38, 9) NOT NULL DEFAULT 0,
  event_count bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- The primary key is the deduplication index: one transaction_id per tenant, across all time.
CREATE TABLE events (
  tenant_id uuid NOT NULL,
  transaction_id text NOT NULL,
  customer_id uuid NOT NULL,
  event_type text NOT NULL,
  -- Millisecond precision, as the kernel reads instants: replaying the row gives the kernel the same input.
  occurred_at timestamptz NOT NULL,
  properties jsonb NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, transaction_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX events_customer_time_idx ON events (tenant_id, customer_id, occurred_at);

-- What the kernel said about an event. Re-rating appends a revision; nothing is rewritten.
CREATE TABLE rated_lines (
  tenant_id uuid NOT NULL,
  transaction_id text NOT NULL,
  revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  price_book_id uuid NOT NULL,
  -- effective_from of the book version that rated the event, and the kernel build that did it.
  book_version timestamptz NOT NULL,
  kernel_version text NOT NULL,
  card text NOT NULL,
  currency text NOT NULL,
  amount numeric(38, 9) NOT NULL,
  subtotal numeric(38, 9) NOT NULL,
  cost numeric(38, 9),
  margin numeric(38, 9),
  receipt jsonb NOT NULL,
  rated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, transaction_id, revision),
  FOREIGN KEY (tenant_id, transaction_id) REFERENCES events (tenant_id, transaction_id),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start),
  FOREIGN KEY (tenant_id, price_book_id) REFERENCES price_books (tenant_id, id)
);

CREATE TABLE usage_aggregates (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  meter_id uuid NOT NULL,
  -- UTC day of the events.
  day date NOT NULL,
  -- The meter's group_by properties and their values, e.g. {"model": "gpt-4o"} (null when absent).
  group_key jsonb NOT NULL,
  event_count bigint NOT NULL,
  value_sum numeric,
  value_max numeric,
  latest_value numeric,
  latest_at timestamptz,
  -- Rated amount of the events counted here.
  amount numeric(38, 9) NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, meter_id, day, group_key),
  FOREIGN KEY (tenant_id, customer_id, period_start) REFERENCES customer_periods (tenant_id, customer_id, period_start),
  FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

-- Distinct values seen by unique_count meters.
CREATE TABLE usage_unique_values (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  meter_id uuid NOT NULL,
  day date NOT NULL,
  group_key jsonb NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, meter_id, day, group_key, value),
  FOREIGN KEY (tenant_id, customer_id, period_start, meter_id, day, group_key)
    REFERENCES usage_aggregates (tenant_id, customer_id, period_start, meter_id, day, group_key)
);

SELECT enable_tenant_isolation('customer_periods');
SELECT enable_tenant_isolation('events');
SELECT enable_tenant_isolation('rated_lines');
SELECT enable_tenant_isolation('usage_aggregates');
SELECT enable_tenant_isolation('usage_unique_values');

GRANT SELECT, INSERT, UPDATE (state, amount, event_count, updated_at) ON customer_periods TO tariff_app;
-- Raw events and rated lines are append-only for the service.
GRANT SELECT, INSERT ON events TO tariff_app;
GRANT SELECT, INSERT ON rated_lines TO tariff_app;
GRANT SELECT, INSERT, UPDATE (event_count, value_sum, value_max, latest_value, latest_at, amount) ON usage_aggregates TO tariff_app;
GRANT SELECT, INSERT ON usage_unique_values TO tariff_app;
