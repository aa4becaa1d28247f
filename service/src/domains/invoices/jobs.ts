// Period close and invoice finalization as jobs: one close per ended customer-period, one finalize per draft
// whose grace has run out, enqueued by the billing tick (src/jobs.ts) from the injected clock. Singleton keys
// keep a slow job from being queued twice; every handler is idempotent.
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as subscriptionsRepo from '../subscriptions/repo.ts';
import * as repo from './repo.ts';
import { closePeriod, finalizeDueInvoice, issueThresholdInvoice } from './service.ts';

export const CLOSE_PERIOD_JOB = 'billing.close-period';
export const FINALIZE_INVOICE_JOB = 'billing.finalize-invoice';
export const THRESHOLD_INVOICE_JOB = 'billing.threshold-invoice';

const closePeriodPayload = z.strictObject({ tenant_id: z.uuid(), customer_id: z.uuid(), period_start: z.iso.datetime({ offset: true }) });
const finalizePayload = z.strictObject({ tenant_id: z.uuid(), invoice_id: z.uuid() });

/**
 * Enqueues the closes, finalizations and threshold invoices due at the clock's now, at most `limit` of each.
 * Progressive billing is detected here, not at ingestion: a period whose amount crosses a plan threshold is
 * invoiced by the next tick (every minute in production), so its threshold invoice follows the crossing event
 * by up to a minute plus the queue's latency, and bills every event acknowledged before the job locks the period.
 */
export async function scheduleInvoicing(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const now = deps.clock.now();
  const [periods, invoices, thresholds] = await Promise.all([
    subscriptionsRepo.findDuePeriods(deps.db, now, limit),
    repo.findDueInvoices(deps.db, now, limit),
    repo.findDueThresholds(deps.db, now, limit),
  ]);
  for (const p of thresholds) {
    const start = p.periodStart.toISOString();
    await jobs.send(THRESHOLD_INVOICE_JOB, { tenant_id: p.tenantId, customer_id: p.customerId, period_start: start }, { singletonKey: `${p.tenantId}:${p.customerId}:${start}` });
  }
  for (const p of periods) {
    const start = p.periodStart.toISOString();
    await jobs.send(CLOSE_PERIOD_JOB, { tenant_id: p.tenantId, customer_id: p.customerId, period_start: start }, { singletonKey: `${p.tenantId}:${p.customerId}:${start}` });
  }
  for (const i of invoices) {
    await jobs.send(FINALIZE_INVOICE_JOB, { tenant_id: i.tenantId, invoice_id: i.invoiceId }, { singletonKey: `${i.tenantId}:${i.invoiceId}` });
  }
  return periods.length + invoices.length + thresholds.length;
}

export const invoiceJobs: JobDefinition[] = [
  {
    name: CLOSE_PERIOD_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = closePeriodPayload.parse(data);
      await closePeriod(deps, payload.tenant_id, payload.customer_id, new Date(payload.period_start));
    },
  },
  {
    name: THRESHOLD_INVOICE_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = closePeriodPayload.parse(data);
      await issueThresholdInvoice(deps, payload.tenant_id, payload.customer_id, new Date(payload.period_start));
    },
  },
  {
    name: FINALIZE_INVOICE_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = finalizePayload.parse(data);
      await finalizeDueInvoice(deps, payload.tenant_id, payload.invoice_id);
    },
  },
];
