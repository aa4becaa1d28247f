// The ledger's SQL. Postings travel as one JSON document per table (json_to_recordset), like ingestion's rows.
import type { TenantScope } from '../../platform/db.ts';

export type AccountKind = 'asset' | 'liability' | 'revenue' | 'expense';
export type TransactionKind =
  | 'grant_issued'
  | 'usage_drawdown'
  | 'grant_voided'
  | 'grant_expired'
  | 'invoice_finalized'
  | 'invoice_paid'
  | 'invoice_voided'
  | 'credit_note_issued'
  | 'rerating_credit_returned'
  | 'invoice_written_off'
  | 'payment_refunded';

export interface AccountRow {
  code: string;
  kind: AccountKind;
  currency: string;
  customerId: string | null;
}

export interface TransactionRow {
  id: string;
  kind: TransactionKind;
  customerId: string | null;
  currency: string;
  reference: string;
  description: string | null;
  occurredAt: Date;
}

export interface EntryRow {
  transactionId: string;
  line: number;
  account: string;
  /** Signed decimal string: debit positive, credit negative. */
  amount: string;
}

function asJson(db: TenantScope['db'], rows: object[]) {
  return db`${JSON.stringify(rows)}::text::json`;
}

/** Creates the accounts that do not exist yet; an existing account is left as it is. */
export async function insertAccounts({ db, tenantId }: TenantScope, accounts: AccountRow[], now: Date): Promise<void> {
  if (accounts.length === 0) return;
  const rows = accounts.map((a) => ({ code: a.code, kind: a.kind, currency: a.currency, customer_id: a.customerId }));
  await db`
    insert into ledger_accounts (tenant_id, code, kind, currency, customer_id, created_at)
    select ${tenantId}, a.code, a.kind, a.currency, a.customer_id, ${now}
    from json_to_recordset(${asJson(db, rows)}) as a(code text, kind text, currency text, customer_id uuid)
    order by a.code
    on conflict do nothing`;
}

export async function insertTransactions(
  { db, tenantId }: TenantScope,
  transactions: TransactionRow[],
  recordedAt: Date,
): Promise<void> {
  if (transactions.length === 0) return;
  const rows = transactions.map((t) => ({
    id: t.id,
    kind: t.kind,
    customer_id: t.customerId,
    currency: t.currency,
    reference: t.reference,
    description: t.description,
    occurred_at: t.occurredAt,
  }));
  await db`
    insert into ledger_transactions (tenant_id, id, kind, customer_id, currency, reference, description, occurred_at, recorded_at)
    select ${tenantId}, t.id, t.kind, t.customer_id, t.currency, t.reference, t.description, t.occurred_at, ${recordedAt}
    from json_to_recordset(${asJson(db, rows)})
      as t(id uuid, kind text, customer_id uuid, currency text, reference text, description text, occurred_at timestamptz)`;
}

/** All entries of the given transactions in one statement: the balance trigger checks each transaction whole. */
export async function insertEntries({ db, tenantId }: TenantScope, entries: EntryRow[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    transaction_id: e.transactionId,
    line: e.line,
    account: e.account,
    amount: e.amount,
  }));
  await db`
    insert into ledger_entries (tenant_id, transaction_id, line, account, amount)
    select ${tenantId}, e.transaction_id, e.line, e.account, e.amount
    from json_to_recordset(${asJson(db, rows)}) as e(transaction_id uuid, line smallint, account text, amount numeric)`;
}

export interface AccountBalanceRow extends AccountRow {
  customerExternalId: string | null;
  /** Sum of the account's entries, debit positive. */
  debitBalance: string;
  entryCount: bigint;
}

export async function listAccountBalances(
  { db, tenantId }: TenantScope,
  filter: { customerId?: string },
): Promise<AccountBalanceRow[]> {
  const rows = await db`
    select a.code, a.kind, a.currency, a.customer_id, c.external_id,
           coalesce(sum(e.amount), 0)::text as debit_balance, count(e.line) as entry_count
    from ledger_accounts a
    left join ledger_entries e on e.tenant_id = a.tenant_id and e.account = a.code
    left join customers c on c.tenant_id = a.tenant_id and c.id = a.customer_id
    where a.tenant_id = ${tenantId}
      ${filter.customerId ? db`and a.customer_id = ${filter.customerId}` : db``}
    group by a.code, a.kind, a.currency, a.customer_id, c.external_id
    order by a.code collate "C"`;
  return rows.map((r) => ({
    code: r.code,
    kind: r.kind,
    currency: r.currency,
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    debitBalance: r.debit_balance,
    entryCount: r.entry_count,
  }));
}

export interface StoredTransaction extends TransactionRow {
  customerExternalId: string | null;
  recordedAt: Date;
  entries: { line: number; account: string; amount: string }[];
}

/** Newest first; `startingAfter` is the id of the last transaction of the previous page. */
export async function listTransactions(
  { db, tenantId }: TenantScope,
  filter: { customerId?: string; reference?: string; limit: number; startingAfter?: string },
): Promise<StoredTransaction[]> {
  const rows = await db`
    select t.*, c.external_id,
           (select json_agg(json_build_object('line', e.line, 'account', e.account, 'amount', e.amount::text) order by e.line)
            from ledger_entries e where e.tenant_id = t.tenant_id and e.transaction_id = t.id) as entries
    from ledger_transactions t
    left join customers c on c.tenant_id = t.tenant_id and c.id = t.customer_id
    where t.tenant_id = ${tenantId}
      ${filter.customerId ? db`and t.customer_id = ${filter.customerId}` : db``}
      ${filter.reference ? db`and t.reference = ${filter.reference}` : db``}
      ${
        filter.startingAfter
          ? db`and (t.recorded_at, t.id) < (select recorded_at, id from ledger_transactions where tenant_id = ${tenantId} and id = ${filter.startingAfter})`
          : db``
      }
    order by t.recorded_at desc, t.id desc
    limit ${filter.limit}`;
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    customerId: r.customer_id,
    customerExternalId: r.external_id,
    currency: r.currency,
    reference: r.reference,
    description: r.description,
    occurredAt: r.occurred_at,
    recordedAt: r.recorded_at,
    entries: r.entries ?? [],
  }));
}
