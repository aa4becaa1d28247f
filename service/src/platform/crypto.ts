// Password hashing (scrypt) and opaque bearer tokens (API keys, sessions) stored only as SHA-256 hashes.
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

// OWASP's scrypt floor (N=2^17, r=8, p=1) costs ~128 MiB and ~300 ms per hash on this machine; 2^15 keeps login
// under 100 ms while staying far above the cost of brute-forcing a reasonable password list.
const scryptParams = { N: 1 << 15, r: 8, p: 1 } as const;
const keyLength = 64;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, keyLength, {
    ...scryptParams,
    maxmem: 128 * scryptParams.N * scryptParams.r * 2,
  });
  return [
    'scrypt',
    scryptParams.N,
    scryptParams.r,
    scryptParams.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const N = Number(n);
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 128 * N * Number(r) * 2,
  });
  return crypto.timingSafeEqual(actual, expected);
}

/** API keys, sessions, and the tokens mailed to verify an email (vfy) or reset a password (rst). */
export type TokenKind = 'sk' | 'pk' | 'ses' | 'vfy' | 'rst';

/** `<kind>_<43 base64url chars>`: 256 random bits. */
export function generateToken(kind: TokenKind): string {
  return `${kind}_${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  // The one-shot hash: every API request hashes its key, and a Hash object costs several times more.
  return crypto.hash('sha256', token, 'buffer');
}

export function tokenKind(token: string): TokenKind | undefined {
  const kind = token.slice(0, token.indexOf('_'));
  return kind === 'sk' || kind === 'pk' || kind === 'ses' || kind === 'vfy' || kind === 'rst' ? kind : undefined;
}

/**
 * Secrets kept at rest (a tenant's Stripe keys): AES-256-GCM under a 32-byte key from configuration, a random
 * 96-bit IV per secret, "v1.<iv>.<tag>.<ciphertext>" in base64url. `context` (e.g. the tenant id) is bound as
 * additional data, so a sealed value copied to another tenant's row does not open there.
 */
export function sealSecret(plain: string, key: Buffer, context: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [
    'v1',
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

/** The secret sealed by sealSecret; throws when the key, the context or the bytes are not the ones sealed. */
export function openSecret(sealed: string, key: Buffer, context: string): string {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed secret');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

/** A 32-byte key given as 64 hex digits or base64 (SECRETS_KEY); undefined when absent. */
export function parseSecretsKey(raw: string | undefined, name = 'SECRETS_KEY'): Buffer | undefined {
  if (raw === undefined || raw === '') return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error(`${name} must be 32 bytes, as 64 hex digits or base64`);
  return key;
}
