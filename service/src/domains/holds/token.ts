// Signed balance tokens: a compact JWT (EdDSA over Ed25519, node:crypto) stating a customer's credit, what its
// open holds set aside and what is available, so that a gateway can refuse a request locally. The tenant's
// public keys are published (GET /v1/balance_token_keys, JWKS): verifying needs no secret of the tenant.
import crypto from 'node:crypto';
import type { TenantScope } from '../../platform/db.ts';
import * as repo from './repo.ts';

export interface BalanceClaims {
  typ: 'tariff.balance';
  tid: string;
  /** The customer's external id. */
  sub: string;
  cur: string;
  /** Credit in force, what open holds set aside, and the difference (decimal strings). */
  bal: string;
  held: string;
  avl: string;
  /** What the blocking budget leaves after spend and holds; null without one. */
  bud: string | null;
  /** The customer's depletion policy. */
  dep: 'overage' | 'block';
  /** The open holds: id, what each still holds, its expiry (Unix seconds). */
  holds: { id: string; held: string; exp: number }[];
  iat: number;
  exp: number;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signBalanceToken(key: { keyId: string; privateKey: crypto.KeyObject }, claims: BalanceClaims): string {
  const input = `${encode({ alg: 'EdDSA', typ: 'JWT', kid: key.keyId })}.${encode(claims)}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** The tenant's signing key, created on first use (concurrent first uses agree on whichever was stored). */
export async function currentBalanceKey(
  scope: TenantScope,
  now: Date,
): Promise<{ keyId: string; privateKey: crypto.KeyObject }> {
  let [key] = await repo.listBalanceKeys(scope);
  if (!key) {
    const pair = crypto.generateKeyPairSync('ed25519');
    await repo.insertBalanceKey(scope, {
      keyId: `bal_${now.getTime().toString(36)}`,
      privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
      publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
      createdAt: now,
    });
    [key] = await repo.listBalanceKeys(scope);
  }
  return {
    keyId: key.keyId,
    privateKey: crypto.createPrivateKey({ key: key.privateKey, format: 'der', type: 'pkcs8' }),
  };
}

/** The tenant's public keys as a JSON Web Key Set (RFC 8037: OKP, Ed25519). */
export async function publicBalanceKeys(
  scope: TenantScope,
): Promise<{ keys: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }[] }> {
  const keys = await repo.listBalanceKeys(scope);
  return {
    keys: keys.map((k) => {
      const jwk = crypto.createPublicKey({ key: k.publicKey, format: 'der', type: 'spki' }).export({ format: 'jwk' });
      return {
        kty: 'OKP' as const,
        crv: 'Ed25519' as const,
        x: jwk.x!,
        kid: k.keyId,
        alg: 'EdDSA' as const,
        use: 'sig' as const,
      };
    }),
  };
}
