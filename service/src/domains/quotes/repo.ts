// The SQL of signing keys (migration 011): one row per key, never updated or deleted.
import type { TenantScope } from '../../platform/db.ts';

export interface SigningKeyRow {
  keyId: string;
  secret: Buffer;
  createdAt: Date;
}

/** The tenant's keys, newest first. */
export async function listSigningKeys({ db, tenantId }: TenantScope): Promise<SigningKeyRow[]> {
  const rows =
    await db`select key_id, secret, created_at from signing_keys where tenant_id = ${tenantId} order by created_at desc, key_id desc`;
  return rows.map((r) => ({ keyId: r.key_id, secret: r.secret, createdAt: r.created_at }));
}

/** Adds a key unless one with that id exists (two processes creating the first key at once agree on the stored one). */
export async function insertSigningKey({ db, tenantId }: TenantScope, key: SigningKeyRow): Promise<void> {
  await db`
    insert into signing_keys (tenant_id, key_id, secret, created_at) values (${tenantId}, ${key.keyId}, ${key.secret}, ${key.createdAt})
    on conflict do nothing`;
}
