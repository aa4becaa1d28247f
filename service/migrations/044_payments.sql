-- Stripe collection and dunning (issue 13 §2, §3): a tenant's Stripe connection (secrets sealed with AES-256-GCM
-- by the service, never readable in clear here), its customers' Stripe customers and default payment methods,
-- the collection of each finalized invoice (attempts, each a PaymentIntent with its own idempotency key), every
-- Stripe event received (idempotent by its id), refunds, disputes, the dunning policy, and customer blocks.

CREATE TABLE stripe_connections (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  -- "v1.<iv>.<tag>.<ciphertext>" (base64url), sealed with the configured key (payments/secrets.ts).
  secret_key_sealed text NOT NULL,
  key_last4 text NOT NULL CHECK (length(key_last4) = 4),
  mode text NOT NULL CHECK (mode IN ('live', 'test')),
  webhook_secret_sealed text NOT NULL,
  account_id text,
  connected_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);

CREATE TABLE dunning_policies (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  -- Retries after the first failed attempt, in seconds from it, ascending (default 1, 3, 5 and 7 days).
  retry_after_seconds integer[] NOT NULL CHECK (cardinality(retry_after_seconds) <= 10),
  -- Block the customer's new usage this long after the first failure while the invoice is unpaid; null: never.
  block_after_seconds integer CHECK (block_after_seconds >= 0),
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id)
);

CREATE TABLE stripe_customers (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  stripe_customer_id text NOT NULL,
  default_payment_method text,
  -- Stripe's `created` of the object that set the payment method: an older one never replaces a newer one.
  payment_method_created bigint,
  payment_method_set_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id),
  CONSTRAINT stripe_customers_stripe_id UNIQUE (tenant_id, stripe_customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- One row per invoice Tariff collects, from its first attempt on.
CREATE TABLE invoice_collections (
  tenant_id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  -- active: attempts continue (next_attempt_at); paid; exhausted: the schedule ran out (uncollectible);
  -- stopped: an operator ended it (mark uncollectible, write off) or the invoice was settled out of band.
  status text NOT NULL CHECK (status IN ('active', 'paid', 'exhausted', 'stopped')),
  -- The attempt number in force: a retry of the same number reuses its idempotency key.
  attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  next_attempt_at timestamptz,
  first_failed_at timestamptz,
  -- When the customer is blocked if still unpaid (first failure + the policy's delay), and when it was.
  block_at timestamptz,
  blocked_at timestamptz,
  written_off_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, invoice_id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX invoice_collections_due_idx ON invoice_collections (next_attempt_at) WHERE status = 'active';
CREATE INDEX invoice_collections_block_idx ON invoice_collections (block_at) WHERE status IN ('active', 'exhausted') AND blocked_at IS NULL;

-- Each PaymentIntent Tariff created (or is creating: sending, until Stripe answered).
CREATE TABLE payment_attempts (
  tenant_id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 1),
  idempotency_key text NOT NULL,
  payment_intent_id text,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  status text NOT NULL CHECK (status IN ('sending', 'processing', 'requires_action', 'failed', 'succeeded', 'canceled')),
  failure_code text,
  failure_message text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, invoice_id, attempt),
  CONSTRAINT payment_attempts_intent UNIQUE (tenant_id, payment_intent_id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoice_collections (tenant_id, invoice_id)
);

-- Every verified Stripe event, once: a replay of one is answered from here.
CREATE TABLE stripe_events (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id text NOT NULL,
  type text NOT NULL,
  stripe_created bigint NOT NULL,
  livemode boolean NOT NULL,
  -- applied: it changed something; stale: what it says is already known or superseded; ignored: a type
  -- Tariff does not act on; unmatched: it names nothing of Tariff's.
  outcome text NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored', 'unmatched')),
  detail text,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX stripe_events_received_idx ON stripe_events (tenant_id, received_at);

CREATE TABLE payment_refunds (
  tenant_id uuid NOT NULL,
  refund_id text NOT NULL,
  invoice_id uuid NOT NULL,
  charge_id text NOT NULL,
  currency text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  credit_note_id uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, refund_id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

CREATE TABLE payment_disputes (
  tenant_id uuid NOT NULL,
  dispute_id text NOT NULL,
  invoice_id uuid,
  charge_id text NOT NULL,
  status text NOT NULL,
  reason text,
  currency text NOT NULL,
  amount_minor bigint NOT NULL,
  -- Stripe's `created` of the last event applied: an older one does not overwrite a newer status.
  event_created bigint NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, dispute_id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

-- A customer is blocked while it has a row here (one per unpaid invoice that blocked it): ingestion refuses
-- its events and the entitlement check says no.
CREATE TABLE customer_blocks (
  tenant_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  invoice_id uuid NOT NULL,
  reason text NOT NULL CHECK (reason IN ('payment_past_due')),
  blocked_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, customer_id, invoice_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
-- The entitlement check holds customers in memory (migration 019): a block or its lifting drops the customer.
CREATE TRIGGER customer_blocks_check_inserted AFTER INSERT ON customer_blocks REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed();
CREATE TRIGGER customer_blocks_check_deleted AFTER DELETE ON customer_blocks REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_state_changed();

-- Invoice states for dunning: finalized (open) -> past_due -> uncollectible, and paid from any of them.
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'finalized', 'past_due', 'uncollectible', 'paid', 'void'));
CREATE OR REPLACE FUNCTION invoices_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'draft' THEN
    RETURN NEW;
  END IF;
  IF NEW.total IS DISTINCT FROM OLD.total OR NEW.total_exact IS DISTINCT FROM OLD.total_exact OR NEW.number IS DISTINCT FROM OLD.number
     OR NEW.sequence IS DISTINCT FROM OLD.sequence OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.finalized_at IS DISTINCT FROM OLD.finalized_at
     OR NEW.currency IS DISTINCT FROM OLD.currency OR NOT (
       NEW.status = OLD.status
       OR (OLD.status = 'finalized' AND NEW.status IN ('past_due', 'uncollectible', 'paid', 'void'))
       OR (OLD.status = 'past_due' AND NEW.status IN ('uncollectible', 'paid', 'void'))
       OR (OLD.status = 'uncollectible' AND NEW.status = 'paid')) THEN
    RAISE EXCEPTION 'invoice % is % and cannot change', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
  CHECK (kind IN ('grant_issued', 'usage_drawdown', 'grant_voided', 'grant_expired', 'invoice_finalized', 'invoice_paid', 'invoice_voided',
                  'credit_note_issued', 'rerating_credit_returned', 'invoice_written_off', 'payment_refunded'));

SELECT enable_tenant_isolation('stripe_connections');
SELECT enable_tenant_isolation('dunning_policies');
SELECT enable_tenant_isolation('stripe_customers');
SELECT enable_tenant_isolation('invoice_collections');
SELECT enable_tenant_isolation('payment_attempts');
SELECT enable_tenant_isolation('stripe_events');
SELECT enable_tenant_isolation('payment_refunds');
SELECT enable_tenant_isolation('payment_disputes');
SELECT enable_tenant_isolation('customer_blocks');

GRANT SELECT, INSERT, UPDATE (secret_key_sealed, key_last4, mode, webhook_secret_sealed, account_id, connected_at, updated_at), DELETE ON stripe_connections TO tariff_app;
GRANT SELECT, INSERT, UPDATE (retry_after_seconds, block_after_seconds, updated_at) ON dunning_policies TO tariff_app;
GRANT SELECT, INSERT, UPDATE (default_payment_method, payment_method_created, payment_method_set_at, updated_at) ON stripe_customers TO tariff_app;
GRANT SELECT, INSERT, UPDATE (status, attempt, next_attempt_at, first_failed_at, block_at, blocked_at, written_off_at, last_error, updated_at) ON invoice_collections TO tariff_app;
GRANT SELECT, INSERT, UPDATE (payment_intent_id, status, failure_code, failure_message, updated_at) ON payment_attempts TO tariff_app;
GRANT SELECT, INSERT ON stripe_events TO tariff_app;
GRANT SELECT, INSERT ON payment_refunds TO tariff_app;
GRANT SELECT, INSERT, UPDATE (status, reason, amount_minor, event_created, updated_at) ON payment_disputes TO tariff_app;
GRANT SELECT, INSERT, DELETE ON customer_blocks TO tariff_app;

-- The incoming Stripe endpoint knows the tenant only by the path: its slug or id, nothing else.
CREATE FUNCTION stripe_event_tenant(p_reference text)
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT t.tenant_id FROM public.tenants t
    -- The cast only for a uuid's shape (SQL does not short-circuit AND).
    WHERE t.slug = p_reference
       OR t.tenant_id = CASE WHEN p_reference ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN p_reference::uuid END
    LIMIT 1
  $$;
REVOKE ALL ON FUNCTION stripe_event_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stripe_event_tenant(text) TO tariff_app;

-- The billing tick's scans (keys only): invoices to collect now (finalized with an amount, of a tenant connected
-- to Stripe, whose customer has a payment method, and no collection yet), and collections with an attempt or a
-- block due.
CREATE FUNCTION payments_due_invoices(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, invoice_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    (SELECT i.tenant_id, i.id FROM public.invoices i
     JOIN public.stripe_connections s ON s.tenant_id = i.tenant_id
     JOIN public.stripe_customers sc ON sc.tenant_id = i.tenant_id AND sc.customer_id = i.customer_id AND sc.default_payment_method IS NOT NULL
     WHERE i.status = 'finalized' AND i.total > 0
       AND NOT EXISTS (SELECT 1 FROM public.invoice_collections c WHERE c.tenant_id = i.tenant_id AND c.invoice_id = i.id)
     ORDER BY i.finalized_at
     LIMIT p_limit)
    UNION
    (SELECT c.tenant_id, c.invoice_id FROM public.invoice_collections c
     WHERE c.status = 'active' AND c.next_attempt_at <= p_now
     ORDER BY c.next_attempt_at
     LIMIT p_limit)
    UNION
    (SELECT c.tenant_id, c.invoice_id FROM public.invoice_collections c
     WHERE c.status IN ('active', 'exhausted') AND c.blocked_at IS NULL AND c.block_at <= p_now
     ORDER BY c.block_at
     LIMIT p_limit)
  $$;
REVOKE ALL ON FUNCTION payments_due_invoices(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION payments_due_invoices(timestamptz, integer) TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON stripe_connections FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON stripe_customers FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON invoice_collections FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
