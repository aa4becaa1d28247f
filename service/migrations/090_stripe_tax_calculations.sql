-- Stripe Tax calculations made before an invoice's finalization, outside its transaction (no lock is held across a
-- network call): the finalization uses the stored result when the invoice still asks the same (its fingerprint:
-- currency, lines, tax behaviour, address), and otherwise waits for the next billing tick to calculate again.
-- `subject` is the invoice's id.
CREATE TABLE stripe_tax_calculations (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  subject text NOT NULL,
  fingerprint text NOT NULL,
  calculation_id text NOT NULL,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, subject)
);
SELECT enable_tenant_isolation('stripe_tax_calculations');
GRANT SELECT, INSERT, UPDATE (fingerprint, calculation_id, result, created_at) ON stripe_tax_calculations TO tariff_app;
