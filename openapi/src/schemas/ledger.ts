import { z } from 'zod';
import { externalId } from './customers.ts';
import { text } from './text.ts';

export const listLedgerAccountsInput = z.strictObject({
  /** Only the accounts of this customer (external id): its grants and receivable. */
  customer_id: externalId.optional(),
});
export type ListLedgerAccountsInput = z.infer<typeof listLedgerAccountsInput>;

export const listLedgerTransactionsInput = z.strictObject({
  customer_id: externalId.optional(),
  /** Only transactions caused by this object: an event's transaction_id, a grant or an invoice id. */
  reference: text(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Id of the last transaction of the previous page (newest first). */
  starting_after: z.uuid().optional(),
});
export type ListLedgerTransactionsInput = z.infer<typeof listLedgerTransactionsInput>;
