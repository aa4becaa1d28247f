// Each tenant's signing key: created on first use (32 random bytes in signing_keys), cached per process. Keys
// never change once stored, so the cache cannot go stale; a key added later (rotation) is found on a miss.
import crypto from 'node:crypto';
import type { TenantScope } from '../../platform/db.ts';
import * as repo from './repo.ts';
import type { SigningKey } from './tokens.ts';

const firstKeyId = 'k1';
const cache = new Map<string, { current: SigningKey; byId: Map<string, SigningKey> }>();

/** The key that signs the tenant's new tokens (created if the tenant has none yet). */
export async function currentSigningKey(scope: TenantScope, now: Date): Promise<SigningKey> {
  const cached = cache.get(scope.tenantId);
  if (cached) return cached.current;
  let rows = await repo.listSigningKeys(scope);
  if (rows.length === 0) {
    await repo.insertSigningKey(scope, { keyId: firstKeyId, secret: crypto.randomBytes(32), createdAt: now });
    rows = await repo.listSigningKeys(scope);
  }
  return remember(scope.tenantId, rows).current;
}

/** The tenant's key with this id, or undefined when there is none. */
export async function signingKeyById(scope: TenantScope, keyId: string): Promise<SigningKey | undefined> {
  const hit = cache.get(scope.tenantId)?.byId.get(keyId);
  if (hit) return hit;
  const rows = await repo.listSigningKeys(scope);
  if (rows.length === 0) return undefined;
  return remember(scope.tenantId, rows).byId.get(keyId);
}

function remember(tenantId: string, rows: repo.SigningKeyRow[]) {
  const keys = rows.map((r) => ({ id: r.keyId, secret: r.secret }));
  const entry = { current: keys[0], byId: new Map(keys.map((k) => [k.id, k])) };
  cache.set(tenantId, entry);
  return entry;
}
