-- The dashboard's customer list (domains/insights): keyset pages in byte order of external ids, which also
-- answers an external-id prefix search, and case-insensitive name and email prefix search. Each query names
-- the same collation ("C"), so LIKE 'prefix%' becomes an index range whatever the database's collation is.
CREATE INDEX customers_external_id_bytes_idx ON customers (tenant_id, (external_id COLLATE "C"));
CREATE INDEX customers_name_prefix_idx ON customers (tenant_id, (lower(name) COLLATE "C")) WHERE name IS NOT NULL;
CREATE INDEX customers_email_prefix_idx ON customers (tenant_id, (lower(email) COLLATE "C")) WHERE email IS NOT NULL;
