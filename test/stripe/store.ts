// What the double remembers: accounts with their keys, every object by id, events, idempotent results, and the
// successful charges tests count. Objects are built from Stripe's published fixtures (fixtures.json) with fresh ids.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TestCard } from './cards.ts';

/** What an endpoint answers: an object, a list, a search result, a deleted stub. */
export type ApiObject = { object: string; [field: string]: any };
/** A Stripe API object as it goes over the wire. */
export type StripeObject = ApiObject & { id: string };

export interface StoredResponse {
  method: string;
  path: string;
  /** canonicalParams of the first request. */
  params: string;
  status: number;
  body: string;
  requestId: string;
}

export interface WebhookEndpointState {
  id: string;
  url: string;
  secret: string;
  /** Event types delivered; ['*'] for all. */
  enabledEvents: string[];
  enabled: boolean;
  /** A Connect endpoint: it gets the events of the account's connected accounts (not its own), each naming its `account`. */
  connect: boolean;
}

export interface AccountState {
  id: string;
  created: number;
  /** The platform this account is connected to (Connect), or null. */
  platform: string | null;
  secretKey: string;
  restrictedKey: string;
  objects: Map<string, StripeObject>;
  events: StripeObject[];
  webhookEndpoints: WebhookEndpointState[];
  /** Idempotency-Key -> the stored result, or 'in_flight' while the first request runs. */
  idempotency: Map<string, StoredResponse | 'in_flight'>;
  /** The test card behind each card PaymentMethod. */
  cardOf: Map<string, TestCard>;
}

export interface ChargeRecord {
  account: string;
  charge: string;
  paymentIntent: string | null;
  customer: string | null;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
}

/** Successful charges, so a test can assert "charged exactly once". */
export class ChargeLedger {
  readonly all: ChargeRecord[] = [];

  record(charge: ChargeRecord): void {
    this.all.push(charge);
  }

  forPaymentIntent(paymentIntent: string): number {
    return this.all.filter((charge) => charge.paymentIntent === paymentIntent).length;
  }

  forCustomer(customer: string): number {
    return this.all.filter((charge) => charge.customer === customer).length;
  }

  /** Charges whose PaymentIntent carried `metadata[key] = value` (e.g. the invoice id the caller charged for). */
  withMetadata(key: string, value: string): ChargeRecord[] {
    return this.all.filter((charge) => charge.metadata[key] === value);
  }
}

export interface RequestRecord {
  requestId: string;
  account: string | null;
  /** The Stripe-Account header it was sent with (Connect: acting on a connected account), or null. */
  stripeAccount: string | null;
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number | 'dropped';
  replayed: boolean;
}

export interface DoubleState {
  accounts: Map<string, AccountState>;
  charges: ChargeLedger;
  /** Every request the double answered (or dropped), in arrival order. */
  requests: RequestRecord[];
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A Stripe-looking id: prefix and 24 base62 characters. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${prefix}_${id}`;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8')) as {
  resources: Record<string, StripeObject>;
};

export type FixtureName =
  | 'account'
  | 'customer'
  | 'payment_method'
  | 'setup_intent'
  | 'checkout.session'
  | 'payment_intent'
  | 'charge'
  | 'refund'
  | 'dispute'
  | 'event'
  | 'webhook_endpoint'
  | 'tax.calculation'
  | 'tax.calculation_line_item';

/**
 * A fresh object from a fixture: every field Stripe publishes, then `fields` on top. The fixtures carry sample
 * values in fields that describe state (errors, next actions, discounts); builders overwrite those explicitly.
 */
export function fromFixture(name: FixtureName, fields: Record<string, unknown>): StripeObject {
  const template = fixtures.resources[name];
  if (!template) throw new Error(`fixtures.json has no ${name}`);
  return { ...structuredClone(template), ...fields } as StripeObject;
}

export function createAccountState(created: number, platform: string | null = null): AccountState {
  return {
    id: `acct_${newId('x', 16).slice(2)}`,
    created,
    platform,
    secretKey: `sk_test_${newId('x', 40).slice(2)}`,
    restrictedKey: `rk_test_${newId('x', 40).slice(2)}`,
    objects: new Map(),
    events: [],
    webhookEndpoints: [],
    idempotency: new Map(),
    cardOf: new Map(),
  };
}

/** The object with this id and type in the account, or undefined. */
export function findObject(account: AccountState, id: string, type: string): StripeObject | undefined {
  const found = account.objects.get(id);
  return found && found.object === type ? found : undefined;
}

export function saveObject(account: AccountState, object: StripeObject): StripeObject {
  account.objects.set(object.id, object);
  return object;
}
