// Collection as jobs: the billing tick (src/jobs.ts) enqueues one collect job per invoice whose collection should
// start, whose attempt is due or whose customer block is due; never one per event. A job is thin: collect.ts does it.
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import { collectInvoice } from './collect.ts';
import * as repo from './repo.ts';

export const COLLECT_INVOICE_JOB = 'payments.collect-invoice';

const collectPayload = z.strictObject({ tenant_id: z.uuid(), invoice_id: z.uuid() });

export async function scheduleCollections(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDue(deps.db, deps.clock.now(), limit);
  await jobs.sendMany(
    COLLECT_INVOICE_JOB,
    due.map((d) => ({
      data: { tenant_id: d.tenantId, invoice_id: d.invoiceId },
      singletonKey: `${d.tenantId}:${d.invoiceId}`,
    })),
  );
  return due.length;
}

export const paymentJobs: JobDefinition[] = [
  {
    name: COLLECT_INVOICE_JOB,
    // short: one queued per invoice. Not stately: a job of a process killed mid-charge stays active until pg-boss
    // expires it (15 minutes) and would hold the invoice's next job that long; two jobs at once are safe anyway
    // (the attempt's lease and its idempotency key).
    policy: 'short',
    handle: async (deps, data) => {
      const payload = collectPayload.parse(data);
      await collectInvoice(deps, payload.tenant_id, payload.invoice_id);
    },
  },
];
