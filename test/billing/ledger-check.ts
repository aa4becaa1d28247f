// Ledger invariants checked from outside the service (owner connection, past RLS): every transaction balances,
// every grant's balance is its account's, and each account's balance is the sum of its entries.
import { expect } from 'vitest';
import type { Db } from '../../service/src/platform/db.ts';

/** Nano-units of a decimal string. */
export function nano(amount: string): bigint {
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = amount.replace('-', '').split('.');
  const value = BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
  return negative ? -value : value;
}

/** Asserts the invariants and returns every account's debit-positive balance (sum of its entries) by code. */
export async function checkLedger(owner: Db, tenantId: string): Promise<Map<string, bigint>> {
  const unbalanced = await owner`
    select transaction_id, sum(amount)::text as total, count(*)::int as lines from ledger_entries where tenant_id = ${tenantId}
    group by transaction_id having sum(amount) <> 0 or count(*) < 2`;
  expect(unbalanced, 'ledger transactions that do not balance').toEqual([]);
  const headless = await owner`
    select t.id from ledger_transactions t where t.tenant_id = ${tenantId}
    and not exists (select 1 from ledger_entries e where e.tenant_id = t.tenant_id and e.transaction_id = t.id)`;
  expect(headless, 'ledger transactions without entries').toEqual([]);
  const grants = await owner`
    select g.id, g.balance::text as balance,
           coalesce((select -sum(e.amount) from ledger_entries e where e.tenant_id = g.tenant_id and e.account = 'grant:' || g.id), 0)::text as ledger
    from credit_grants g where g.tenant_id = ${tenantId}`;
  for (const g of grants) expect(nano(g.balance), `grant ${g.id}: stored balance vs ledger`).toBe(nano(g.ledger));
  const rows = await owner`
    select a.code, coalesce(sum(e.amount), 0)::text as balance from ledger_accounts a
    left join ledger_entries e on e.tenant_id = a.tenant_id and e.account = a.code
    where a.tenant_id = ${tenantId} group by a.code`;
  const balances = new Map(rows.map((r) => [r.code as string, nano(r.balance)]));
  // The whole ledger sums to zero too.
  expect([...balances.values()].reduce((a, b) => a + b, 0n)).toBe(0n);
  return balances;
}
