// The double-entry ledger: every posting is balanced (debits = credits, one currency) before it is written,
// and the database checks it again per statement. Nothing is ever updated or deleted; a correction is a new,
// reversing transaction. Other domains post inside their own transactions through postTransactions.
import crypto from 'node:crypto';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant, type TenantScope } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { formatMoney, toNano } from '../../platform/money.ts';
import { requireCustomer } from '../customers/service.ts';
import * as repo from './repo.ts';
import type { AccountKind, AccountRow, TransactionKind } from './repo.ts';
import type { ListLedgerAccountsInput, ListLedgerTransactionsInput } from '@tariff/openapi/schemas/ledger';

export type { AccountKind, TransactionKind };

/** The chart of accounts. Codes name what the account is; tenant-level accounts are per currency. */
export const accounts = {
  /** What the tenant owes the customer in credit: one liability per grant. */
  grant: (grantId: string, currency: string, customerId: string): AccountRow => ({
    code: `grant:${grantId}`,
    kind: 'liability',
    currency,
    customerId,
  }),
  /** What the customer owes: finalized invoices not yet paid. */
  receivable: (customerId: string, currency: string): AccountRow => ({
    code: `receivable:${customerId}`,
    kind: 'asset',
    currency,
    customerId,
  }),
  revenue: (stream: 'usage' | 'subscription' | 'minimum_commitment' | 'breakage', currency: string): AccountRow => ({
    code: `revenue:${stream}:${currency}`,
    kind: 'revenue',
    currency,
    customerId: null,
  }),
  /** Free credit is a cost of sales when granted (and reversed when it lapses). */
  creditExpense: (kind: 'promotional' | 'goodwill', currency: string): AccountRow => ({
    code: `expense:${kind}_credits:${currency}`,
    kind: 'expense',
    currency,
    customerId: null,
  }),
  /** Purchases of prepaid credit, settled by the payments that pay for them. */
  prepaidPurchases: (currency: string): AccountRow => ({
    code: `clearing:prepaid_purchases:${currency}`,
    kind: 'asset',
    currency,
    customerId: null,
  }),
  /** Receivables given up on (written off), and recovered when paid after all. */
  badDebt: (currency: string): AccountRow => ({
    code: `expense:bad_debt:${currency}`,
    kind: 'expense',
    currency,
    customerId: null,
  }),
  /** Tax invoiced and owed to a jurisdiction (VAT, GST, sales tax...), until the tenant's return pays it. */
  taxPayable: (tax: string, jurisdiction: string, currency: string): AccountRow => ({
    code: `tax:${tax}:${jurisdiction}:${currency}`,
    kind: 'liability',
    currency,
    customerId: null,
  }),
  /** Payments received against invoices, until they are reconciled with the bank. */
  payments: (currency: string): AccountRow => ({
    code: `clearing:payments:${currency}`,
    kind: 'asset',
    currency,
    customerId: null,
  }),
} as const;

export interface Posting {
  id?: string;
  kind: TransactionKind;
  customerId: string | null;
  currency: string;
  reference: string;
  description?: string;
  occurredAt: Date;
  /** Debit positive, credit negative. Zero lines are dropped. */
  lines: { account: AccountRow; amount: bigint }[];
}

export type BalanceCheck = { ok: true } | { ok: false; error: string };

/** Pure: a posting is valid when its non-zero lines sum to zero in the posting's one currency. */
export function checkBalanced(posting: Posting): BalanceCheck {
  const lines = posting.lines.filter((l) => l.amount !== 0n);
  if (lines.length < 2)
    return { ok: false, error: `${posting.kind} ${posting.reference}: needs at least two non-zero lines` };
  const wrongCurrency = lines.find((l) => l.account.currency !== posting.currency);
  if (wrongCurrency)
    return {
      ok: false,
      error: `${posting.kind} ${posting.reference}: ${wrongCurrency.account.code} is in ${wrongCurrency.account.currency}, not ${posting.currency}`,
    };
  const sum = lines.reduce((total, l) => total + l.amount, 0n);
  if (sum !== 0n)
    return {
      ok: false,
      error: `${posting.kind} ${posting.reference}: debits and credits differ by ${formatMoney(sum)}`,
    };
  return { ok: true };
}

/**
 * Writes postings inside the caller's transaction. The three statements are issued without waiting between
 * them (they run in order on the transaction's connection), so a caller can pipeline them with its own writes.
 * A posting that does not balance is a bug in the caller: it throws before anything is sent.
 */
export function postTransactions(scope: TenantScope, postings: Posting[], now: Date): Promise<unknown> {
  const accountsByCode = new Map<string, AccountRow>();
  const transactions: repo.TransactionRow[] = [];
  const entries: repo.EntryRow[] = [];
  for (const posting of postings) {
    const check = checkBalanced(posting);
    if (!check.ok) throw new Error(`unbalanced ledger posting: ${check.error}`);
    const id = posting.id ?? crypto.randomUUID();
    transactions.push({
      id,
      kind: posting.kind,
      customerId: posting.customerId,
      currency: posting.currency,
      reference: posting.reference,
      description: posting.description ?? null,
      occurredAt: posting.occurredAt,
    });
    let line = 0;
    for (const { account, amount } of posting.lines) {
      if (amount === 0n) continue;
      accountsByCode.set(account.code, account);
      entries.push({ transactionId: id, line: line++, account: account.code, amount: formatMoney(amount) });
    }
  }
  if (transactions.length === 0) return Promise.resolve();
  return Promise.all([
    repo.insertAccounts(scope, [...accountsByCode.values()], now),
    repo.insertTransactions(scope, transactions, now),
    repo.insertEntries(scope, entries),
  ]);
}

const creditNormal: Record<AccountKind, boolean> = { asset: false, expense: false, liability: true, revenue: true };

/** An account's balance in its normal direction: debits for assets and expenses, credits for liabilities and revenue. */
export function normalBalance(kind: AccountKind, debitBalance: bigint): bigint {
  return creditNormal[kind] ? -debitBalance : debitBalance;
}

// ---- reads ----------------------------------------------------------------------------------------------

export async function listLedgerAccounts(
  deps: Deps,
  actor: Actor,
  input: ListLedgerAccountsInput,
): Promise<ApiSchemas['LedgerAccountList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customerId = input.customer_id === undefined ? undefined : await requireCustomerId(scope, input.customer_id);
    const rows = await repo.listAccountBalances(scope, { customerId });
    return {
      data: rows.map((r) => ({
        code: r.code,
        kind: r.kind,
        currency: r.currency,
        customer_id: r.customerExternalId,
        balance: formatMoney(normalBalance(r.kind, toNano(r.debitBalance))),
        entry_count: String(r.entryCount),
      })),
    };
  });
}

export async function listLedgerTransactions(
  deps: Deps,
  actor: Actor,
  input: ListLedgerTransactionsInput,
): Promise<ApiSchemas['LedgerTransactionList']> {
  requirePermission(actor, 'billing.read');
  return withTenant(deps.db, actor.tenantId, async (tx) => {
    const scope = { db: tx, tenantId: actor.tenantId };
    const customerId = input.customer_id === undefined ? undefined : await requireCustomerId(scope, input.customer_id);
    const rows = await repo.listTransactions(scope, {
      customerId,
      reference: input.reference,
      limit: input.limit,
      startingAfter: input.starting_after,
    });
    return {
      data: rows.map((t) => ({
        id: t.id,
        kind: t.kind,
        customer_id: t.customerExternalId,
        currency: t.currency,
        reference: t.reference,
        description: t.description,
        occurred_at: t.occurredAt.toISOString(),
        recorded_at: t.recordedAt.toISOString(),
        entries: t.entries.map((e) => ({ account: e.account, amount: formatMoney(toNano(e.amount)) })),
      })),
      has_more: rows.length === input.limit,
    };
  });
}

async function requireCustomerId(scope: TenantScope, externalId: string): Promise<string> {
  const customer = await requireCustomer(scope, externalId);
  return customer.id;
}
