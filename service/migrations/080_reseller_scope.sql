-- Reseller scoping (service/docs/subtree-scoping.md): reseller-owned price books, subtree API keys, and
-- RESTRICTIVE policies that confine a session with `app.subtree_root` set to that customer's subtree.

-- Every customer's ancestors, root first, itself last: a subtree test is `path @> ARRAY[root]` (GIN-indexed).
-- Kept by the triggers below on insert and re-parenting, never written by the service (no grant).
ALTER TABLE customers ADD COLUMN path uuid[];
WITH RECURSIVE tree (tenant_id, id, path) AS (
  SELECT tenant_id, id, ARRAY[id] FROM customers WHERE parent_id IS NULL
  UNION ALL
  SELECT c.tenant_id, c.id, t.path || c.id
  FROM customers c JOIN tree t ON c.tenant_id = t.tenant_id AND c.parent_id = t.id
)
UPDATE customers c SET path = t.path FROM tree t WHERE c.tenant_id = t.tenant_id AND c.id = t.id;
ALTER TABLE customers ALTER COLUMN path SET NOT NULL;
ALTER TABLE customers ADD CONSTRAINT customers_path_ends_with_self CHECK (path[array_upper(path, 1)] = id);
CREATE INDEX customers_path_idx ON customers USING gin (path);

CREATE FUNCTION customers_set_path() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  parent_path uuid[];
BEGIN
  IF NEW.parent_id IS NULL THEN
    NEW.path := ARRAY[NEW.id];
    RETURN NEW;
  END IF;
  SELECT p.path INTO parent_path FROM customers p WHERE p.tenant_id = NEW.tenant_id AND p.id = NEW.parent_id;
  IF parent_path IS NULL THEN
    RAISE EXCEPTION 'parent % of customer % is not visible', NEW.parent_id, NEW.id USING ERRCODE = '23503';
  END IF;
  IF NEW.id = ANY (parent_path) THEN
    RAISE EXCEPTION 'customer % cannot be its own ancestor', NEW.id USING ERRCODE = '23514';
  END IF;
  NEW.path := parent_path || NEW.id;
  RETURN NEW;
END
$$;

-- Re-parenting moves the whole subtree: every descendant's path gets the customer's new prefix. Runs as the
-- owner, since the service role has no UPDATE on `path`; the policies still apply (FORCE), with the caller's
-- settings, so a subtree session can only move customers it may change.
CREATE FUNCTION customers_move_subtree() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF NEW.path IS DISTINCT FROM OLD.path THEN
    UPDATE public.customers c
    SET path = NEW.path || c.path[array_length(OLD.path, 1) + 1:]
    WHERE c.tenant_id = NEW.tenant_id AND c.path @> ARRAY[NEW.id] AND c.id <> NEW.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER customers_set_path BEFORE INSERT OR UPDATE OF parent_id ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_set_path();
CREATE TRIGGER customers_move_subtree AFTER UPDATE OF parent_id ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_move_subtree();

-- A reseller's books: null owner = the tenant's.
ALTER TABLE price_books ADD COLUMN owner_customer_id uuid;
ALTER TABLE price_books
  ADD CONSTRAINT price_books_owner_fk FOREIGN KEY (tenant_id, owner_customer_id) REFERENCES customers (tenant_id, id);
CREATE INDEX price_books_owner_idx ON price_books (tenant_id, owner_customer_id) WHERE owner_customer_id IS NOT NULL;

-- A subtree key (and a subtree user of the dashboard) acts for one reseller and its descendants only.
ALTER TABLE api_keys ADD COLUMN scope_customer_id uuid;
ALTER TABLE api_keys
  ADD CONSTRAINT api_keys_scope_fk FOREIGN KEY (tenant_id, scope_customer_id) REFERENCES customers (tenant_id, id);
ALTER TABLE users ADD COLUMN scope_customer_id uuid;
ALTER TABLE users
  ADD CONSTRAINT users_scope_fk FOREIGN KEY (tenant_id, scope_customer_id) REFERENCES customers (tenant_id, id);

-- The subtree root of the current transaction, set by the service next to app.tenant_id
-- (set_config('app.subtree_root', $1, true)); NULL for a tenant-wide session.
CREATE FUNCTION app_subtree_root() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.subtree_root', true), '')::uuid $$;

-- The ids of the subtree (the root included). Policies call it inside a scalar subquery, an InitPlan: once per
-- statement, and only in a subtree session (the `IS NULL` arm before it answers for a tenant session).
CREATE FUNCTION app_subtree_customers() RETURNS uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(array_agg(c.id), '{}') FROM public.customers c
    WHERE c.tenant_id = app_tenant_id() AND c.path @> ARRAY[app_subtree_root()]
  $$;

-- The books assigned to the subtree's customers (the root's own included). A function, not a subquery in the
-- policy: customer_price_books' own policies read price_books, and a policy may not expand into itself.
CREATE FUNCTION app_subtree_books() RETURNS uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(array_agg(DISTINCT a.price_book_id), '{}') FROM public.customer_price_books a
    WHERE a.tenant_id = app_tenant_id() AND a.customer_id = ANY (app_subtree_customers())
  $$;

-- The restrictive policies, per kind of table. Every expression starts with `(SELECT app_subtree_root()) IS NULL`:
-- an InitPlan evaluated once per statement, so a tenant session pays one parameter test per row, no call.
--   readable: a subtree session may read the row when `condition` holds;
--   writable: it may insert, update or delete it when `write_condition` holds (null: never).
CREATE FUNCTION enable_subtree_scope(table_name regclass, condition text, write_condition text) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  tenant_session constant text := '(SELECT app_subtree_root()) IS NULL';
  readable text := format('%s OR (%s)', tenant_session, coalesce(condition, 'false'));
  writable text := format('%s OR (%s)', tenant_session, coalesce(write_condition, 'false'));
BEGIN
  EXECUTE format('CREATE POLICY subtree_read ON %s AS RESTRICTIVE FOR SELECT USING (%s)', table_name, readable);
  EXECUTE format('CREATE POLICY subtree_insert ON %s AS RESTRICTIVE FOR INSERT WITH CHECK (%s)', table_name, writable);
  EXECUTE format('CREATE POLICY subtree_update ON %s AS RESTRICTIVE FOR UPDATE USING (%s) WITH CHECK (%s)',
    table_name, writable, writable);
  EXECUTE format('CREATE POLICY subtree_delete ON %s AS RESTRICTIVE FOR DELETE USING (%s)', table_name, writable);
END
$$;

-- A customer-owned table: readable for the subtree, writable below the root (a reseller reads its own rows
-- but does not change its own book, credits, budgets, ...). `nulls`: what a row with no customer is to a
-- subtree session: 'hidden', 'readable', or 'shared' (readable and writable).
CREATE FUNCTION enable_customer_scope(table_name regclass, column_name text, nulls text DEFAULT 'hidden')
  RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  in_subtree text := format('%I = ANY ((SELECT app_subtree_customers())::uuid[])', column_name);
  below_root text := format('%s AND %I <> (SELECT app_subtree_root())', in_subtree, column_name);
  is_null text := format('%I IS NULL', column_name);
BEGIN
  PERFORM enable_subtree_scope(
    table_name,
    CASE WHEN nulls = 'hidden' THEN in_subtree ELSE format('%s OR %s', is_null, in_subtree) END,
    CASE WHEN nulls = 'shared' THEN format('%s OR %s', is_null, below_root) ELSE below_root END);
END
$$;

SELECT enable_subtree_scope('customers',
  'path @> ARRAY[(SELECT app_subtree_root())]',
  'path @> ARRAY[(SELECT app_subtree_root())] AND id <> (SELECT app_subtree_root())');

SELECT enable_customer_scope(t, 'customer_id')
FROM unnest(ARRAY[
  'budget_alerts', 'budgets', 'credit_grants', 'credit_notes', 'customer_blocks', 'customer_periods',
  'customer_wallets', 'event_revisions', 'events', 'holds', 'invoice_adjustments', 'invoice_aggregates',
  'invoice_collections', 'invoices', 'scoped_budget_alerts', 'scoped_budgets', 'scoped_spend', 'sla_credits',
  'stripe_customers', 'subscription_amendments', 'subscriptions', 'usage_aggregates', 'usage_unique_values'
]::regclass[]) AS t;
-- The tenant's own ledger accounts (revenue, expense) take part in a subtree's grants and drawdowns.
SELECT enable_customer_scope('ledger_accounts', 'customer_id', 'shared');
SELECT enable_customer_scope('ledger_transactions', 'customer_id', 'shared');
-- Tenant-wide notifications are written by a subtree's operations but not shown to it.
SELECT enable_subtree_scope('notifications',
  'customer_id = ANY ((SELECT app_subtree_customers())::uuid[])',
  'customer_id IS NULL OR customer_id = ANY ((SELECT app_subtree_customers())::uuid[])');
-- The tenant's brand is shown in a subtree's portal; the brands in the subtree, the root's own included, are the
-- subtree's to change (a reseller brands what it sells).
SELECT enable_subtree_scope('portal_brands',
  'customer_id IS NULL OR customer_id = ANY ((SELECT app_subtree_customers())::uuid[])',
  'customer_id = ANY ((SELECT app_subtree_customers())::uuid[])');
-- Books: a subtree sees the books it owns and those assigned to it and its customers (the root's own book is
-- what it pays its parent, the only book of its parent's it sees); it changes only books it owns.
SELECT enable_subtree_scope('price_books',
  'owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])
   OR id = ANY ((SELECT app_subtree_books())::uuid[])',
  'owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])');
-- A book's cost schedule (COGS) is its owner's: a reseller sees the prices of the book it is assigned, not its cost.
SELECT enable_subtree_scope('price_book_versions',
  'price_book_id IN (SELECT b.id FROM price_books b WHERE b.owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[]))
   OR (schedule = ''price'' AND price_book_id IN (SELECT b.id FROM price_books b))',
  'price_book_id IN (SELECT b.id FROM price_books b WHERE b.owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[]))');
SELECT enable_subtree_scope('customer_price_books',
  'customer_id = ANY ((SELECT app_subtree_customers())::uuid[])',
  'customer_id = ANY ((SELECT app_subtree_customers())::uuid[]) AND customer_id <> (SELECT app_subtree_root())
   AND price_book_id IN (SELECT b.id FROM price_books b WHERE b.owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[]))');
SELECT enable_subtree_scope(t, 'price_book_id IN (SELECT b.id FROM price_books b)',
  'price_book_id IN (SELECT b.id FROM price_books b WHERE b.owner_customer_id = ANY ((SELECT app_subtree_customers())::uuid[]))')
FROM unnest(ARRAY['plans', 'reratings']::regclass[]) AS t;

-- Rows of a parent row: visible (and writable) with their parent.
SELECT enable_subtree_scope('invoice_lines', 'invoice_id IN (SELECT i.id FROM invoices i)',
  'invoice_id IN (SELECT i.id FROM invoices i)');
SELECT enable_subtree_scope(t, 'invoice_id IN (SELECT i.id FROM invoices i)', null)
FROM unnest(ARRAY['payment_attempts', 'payment_disputes', 'payment_refunds']::regclass[]) AS t;
SELECT enable_subtree_scope('credit_note_lines', 'credit_note_id IN (SELECT n.id FROM credit_notes n)',
  'credit_note_id IN (SELECT n.id FROM credit_notes n)');
SELECT enable_subtree_scope('hold_captures', 'hold_id IN (SELECT h.id FROM holds h)',
  'hold_id IN (SELECT h.id FROM holds h)');
SELECT enable_subtree_scope('ledger_entries', 'transaction_id IN (SELECT t.id FROM ledger_transactions t)',
  'transaction_id IN (SELECT t.id FROM ledger_transactions t)');

-- Keys: a subtree session sees and makes only keys scoped within its subtree.
SELECT enable_subtree_scope('api_keys',
  'scope_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])',
  'scope_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])');

-- The tenant's configuration, which a subtree's billing reads (tax, currency, numbering, meters, signing):
-- readable, never changed by a subtree session.
SELECT enable_subtree_scope(t, 'true', null)
FROM unnest(ARRAY[
  'tenants', 'meters', 'billing_settings', 'currency_settings', 'fx_rates', 'tax_settings', 'tax_registrations',
  'dunning_policies'
]::regclass[]) AS t;
-- The tenant's signing keys are made on first use, which may be a subtree's snapshot or balance token; the service
-- role may only insert them (no UPDATE or DELETE grant).
SELECT enable_subtree_scope(t, 'true', 'true')
FROM unnest(ARRAY['signing_keys', 'balance_token_keys']::regclass[]) AS t;
-- Invoice and credit-note numbers are drawn by a subtree's billing too.
-- (invoice_sequences, credit_note_sequences: no subtree policy.)

-- The tenant's administration: invisible to a subtree session. Outboxes and the audit log are appended to by
-- a subtree's operations but never read by it.
SELECT enable_subtree_scope(t, null, null)
FROM unnest(ARRAY[
  'webhook_endpoints', 'webhook_attempts', 'stripe_connections', 'stripe_events'
]::regclass[]) AS t;
-- The webhook messages of a subtree's own notifications (a subtree's operations write them) and their deliveries.
SELECT enable_subtree_scope('webhook_messages', 'notification_id IN (SELECT n.id FROM notifications n)',
  'notification_id IN (SELECT n.id FROM notifications n)');
SELECT enable_subtree_scope('webhook_deliveries', 'message_id IN (SELECT m.id FROM webhook_messages m)',
  'message_id IN (SELECT m.id FROM webhook_messages m)');
-- Users scoped in the subtree and their sessions (a subtree user reads itself and logs itself out).
SELECT enable_subtree_scope('users',
  'scope_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])',
  'scope_customer_id = ANY ((SELECT app_subtree_customers())::uuid[])');
SELECT enable_subtree_scope(t, 'user_id IN (SELECT u.id FROM users u)', 'user_id IN (SELECT u.id FROM users u)')
FROM unnest(ARRAY['sessions', 'user_tokens']::regclass[]) AS t;
SELECT enable_subtree_scope(t, null, 'true')
FROM unnest(ARRAY['audit_log', 'email_outbox']::regclass[]) AS t;

-- Tables made from now on: enable_tenant_isolation also confines subtree sessions, so no new table is open to them
-- by omission: a table with a customer_id column is scoped to it (readable in the subtree, writable below its
-- root); any other is invisible to a subtree session until a migration says otherwise.
CREATE OR REPLACE FUNCTION enable_tenant_isolation(table_name regclass) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', table_name);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', table_name);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())',
    table_name);
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = table_name AND attname = 'customer_id' AND NOT attisdropped) THEN
    PERFORM enable_customer_scope(table_name, 'customer_id');
  ELSE
    PERFORM enable_subtree_scope(table_name, null, null);
  END IF;
END
$$;

-- The key's scope comes back with its identity.
DROP FUNCTION auth_api_key(bytea);
CREATE FUNCTION auth_api_key(p_key_hash bytea)
  RETURNS TABLE (tenant_id uuid, key_id uuid, kind text, role text, scope_customer_id uuid)
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
    SELECT k.tenant_id, k.id, k.kind, (ARRAY['owner', 'admin', 'billing', 'viewer'])[(SELECT max(ranked) FROM ranks)],
      k.scope_customer_id
    FROM public.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND k.kind = 'secret' AND EXISTS (SELECT 1 FROM creator)
    UNION ALL
    SELECT k.tenant_id, k.id, k.kind, k.role, k.scope_customer_id FROM public.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL AND k.kind = 'publishable'
  $$;
REVOKE ALL ON FUNCTION auth_api_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key(bytea) TO tariff_app;

DROP FUNCTION auth_session(bytea, timestamptz);
CREATE FUNCTION auth_session(p_token_hash bytea, p_now timestamptz)
  RETURNS TABLE (tenant_id uuid, session_id uuid, user_id uuid, role text, email text, scope_customer_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT s.tenant_id, s.id, u.id, u.role, u.email, u.scope_customer_id
    FROM public.sessions s JOIN public.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
    WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > p_now AND u.disabled_at IS NULL
  $$;
REVOKE ALL ON FUNCTION auth_session(bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_session(bytea, timestamptz) TO tariff_app;
