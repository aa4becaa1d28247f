-- Tenants, their users, dashboard sessions, API keys and the audit log.

CREATE TABLE tenants (
  tenant_id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL
);

CREATE TABLE users (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  name text,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'viewer')),
  created_at timestamptz NOT NULL,
  disabled_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT users_email_unique UNIQUE (tenant_id, email)
);
-- Login looks a user up by email before the tenant is known; an email may belong to several tenants.
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE sessions (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  user_id uuid NOT NULL,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- Not UNIQUE: a unique index without tenant_id cannot be distributed (Citus); 256-bit random tokens do not collide.
CREATE INDEX sessions_token_hash_idx ON sessions (token_hash);

CREATE TABLE api_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('secret', 'publishable')),
  -- Secret keys act with a role; publishable keys only read price books and estimate.
  role text CHECK (role IN ('admin', 'billing', 'viewer')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- The first characters of the key, to tell keys apart in lists; the key itself is never stored.
  key_prefix text NOT NULL,
  key_hash bytea NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK ((kind = 'secret') = (role IS NOT NULL))
);
CREATE INDEX api_keys_key_hash_idx ON api_keys (key_hash);

CREATE TABLE audit_log (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id bigint GENERATED ALWAYS AS IDENTITY,
  at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
  actor_id text NOT NULL,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id text NOT NULL,
  before jsonb,
  after jsonb,
  request_id text,
  PRIMARY KEY (tenant_id, id)
);

SELECT enable_tenant_isolation('tenants');
SELECT enable_tenant_isolation('users');
SELECT enable_tenant_isolation('sessions');
SELECT enable_tenant_isolation('api_keys');
SELECT enable_tenant_isolation('audit_log');

GRANT SELECT, INSERT, UPDATE (name) ON tenants TO tariff_app;
GRANT SELECT, INSERT, UPDATE (name, role, password_hash, disabled_at) ON users TO tariff_app;
GRANT SELECT, INSERT, UPDATE (revoked_at) ON sessions TO tariff_app;
GRANT SELECT, INSERT, UPDATE (name, revoked_at) ON api_keys TO tariff_app;
-- The audit log is append-only for the service.
GRANT SELECT, INSERT ON audit_log TO tariff_app;

-- Authentication happens before the tenant is known. These functions are the only way the service role
-- reads across tenants: each returns the few columns needed to resolve one credential, never a listing.
CREATE FUNCTION auth_api_key(p_key_hash bytea)
  RETURNS TABLE (tenant_id uuid, key_id uuid, kind text, role text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT k.tenant_id, k.id, k.kind, k.role FROM public.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
  $$;

CREATE FUNCTION auth_session(p_token_hash bytea, p_now timestamptz)
  RETURNS TABLE (tenant_id uuid, session_id uuid, user_id uuid, role text, email text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT s.tenant_id, s.id, u.id, u.role, u.email
    FROM public.sessions s JOIN public.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
    WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > p_now AND u.disabled_at IS NULL
  $$;

CREATE FUNCTION auth_login_candidates(p_email text)
  RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text, role text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT u.tenant_id, u.id, u.password_hash, u.role FROM public.users u
    WHERE u.email = lower(p_email) AND u.disabled_at IS NULL
  $$;

REVOKE ALL ON FUNCTION auth_api_key(bytea), auth_session(bytea, timestamptz), auth_login_candidates(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key(bytea), auth_session(bytea, timestamptz), auth_login_candidates(text) TO tariff_app;

-- The functions run as their owner. A superuser owner is not subject to RLS; an ordinary owner is (FORCE),
-- so it gets read access to exactly the tables the functions read.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY auth_lookup ON api_keys FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY auth_lookup ON sessions FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY auth_lookup ON users FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
