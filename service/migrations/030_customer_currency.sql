-- A customer's currency may change while nothing is billed in it yet (no invoices, no price book or credit in
-- another currency: customers/service.ts checks), so the service may update that column too.
GRANT UPDATE (currency) ON customers TO tariff_app;
