-- The saved card as Stripe describes it (brand and last four digits), kept beside the default payment method so
-- the portal and the dashboard can name it ("visa ending 4242") without asking Stripe on every page.
ALTER TABLE stripe_customers
  ADD COLUMN payment_method_brand text CHECK (length(payment_method_brand) BETWEEN 1 AND 40),
  ADD COLUMN payment_method_last4 text CHECK (payment_method_last4 ~ '^[0-9]{4}$');
GRANT UPDATE (payment_method_brand, payment_method_last4) ON stripe_customers TO tariff_app;
