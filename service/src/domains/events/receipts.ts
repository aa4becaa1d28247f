// One event's receipt, as GET /v1/events/{id}/receipt answers it (stored compactly: platform/receipt-codec.ts).
import { formatMoney } from '@tariff/core-wasm';
import type { ApiSchemas } from '../../platform/api.ts';
import type { Actor } from '../../platform/auth.ts';
import { requirePermission } from '../../platform/auth.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { notFound } from '../../platform/errors.ts';
import { toNano as nano } from '../../platform/money.ts';
import { netOf } from './chain.ts';
import * as repo from './repo.ts';

export async function getReceipt(deps: Deps, actor: Actor, transactionId: string): Promise<ApiSchemas['Receipt']> {
  requirePermission(actor, 'usage.read');
  const row = await withTenant(deps.db, actor.tenantId, (tx) =>
    repo.findRatedEvent({ db: tx, tenantId: actor.tenantId }, transactionId),
  );
  if (!row) throw notFound('event_not_found', `No event "${transactionId}"`);
  return {
    transaction_id: row.transactionId,
    customer_id: row.customerExternalId,
    event_type: row.eventType,
    timestamp: row.occurredAt.toISOString(),
    properties: row.properties,
    received_at: row.receivedAt.toISOString(),
    currency: row.currency,
    amount: formatMoney(nano(row.amount)),
    subtotal: formatMoney(nano(row.subtotal)),
    cost: row.cost === null ? null : formatMoney(nano(row.cost)),
    margin: row.margin === null ? null : formatMoney(nano(row.margin)),
    price_book: row.priceBookCode,
    book_version: row.bookVersion.toISOString(),
    card: row.card,
    kernel_version: row.kernelVersion,
    revision: row.revision,
    period_start: row.periodStart.toISOString(),
    rated_at: row.ratedAt.toISOString(),
    receipt: row.receipt,
    // Each reseller level: what it paid its parent (net, before its credits) and its margin on what the level
    // below paid it.
    chain: row.chain.map((level, k) => {
      const below = k === 0 ? netOf({ amount: row.amount, receipt: row.receipt }) : nano(row.chain[k - 1].net);
      return {
        level: level.level,
        customer_id: level.customer_id,
        price_book: level.price_book,
        book_version: new Date(level.book_version).toISOString(),
        card: level.card,
        currency: level.currency,
        amount: formatMoney(nano(level.amount)),
        net: formatMoney(nano(level.net)),
        credits_applied: formatMoney(nano(level.credits_applied)),
        margin: formatMoney(below - nano(level.net)),
        receipt: level.receipt,
      };
    }),
  };
}
