-- Usage per meter shows the charge before credits (gross) beside the amount left to bill (net, `amount`).
-- Rows written before this migration did not record the credit they drew: their gross starts as their net.
ALTER TABLE usage_aggregates ADD COLUMN gross_amount numeric(38, 9);
UPDATE usage_aggregates SET gross_amount = amount;
ALTER TABLE usage_aggregates ALTER COLUMN gross_amount SET NOT NULL;
GRANT UPDATE (gross_amount) ON usage_aggregates TO tariff_app;
