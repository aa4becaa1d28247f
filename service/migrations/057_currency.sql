-- Currencies (service/src/domains/currency): the tenant's reporting currency and conversion policy, its dated FX
-- rates, and on invoices the conversion used (`fx`) and why finalization waits (`fx_blocked`).

CREATE TABLE currency_settings (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  reporting_currency text NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
  -- Which instant's rate converts an invoice: each event's time, the period's end, or the finalization.
  fx_policy text NOT NULL CHECK (fx_policy IN ('event', 'period_end', 'finalization')),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);

-- 1 base = rate quote, in force from as_of until the pair's next rate. Supplied by the tenant (API or an ECB
-- reference-rate file); one rate per pair and instant (a later supply of the same instant replaces it: the
-- invoices that used the old one keep their copy in invoices.fx).
CREATE TABLE fx_rates (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  base text NOT NULL CHECK (base ~ '^[A-Z]{3}$'),
  quote text NOT NULL CHECK (quote ~ '^[A-Z]{3}$' AND quote <> base),
  as_of timestamptz NOT NULL,
  rate numeric NOT NULL CHECK (rate > 0),
  source text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, base, quote, as_of)
);

SELECT enable_tenant_isolation('currency_settings');
SELECT enable_tenant_isolation('fx_rates');
GRANT SELECT, INSERT, UPDATE (reporting_currency, fx_policy, updated_at) ON currency_settings TO tariff_app;
GRANT SELECT, INSERT, UPDATE (rate, source, updated_at) ON fx_rates TO tariff_app;

-- A draft of a customer billed in another currency than its books' is in the books' currency until it can be
-- converted; then `currency` is the customer's and `fx` the conversion ({from, to, rate, source, as_of, policy}).
ALTER TABLE invoices ADD COLUMN fx jsonb;
-- The missing rate a due draft waits for ({code, from, to, at}); cleared when it is finalized.
ALTER TABLE invoices ADD COLUMN fx_blocked jsonb;
GRANT UPDATE (currency, fx, fx_blocked) ON invoices TO tariff_app;

-- The conversion is part of what a finalized invoice says: it cannot change afterwards either.
CREATE FUNCTION invoices_fx_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'draft' AND NEW.fx IS DISTINCT FROM OLD.fx THEN
    RAISE EXCEPTION 'the conversion of invoice % is final', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER invoices_fx_guard BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_fx_guard();

-- A grant given in the customer's billing currency for books in another currency is held in the books'
-- currency, converted when granted: the conversion it was given at ({from, to, rate, source, as_of, amount}).
ALTER TABLE credit_grants ADD COLUMN fx jsonb;
