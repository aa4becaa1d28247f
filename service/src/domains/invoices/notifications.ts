// An invoice's notifications (invoice.created, finalized, paid, voided, and collection's: payment failed, past due,
// ...): one payload shape for the single-period paths (service.ts), the batched close (close.ts) and collection
// (payments/collect.ts), once per invoice and type (and subject suffix, for what happens more than once).
import crypto from 'node:crypto';
import { formatMoney, toNano } from '../../platform/money.ts';
import type { Notification } from '../notifications/service.ts';
import type { NotificationType } from '@tariff/openapi/schemas/notifications';

export type InvoiceNotificationType = Extract<NotificationType, `invoice.${string}`>;

/** What every invoice notification says about its invoice. */
export interface NotifiedInvoice {
  id: string;
  customerId: string;
  customerExternalId: string;
  number: string | null;
  status: string;
  billingReason: 'period_end' | 'threshold';
  currency: string;
  /** Decimal text (a stored numeric or formatMoney). */
  total: string;
  periodStart: Date;
  periodEnd: Date;
}

export function invoiceNotification(
  type: InvoiceNotificationType,
  invoice: NotifiedInvoice,
  extra: Record<string, unknown>,
  now: Date,
  subjectSuffix = '',
): Omit<Notification, 'customerExternalId'> {
  return {
    id: crypto.randomUUID(),
    type,
    customerId: invoice.customerId,
    subjectId: invoice.id + subjectSuffix,
    payload: {
      invoice_id: invoice.id,
      number: invoice.number,
      status: invoice.status,
      billing_reason: invoice.billingReason,
      customer_id: invoice.customerExternalId,
      currency: invoice.currency,
      total: formatMoney(toNano(invoice.total)),
      period: { start: invoice.periodStart.toISOString(), end: invoice.periodEnd.toISOString() },
      ...extra,
    },
    createdAt: now,
  };
}
