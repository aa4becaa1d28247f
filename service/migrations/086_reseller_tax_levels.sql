-- Tax, logo and breakdowns per reseller level (issue 17). A reseller issuing its children's invoices is their
-- seller for tax too: where it is registered to collect (as tax_registrations is for the tenant), its origin's
-- region (the country is reseller_brands.country) and whether its prices include tax. Its logo is stored as the
-- uploaded bytes (pdfkit cannot fetch a URL), once per content, so an issued invoice keeps the logo it was issued
-- with by naming its digest.
ALTER TABLE reseller_brands
  ADD COLUMN region text CHECK (region ~ '^[A-Z0-9]{1,3}$'),
  -- [{"jurisdiction": "DE", "tax_id": "DE136695976"}, {"jurisdiction": "EU", "tax_id": null}, ...]
  ADD COLUMN tax_registrations jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tax_registrations) = 'array'),
  ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false,
  ADD COLUMN logo_digest text;
GRANT UPDATE (region, tax_registrations, prices_include_tax, logo_digest) ON reseller_brands TO tariff_app;

CREATE TABLE brand_logos (
  tenant_id uuid NOT NULL,
  -- sha256 of the bytes, hex.
  digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  customer_id uuid NOT NULL,
  media_type text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg')),
  bytes bytea NOT NULL CHECK (length(bytes) BETWEEN 1 AND 262144),
  width integer NOT NULL CHECK (width > 0),
  height integer NOT NULL CHECK (height > 0),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, digest),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
SELECT enable_tenant_isolation('brand_logos');
-- Written as reseller_brands is (below a subtree's root); read by any session of the tenant, since it is printed on
-- the invoices of every level (a reseller's own invoice from its reseller parent shows the parent's logo).
DROP POLICY subtree_read ON brand_logos;
CREATE POLICY subtree_read ON brand_logos AS RESTRICTIVE FOR SELECT USING (true);
GRANT SELECT, INSERT ON brand_logos TO tariff_app;
ALTER TABLE reseller_brands
  ADD CONSTRAINT reseller_brands_logo_fk FOREIGN KEY (tenant_id, logo_digest) REFERENCES brand_logos (tenant_id, digest);

-- A threshold invoice's by-child breakdown, frozen when it is issued (chain_daily keeps growing after it).
ALTER TABLE invoices ADD COLUMN breakdown jsonb;
GRANT UPDATE (breakdown) ON invoices TO tariff_app;
