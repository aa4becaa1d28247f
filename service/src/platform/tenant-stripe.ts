// The tenant's own Stripe connection for the lower domains that call Stripe (tax: Stripe Tax) without importing
// payments, which keeps the key sealed. Payments provides it, wired at the composition root (app.ts) like the
// signals; unwired, asking fails loudly.
import type { Deps } from './deps.ts';

/** The official SDK's address (host/port/protocol: Stripe, or the test double) and the tenant's secret key. */
export interface StripeConnection {
  apiKey: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** The service's Stripe settings (STRIPE_TIMEOUT_MS, STRIPE_MAX_NETWORK_RETRIES); the SDK's defaults otherwise. */
  timeoutMs?: number;
  maxNetworkRetries?: number;
}

/** The tenant's connection, or undefined when it has not connected Stripe. Runs its own short read. */
export type TenantStripeConnection = (deps: Deps, tenantId: string) => Promise<StripeConnection | undefined>;

let provider: TenantStripeConnection | undefined;

export function provideTenantStripeConnection(connection: TenantStripeConnection): void {
  provider = connection;
}

export function tenantStripeConnection(deps: Deps, tenantId: string): Promise<StripeConnection | undefined> {
  if (!provider) throw new Error('No tenant Stripe connection provider: the composition root (app.ts) wires it');
  return provider(deps, tenantId);
}
