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
}

export async function insertApiKey(
  { db, tenantId }: TenantScope,
  key: Omit<ApiKey, 'revokedAt'> & { keyHash: Buffer },
): Promise<ApiKey> {
  const [row] = await db`
    insert into api_keys (tenant_id, id, kind, role, name, key_prefix, key_hash, created_by, created_at)
    values (${tenantId}, ${key.id}, ${key.kind}, ${key.role}, ${key.name}, ${key.keyPrefix}, ${key.keyHash}, ${key.createdBy}, ${key.createdAt})
    returning *`;
  return fromDbApiKey(row);
}

export async function listApiKeys({ db, tenantId }: TenantScope): Promise<ApiKey[]> {
  const rows = await db`select * from api_keys where tenant_id = ${tenantId} order by created_at, id`;
  return rows.map(fromDbApiKey);
}

export async function findApiKey({ db, tenantId }: TenantScope, id: string): Promise<ApiKey | undefined> {
  const [row] = await db`select * from api_keys where tenant_id = ${tenantId} and id = ${id}`;
  return row ? fromDbApiKey(row) : undefined;
}

export async function revokeApiKey({ db, tenantId }: TenantScope, id: string, at: Date): Promise<ApiKey | undefined> {
  const [row] = await db`
    update api_keys set revoked_at = ${at}
    where tenant_id = ${tenantId} and id = ${id} and revoked_at is null returning *`;
  return row ? fromDbApiKey(row) : undefined;
}

export interface KeyIdentity {
  tenantId: string;
  keyId: string;
  kind: 'secret' | 'publishable';
  role: ApiKeyRole | null;
}

/** Across tenants, through the SECURITY DEFINER function `auth_api_key` (revoked keys are not found). */
export async function findActiveKeyByHash(db: Db, keyHash: Buffer): Promise<KeyIdentity | undefined> {
  const [row] = await db`select * from auth_api_key(${keyHash})`;
  return row ? { tenantId: row.tenant_id, keyId: row.key_id, kind: row.kind, role: row.role } : undefined;
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
  };
}
