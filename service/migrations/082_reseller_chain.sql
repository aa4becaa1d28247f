-- Reseller chains (domains/events, domains/resellers). An end user's event is rated in one kernel pass against
-- every book up its reseller chain; level 0 is the end user's own charge, stored in the event row as before.
--
-- `events.chain`: levels 1..n (the reseller ancestors), one JSON object each, in order:
--   {"customer_id", "period_start", "price_book_id", "book_version", "card", "currency", "amount", "subtotal", "net", "cost",
--    "credits_applied", "receipt"} (receipt compact, as events.receipt). Null for a customer with no reseller.
ALTER TABLE events ADD COLUMN chain json;

-- What each reseller level bought from its parent and resold to its child, per day: the margin reports and the
-- reseller invoice's breakdown by child read this, never the raw events. One row per (level customer, its
-- billing period, UTC day, direct child on the path, end user, card at this level).
--   charge: this level's net price (before credits) for the events, what `customer_id` pays its parent;
--   resale: the level below's net price, what `child_id` paid `customer_id`;
--   billed: this level's amount left to bill after its credits.
CREATE TABLE chain_daily (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  day date NOT NULL,
  child_id uuid NOT NULL,
  end_customer_id uuid NOT NULL,
  level smallint NOT NULL CHECK (level >= 1),
  card text NOT NULL,
  currency text NOT NULL,
  events bigint NOT NULL,
  charge numeric(38, 9) NOT NULL,
  resale numeric(38, 9) NOT NULL,
  billed numeric(38, 9) NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, period_start, day, child_id, end_customer_id, card)
);
CREATE INDEX chain_daily_day_idx ON chain_daily (tenant_id, day);
CREATE INDEX chain_daily_customer_day_idx ON chain_daily (tenant_id, customer_id, day);
SELECT enable_tenant_isolation('chain_daily');
GRANT SELECT, INSERT, UPDATE (events, charge, resale, billed) ON chain_daily TO tariff_app;
