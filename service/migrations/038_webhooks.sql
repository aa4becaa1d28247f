-- Outgoing webhooks (Standard Webhooks): a tenant's endpoints, one message per notification, a delivery per
-- (message, endpoint) with its retry state, and the log of every attempt.

CREATE TABLE webhook_endpoints (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  id uuid NOT NULL,
  url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description text NOT NULL CHECK (length(description) <= 1000),
  -- The notification types sent to it; empty: every type.
  event_types text[] NOT NULL,
  enabled boolean NOT NULL,
  -- Why it was disabled: manual, gone (it answered 410), failing (every attempt failed for days).
  disabled_reason text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
  disabled_at timestamptz,
  -- Signing secrets (whsec_...): the current one, and the one it replaced while their overlap lasts.
  secret text NOT NULL,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  -- The first failed attempt since the last successful one.
  failing_since timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  deleted_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK (enabled = (disabled_reason IS NULL))
);

CREATE TABLE webhook_messages (
  tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
  -- The webhook-id header: msg_ and the notification's id in hex (a test send's own random id).
  id text NOT NULL CHECK (id ~ '^msg_[0-9a-f]{32}$'),
  event_type text NOT NULL,
  notification_id uuid,
  -- The exact bytes every attempt sends, so signatures cover the same body on each retry.
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT webhook_messages_notification UNIQUE (tenant_id, notification_id),
  FOREIGN KEY (tenant_id, notification_id) REFERENCES notifications (tenant_id, id)
);
CREATE INDEX webhook_messages_time_idx ON webhook_messages (tenant_id, created_at);

CREATE TABLE webhook_deliveries (
  tenant_id uuid NOT NULL,
  endpoint_id uuid NOT NULL,
  message_id text NOT NULL,
  -- pending: due at next_attempt_at (pushed ahead while an attempt is in flight, so a crashed worker's claim
  -- lapses); succeeded; failed: every attempt of the schedule failed.
  status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, endpoint_id, message_id),
  FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id),
  FOREIGN KEY (tenant_id, message_id) REFERENCES webhook_messages (tenant_id, id),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- A delivery job's claim: one endpoint's due deliveries, oldest first, without reading its whole backlog.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (tenant_id, endpoint_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (tenant_id, message_id);

CREATE TABLE webhook_attempts (
  tenant_id uuid NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  endpoint_id uuid NOT NULL,
  message_id text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 1),
  -- manual: a retry or a test send asked through the API; scheduled: the delivery jobs.
  trigger text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
  started_at timestamptz NOT NULL,
  succeeded boolean NOT NULL,
  status_code integer,
  latency_ms integer NOT NULL,
  response_excerpt text NOT NULL,
  error text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, endpoint_id, message_id) REFERENCES webhook_deliveries (tenant_id, endpoint_id, message_id)
);
CREATE INDEX webhook_attempts_message_idx ON webhook_attempts (tenant_id, message_id, id);

-- Every notification becomes its message and a pending delivery to each enabled endpoint whose filter takes its
-- type, in the transaction that records it: nothing recorded can miss the outbox, whatever order transactions
-- commit in. A body over 64 KiB is sent without its details (`truncated`); GET /v1/notifications has them.
CREATE FUNCTION webhook_message_from_notification() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  message_id text := 'msg_' || replace(NEW.id::text, '-', '');
  stamp text := to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  body text;
BEGIN
  body := jsonb_build_object('type', NEW.type, 'timestamp', stamp, 'data', NEW.payload)::text;
  IF octet_length(body) > 65536 THEN
    body := jsonb_build_object('type', NEW.type, 'timestamp', stamp,
      'data', jsonb_build_object('notification_id', NEW.id, 'subject_id', NEW.subject_id, 'truncated', true))::text;
  END IF;
  INSERT INTO webhook_messages (tenant_id, id, event_type, notification_id, body, created_at)
    VALUES (NEW.tenant_id, message_id, NEW.type, NEW.id, body, NEW.created_at);
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, message_id, status, next_attempt_at, created_at)
    SELECT e.tenant_id, e.id, message_id, 'pending', NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.tenant_id = NEW.tenant_id AND e.enabled AND e.deleted_at IS NULL
      AND (cardinality(e.event_types) = 0 OR NEW.type = ANY (e.event_types));
  RETURN NULL;
END
$$;
CREATE TRIGGER notifications_webhooks AFTER INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION webhook_message_from_notification();

-- The delivery jobs' one cross-tenant read: which endpoints have deliveries due.
CREATE FUNCTION webhook_due_endpoints(p_now timestamptz, p_limit integer)
  RETURNS TABLE (tenant_id uuid, endpoint_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$
    SELECT d.tenant_id, d.endpoint_id FROM public.webhook_deliveries d
    JOIN public.webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= p_now AND e.enabled AND e.deleted_at IS NULL
    GROUP BY d.tenant_id, d.endpoint_id
    ORDER BY min(d.next_attempt_at)
    LIMIT p_limit
  $$;
REVOKE ALL ON FUNCTION webhook_due_endpoints(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_due_endpoints(timestamptz, integer) TO tariff_app;

SELECT enable_tenant_isolation('webhook_endpoints');
SELECT enable_tenant_isolation('webhook_messages');
SELECT enable_tenant_isolation('webhook_deliveries');
SELECT enable_tenant_isolation('webhook_attempts');

GRANT SELECT, INSERT, UPDATE (url, description, event_types, enabled, disabled_reason, disabled_at, secret, previous_secret,
  previous_secret_expires_at, failing_since, updated_at, deleted_at) ON webhook_endpoints TO tariff_app;
GRANT SELECT, INSERT ON webhook_messages TO tariff_app;
GRANT SELECT, INSERT, UPDATE (status, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error) ON webhook_deliveries TO tariff_app;
GRANT SELECT, INSERT ON webhook_attempts TO tariff_app;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('CREATE POLICY billing_scheduler ON webhook_deliveries FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY billing_scheduler ON webhook_endpoints FOR SELECT TO %I USING (true)', current_user);
  END IF;
END
$$;
