-- Holds at every level of a reseller chain (issue 18): a hold placed for an end user sets aside the same amount at
-- each reseller above it, as a row of the reseller's own (same id, level 1, 2, ...). The check, the balance token
-- and ingestion count a reseller's open rows like its own holds; release, expiry and a final capture close every
-- level of a hold at once (they update by id). Captures record what each level was charged.

ALTER TABLE hold_captures DROP CONSTRAINT hold_captures_tenant_id_hold_id_fkey;
ALTER TABLE hold_captures DROP CONSTRAINT hold_captures_pkey;
ALTER TABLE holds DROP CONSTRAINT holds_pkey;

-- 0: the hold itself (its customer's); k >= 1: the k-th reseller above it.
ALTER TABLE holds ADD COLUMN level smallint NOT NULL DEFAULT 0 CHECK (level >= 0);
ALTER TABLE holds ADD CONSTRAINT holds_pkey PRIMARY KEY (tenant_id, id, level);

ALTER TABLE hold_captures ADD COLUMN level smallint NOT NULL DEFAULT 0;
ALTER TABLE hold_captures ADD PRIMARY KEY (tenant_id, hold_id, level, transaction_id);
ALTER TABLE hold_captures ADD FOREIGN KEY (tenant_id, hold_id, level) REFERENCES holds (tenant_id, id, level);

-- The scheduler expires a hold (every level with it) once: by its own row.
CREATE OR REPLACE FUNCTION billing_due_hold_expiries(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, hold_id text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT h.tenant_id, h.id FROM public.holds h
    WHERE h.status = 'open' AND h.expires_at <= p_now AND h.level = 0
    ORDER BY h.expires_at, h.tenant_id, h.id
    LIMIT p_limit
  $$;
