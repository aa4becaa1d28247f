-- Reseller brands as issuers of their children's invoices (domains/brands). A reseller's visual brand (display
-- name, logo, accent) stays in portal_brands (migration 055); this is what makes it a seller: legal name and
-- address, tax ids, its own invoice numbering, the currency its new children default to, the reply-to of its
-- mail and the Stripe account (Connect) its children pay into.
CREATE TABLE reseller_brands (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  legal_name text CHECK (length(legal_name) BETWEEN 1 AND 300),
  address text CHECK (length(address) BETWEEN 1 AND 1000),
  country text CHECK (country ~ '^[A-Z]{2}$'),
  -- [{"jurisdiction": "DE", "tax_id": "DE123456789"}, ...]
  tax_ids jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tax_ids) = 'array'),
  -- Printed before the reseller's sequence number: PREFIX-000001.
  invoice_prefix text NOT NULL DEFAULT 'INV' CHECK (invoice_prefix ~ '^[A-Z0-9][A-Z0-9_]{0,11}$'),
  currency text CHECK (currency ~ '^[A-Z]{3}$'),
  reply_to text CHECK (length(reply_to) BETWEEN 3 AND 320),
  stripe_account text CHECK (stripe_account ~ '^acct_[A-Za-z0-9]{1,250}$'),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
SELECT enable_tenant_isolation('reseller_brands');
GRANT SELECT, INSERT, UPDATE (legal_name, address, country, tax_ids, invoice_prefix, currency, reply_to, stripe_account, updated_at)
  ON reseller_brands TO tariff_app;

-- The last invoice and credit note numbers a reseller issued; as invoice_sequences and credit_note_sequences,
-- taken in the issuing transaction (gapless).
CREATE TABLE reseller_sequences (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  document text NOT NULL CHECK (document IN ('invoice', 'credit_note')),
  last_number bigint NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, document),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
SELECT enable_tenant_isolation('reseller_sequences');
GRANT SELECT, INSERT, UPDATE (last_number) ON reseller_sequences TO tariff_app;

-- Who issued a finalized invoice: null, the tenant; else the reseller (the customer's reseller parent at
-- finalization), with `issuer` the seller as printed (its brand frozen then, so a later change of the brand does
-- not rewrite an issued invoice). `sequence` is per issuer from now on.
ALTER TABLE invoices ADD COLUMN issuer_id uuid, ADD COLUMN issuer jsonb,
  ADD CONSTRAINT invoices_issuer_fk FOREIGN KEY (tenant_id, issuer_id) REFERENCES customers (tenant_id, id),
  ADD CHECK ((issuer_id IS NULL) = (issuer IS NULL));
ALTER TABLE invoices DROP CONSTRAINT invoices_sequence_unique;
CREATE UNIQUE INDEX invoices_tenant_sequence_idx ON invoices (tenant_id, sequence) WHERE issuer_id IS NULL;
CREATE UNIQUE INDEX invoices_issuer_sequence_idx ON invoices (tenant_id, issuer_id, sequence) WHERE issuer_id IS NOT NULL;
GRANT UPDATE (issuer_id, issuer) ON invoices TO tariff_app;

-- The issuer is set with the number, and like it never changes afterwards.
CREATE FUNCTION invoices_issuer_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'draft' AND (NEW.issuer_id IS DISTINCT FROM OLD.issuer_id OR NEW.issuer IS DISTINCT FROM OLD.issuer) THEN
    RAISE EXCEPTION 'invoice % is % and its issuer cannot change', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER invoices_issuer_guard BEFORE UPDATE OF issuer_id, issuer ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_issuer_guard();

-- A credit note is issued by its invoice's issuer, numbered from that issuer's credit note sequence.
ALTER TABLE credit_notes ADD COLUMN issuer_id uuid,
  ADD CONSTRAINT credit_notes_issuer_fk FOREIGN KEY (tenant_id, issuer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_sequence_unique;
CREATE UNIQUE INDEX credit_notes_tenant_sequence_idx ON credit_notes (tenant_id, sequence) WHERE issuer_id IS NULL;
CREATE UNIQUE INDEX credit_notes_issuer_sequence_idx ON credit_notes (tenant_id, issuer_id, sequence) WHERE issuer_id IS NOT NULL;
