-- A holds row's tenant foreign key is implied by its customer's (customers reference tenants): each placement
-- checked both per row.
ALTER TABLE holds DROP CONSTRAINT holds_tenant_id_fkey;
