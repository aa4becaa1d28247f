// Service configuration, read once from the environment at start.
import path from 'node:path';
import { parseSecretsKey } from './crypto.ts';

export interface Config {
  port: number;
  /** Owner connection (runs migrations). Absent: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Connection of the non-owner service role; derived from `databaseUrl` when absent. */
  appDatabaseUrl?: string;
  /** Password set on the service role after migrating (deployments without trust auth). */
  appDatabasePassword?: string;
  dataDir: string;
  logLevel: LogLevel;
  /** Largest accepted JSON body in bytes. */
  bodyLimitBytes: number;
  /** Connections in the service pool. */
  poolSize: number;
  /** Session lifetime in seconds. */
  sessionTtlSeconds: number;
  /**
   * Express's `trust proxy` (TRUST_PROXY): behind a TLS-terminating proxy, X-Forwarded-Proto/For are believed, so
   * the session cookie gets `Secure` and rate limits key on the client's address. Unset: nothing is trusted.
   */
  trustProxy: boolean | number | string;
  /** Longest wait for a request's headers, then for the whole request, in milliseconds. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** SMTP server for account mail (smtp:// or smtps:// URL); unset: mail is printed to the log. */
  smtpUrl?: string;
  mailFrom: string;
  /** Where the dashboard lives, for links in mail. */
  publicUrl: string;
  /** Stripe: where its API is (real Stripe unless STRIPE_API_BASE names another, e.g. the test double) and the key sealing tenants' Stripe secrets. */
  payments: PaymentSettings;
}

export interface PaymentSettings {
  /** STRIPE_API_BASE, e.g. http://127.0.0.1:12111; unset: https://api.stripe.com. */
  stripeApi: { protocol: 'http' | 'https'; host: string; port: number };
  /** Deadline of one Stripe request (STRIPE_TIMEOUT_MS, default 30 s). */
  stripeTimeoutMs: number;
  /** Retries of a Stripe request that failed on the network, 429 or 5xx (the SDK's, same idempotency key). */
  stripeMaxNetworkRetries: number;
  /** SECRETS_KEY (32 bytes, hex or base64): AES-256-GCM key of the Stripe secrets at rest. Unset: Stripe cannot be connected. */
  secretsKey?: Buffer;
  /**
   * How long a payment attempt whose answer never came (a crash, a hang) is left before it is sent again under the
   * same idempotency key (PAYMENT_ATTEMPT_LEASE_SECONDS, default 300).
   */
  attemptLeaseSeconds: number;
}

/** The payment settings from the environment (read by loadConfig, and by services run without a Config). */
export function loadPaymentSettings(env: NodeJS.ProcessEnv = process.env): PaymentSettings {
  const base = new URL(env.STRIPE_API_BASE || 'https://api.stripe.com');
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new Error('STRIPE_API_BASE must be an http or https URL');
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return {
    stripeApi: { protocol, host: base.hostname, port: base.port ? Number(base.port) : protocol === 'http' ? 80 : 443 },
    stripeTimeoutMs: integer(env.STRIPE_TIMEOUT_MS, 30_000, 'STRIPE_TIMEOUT_MS'),
    stripeMaxNetworkRetries: integer(env.STRIPE_MAX_NETWORK_RETRIES, 2, 'STRIPE_MAX_NETWORK_RETRIES'),
    secretsKey: parseSecretsKey(env.SECRETS_KEY),
    attemptLeaseSeconds: integer(env.PAYMENT_ATTEMPT_LEASE_SECONDS, 300, 'PAYMENT_ATTEMPT_LEASE_SECONDS'),
  };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const logLevels: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const port = integer(env.PORT, 3000, 'PORT');
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${logLevels.join(', ')}`);
  const payments = loadPaymentSettings(env);
  return {
    port,
    databaseUrl: env.DATABASE_URL || undefined,
    appDatabaseUrl: env.APP_DATABASE_URL || undefined,
    appDatabasePassword: env.APP_DATABASE_PASSWORD || undefined,
    dataDir: path.resolve(cwd, env.DATA_DIR ?? '.data'),
    logLevel,
    bodyLimitBytes: integer(env.BODY_LIMIT_BYTES, 16 * 1024 * 1024, 'BODY_LIMIT_BYTES'),
    poolSize: integer(env.DB_POOL_SIZE, 10, 'DB_POOL_SIZE'),
    sessionTtlSeconds: integer(env.SESSION_TTL_SECONDS, 30 * 24 * 3600, 'SESSION_TTL_SECONDS'),
    trustProxy: trustProxy(env.TRUST_PROXY),
    headersTimeoutMs: integer(env.HEADERS_TIMEOUT_MS, 20_000, 'HEADERS_TIMEOUT_MS'),
    requestTimeoutMs: integer(env.REQUEST_TIMEOUT_MS, 120_000, 'REQUEST_TIMEOUT_MS'),
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.MAIL_FROM || 'Tariff <no-reply@tariff.local>',
    publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    payments,
  };
}

/** "true"/"1": trust every proxy hop; a number: that many hops; anything else: Express's list of addresses/subnets. */
export function trustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^[0-9]+$/.test(raw)) return Number(raw);
  return raw;
}

function integer(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}
