-- Re-rating through reseller chains (domains/reratings): a revision of an end user's event carries its reseller
-- levels as re-rated, in the form of `events.chain` (migration 082), so the latest revision of an event has the
-- chain that bills it. Null for an event with no reseller level.
ALTER TABLE event_revisions ADD COLUMN chain json;

-- event_ratings gains the chain of each rating (revision 1: the event's own).
CREATE OR REPLACE VIEW event_ratings WITH (security_invoker = true) AS
  SELECT tenant_id, transaction_id, 1 AS revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, received_at AS rated_at, chain
  FROM events
  UNION ALL
  SELECT tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, rated_at, chain
  FROM event_revisions;
