-- events.chain stored compactly (domains/events/chain-codec.ts encodeChain): each reseller level a positional
-- array `[customer_id, period_start, price_book_id, book_version, card, currency, amount, subtotal, net, cost,
-- credits_applied, receipt]` instead of an object repeating its twelve keys (receipt compact as before). `chain_json`
-- gives back the objects of migration 082, keys in that order and values untouched, so readers see the same JSON;
-- a level stored as an object (every event before this migration) passes through unchanged.
CREATE FUNCTION chain_level_json(l json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN json_typeof(l) <> 'array' THEN l ELSE json_build_object(
    'customer_id', l->0, 'period_start', l->1, 'price_book_id', l->2, 'book_version', l->3, 'card', l->4,
    'currency', l->5, 'amount', l->6, 'subtotal', l->7, 'net', l->8, 'cost', l->9, 'credits_applied', l->10,
    'receipt', l->11) END
$$;

CREATE FUNCTION chain_json(c json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN c IS NULL THEN NULL ELSE coalesce(
    (SELECT json_agg(chain_level_json(x.value) ORDER BY x.n) FROM json_array_elements(c) WITH ORDINALITY AS x(value, n)),
    '[]'::json) END
$$;
