-- More notification sources (invoice created and finalized, credits low, expired and depleted, budget thresholds
-- and unblocks, subscriptions, re-ratings), and an outbox trigger that keeps up with them.

-- (1) Messages and deliveries once per inserting statement instead of once per row: the period close records a
-- batch's invoice notifications in one statement, and a row trigger would run its two inserts per invoice. Same
-- body as 038's row trigger (a body over 64 KiB is sent without its details).
DROP TRIGGER notifications_webhooks ON notifications;
DROP FUNCTION webhook_message_from_notification();

CREATE FUNCTION webhook_messages_from_notifications() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  WITH recorded AS (
    SELECT n.tenant_id, n.id, n.type, n.subject_id, n.created_at, 'msg_' || replace(n.id::text, '-', '') AS message_id,
           jsonb_build_object('type', n.type, 'timestamp', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                              'data', n.payload)::text AS body
    FROM new_notifications n
  ), messages AS (
    INSERT INTO webhook_messages (tenant_id, id, event_type, notification_id, body, created_at)
    SELECT r.tenant_id, r.message_id, r.type, r.id,
           CASE WHEN octet_length(r.body) <= 65536 THEN r.body
                ELSE jsonb_build_object('type', r.type, 'timestamp', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       'data', jsonb_build_object('notification_id', r.id, 'subject_id', r.subject_id, 'truncated', true))::text END,
           r.created_at
    FROM recorded r
    RETURNING tenant_id, id, event_type, created_at
  )
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, message_id, status, next_attempt_at, created_at)
  SELECT e.tenant_id, e.id, m.id, 'pending', m.created_at, m.created_at
  FROM messages m
  JOIN webhook_endpoints e ON e.tenant_id = m.tenant_id AND e.enabled AND e.deleted_at IS NULL
    AND (cardinality(e.event_types) = 0 OR m.event_type = ANY (e.event_types));
  RETURN NULL;
END
$$;
CREATE TRIGGER notifications_webhooks AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS new_notifications FOR EACH STATEMENT EXECUTE FUNCTION webhook_messages_from_notifications();

-- (2) credits.low: a customer's own threshold, in its currency (a tenant's customers bill in different
-- currencies, so one tenant-wide amount would mean different things). Null: no credits.low for the customer.
ALTER TABLE customer_wallets ADD COLUMN low_balance_threshold numeric(38, 9) CHECK (low_balance_threshold >= 0);
GRANT UPDATE (low_balance_threshold) ON customer_wallets TO tariff_app;
