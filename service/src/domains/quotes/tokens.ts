// Signed statements the service hands out (pricing-snapshot tokens, price quotes): compact JWTs, HS256 over a
// per-tenant secret (signing.ts keeps the keys). Pure: no clock, no database; the caller gives `now`.
import crypto from 'node:crypto';

/** What every Tariff token states: its kind, the tenant, when it was issued and until when it holds (Unix seconds). */
export interface TokenClaims {
  typ: 'tariff.pricing_snapshot' | 'tariff.quote' | 'tariff.portal';
  tid: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

export interface SigningKey {
  id: string;
  secret: Buffer;
}

export type TokenProblem = 'malformed' | 'unknown_key' | 'bad_signature' | 'wrong_kind' | 'wrong_tenant' | 'expired';

export type ReadToken = { ok: true; keyId: string; claims: TokenClaims } | { ok: false; problem: TokenProblem };

const header = (keyId: string) => ({ alg: 'HS256', typ: 'JWT', kid: keyId });
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signToken(key: SigningKey, claims: TokenClaims): string {
  const input = `${encode(header(key.id))}.${encode(claims)}`;
  return `${input}.${crypto.createHmac('sha256', key.secret).update(input).digest('base64url')}`;
}

/** The key id a token names, before its key is looked up (undefined when it is not one of ours). */
export function tokenKeyId(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const decoded = decodePart(parts[0]);
  return decoded && decoded.alg === 'HS256' && typeof decoded.kid === 'string' ? decoded.kid : undefined;
}

/** The tenant a token claims, before it is verified (to find that tenant's key); undefined when it names none. */
export function tokenTenantId(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const tid = decodePart(parts[1])?.tid;
  return typeof tid === 'string' ? tid : undefined;
}

/**
 * Checks a token: the signature with `key` (undefined: the named key does not exist), then the kind, the tenant
 * and the expiry (`now` in milliseconds; a token is good up to and including its `exp` second).
 */
export function verifyToken(
  token: string,
  key: SigningKey | undefined,
  expect: { typ: TokenClaims['typ']; tenantId: string; now: Date },
): ReadToken {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'malformed' };
  const keyId = tokenKeyId(token);
  if (keyId === undefined) return { ok: false, problem: 'malformed' };
  if (!key || key.id !== keyId) return { ok: false, problem: 'unknown_key' };
  const expected = crypto.createHmac('sha256', key.secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    return { ok: false, problem: 'bad_signature' };
  const claims = decodePart(parts[1]) as TokenClaims | undefined;
  if (!claims || typeof claims.exp !== 'number' || typeof claims.iat !== 'number')
    return { ok: false, problem: 'malformed' };
  if (claims.typ !== expect.typ) return { ok: false, problem: 'wrong_kind' };
  if (claims.tid !== expect.tenantId) return { ok: false, problem: 'wrong_tenant' };
  if (expect.now.getTime() > claims.exp * 1000) return { ok: false, problem: 'expired' };
  return { ok: true, keyId, claims };
}

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds since the epoch, as JWT claims count time. */
export const epochSeconds = (at: Date) => Math.floor(at.getTime() / 1000);
