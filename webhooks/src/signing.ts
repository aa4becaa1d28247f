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

/** One signature, `v1,<base64>`. `timestamp` is in seconds since the epoch. */
export function signPayload(secret: string, id: string, timestamp: number, body: string): string {
  if (!secret.startsWith(prefix)) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(prefix.length), 'base64');
  const mac = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` header: one signature per secret in force, space-separated. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets.map((s) => signPayload(s, id, timestamp, body)).join(' ');
}
