// Verifies a balance token (GET /v1/customers/{id}/balance_token) with the tenant's published public keys
// (GET /v1/balance_token_keys): a gateway or edge worker refuses requests locally without any secret of the tenant.
import crypto from 'node:crypto';

export interface BalanceTokenClaims {
  typ: 'tariff.balance';
  tid: string;
  sub: string;
  cur: string;
  bal: string;
  held: string;
  avl: string;
  bud: string | null;
  dep: 'overage' | 'block';
  holds: { id: string; held: string; exp: number }[];
  iat: number;
  exp: number;
}

export interface BalanceTokenKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
}

export type VerifiedBalanceToken =
  | { ok: true; claims: BalanceTokenClaims }
  | { ok: false; problem: 'malformed' | 'unknown_key' | 'bad_signature' | 'wrong_kind' | 'expired' };

function decode(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Checks the signature with the key its header names, then the kind and the expiry (a token holds up to its `exp` second). */
export function verifyBalanceToken(
  token: string,
  keys: readonly BalanceTokenKey[],
  now: Date = new Date(),
): VerifiedBalanceToken {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'malformed' };
  const header = decode(parts[0]);
  if (!header || header.alg !== 'EdDSA' || typeof header.kid !== 'string') return { ok: false, problem: 'malformed' };
  const key = keys.find((k) => k.kid === header.kid && k.kty === 'OKP' && k.crv === 'Ed25519');
  if (!key) return { ok: false, problem: 'unknown_key' };
  const publicKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.x }, format: 'jwk' });
  const valid = crypto.verify(
    null,
    Buffer.from(`${parts[0]}.${parts[1]}`),
    publicKey,
    Buffer.from(parts[2], 'base64url'),
  );
  if (!valid) return { ok: false, problem: 'bad_signature' };
  const claims = decode(parts[1]) as BalanceTokenClaims | undefined;
  if (!claims || typeof claims.exp !== 'number') return { ok: false, problem: 'malformed' };
  if (claims.typ !== 'tariff.balance') return { ok: false, problem: 'wrong_kind' };
  if (now.getTime() > claims.exp * 1000) return { ok: false, problem: 'expired' };
  return { ok: true, claims };
}
