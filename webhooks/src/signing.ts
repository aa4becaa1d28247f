// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the base64-decoded
// part of the secret after `whsec_`. Several space-separated signatures let a rotated secret overlap the new one.
import crypto from 'node:crypto';

const prefix = 'whsec_';

/** A new signing secret: `whsec_` and 24 random bytes in base64 (the size Svix and the reference libraries use). */
export function generateSecret(): string {
  return prefix + crypto.randomBytes(24).toString('base64');
}

export function isSecret(value: string): boolean {
  if (!value.startsWith(prefix)) return false;
  const key = value.slice(prefix.length);
  return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && Buffer.from(key, 'base64').length >= 16;
}

/** The HMAC keys of secrets, decoded once for the many messages a delivery job signs with them. */
export function signingKeys(secrets: string[]): crypto.KeyObject[] {
  return secrets.map((secret) => {
    if (!secret.startsWith(prefix)) throw new Error('a webhook secret starts with whsec_');
    return crypto.createSecretKey(Buffer.from(secret.slice(prefix.length), 'base64'));
  });
}

/**
 * The `webhook-signature` header for decoded keys: `v1,<base64>` per key, space-separated. The body as bytes is
 * hashed as it is sent (no second encoding of it, nor a copy of "id.timestamp." and the body joined).
 */
export function signWithKeys(keys: crypto.KeyObject[], id: string, timestamp: number, body: string | Buffer): string {
  const head = `${id}.${timestamp}.`;
  let header = '';
  for (const key of keys)
    header += `${header ? ' ' : ''}v1,${crypto.createHmac('sha256', key).update(head).update(body).digest('base64')}`;
  return header;
}

/** One signature, `v1,<base64>`. `timestamp` is in seconds since the epoch. */
export function signPayload(secret: string, id: string, timestamp: number, body: string): string {
  return signWithKeys(signingKeys([secret]), id, timestamp, body);
}

/** The `webhook-signature` header: one signature per secret in force, space-separated. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return signWithKeys(signingKeys(secrets), id, timestamp, body);
}
