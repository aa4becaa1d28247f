-- The attempt log is written by one statement per batch of outcomes (webhooks/repo.ts recordAttempts), and each of
-- its rows paid for two things the log's reads do not need:
-- (1) its foreign key to webhook_deliveries: a locking lookup per inserted row at the statement's end (EXPLAIN
--     ANALYZE, "Trigger for constraint ...": about a fifth of the statement). What it guaranteed holds by
--     construction, as for the ingestion tables (migration 013): every attempt recorded is of a delivery its job
--     claimed (read in the transaction before, by key or by its due index), and deliveries are never deleted (the
--     service role has no DELETE on them, and nothing else deletes them). test/service/integrity.ts checks the
--     relation after every test that closes its harness.
-- (2) a second index: the key (tenant_id, id) beside (tenant_id, message_id, id), which is what the log is read by
--     (a message's attempts in order). The key is now that one: the identity still makes it unique, and the tenant
--     still leads it.
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_tenant_id_endpoint_id_message_id_fkey;
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_pkey, ADD PRIMARY KEY (tenant_id, message_id, id);
DROP INDEX webhook_attempts_message_idx;
