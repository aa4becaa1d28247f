-- Stripe Connect events (issue 13): resellers collect through their own Stripe accounts, connected to the
-- tenant's platform account; Stripe sends those accounts' events (each naming its `account`) to the platform's
-- Connect endpoint, signed with that endpoint's own secret. The tenant's connection keeps it sealed beside the
-- account endpoint's, and each recorded event keeps the connected account it came from.
ALTER TABLE stripe_connections ADD COLUMN connect_webhook_secret_sealed text;
ALTER TABLE stripe_events ADD COLUMN account text;
GRANT UPDATE (connect_webhook_secret_sealed) ON stripe_connections TO tariff_app;
-- Which reseller a connected account's event belongs to: the brand that collects through it.
CREATE INDEX reseller_brands_stripe_account_idx ON reseller_brands (tenant_id, stripe_account) WHERE stripe_account IS NOT NULL;
