// The payments domain's SQL: the Stripe connection, dunning policy, Stripe customers, collections and their
// attempts, received Stripe events, refunds, disputes and customer blocks. Every function filters by its scope's tenant.
import type { Db, TenantScope } from '../../platform/db.ts';

export interface Connection {
  secretKeySealed: string;
  keyLast4: string;
  mode: 'live' | 'test';
  webhookSecretSealed: string;
  /** The signing secret of the platform's Connect endpoint (resellers' connected accounts), if set. */
  connectWebhookSecretSealed: string | null;
  accountId: string | null;
  connectedAt: Date;
  updatedAt: Date;
}

export async function upsertConnection({ db, tenantId }: TenantScope, c: Connection): Promise<void> {
  await db`
    insert into stripe_connections (tenant_id, secret_key_sealed, key_last4, mode, webhook_secret_sealed, connect_webhook_secret_sealed, account_id, connected_at, updated_at)
    values (${tenantId}, ${c.secretKeySealed}, ${c.keyLast4}, ${c.mode}, ${c.webhookSecretSealed}, ${c.connectWebhookSecretSealed}, ${c.accountId}, ${c.connectedAt}, ${c.updatedAt})
    on conflict (tenant_id) do update set secret_key_sealed = excluded.secret_key_sealed, key_last4 = excluded.key_last4, mode = excluded.mode,
      webhook_secret_sealed = excluded.webhook_secret_sealed, connect_webhook_secret_sealed = excluded.connect_webhook_secret_sealed,
      account_id = excluded.account_id, connected_at = excluded.connected_at, updated_at = excluded.updated_at`;
}

export async function findConnection({ db, tenantId }: TenantScope): Promise<Connection | undefined> {
  const [r] = await db`select * from stripe_connections where tenant_id = ${tenantId}`;
  return r
    ? {
        secretKeySealed: r.secret_key_sealed,
        keyLast4: r.key_last4,
        mode: r.mode,
        webhookSecretSealed: r.webhook_secret_sealed,
        connectWebhookSecretSealed: r.connect_webhook_secret_sealed,
        accountId: r.account_id,
        connectedAt: r.connected_at,
        updatedAt: r.updated_at,
      }
    : undefined;
}

export async function deleteConnection({ db, tenantId }: TenantScope): Promise<boolean> {
  const result = await db`delete from stripe_connections where tenant_id = ${tenantId}`;
  return result.count > 0;
}

export async function findPolicy({
  db,
  tenantId,
}: TenantScope): Promise<
  { retryAfterSeconds: number[]; blockAfterSeconds: number | null; updatedAt: Date } | undefined
> {
  const [r] = await db`select * from dunning_policies where tenant_id = ${tenantId}`;
  return r
    ? { retryAfterSeconds: r.retry_after_seconds, blockAfterSeconds: r.block_after_seconds, updatedAt: r.updated_at }
    : undefined;
}

export async function upsertPolicy(
  { db, tenantId }: TenantScope,
  policy: { retryAfterSeconds: number[]; blockAfterSeconds: number | null },
  now: Date,
): Promise<void> {
  await db`
    insert into dunning_policies (tenant_id, retry_after_seconds, block_after_seconds, updated_at)
    values (${tenantId}, ${policy.retryAfterSeconds}::integer[], ${policy.blockAfterSeconds}, ${now})
    on conflict (tenant_id) do update set retry_after_seconds = excluded.retry_after_seconds, block_after_seconds = excluded.block_after_seconds, updated_at = excluded.updated_at`;
}

export interface StripeCustomer {
  customerId: string;
  stripeCustomerId: string;
  defaultPaymentMethod: string | null;
  paymentMethodCreated: bigint | null;
  paymentMethodSetAt: Date | null;
  /** The saved card as Stripe describes it; null for another kind of payment method or before one is saved. */
  card: SavedCard | null;
}

export interface SavedCard {
  brand: string;
  last4: string;
}

const fromDbStripeCustomer = (r: Record<string, any>): StripeCustomer => ({
  customerId: r.customer_id,
  stripeCustomerId: r.stripe_customer_id,
  defaultPaymentMethod: r.default_payment_method,
  paymentMethodCreated: r.payment_method_created,
  paymentMethodSetAt: r.payment_method_set_at,
  card: r.payment_method_last4 ? { brand: r.payment_method_brand, last4: r.payment_method_last4 } : null,
});

export async function findStripeCustomer(
  { db, tenantId }: TenantScope,
  customerId: string,
  options: { lock?: boolean } = {},
): Promise<StripeCustomer | undefined> {
  const [r] =
    await db`select * from stripe_customers where tenant_id = ${tenantId} and customer_id = ${customerId} ${options.lock ? db`for update` : db``}`;
  return r ? fromDbStripeCustomer(r) : undefined;
}

export async function findStripeCustomerByStripeId(
  { db, tenantId }: TenantScope,
  stripeCustomerId: string,
): Promise<StripeCustomer | undefined> {
  const [r] =
    await db`select * from stripe_customers where tenant_id = ${tenantId} and stripe_customer_id = ${stripeCustomerId} for update`;
  return r ? fromDbStripeCustomer(r) : undefined;
}

export async function insertStripeCustomer(
  { db, tenantId }: TenantScope,
  customerId: string,
  stripeCustomerId: string,
  now: Date,
): Promise<void> {
  await db`
    insert into stripe_customers (tenant_id, customer_id, stripe_customer_id, created_at, updated_at)
    values (${tenantId}, ${customerId}, ${stripeCustomerId}, ${now}, ${now})
    on conflict (tenant_id, customer_id) do nothing`;
}

/** Sets the default payment method unless one set by a newer Stripe object is already there; true when set. */
export async function setPaymentMethod(
  { db, tenantId }: TenantScope,
  customerId: string,
  paymentMethod: string,
  card: SavedCard | null,
  created: bigint,
  now: Date,
): Promise<boolean> {
  const result = await db`
    update stripe_customers set default_payment_method = ${paymentMethod}, payment_method_brand = ${card?.brand ?? null}, payment_method_last4 = ${card?.last4 ?? null},
      payment_method_created = ${created}, payment_method_set_at = ${now}, updated_at = ${now}
    where tenant_id = ${tenantId} and customer_id = ${customerId} and (payment_method_created is null or payment_method_created <= ${created})`;
  return result.count > 0;
}

export type CollectionStatus = 'active' | 'paid' | 'exhausted' | 'stopped';

export interface Collection {
  invoiceId: string;
  customerId: string;
  status: CollectionStatus;
  attempt: number;
  nextAttemptAt: Date | null;
  firstFailedAt: Date | null;
  blockAt: Date | null;
  blockedAt: Date | null;
  writtenOffAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const fromDbCollection = (r: Record<string, any>): Collection => ({
  invoiceId: r.invoice_id,
  customerId: r.customer_id,
  status: r.status,
  attempt: r.attempt,
  nextAttemptAt: r.next_attempt_at,
  firstFailedAt: r.first_failed_at,
  blockAt: r.block_at,
  blockedAt: r.blocked_at,
  writtenOffAt: r.written_off_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function findCollection(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  options: { lock?: boolean } = {},
): Promise<Collection | undefined> {
  const [r] =
    await db`select * from invoice_collections where tenant_id = ${tenantId} and invoice_id = ${invoiceId} ${options.lock ? db`for update` : db``}`;
  return r ? fromDbCollection(r) : undefined;
}

export async function insertCollection(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  customerId: string,
  now: Date,
): Promise<void> {
  await db`
    insert into invoice_collections (tenant_id, invoice_id, customer_id, status, attempt, next_attempt_at, created_at, updated_at)
    values (${tenantId}, ${invoiceId}, ${customerId}, 'active', 1, ${now}, ${now}, ${now})
    on conflict (tenant_id, invoice_id) do nothing`;
}

export async function updateCollection(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  fields: Partial<Omit<Collection, 'invoiceId' | 'customerId' | 'createdAt'>>,
  now: Date,
): Promise<void> {
  const columns: Record<string, unknown> = { updated_at: now };
  const names: Record<string, string> = {
    status: 'status',
    attempt: 'attempt',
    nextAttemptAt: 'next_attempt_at',
    firstFailedAt: 'first_failed_at',
    blockAt: 'block_at',
    blockedAt: 'blocked_at',
    writtenOffAt: 'written_off_at',
    lastError: 'last_error',
  };
  for (const [key, value] of Object.entries(fields)) if (names[key]) columns[names[key]] = value;
  await db`update invoice_collections set ${db(columns as never)} where tenant_id = ${tenantId} and invoice_id = ${invoiceId}`;
}

export type AttemptStatus = 'sending' | 'processing' | 'requires_action' | 'failed' | 'succeeded' | 'canceled';

export interface Attempt {
  invoiceId: string;
  attempt: number;
  idempotencyKey: string;
  paymentIntentId: string | null;
  currency: string;
  amountMinor: bigint;
  status: AttemptStatus;
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const fromDbAttempt = (r: Record<string, any>): Attempt => ({
  invoiceId: r.invoice_id,
  attempt: r.attempt,
  idempotencyKey: r.idempotency_key,
  paymentIntentId: r.payment_intent_id,
  currency: r.currency,
  amountMinor: BigInt(r.amount_minor),
  status: r.status,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function findAttempt(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  attempt: number,
): Promise<Attempt | undefined> {
  const [r] =
    await db`select * from payment_attempts where tenant_id = ${tenantId} and invoice_id = ${invoiceId} and attempt = ${attempt} for update`;
  return r ? fromDbAttempt(r) : undefined;
}

export async function listAttempts({ db, tenantId }: TenantScope, invoiceId: string): Promise<Attempt[]> {
  const rows =
    await db`select * from payment_attempts where tenant_id = ${tenantId} and invoice_id = ${invoiceId} order by attempt`;
  return rows.map(fromDbAttempt);
}

export async function insertAttempt(
  { db, tenantId }: TenantScope,
  a: Omit<Attempt, 'createdAt' | 'updatedAt' | 'paymentIntentId' | 'failureCode' | 'failureMessage'>,
  now: Date,
): Promise<void> {
  await db`
    insert into payment_attempts (tenant_id, invoice_id, attempt, idempotency_key, currency, amount_minor, status, created_at, updated_at)
    values (${tenantId}, ${a.invoiceId}, ${a.attempt}, ${a.idempotencyKey}, ${a.currency}, ${a.amountMinor}, ${a.status}, ${now}, ${now})`;
}

export async function updateAttempt(
  { db, tenantId }: TenantScope,
  invoiceId: string,
  attempt: number,
  fields: {
    status: AttemptStatus;
    paymentIntentId?: string | null;
    failureCode?: string | null;
    failureMessage?: string | null;
  },
  now: Date,
): Promise<void> {
  await db`
    update payment_attempts set status = ${fields.status},
      payment_intent_id = coalesce(${fields.paymentIntentId ?? null}, payment_intent_id),
      failure_code = ${fields.failureCode ?? null}, failure_message = ${fields.failureMessage ?? null}, updated_at = ${now}
    where tenant_id = ${tenantId} and invoice_id = ${invoiceId} and attempt = ${attempt}`;
}

export interface StripeEventRow {
  id: string;
  type: string;
  stripeCreated: bigint;
  livemode: boolean;
  outcome: 'applied' | 'stale' | 'ignored' | 'unmatched';
  detail: string | null;
  /** The connected account (Connect) the event came from; null: the tenant's own account. */
  account: string | null;
  payload: unknown;
  receivedAt: Date;
}

export async function findEvent({ db, tenantId }: TenantScope, id: string): Promise<StripeEventRow | undefined> {
  const [r] = await db`select * from stripe_events where tenant_id = ${tenantId} and id = ${id}`;
  return r ? fromDbEvent(r) : undefined;
}

const fromDbEvent = (r: Record<string, any>): StripeEventRow => ({
  id: r.id,
  type: r.type,
  stripeCreated: BigInt(r.stripe_created),
  livemode: r.livemode,
  outcome: r.outcome,
  detail: r.detail,
  account: r.account,
  payload: r.payload,
  receivedAt: r.received_at,
});

/** Records an event once; false when its id was recorded already (a replay). */
export async function insertEvent({ db, tenantId }: TenantScope, e: StripeEventRow): Promise<boolean> {
  const result = await db`
    insert into stripe_events (tenant_id, id, type, stripe_created, livemode, outcome, detail, account, payload, received_at)
    values (${tenantId}, ${e.id}, ${e.type}, ${e.stripeCreated}, ${e.livemode}, ${e.outcome}, ${e.detail}, ${e.account}, ${db.json(e.payload as never)}, ${e.receivedAt})
    on conflict (tenant_id, id) do nothing`;
  return result.count > 0;
}

export async function listEvents({ db, tenantId }: TenantScope, limit: number): Promise<StripeEventRow[]> {
  const rows =
    await db`select * from stripe_events where tenant_id = ${tenantId} order by received_at desc, id limit ${limit}`;
  return rows.map(fromDbEvent);
}

export async function insertRefund(
  { db, tenantId }: TenantScope,
  r: {
    refundId: string;
    invoiceId: string;
    chargeId: string;
    currency: string;
    amountMinor: bigint;
    creditNoteId: string | null;
  },
  now: Date,
): Promise<boolean> {
  const result = await db`
    insert into payment_refunds (tenant_id, refund_id, invoice_id, charge_id, currency, amount_minor, credit_note_id, created_at)
    values (${tenantId}, ${r.refundId}, ${r.invoiceId}, ${r.chargeId}, ${r.currency}, ${r.amountMinor}, ${r.creditNoteId}, ${now})
    on conflict (tenant_id, refund_id) do nothing`;
  return result.count > 0;
}

export async function sumRefunds({ db, tenantId }: TenantScope, chargeId: string): Promise<bigint> {
  const [r] =
    await db`select coalesce(sum(amount_minor), 0)::bigint as total from payment_refunds where tenant_id = ${tenantId} and charge_id = ${chargeId}`;
  return BigInt(r.total);
}

/** Inserts or moves a dispute forward; false when a newer event already set it. */
export async function upsertDispute(
  { db, tenantId }: TenantScope,
  d: {
    disputeId: string;
    invoiceId: string | null;
    chargeId: string;
    status: string;
    reason: string | null;
    currency: string;
    amountMinor: bigint;
    eventCreated: bigint;
  },
  now: Date,
): Promise<boolean> {
  const result = await db`
    insert into payment_disputes (tenant_id, dispute_id, invoice_id, charge_id, status, reason, currency, amount_minor, event_created, created_at, updated_at)
    values (${tenantId}, ${d.disputeId}, ${d.invoiceId}, ${d.chargeId}, ${d.status}, ${d.reason}, ${d.currency}, ${d.amountMinor}, ${d.eventCreated}, ${now}, ${now})
    on conflict (tenant_id, dispute_id) do update set status = excluded.status, reason = excluded.reason, amount_minor = excluded.amount_minor,
      event_created = excluded.event_created, updated_at = excluded.updated_at
    where payment_disputes.event_created <= excluded.event_created`;
  return result.count > 0;
}

export async function listDisputes({ db, tenantId }: TenantScope, invoiceId: string) {
  return db`select dispute_id, status, reason, currency, amount_minor::text, updated_at from payment_disputes where tenant_id = ${tenantId} and invoice_id = ${invoiceId} order by created_at`;
}

export async function insertBlock(
  { db, tenantId }: TenantScope,
  customerId: string,
  invoiceId: string,
  now: Date,
): Promise<boolean> {
  const result = await db`
    insert into customer_blocks (tenant_id, customer_id, invoice_id, reason, blocked_at) values (${tenantId}, ${customerId}, ${invoiceId}, 'payment_past_due', ${now})
    on conflict do nothing`;
  return result.count > 0;
}

/** Lifts the invoice's block; how many blocks the customer still has after it (or -1 when there was none). */
export async function deleteBlock(
  { db, tenantId }: TenantScope,
  customerId: string,
  invoiceId: string,
): Promise<number> {
  const deleted =
    await db`delete from customer_blocks where tenant_id = ${tenantId} and customer_id = ${customerId} and invoice_id = ${invoiceId}`;
  if (deleted.count === 0) return -1;
  const [r] =
    await db`select count(*)::int as n from customer_blocks where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return r.n;
}

export async function listBlocks(
  { db, tenantId }: TenantScope,
  customerId: string,
): Promise<{ invoiceId: string; blockedAt: Date }[]> {
  const rows =
    await db`select invoice_id, blocked_at from customer_blocks where tenant_id = ${tenantId} and customer_id = ${customerId} order by blocked_at`;
  return rows.map((r) => ({ invoiceId: r.invoice_id, blockedAt: r.blocked_at }));
}

/** The billing tick's scan: invoices whose collection should start, attempts due, blocks due (keys only). */
export async function findDue(db: Db, now: Date, limit: number): Promise<{ tenantId: string; invoiceId: string }[]> {
  const rows = await db`select tenant_id, invoice_id from payments_due_invoices(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, invoiceId: r.invoice_id }));
}

/** The tenant a Stripe endpoint path names (its slug or id). */
export async function findTenantByReference(db: Db, reference: string): Promise<string | undefined> {
  const [r] = await db`select tenant_id from stripe_event_tenant(${reference})`;
  return r?.tenant_id;
}
