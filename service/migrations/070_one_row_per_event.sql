-- One row per acknowledged event: the raw event and its first rating together in `events`; a re-rating appends a
-- row to `event_revisions` (what was `rated_lines`, now revisions 2 and up only). Before, every acknowledged event
-- wrote two rows (an event and its rated line) with two primary-key indexes; now it writes one.
--
-- Why a revision table and not revision rows in `events`: the events primary key (tenant_id, transaction_id) is the
-- deduplication index forever, and a revision number in it would need a second unique index on every insert; the
-- raw event would also be copied into each revision. Re-ratings are rare, acknowledgements are not.
--
-- Receipts are stored compactly (service/src/domains/events/receipts.ts): each kernel step as a positional array
-- `[code, value, ...]` instead of an object with its keys. `receipt_json` below decodes them back to the kernel's
-- objects, keys in the kernel's order and values as they were (numbers stay numbers, decimal strings stay
-- strings), so every reader sees the same JSON as before. A step the encoder has no code for (and every receipt
-- stored before this migration) stays a full object, which `receipt_json` passes through unchanged.

CREATE FUNCTION receipt_step_json(s json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN json_typeof(s) <> 'array' THEN s ELSE CASE s->>0
    WHEN 'o' THEN json_build_object('step', 'outcome', 'outcome', s->1, 'note', s->2)
    WHEN 'v' THEN json_build_object('step', 'variant', 'variant', s->1)
    WHEN 'q' THEN json_build_object('step', 'quantity', 'charge', s->1, 'dimension', s->2, 'quantity', s->3)
    WHEN 'n' THEN json_build_object('step', 'minimum', 'charge', s->1, 'minimum', s->2)
    WHEN 'm' THEN json_build_object('step', 'modifier', 'charge', s->1, 'source', s->2, 'multiplier', s->3)
    WHEN 'a' THEN json_build_object('step', 'allowance', 'charge', s->1, 'pool', s->2, 'covered', s->3, 'remaining', s->4)
    WHEN 't' THEN json_build_object('step', 'tier', 'charge', s->1, 'tier', s->2, 'quantity', s->3, 'rate', s->4)
    WHEN 'p' THEN json_build_object('step', 'price', 'charge', s->1, 'model', s->2, 'quantity', s->3, 'rate', s->4, 'per', s->5, 'amount', s->6)
    WHEN 'd' THEN json_build_object('step', 'discount', 'percent', s->1, 'amount', s->2)
    WHEN 'c' THEN json_build_object('step', 'commitment', 'mode', 'prepaid', 'amount', s->1, 'remaining', s->2)
    WHEN 'C' THEN json_build_object('step', 'commitment', 'mode', 'postpaid', 'amount', s->1, 'consumed', s->2)
    WHEN 'g' THEN json_build_object('step', 'credit', 'grant', s->1, 'kind', s->2, 'amount', s->3, 'balance', s->4)
    WHEN 'Q' THEN json_build_object('step', 'quote', 'quote', s->1, 'quoted_amount', s->2, 'book_version', s->3, 'expires_at', s->4)
  END END
$$;

CREATE FUNCTION receipt_json(r json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce((SELECT json_agg(receipt_step_json(s.value) ORDER BY s.n) FROM json_array_elements(r) WITH ORDINALITY AS s(value, n)), '[]'::json)
$$;

ALTER TABLE events
  ADD COLUMN period_start timestamptz,
  ADD COLUMN price_book_id uuid,
  -- effective_from of the book version that rated the event, and the kernel build that did it.
  ADD COLUMN book_version timestamptz,
  ADD COLUMN kernel_version text,
  ADD COLUMN card text,
  ADD COLUMN currency text,
  ADD COLUMN amount numeric(38, 9),
  ADD COLUMN subtotal numeric(38, 9),
  ADD COLUMN cost numeric(38, 9),
  ADD COLUMN margin numeric(38, 9),
  -- Compact (see above); read it through receipt_json or the event_ratings view.
  ADD COLUMN receipt json;

-- The first rating was written in the transaction that stored the event, stamped with the same instant.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM rated_lines l JOIN events e USING (tenant_id, transaction_id) WHERE l.revision = 1 AND l.rated_at <> e.received_at) THEN
    RAISE EXCEPTION 'a first rated line rated at another instant than its event was received: 070 would lose its rated_at';
  END IF;
END $$;

UPDATE events e SET period_start = l.period_start, price_book_id = l.price_book_id, book_version = l.book_version,
  kernel_version = l.kernel_version, card = l.card, currency = l.currency, amount = l.amount, subtotal = l.subtotal,
  cost = l.cost, margin = l.margin, receipt = l.receipt
FROM rated_lines l
WHERE l.tenant_id = e.tenant_id AND l.transaction_id = e.transaction_id AND l.revision = 1;

ALTER TABLE events
  ALTER COLUMN period_start SET NOT NULL,
  ALTER COLUMN price_book_id SET NOT NULL,
  ALTER COLUMN book_version SET NOT NULL,
  ALTER COLUMN kernel_version SET NOT NULL,
  ALTER COLUMN card SET NOT NULL,
  ALTER COLUMN currency SET NOT NULL,
  ALTER COLUMN amount SET NOT NULL,
  ALTER COLUMN subtotal SET NOT NULL,
  ALTER COLUMN receipt SET NOT NULL;

DELETE FROM rated_lines WHERE revision = 1;
ALTER TABLE rated_lines RENAME TO event_revisions;
ALTER INDEX rated_lines_pkey RENAME TO event_revisions_pkey;
ALTER TABLE event_revisions ADD CONSTRAINT event_revisions_revision_check2 CHECK (revision >= 2);
ALTER TABLE event_revisions ALTER COLUMN revision DROP DEFAULT;

-- Every rating of every event, its receipt decoded: revision 1 from the event's row, later ones from
-- event_revisions. Row-level security applies as on the tables (security_invoker).
CREATE VIEW event_ratings WITH (security_invoker = true) AS
  SELECT tenant_id, transaction_id, 1 AS revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, received_at AS rated_at
  FROM events
  UNION ALL
  SELECT tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version, card,
         currency, amount, subtotal, cost, margin, receipt_json(receipt) AS receipt, rated_at
  FROM event_revisions;

GRANT SELECT ON event_ratings TO tariff_app;
