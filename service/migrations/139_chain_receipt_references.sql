-- events.chain and event_revisions.chain (domains/events/chain-codec.ts encodeChain): a reseller level whose receipt
-- equals one below it (the event's own, or a lower level's) stores that level's number in the receipt's place: 0
-- for the event's own receipt, k for the chain's k-th level (which holds its receipt). `chain_levels` gives back
-- migration 087's form, every receipt in place, for event_ratings to show; levels stored whole (087's arrays,
-- 082's objects) pass through unchanged.
CREATE FUNCTION chain_levels(c json, receipt json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN c IS NULL THEN NULL ELSE coalesce(
    (SELECT json_agg(CASE WHEN json_typeof(x.l) = 'array' AND json_typeof(x.l->11) = 'number' THEN json_build_array(
              x.l->0, x.l->1, x.l->2, x.l->3, x.l->4, x.l->5, x.l->6, x.l->7, x.l->8, x.l->9, x.l->10,
              CASE WHEN (x.l->>11)::int = 0 THEN receipt ELSE c->((x.l->>11)::int - 1)->11 END)
            ELSE x.l END ORDER BY x.n)
     FROM json_array_elements(c) WITH ORDINALITY AS x(l, n)),
    '[]'::json) END
$$;

CREATE OR REPLACE VIEW event_ratings WITH (security_invoker = true) AS
  SELECT tenant_id, transaction_id, 1 AS revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, received_at AS rated_at,
         chain_levels(chain, receipt) AS chain
  FROM events
  UNION ALL
  SELECT tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, rated_at,
         chain_levels(chain, receipt) AS chain
  FROM event_revisions;
