-- Tax (service/src/domains/tax): the tenant's tax profile and registrations, each customer's tax status and
-- location, and the tax every invoice and credit note carries (its treatment, components and parties, frozen at
-- finalization). A tenant without a tax profile charges no tax, as before.

CREATE TABLE tax_settings (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  -- The seller as printed on invoices.
  legal_name text NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 300),
  address text NOT NULL CHECK (length(address) BETWEEN 1 AND 1000),
  -- Where the tenant is established (origin): ISO 3166-1 country, and a region where it matters (CA province, IN state code).
  country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  region text CHECK (region ~ '^[A-Z0-9]{1,3}$'),
  -- Price books' amounts include tax (tax is extracted) or exclude it (tax is added).
  prices_include_tax boolean NOT NULL DEFAULT false,
  -- US sales tax through Stripe Tax's calculation API.
  stripe_tax boolean NOT NULL DEFAULT false,
  payment_terms_days integer NOT NULL DEFAULT 30 CHECK (payment_terms_days BETWEEN 0 AND 365),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);

-- Where the tenant collects tax: a country (DE, GB, AU, CA), a Canadian province's own tax (CA-QC), EU (the
-- One-Stop Shop), US (Stripe Tax), with its tax id there.
CREATE TABLE tax_registrations (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  jurisdiction text NOT NULL CHECK (jurisdiction ~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$'),
  tax_id text CHECK (length(tax_id) BETWEEN 1 AND 64),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, jurisdiction)
);

-- The customer's tax status (null: business when it has a tax id, else consumer), exemption reason, region
-- (province or state), postal address and code (Stripe Tax needs a US ZIP), and the last online check of its tax id (VIES or another registry)
-- when one answered: {status: valid|invalid, checked_at, source, name?}. Its absence never blocks billing.
ALTER TABLE customers
  ADD COLUMN tax_status text CHECK (tax_status IN ('business', 'consumer', 'exempt')),
  ADD COLUMN tax_exempt_reason text CHECK (length(tax_exempt_reason) BETWEEN 1 AND 500),
  ADD COLUMN region text CHECK (region ~ '^[A-Z0-9]{1,3}$'),
  ADD COLUMN address text CHECK (length(address) BETWEEN 1 AND 1000),
  ADD COLUMN postal_code text CHECK (length(postal_code) BETWEEN 1 AND 20),
  ADD COLUMN tax_id_check jsonb,
  ADD CONSTRAINT customers_exempt_reason CHECK ((tax_status = 'exempt') = (tax_exempt_reason IS NOT NULL));
GRANT UPDATE (tax_status, tax_exempt_reason, region, address, postal_code, tax_id_check) ON customers TO tariff_app;

-- An invoice's lines summed as priced (gross when prices include tax), its tax, and the tax's record: the rule,
-- legal basis, mention, rounding, components (tax, jurisdiction, rate, taxable, amount) and each line's share,
-- with the seller's and buyer's names, addresses and tax ids as they stood. total = (lines_total net of tax) + tax.
ALTER TABLE invoices
  ADD COLUMN lines_total numeric(38, 9),
  ADD COLUMN tax_amount numeric(38, 9) NOT NULL DEFAULT 0,
  ADD COLUMN tax jsonb;
GRANT UPDATE (lines_total, tax_amount, tax) ON invoices TO tariff_app;

ALTER TABLE credit_notes
  ADD COLUMN lines_total numeric(38, 9),
  ADD COLUMN tax_amount numeric(38, 9) NOT NULL DEFAULT 0,
  ADD COLUMN tax jsonb;

-- Finalized invoices stay immutable (008), their tax included.
CREATE OR REPLACE FUNCTION invoices_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'draft' THEN
    RETURN NEW;
  END IF;
  IF NEW.total IS DISTINCT FROM OLD.total OR NEW.total_exact IS DISTINCT FROM OLD.total_exact OR NEW.number IS DISTINCT FROM OLD.number
     OR NEW.sequence IS DISTINCT FROM OLD.sequence OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.finalized_at IS DISTINCT FROM OLD.finalized_at
     OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.lines_total IS DISTINCT FROM OLD.lines_total
     OR NEW.tax_amount IS DISTINCT FROM OLD.tax_amount OR NEW.tax IS DISTINCT FROM OLD.tax OR NOT (
       (OLD.status = 'finalized' AND NEW.status IN ('finalized', 'paid', 'void')) OR NEW.status = OLD.status) THEN
    RAISE EXCEPTION 'invoice % is % and cannot change', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

SELECT enable_tenant_isolation('tax_settings');
SELECT enable_tenant_isolation('tax_registrations');
GRANT SELECT, INSERT, UPDATE (legal_name, address, country, region, prices_include_tax, stripe_tax, payment_terms_days, updated_at) ON tax_settings TO tariff_app;
GRANT SELECT, INSERT, UPDATE (tax_id), DELETE ON tax_registrations TO tariff_app;

