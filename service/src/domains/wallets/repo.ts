import type { Db, TenantScope } from '../../platform/db.ts';
import type { DepletionPolicy, GrantKind } from './schema.ts';

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
                               scope_cards, scope_event_types, scope_meters, status, created_at, created_by, ended_at)
    values (${tenantId}, ${grant.id}, ${grant.customerId}, ${grant.kind}, ${grant.name}, ${grant.reason}, ${grant.currency}, ${grant.amount},
            ${grant.balance}, ${grant.priority}, ${grant.effectiveAt}, ${grant.expiresAt}, ${grant.scopeCards}::text[], ${grant.scopeEventTypes}::text[],
            ${grant.scopeMeters}::text[], ${grant.status}, ${grant.createdAt}, ${grant.createdBy}, ${grant.endedAt})`;
}

export async function findGrant({ db, tenantId }: TenantScope, customerId: string, grantId: string, options: { lock?: boolean } = {}): Promise<Grant | undefined> {
  const [row] = await db`
    select * from credit_grants where tenant_id = ${tenantId} and customer_id = ${customerId} and id = ${grantId}
    ${options.lock ? db`for update` : db``}`;
  return row ? fromDbGrant(row) : undefined;
}

/** A customer's grants in creation order (the kernel's tie-break), optionally of one status. */
export async function listGrants({ db, tenantId }: TenantScope, customerId: string, status?: GrantStatus): Promise<Grant[]> {
  const rows = await db`
    select * from credit_grants where tenant_id = ${tenantId} and customer_id = ${customerId}
    ${status ? db`and status = ${status}` : db``}
    order by seq`;
  return rows.map(fromDbGrant);
}

/** Ends a grant (voided or expired): nothing is left to draw. */
export async function endGrant({ db, tenantId }: TenantScope, grantId: string, status: Exclude<GrantStatus, 'active'>, endedAt: Date): Promise<void> {
  await db`update credit_grants set status = ${status}, balance = 0, ended_at = ${endedAt} where tenant_id = ${tenantId} and id = ${grantId}`;
}

export async function updateGrantBalances({ db, tenantId }: TenantScope, balances: { id: string; balance: string }[]): Promise<void> {
  if (balances.length === 0) return;
  await db`
    update credit_grants g set balance = b.balance
    from json_to_recordset(${JSON.stringify(balances)}::text::json) as b(id uuid, balance numeric)
    where g.tenant_id = ${tenantId} and g.id = b.id`;
}

export async function findWalletPolicy({ db, tenantId }: TenantScope, customerId: string): Promise<DepletionPolicy> {
  const [row] = await db`select on_depletion from customer_wallets where tenant_id = ${tenantId} and customer_id = ${customerId}`;
  return row?.on_depletion ?? 'overage';
}

export async function upsertWalletPolicy({ db, tenantId }: TenantScope, customerId: string, policy: DepletionPolicy, now: Date): Promise<void> {
  await db`
    insert into customer_wallets (tenant_id, customer_id, on_depletion, updated_at) values (${tenantId}, ${customerId}, ${policy}, ${now})
    on conflict (tenant_id, customer_id) do update set on_depletion = excluded.on_depletion, updated_at = excluded.updated_at`;
}

export interface RatingWallet {
  customerId: string;
  currency: string;
  onDepletion: DepletionPolicy;
  /** Active grants with something left, locked for the rest of the transaction, in creation order. */
  grants: Grant[];
}

/**
 * The wallets of a batch's customers (by external id) for rating. The grants are locked (in id order, so
 * concurrent batches queue rather than deadlock), since a customer's events in two periods, or a void,
 * could otherwise draw the same balance twice. Two statements, one round trip.
 */
export async function lockRatingWallets({ db, tenantId }: TenantScope, externalIds: string[]): Promise<Map<string, RatingWallet>> {
  const [customers, grants] = await Promise.all([
    db`
      select c.id, c.external_id, c.currency, w.on_depletion
      from customers c left join customer_wallets w on w.tenant_id = c.tenant_id and w.customer_id = c.id
      where c.tenant_id = ${tenantId} and c.external_id = any(${externalIds}::text[])`,
    db`
      select g.* from credit_grants g
      where g.tenant_id = ${tenantId} and g.status = 'active' and g.balance > 0
        and g.customer_id in (select id from customers where tenant_id = ${tenantId} and external_id = any(${externalIds}::text[]))
      order by g.id
      for update of g`,
  ]);
  const byId = new Map<string, RatingWallet>();
  const byExternalId = new Map<string, RatingWallet>();
  for (const c of customers) {
    const wallet: RatingWallet = { customerId: c.id, currency: c.currency, onDepletion: c.on_depletion ?? 'overage', grants: [] };
    byId.set(c.id, wallet);
    byExternalId.set(c.external_id, wallet);
  }
  // Locked in id order, handed to the kernel in creation order.
  for (const g of [...grants].sort((a, b) => (a.seq < b.seq ? -1 : 1))) byId.get(g.customer_id)?.grants.push(fromDbGrant(g));
  return byExternalId;
}

function fromDbGrant(row: Record<string, any>): Grant {
  return {
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
    scopeCards: row.scope_cards,
    scopeEventTypes: row.scope_event_types,
    scopeMeters: row.scope_meters,
    status: row.status,
    createdAt: row.created_at,
    createdBy: row.created_by,
    endedAt: row.ended_at,
  };
}

export async function findGrantById({ db, tenantId }: TenantScope, grantId: string, options: { lock?: boolean } = {}): Promise<Grant | undefined> {
  const [row] = await db`select * from credit_grants where tenant_id = ${tenantId} and id = ${grantId} ${options.lock ? db`for update` : db``}`;
  return row ? fromDbGrant(row) : undefined;
}

/** Active grants past their expiry, across tenants (billing_due_grant_expiries, SECURITY DEFINER). */
export async function findDueExpiries(db: Db, now: Date, limit: number): Promise<{ tenantId: string; grantId: string }[]> {
  const rows = await db`select tenant_id, grant_id from billing_due_grant_expiries(${now}, ${limit})`;
  return rows.map((r) => ({ tenantId: r.tenant_id, grantId: r.grant_id }));
}
