// Webhook delivery as jobs: the billing tick enqueues one job per endpoint with deliveries due; a job sends
// that endpoint's due deliveries a batch at a time and enqueues its successor while a backlog remains.
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { deliverEndpoint } from './service.ts';

export const DELIVER_WEBHOOKS_JOB = 'webhooks.deliver';

const deliverPayload = z.strictObject({ tenant_id: z.uuid(), endpoint_id: z.uuid() });

const deliverJob = (tenantId: string, endpointId: string) => ({ data: { tenant_id: tenantId, endpoint_id: endpointId }, singletonKey: `${tenantId}:${endpointId}` });

/** Enqueues a delivery job for each endpoint with deliveries due at the clock's now. */
export async function scheduleWebhookDeliveries(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDueEndpoints(deps.db, deps.clock.now(), limit);
  await jobs.sendMany(DELIVER_WEBHOOKS_JOB, due.map((d) => deliverJob(d.tenantId, d.endpointId)));
  return due.length;
}

async function deliverAndContinue(deps: Deps, payload: z.infer<typeof deliverPayload>, jobs: JobSender): Promise<void> {
  const { more } = await deliverEndpoint(deps, payload.tenant_id, payload.endpoint_id);
  if (more) {
    const next = deliverJob(payload.tenant_id, payload.endpoint_id);
    await jobs.send(DELIVER_WEBHOOKS_JOB, next.data, { singletonKey: next.singletonKey });
  }
}

export const webhookJobs: JobDefinition[] = [
  {
    name: DELIVER_WEBHOOKS_JOB,
    // short: one queued job per endpoint; a crashed worker's job does not hold its endpoint up (claims are
    // leases on the delivery rows, so two jobs of one endpoint never send the same delivery at once).
    policy: 'short',
    batchSize: 4,
    handle: (deps, data, jobs) => deliverAndContinue(deps, deliverPayload.parse(data), jobs),
    // Endpoints fetched together are delivered side by side: a slow one does not hold the others up.
    handleBatch: async (deps, data, jobs) => {
      const payloads = data.map((d) => deliverPayload.parse(d));
      await Promise.all(payloads.map((p) => deliverAndContinue(deps, p, jobs)));
    },
  },
];
