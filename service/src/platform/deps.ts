import type { Clock } from './clock.ts';
import type { PaymentSettings } from './config.ts';
import type { Db } from './db.ts';
import type { Logger } from './log.ts';
import type { Mailer } from './mail.ts';
import type { Metrics } from './metrics.ts';
import type { TaxIdVerifier } from '../domains/tax/connections.ts';

/** What services are given: the service-role pool and the clock (plus the few settings they need). */
export interface Deps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sessionTtlSeconds: number;
  /** Account mail (verification, password reset); absent: printed to the log. */
  mailer?: Mailer;
  /** The dashboard's address, for links in mail. */
  publicUrl?: string;
  /** Stripe's address and the key of secrets at rest; absent: read from the environment (payments/stripe.ts). */
  payments?: PaymentSettings;
  /** The online tax id check (VIES by default). */
  taxIdVerifier?: TaxIdVerifier;
}
