import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, parseSecretsKey, sealSecret } from './crypto.ts';

describe('sealed secrets', () => {
  const key = crypto.randomBytes(32);

  it('opens what it sealed, with a fresh IV each time, and never shows the secret', () => {
    const sealed = sealSecret('rk_test_abcdefgh1234', key, 'tenant-a');
    expect(sealed).not.toContain('rk_test');
    expect(sealSecret('rk_test_abcdefgh1234', key, 'tenant-a')).not.toBe(sealed);
    expect(openSecret(sealed, key, 'tenant-a')).toBe('rk_test_abcdefgh1234');
  });

  it('refuses another key, another context (tenant) and altered bytes', () => {
    const sealed = sealSecret('whsec_secret', key, 'tenant-a');
    expect(() => openSecret(sealed, crypto.randomBytes(32), 'tenant-a')).toThrow();
    expect(() => openSecret(sealed, key, 'tenant-b')).toThrow();
    const parts = sealed.split('.');
    const tampered = [
      ...parts.slice(0, 3),
      Buffer.from('x' + Buffer.from(parts[3], 'base64url').toString('latin1').slice(1), 'latin1').toString('base64url'),
    ].join('.');
    expect(() => openSecret(tampered, key, 'tenant-a')).toThrow();
  });

  it('reads the configured key as hex or base64, 32 bytes only', () => {
    const raw = crypto.randomBytes(32);
    expect(parseSecretsKey(raw.toString('hex'))).toEqual(raw);
    expect(parseSecretsKey(raw.toString('base64'))).toEqual(raw);
    expect(parseSecretsKey(undefined)).toBeUndefined();
    expect(() => parseSecretsKey('abcd')).toThrow(/32 bytes/);
  });
});
