-- webhook_deliveries_due_idx (038) has had no reader since 051: every read of pending deliveries names its tenant
-- and endpoint (the dispatcher's webhook_due_endpoints probes each endpoint, a delivery job claims by the endpoint's
-- key), and both use webhook_deliveries_endpoint_due_key_idx. It was still written: a claim moves each delivery's
-- next_attempt_at to its lease, so every claimed delivery's new row version took an entry in it, as did every
-- delivery recorded. Dropped: one index write fewer per delivery recorded and per attempt claimed.
DROP INDEX webhook_deliveries_due_idx;
