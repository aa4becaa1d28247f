-- Customers, meters, price books (immutable versions) and customer -> price book assignments.

CREATE TABLE customers (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  -- The tenant's own identifier for the customer; events name customers by it.
  external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 255),
  name text,
  email text,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  country text CHECK (country ~ '^[A-Z]{2}$'),
  tax_id text,
  parent_id uuid,
  is_reseller boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT customers_external_id_unique UNIQUE (tenant_id, external_id),
  CONSTRAINT customers_parent_fk FOREIGN KEY (tenant_id, parent_id) REFERENCES customers (tenant_id, id),
  CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX customers_parent_idx ON customers (tenant_id, parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE meters (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'),
  name text NOT NULL,
  event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 200),
  aggregation text NOT NULL
    CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest', 'time_weighted_sum')),
  -- The event property aggregated; count needs none.
  property text,
  group_by text[] NOT NULL DEFAULT '{}',
  filters jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(filters) = 'array'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  archived_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT meters_code_unique UNIQUE (tenant_id, code),
  CHECK ((aggregation = 'count') = (property IS NULL))
);

CREATE TABLE price_books (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  -- The book's `id` in its JSON.
  code text NOT NULL CHECK (length(code) BETWEEN 1 AND 200),
  name text,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT price_books_code_unique UNIQUE (tenant_id, code)
);

-- One row per book version (schedule 'price') or cost version (schedule 'cost'): the kernel's BookVersion
-- JSON. Rows are never updated nor deleted (the service role has neither grant), so an event rated
-- against version n can always be re-rated against exactly the same prices.
CREATE TABLE price_book_versions (
  tenant_id uuid NOT NULL,
  price_book_id uuid NOT NULL,
  schedule text NOT NULL CHECK (schedule IN ('price', 'cost')),
  version integer NOT NULL CHECK (version >= 1),
  effective_from timestamptz NOT NULL,
  body jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, price_book_id, schedule, version),
  CONSTRAINT price_book_versions_effective_unique UNIQUE (tenant_id, price_book_id, schedule, effective_from),
  FOREIGN KEY (tenant_id, price_book_id) REFERENCES price_books (tenant_id, id)
);

-- Which book rates a customer's events from `effective_from` on; append-only like the versions.
CREATE TABLE customer_price_books (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  effective_from timestamptz NOT NULL,
  price_book_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, effective_from),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, price_book_id) REFERENCES price_books (tenant_id, id)
);

SELECT enable_tenant_isolation('customers');
SELECT enable_tenant_isolation('meters');
SELECT enable_tenant_isolation('price_books');
SELECT enable_tenant_isolation('price_book_versions');
SELECT enable_tenant_isolation('customer_price_books');

GRANT SELECT, INSERT, UPDATE (name, email, country, tax_id, parent_id, is_reseller, metadata, updated_at) ON customers TO tariff_app;
GRANT SELECT, INSERT, UPDATE (name, archived_at, updated_at) ON meters TO tariff_app;
GRANT SELECT, INSERT, UPDATE (name) ON price_books TO tariff_app;
GRANT SELECT, INSERT ON price_book_versions TO tariff_app;
GRANT SELECT, INSERT ON customer_price_books TO tariff_app;
