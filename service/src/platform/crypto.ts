// Password hashing (scrypt) and opaque bearer tokens (API keys, sessions) stored only as SHA-256 hashes.
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

// OWASP's scrypt floor (N=2^17, r=8, p=1) costs ~128 MiB and ~300 ms per hash on this machine; 2^15 keeps login
// under 100 ms while staying far above the cost of brute-forcing a reasonable password list.
const scryptParams = { N: 1 << 15, r: 8, p: 1 } as const;
const keyLength = 64;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, keyLength, { ...scryptParams, maxmem: 128 * scryptParams.N * scryptParams.r * 2 });
  return ['scrypt', scryptParams.N, scryptParams.r, scryptParams.p, salt.toString('base64url'), key.toString('base64url')].join('$');
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
  return crypto.createHash('sha256').update(token).digest();
}

export function tokenKind(token: string): TokenKind | undefined {
  const kind = token.slice(0, token.indexOf('_'));
  return kind === 'sk' || kind === 'pk' || kind === 'ses' || kind === 'vfy' || kind === 'rst' ? kind : undefined;
}
