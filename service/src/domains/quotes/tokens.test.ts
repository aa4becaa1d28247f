import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signToken, tokenKeyId, verifyToken, type TokenClaims } from './tokens.ts';

const key = { id: 'k1', secret: crypto.randomBytes(32) };
const tenantId = '2f1d6c52-7c1e-4c54-9d3e-3f1f0b7a9e01';
const claims: TokenClaims = {
  typ: 'tariff.quote',
  tid: tenantId,
  iat: 1_773_532_800,
  exp: 1_773_533_100,
  amt: '0.013000000',
};
const token = signToken(key, claims);
const at = (seconds: number) => new Date(seconds * 1000);
const expect_ = { typ: 'tariff.quote' as const, tenantId, now: at(claims.iat) };

/** The token with its claims part replaced (signature kept). */
function withClaims(changed: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, ...changed })).toString('base64url')}.${signature}`;
}

describe('signed tokens', () => {
  it.each([
    ['the token as signed', token, key, expect_, { ok: true }],
    ['up to and including its exp second', token, key, { ...expect_, now: at(claims.exp) }, { ok: true }],
    [
      'a millisecond after exp',
      token,
      key,
      { ...expect_, now: new Date(claims.exp * 1000 + 1) },
      { ok: false, problem: 'expired' },
    ],
    ['a changed amount', withClaims({ amt: '0.000000001' }), key, expect_, { ok: false, problem: 'bad_signature' }],
    ['a later expiry', withClaims({ exp: claims.exp + 3600 }), key, expect_, { ok: false, problem: 'bad_signature' }],
    [
      'another secret under the same key id',
      token,
      { id: 'k1', secret: crypto.randomBytes(32) },
      expect_,
      { ok: false, problem: 'bad_signature' },
    ],
    ['no key found for its id', token, undefined, expect_, { ok: false, problem: 'unknown_key' }],
    [
      'a snapshot token where a quote is expected',
      signToken(key, { ...claims, typ: 'tariff.pricing_snapshot' }),
      key,
      expect_,
      { ok: false, problem: 'wrong_kind' },
    ],
    [
      "another tenant's token",
      signToken(key, { ...claims, tid: crypto.randomUUID() }),
      key,
      expect_,
      { ok: false, problem: 'wrong_tenant' },
    ],
    ['two parts', token.split('.').slice(0, 2).join('.'), key, expect_, { ok: false, problem: 'malformed' }],
    ['not base64 JSON', 'a.b.c', key, expect_, { ok: false, problem: 'malformed' }],
  ])('%s', (_name, given, signingKey, expected, outcome) => {
    const result = verifyToken(given, signingKey, expected);
    expect(result.ok ? { ok: true } : result).toEqual(outcome);
  });

  it('is a compact HS256 JWT naming its key', () => {
    expect(tokenKeyId(token)).toBe('k1');
    const [header, payload, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual(claims);
    expect(signature).toBe(crypto.createHmac('sha256', key.secret).update(`${header}.${payload}`).digest('base64url'));
  });
});
