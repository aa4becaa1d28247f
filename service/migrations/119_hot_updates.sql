-- Ingestion updates the same rows over and over: a customer's period (its total, state and check version) and its
-- usage, invoice and reseller aggregates once per ingestion transaction, its credit grants and scoped spend when it
-- has them. None of the columns it changes is indexed, so each new row version could be a HOT update (no new index
-- entry, the old version pruned from its page as it is read), but only if the page has room for it: at the default
-- fillfactor (100) the pages are full, so every update went to another page with a new entry in every index, and
-- the dead versions piled up in the heap and in the primary keys until autovacuum came, each lookup by key walking
-- more of them (one-event requests grew dearer in PostgreSQL with every group written, BENCHMARKS.md). Room left on
-- each page keeps the versions of a row on its page. Applies to pages written from now on: an existing database's
-- tables take it on their next rewrite (VACUUM FULL or CLUSTER, outside a migration).
ALTER TABLE customer_periods SET (fillfactor = 50);
ALTER TABLE usage_aggregates SET (fillfactor = 70);
ALTER TABLE invoice_aggregates SET (fillfactor = 70);
ALTER TABLE chain_daily SET (fillfactor = 70);
ALTER TABLE credit_grants SET (fillfactor = 70);
ALTER TABLE scoped_spend SET (fillfactor = 70);
