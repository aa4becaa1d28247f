-- Accounts (issue 12 §3): tenants get a unique slug people log in with; email verification and password reset
-- by single-use hashed tokens, their mail in an outbox; an API key's powers capped by its creator's current
-- role; audit entries get random ids instead of exposing one sequence shared by every tenant.

-- Tenant slugs. Existing tenants get one from their name plus the first 8 hex digits of their id (unique).
ALTER TABLE tenants ADD COLUMN slug text;
-- The owner bypasses row-level security only while it is not forced; the backfill must see every tenant.
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
UPDATE tenants SET slug =
  coalesce(nullif(trim(both '-' from left(trim(both '-' from regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')), 30)), ''), 'tenant')
  || '-' || left(replace(tenant_id::text, '-', ''), 8);
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
-- Signup always names the slug; rows written without one (scripts, tests, older code) get a random one.
ALTER TABLE tenants ALTER COLUMN slug SET DEFAULT 'tenant-' || substr(md5(random()::text || clock_timestamp()::text), 1, 12);
ALTER TABLE tenants ALTER COLUMN slug SET NOT NULL;
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$');
-- Slugs are global (a login names one before any tenant is known), so this index has no tenant_id.
CREATE UNIQUE INDEX tenants_slug_unique ON tenants (slug);

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
GRANT UPDATE (email_verified_at) ON users TO tariff_app;

-- Tokens mailed to a user: email verification and password reset. Only their SHA-256 is stored.
CREATE TABLE user_tokens (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  token_hash bytea NOT NULL,
  -- The address the token was sent to: verifying proves this address, not whatever the user's is later.
  email text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_tokens_token_hash_idx ON user_tokens (token_hash);
SELECT enable_tenant_isolation('user_tokens');
GRANT SELECT, INSERT, UPDATE (used_at) ON user_tokens TO tariff_app;

-- Mail to send, written in the transaction that decides to send it; delivered after commit and retried by a
-- job. A delivered message's body (which may hold a token) is redacted.
CREATE TABLE email_outbox (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  sent_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX email_outbox_pending_idx ON email_outbox (created_at) WHERE sent_at IS NULL;
SELECT enable_tenant_isolation('email_outbox');
GRANT SELECT, INSERT, UPDATE (body, attempts, last_error, sent_at) ON email_outbox TO tariff_app;

-- Audit entries are named by a random id; the identity column stays as the private order of the log.
ALTER TABLE audit_log ADD COLUMN entry_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX audit_log_entry_id_idx ON audit_log (tenant_id, entry_id);

-- Login names the tenant by its slug; one user at most answers.
DROP FUNCTION auth_login_candidates(text);
CREATE FUNCTION auth_login_user(p_tenant_slug text, p_email text)
  RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text, role text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT u.tenant_id, u.id, u.password_hash, u.role
    FROM public.tenants t JOIN public.users u ON u.tenant_id = t.tenant_id
    WHERE t.slug = lower(p_tenant_slug) AND u.email = lower(p_email) AND u.disabled_at IS NULL
  $$;

-- The tenant and id of a mailed token, before any tenant is known; the service reads the rest in the tenant.
CREATE FUNCTION auth_user_token(p_token_hash bytea)
  RETURNS TABLE (tenant_id uuid, token_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT t.tenant_id, t.id FROM public.user_tokens t WHERE t.token_hash = p_token_hash
  $$;

-- Undelivered mail across tenants, for the delivery job: names only, the job reads each one in its tenant.
CREATE FUNCTION pending_emails(p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT o.tenant_id, o.id FROM public.email_outbox o
    WHERE o.sent_at IS NULL AND o.attempts < 10 ORDER BY o.created_at LIMIT p_limit
  $$;

-- An API key acts with the lowest of its own role, the roles of the keys that created it, and the current
-- role of the user at the root of that chain; a key whose root user is disabled (or gone) authenticates no
-- more. Publishable keys only read prices and are not tied to their creator.
CREATE OR REPLACE FUNCTION auth_api_key(p_key_hash bytea)
  RETURNS TABLE (tenant_id uuid, key_id uuid, kind text, role text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    WITH RECURSIVE chain (tenant_id, id, role, created_by, depth) AS (
      SELECT k.tenant_id, k.id, k.role, k.created_by, 0 FROM public.api_keys k
      WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND k.kind = 'secret'
      UNION ALL
      SELECT p.tenant_id, p.id, p.role, p.created_by, c.depth + 1
      FROM chain c JOIN public.api_keys p
        ON p.tenant_id = c.tenant_id
       AND p.id = CASE WHEN c.created_by LIKE 'api\_key:%' THEN substr(c.created_by, 9)::uuid END
      WHERE c.depth < 64
    ),
    root AS (SELECT c.tenant_id, c.created_by FROM chain c ORDER BY c.depth DESC LIMIT 1),
    creator AS (
      SELECT u.role FROM root r JOIN public.users u
        ON u.tenant_id = r.tenant_id
       AND u.id = CASE WHEN r.created_by LIKE 'user:%' THEN substr(r.created_by, 6)::uuid END
      WHERE u.disabled_at IS NULL
    ),
    ranks (ranked) AS (
      SELECT array_position(ARRAY['owner', 'admin', 'billing', 'viewer'], c.role) FROM chain c
      UNION ALL
      SELECT array_position(ARRAY['owner', 'admin', 'billing', 'viewer'], u.role) FROM creator u
    )
    SELECT k.tenant_id, k.id, k.kind, (ARRAY['owner', 'admin', 'billing', 'viewer'])[(SELECT max(ranked) FROM ranks)]
    FROM public.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND k.kind = 'secret' AND EXISTS (SELECT 1 FROM creator)
    UNION ALL
    SELECT k.tenant_id, k.id, k.kind, k.role FROM public.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND k.kind = 'publishable'
  $$;

REVOKE ALL ON FUNCTION auth_login_user(text, text), auth_user_token(bytea), pending_emails(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_user(text, text), auth_user_token(bytea), pending_emails(integer) TO tariff_app;

-- As in migration 002: an ordinary owner is subject to RLS, so it reads exactly what the functions read.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY auth_lookup ON tenants FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY auth_lookup ON user_tokens FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY auth_lookup ON email_outbox FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
