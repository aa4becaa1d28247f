-- The customer portal's brand: the tenant's own (customer_id null) and a reseller's for its subtree
-- (domains/portal). A customer's portal shows the brand of its nearest reseller ancestor that has one, else
-- the tenant's, else the tenant's name.
CREATE TABLE portal_brands (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  customer_id uuid,
  display_name text CHECK (length(display_name) BETWEEN 1 AND 200),
  -- An https URL of the logo image.
  logo_url text CHECK (length(logo_url) BETWEEN 1 AND 2048),
  -- #rrggbb.
  accent_color text CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE UNIQUE INDEX portal_brands_owner_idx ON portal_brands (tenant_id, customer_id) NULLS NOT DISTINCT;

SELECT enable_tenant_isolation('portal_brands');
GRANT SELECT, INSERT, UPDATE (display_name, logo_url, accent_color, updated_at) ON portal_brands TO tariff_app;
