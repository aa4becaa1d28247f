-- The key check from webhook_messages to notifications (`tenant_id = $1 and id = $2`, once per message the close's
-- notifications trigger writes) could take notifications_list_idx (tenant_id, seq) for its tenant_id alone and
-- read the tenant's every notification for the id: while tenant_id has no useful statistics (the table analyzed
-- nearly empty: tenant_id then looks unique), every index led by tenant_id is estimated at one row, at the same
-- cost, and the planner keeps the newest of the tied indexes. The check's plan is kept for the session, so each
-- batch of 500 invoices read all the notifications before it (2,003,000 index entries for 2,000 checks).
-- Rebuilt, the primary key is the newest index: a tie goes to it, and the check reads one entry. The foreign key
-- is dropped and added again around it (it depends on the key's index).
ALTER TABLE webhook_messages DROP CONSTRAINT webhook_messages_tenant_id_notification_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT notifications_pkey;
ALTER TABLE notifications ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE webhook_messages ADD FOREIGN KEY (tenant_id, notification_id) REFERENCES notifications (tenant_id, id);
