// API keys: secret keys (sk_) for tenant backends, publishable keys (pk_) for browsers and edge workers.
import type { ApiSchemas } from '../../platform/api.ts';
import crypto from 'node:crypto';
import type { Actor } from '../../platform/auth.ts';
import { outranks, requirePermission } from '../../platform/auth.ts';
import { generateToken, hashToken, tokenKind } from '../../platform/crypto.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { forbidden, invalid, notFound } from '../../platform/errors.ts';
import { recordChange } from '../audit/service.ts';
import * as repo from './repo.ts';
import type { CreateApiKeyInput } from '@tariff/openapi/schemas/keys';

/** Creates a key; the returned `secret` is the only time the key is ever shown. */
export async function createApiKey(
  deps: Deps,
  actor: Actor,
  input: CreateApiKeyInput,
): Promise<ApiSchemas['ApiKeyCreated']> {
  requirePermission(actor, 'api_keys.manage');
  const role = input.kind === 'secret' ? input.role : null;
  if (role && !outranks(actor.principal, role))
    throw forbidden('role_too_high', `A ${actor.principal} cannot create a ${role} key`);
  const secret = generateToken(input.kind === 'secret' ? 'sk' : 'pk');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    // A subtree key's keys stay in its subtree: its own reseller by default, one of its resellers if named (the
    // session sees no other customer).
    let scopeCustomerId = actor.subtreeRootId ?? null;
    if (input.customer_id !== undefined) {
      const customer = await repo.findCustomerForScope(scope, input.customer_id);
      if (!customer)
        throw invalid('customer_not_found', `No customer "${input.customer_id}"`, [
          { field: 'customer_id', reason: 'no such customer' },
        ]);
      if (!customer.isReseller)
        throw invalid('not_a_reseller', `"${input.customer_id}" is not a reseller`, [
          { field: 'customer_id', reason: 'a key can be scoped to a reseller only' },
        ]);
      scopeCustomerId = customer.id;
    }
    const key = await repo.insertApiKey(scope, {
      id: crypto.randomUUID(),
      kind: input.kind,
      role,
      name: input.name,
      keyPrefix: secret.slice(0, 10),
      keyHash: hashToken(secret),
      createdBy: `${actor.type}:${actor.id}`,
      createdAt: deps.clock.now(),
      scopeCustomerId,
    });
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'api_key.created',
      entityType: 'api_key',
      entityId: key.id,
      after: toApiKey(key),
    });
    return { ...toApiKey(key), secret };
  });
}

export async function listApiKeys(deps: Deps, actor: Actor) {
  requirePermission(actor, 'api_keys.manage');
  const keys = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.listApiKeys({ db: tx, tenantId: actor.tenantId }),
  );
  return keys.map(toApiKey);
}

export async function revokeApiKey(deps: Deps, actor: Actor, id: string) {
  requirePermission(actor, 'api_keys.manage');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const before = await repo.findApiKey(scope, id);
    if (!before) throw notFound('api_key_not_found', 'No such API key');
    if (before.revokedAt) return toApiKey(before);
    const after = await repo.revokeApiKey(scope, id, deps.clock.now());
    forgetKey(id);
    await recordChange(tx, deps.clock, actor, actor.tenantId, {
      action: 'api_key.revoked',
      entityType: 'api_key',
      entityId: id,
      before: toApiKey(before),
      after: toApiKey(after!),
    });
    return toApiKey(after!);
  });
}

// Authenticated keys, by hash, for a few seconds: ingestion authenticates every request, and a database round
// trip per request is a large part of a one-event request. Revoking through this process evicts the key at
// once; another process sees a revocation within keyCacheMilliseconds.
const keyCacheMilliseconds = 5_000;
const keyCacheSize = 10_000;
const keyCache = new Map<string, { actor: Actor; until: number }>();

/**
 * The actor behind an `sk_`/`pk_` key, or undefined when it is unknown or revoked, or its creator was removed.
 * A secret key acts with the lowest of its own role and its creator's current one (migration 025).
 */
export async function authenticateApiKey(deps: Pick<Deps, 'db'>, token: string): Promise<Actor | undefined> {
  const kind = tokenKind(token);
  if (kind !== 'sk' && kind !== 'pk') return undefined;
  const hash = hashToken(token);
  const cacheKey = hash.toString('base64');
  // Monotonic time: a cache lifetime, not a business instant (the injected clock may be frozen in tests).
  const now = performance.now();
  const cached = keyCache.get(cacheKey);
  if (cached && cached.until > now) return cached.actor;
  keyCache.delete(cacheKey);
  const identity = await repo.findActiveKeyByHash(deps.db, hash);
  if (!identity || (identity.kind === 'secret') !== (kind === 'sk')) return undefined;
  const actor: Actor = {
    tenantId: identity.tenantId,
    type: 'api_key',
    id: identity.keyId,
    principal: identity.kind === 'secret' ? identity.role! : 'publishable',
    ...(identity.scopeCustomerId ? { subtreeRootId: identity.scopeCustomerId } : {}),
  };
  if (keyCache.size >= keyCacheSize) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, { actor, until: now + keyCacheMilliseconds });
  return actor;
}

function forgetKey(keyId: string): void {
  for (const [cacheKey, entry] of keyCache) if (entry.actor.id === keyId) keyCache.delete(cacheKey);
}

/**
 * A tenant's users changed (a role lowered, a user removed): its keys' powers, which depend on their creators'
 * current roles, are read again. Other processes see the change within keyCacheMilliseconds.
 */
export function forgetTenantKeys(tenantId: string): void {
  for (const [cacheKey, entry] of keyCache) if (entry.actor.tenantId === tenantId) keyCache.delete(cacheKey);
}

export function toApiKey(key: repo.ApiKey): ApiSchemas['ApiKey'] {
  return {
    id: key.id,
    kind: key.kind,
    role: key.role,
    name: key.name,
    prefix: key.keyPrefix,
    created_by: key.createdBy,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
    customer_id: key.scopeExternalId,
  };
}
