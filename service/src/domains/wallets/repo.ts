import type { Db, TenantScope } from '../../platform/db.ts';
import type { Conversion } from '../currency/convert.ts';
import type { DepletionPolicy, GrantKind } from '@tariff/openapi/schemas/wallets';

export type GrantStatus = 'active' | 'voided' | 'expired';

export interface Grant {
  id: string;
  customerId: string;
  kind: GrantKind;
  name: string | null;
  reason: string | null;
  currency: string;
  amount: string;
  balance: string;
  priority: number;
  effectiveAt: Date | null;
  expiresAt: Date | null;
  /** Days of advance notice before expiry; null: the tenant's setting. */
  expiryNoticeDays: number | null;
  /** A grant denominated in credits: how many, at what rate (currency per credit), numeric text. */
  credits: { amount: string; rate: string } | null;
  /** Given in the customer's billing currency, converted into `currency` when issued (credit_grants.fx). */
  fx: (Conversion & { amount_given: string }) | null;
  scopeCards: string[] | null;
  scopeEventTypes: string[] | null;
  scopeMeters: string[] | null;
  status: GrantStatus;
  createdAt: Date;
  createdBy: string;
  endedAt: Date | null;
}

export async function insertGrant({ db, tenantId }: TenantScope, grant: Grant): Promise<void> {
  await db`
    insert into credit_grants (tenant_id, id, customer_id, kind, name, reason, currency, amount, balance, priority, effective_at, expires_at,
                               scope_cards, scope_event_types, scope_meters, status, created_at, created_by, ended_at, expiry_notice_days,
                               credit_amount, credit_rate, fx)
    values (${tenantId}, ${grant.id}, ${grant.customerId}, ${grant.kind}, ${grant.name}, ${grant.reason}, ${grant.currency}, ${grant.amount},
            ${grant.balance}, ${grant.priority}, ${grant.effectiveAt}, ${grant.expiresAt}, ${grant.scopeCards}::text[], ${grant.scopeEventTypes}::text[],
            ${grant.scopeMeters}::text[], ${grant.status}, ${grant.createdAt}, ${grant.createdBy}, ${grant.endedAt}, ${grant.expiryNoticeDays},
            ${grant.credits?.amount ?? null}, ${grant.credits?.rate ?? null}, ${grant.fx === null ? null : db.json(grant.fx as never)})`;
}

export async function findGrant(
  { db, tenantId }: TenantScope,
  customerId: string,
  grantId: string,
  options: { lock?: boolean } = {},
): Promise<Grant | undefined> {
  const [row] = await db`
    select * from credit_grants where tenant_id = ${tenantId} and customer_id = ${customerId} and id = ${grantId}
    ${options.lock ? db`for update` : db``}`;
  return row ? fromDbGrant(row) : undefined;
}

/** A customer's grants in creation order (the kernel's tie-break), optionally of one status. */
export async function listGrants(
  { db, tenantId }: TenantScope,
  customerId: string,
  status?: GrantStatus,
): Promise<Grant[]> {
  const rows = await db`
    select * from credit_grants where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${status ? db`and status = ${status}` : db``}
    order by seq`;
  return rows.map(fromDbGrant);
}

/** Ends a grant (voided or expired): nothing is left to draw. */
export async function endGrant(
  { db, tenantId }: TenantScope,
  grantId: string,
  status: Exclude<GrantStatus, 'active'>,
  endedAt: Date,
): Promise<void> {
  await db`update credit_grants set status = ${status}, balance = 0, ended_at = ${endedAt} where tenant_id = ${tenantId} and id = ${grantId}`;
}

export async function updateGrantBalances(
  { db, tenantId }: TenantScope,
  balances: { id: string; balance: string }[],
): Promise<void> {
  if (balances.length === 0) return;
  await db`
    update credit_grants g set balance = b.balance
    from json_to_recordset(${JSON.stringify(balances)}::text::json) as b(id uuid, balance numeric)
    where g.tenant_id = ${tenantId} and g.id = b.id`;
}

export interface WalletSettings {
  onDepletion: DepletionPolicy;
  /** credits.low fires when an event's draw takes the credit in force to or below it (numeric text); null: never. */
  lowBalanceThreshold: string | null;
}

export async function findWalletSettings({ db, tenantId }: TenantScope, customerId: string): Promise<WalletSettings> {
  const [row] =
    await db`select on_depletion, low_balance_threshold::text from customer_wallets where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return { onDepletion: row?.on_depletion ?? 'overage', lowBalanceThreshold: row?.low_balance_threshold ?? null };
}

export async function upsertWalletSettings(
  { db, tenantId }: TenantScope,
  customerId: string,
  settings: WalletSettings,
  now: Date,
): Promise<void> {
  await db`
    insert into customer_wallets (tenant_id, customer_id, on_depletion, low_balance_threshold, updated_at)
    values (${tenantId}, ${customerId}, ${settings.onDepletion}, ${settings.lowBalanceThreshold}, ${now})
    on conflict (tenant_id, customer_id) do update
      set on_depletion = excluded.on_depletion, low_balance_threshold = excluded.low_balance_threshold, updated_at = excluded.updated_at`;
}

/**
 * The active grants with something left of the customer `customerId` (an SQL expression of the enclosing statement),
 * locked for the rest of the transaction, in creation order, as a scalar subquery giving one json array (numeric
 * columns as text) for fromJsonGrants. The enclosing statement (events/repo.ts lockBillingContexts) reads customers in
 * external id order, so concurrent batches lock in one order and queue rather than deadlock (a customer's events in
 * two periods, or a void, could otherwise draw the same balance twice).
 */
export function activeGrantsLocked(db: TenantScope['db'], tenantId: string, customerId: ReturnType<TenantScope['db']>) {
  return db`(select coalesce(json_agg(g order by g.seq), '[]') from (
      select g.seq, g.id, g.customer_id, g.kind, g.name, g.reason, g.currency, g.amount::text as amount, g.balance::text as balance,
             g.priority, g.effective_at, g.expires_at, g.expiry_notice_days, g.credit_amount::text as credit_amount,
             g.credit_rate::text as credit_rate, g.fx, g.scope_cards, g.scope_event_types, g.scope_meters, g.status,
             g.created_at, g.created_by, g.ended_at
      from credit_grants g
      where g.tenant_id = ${tenantId} and g.customer_id = ${customerId} and g.status = 'active' and g.balance > 0
      order by g.seq
      for update of g) g)`;
}

/** The grants of activeGrantsLocked's json array (instants as ISO text). */
export function fromJsonGrants(rows: Record<string, any>[]): Grant[] {
  return rows.map((row) =>
    fromDbGrant({
      ...row,
      effective_at: dateOf(row.effective_at),
      expires_at: dateOf(row.expires_at),
      created_at: dateOf(row.created_at),
      ended_at: dateOf(row.ended_at),
    }),
  );
}

const dateOf = (text: string | null) => (text === null ? null : new Date(text));

function fromDbGrant(row: Record<string, any>): Grant {
  return {
    fx: row.fx ?? null,
    id: row.id,
    customerId: row.customer_id,
    kind: row.kind,
    name: row.name,
    reason: row.reason,
    currency: row.currency,
    amount: row.amount,
    balance: row.balance,
    priority: row.priority,
    effectiveAt: row.effective_at,
    expiresAt: row.expires_at,
    expiryNoticeDays: row.expiry_notice_days,
    credits:
      row.credit_amount === null || row.credit_amount === undefined
        ? null
        : { amount: String(row.credit_amount), rate: String(row.credit_rate) },
    scopeCards: row.scope_cards,
    scopeEventTypes: row.scope_event_types,
    scopeMeters: row.scope_meters,
    status: row.status,
    createdAt: row.created_at,
    createdBy: row.created_by,
    endedAt: row.ended_at,
  };
}

export async function findGrantById(
  { db, tenantId }: TenantScope,
  grantId: string,
  options: { lock?: boolean } = {},
): Promise<Grant | undefined> {
  const [row] =
    await db`select * from credit_grants where tenant_id = ${tenantId} and id = ${grantId} ${options.lock ? db`for update` : db``}`;
  return row ? fromDbGrant(row) : undefined;
}

/** Active grants past their expiry, across tenants (billing_due_grant_expiries, SECURITY DEFINER). */
export async function findDueExpiries(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; grantId: string }[]> {
  const rows = await db`select tenant_id, grant_id from billing_due_grant_expiries(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, grantId: r.grant_id }));
}

/** Active grants with credit left whose notice period has begun and that were not notified yet, across tenants (SECURITY DEFINER). */
export async function findDueExpiryNotices(
  db: Db,
  now: Date,
  limit: number,
): Promise<{ tenantId: string; grantId: string }[]> {
  const rows = await db`select tenant_id, grant_id from billing_due_expiry_notices(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, grantId: r.grant_id }));
}

export interface BillingSettings {
  creditExpiryNoticeDays: number;
  invoiceEmails: boolean;
}

/** The tenant's billing settings (7 days of expiry notice and invoice emails on, when never set). */
export async function findBillingSettings({ db, tenantId }: TenantScope): Promise<BillingSettings> {
  const [row] =
    await db`select credit_expiry_notice_days, invoice_emails from billing_settings where tenant_id = ${tenantId}`;
  return {
    creditExpiryNoticeDays: row?.credit_expiry_notice_days ?? defaultExpiryNoticeDays,
    invoiceEmails: row?.invoice_emails ?? true,
  };
}

/** The tenant's days of expiry notice (7 when never set). */
export async function findExpiryNoticeDays(scope: TenantScope): Promise<number> {
  return (await findBillingSettings(scope)).creditExpiryNoticeDays;
}

export const defaultExpiryNoticeDays = 7;

export async function upsertBillingSettings(
  { db, tenantId }: TenantScope,
  settings: BillingSettings,
  now: Date,
): Promise<void> {
  await db`
    insert into billing_settings (tenant_id, credit_expiry_notice_days, invoice_emails, updated_at)
    values (${tenantId}, ${settings.creditExpiryNoticeDays}, ${settings.invoiceEmails}, ${now})
    on conflict (tenant_id) do update set credit_expiry_notice_days = excluded.credit_expiry_notice_days,
      invoice_emails = excluded.invoice_emails, updated_at = excluded.updated_at`;
}
