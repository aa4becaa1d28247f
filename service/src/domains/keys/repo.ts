import type { ApiKeyRole } from '../../platform/auth.ts';
import type { Db, TenantScope } from '../../platform/db.ts';

export interface ApiKey {
  id: string;
  kind: 'secret' | 'publishable';
  role: ApiKeyRole | null;
  name: string;
  keyPrefix: string;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
  /** A reseller-scoped key's reseller (customer id). */
  scopeCustomerId: string | null;
  /** Its external id, as the API shows it. */
  scopeExternalId: string | null;
}

export async function insertApiKey(
  { db, tenantId }: TenantScope,
  key: Omit<ApiKey, 'revokedAt' | 'scopeExternalId'> & { keyHash: Buffer },
): Promise<ApiKey> {
  const [row] = await db`
    with k as (
      insert into api_keys (tenant_id, id, kind, role, name, key_prefix, key_hash, created_by, created_at, scope_customer_id)
      values (${tenantId}, ${key.id}, ${key.kind}, ${key.role}, ${key.name}, ${key.keyPrefix}, ${key.keyHash}, ${key.createdBy}, ${key.createdAt}, ${key.scopeCustomerId})
      returning *
    )
    ${withScope(db, tenantId, db`k`)}`;
  return fromDbApiKey(row);
}

export async function listApiKeys({ db, tenantId }: TenantScope): Promise<ApiKey[]> {
  const rows =
    await db`${withScope(db, tenantId, db`api_keys`)} where k.tenant_id = ${tenantId} order by k.created_at, k.id`;
  return rows.map(fromDbApiKey);
}

export async function findApiKey({ db, tenantId }: TenantScope, id: string): Promise<ApiKey | undefined> {
  const [row] = await db`${withScope(db, tenantId, db`api_keys`)} where k.tenant_id = ${tenantId} and k.id = ${id}`;
  return row ? fromDbApiKey(row) : undefined;
}

export async function revokeApiKey({ db, tenantId }: TenantScope, id: string, at: Date): Promise<ApiKey | undefined> {
  const [row] = await db`
    with k as (
      update api_keys set revoked_at = ${at}
      where tenant_id = ${tenantId} and id = ${id} and revoked_at is null returning *
    )
    ${withScope(db, tenantId, db`k`)}`;
  return row ? fromDbApiKey(row) : undefined;
}

/** Keys with their scope's external id. */
function withScope(db: TenantScope['db'], tenantId: string, keys: ReturnType<TenantScope['db']>) {
  return db`
    select k.*, c.external_id as scope_external_id from ${keys} k
    left join customers c on c.tenant_id = ${tenantId} and c.id = k.scope_customer_id`;
}

/** A customer that may scope a key: a reseller, by external id (within what the session sees). */
export async function findCustomerForScope(
  { db, tenantId }: TenantScope,
  externalId: string,
): Promise<{ id: string; isReseller: boolean } | undefined> {
  const [row] = await db`
    select id, is_reseller from customers where tenant_id = ${tenantId} and external_id = ${externalId}`;
  return row ? { id: row.id, isReseller: row.is_reseller } : undefined;
}

export interface KeyIdentity {
  tenantId: string;
  keyId: string;
  kind: 'secret' | 'publishable';
  role: ApiKeyRole | null;
  scopeCustomerId: string | null;
}

/** Across tenants, through the SECURITY DEFINER function `auth_api_key` (revoked keys are not found). */
export async function findActiveKeyByHash(db: Db, keyHash: Buffer): Promise<KeyIdentity | undefined> {
  const [row] = await db`select * from auth_api_key(${keyHash})`;
  return row
    ? {
        tenantId: row.tenant_id,
        keyId: row.key_id,
        kind: row.kind,
        role: row.role,
        scopeCustomerId: row.scope_customer_id,
      }
    : undefined;
}

function fromDbApiKey(row: Record<string, any>): ApiKey {
  return {
    id: row.id,
    kind: row.kind,
    role: row.role,
    name: row.name,
    keyPrefix: row.key_prefix,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    scopeCustomerId: row.scope_customer_id,
    scopeExternalId: row.scope_external_id,
  };
}
