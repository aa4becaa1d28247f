-- Per-tenant HMAC keys that sign pricing-snapshot tokens and price quotes (domains/quotes/signing.ts). A key is
-- created on first use and never changes or goes away (a quote signed with it stays verifiable until it
-- expires); rotation adds a newer key_id, and the newest one signs.
CREATE TABLE signing_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  key_id text NOT NULL CHECK (key_id ~ '^[a-z0-9_]{1,40}$'),
  secret bytea NOT NULL CHECK (length(secret) = 32),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key_id)
);

SELECT enable_tenant_isolation('signing_keys');

GRANT SELECT, INSERT ON signing_keys TO tariff_app;
