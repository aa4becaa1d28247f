// Webhook delivery as jobs: one job per endpoint with deliveries due, enqueued by the service's dispatcher
// every second (and by the billing tick, which tests send); a job sends that endpoint's due deliveries a batch at
// a time and enqueues its successor while a backlog remains.
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { deliverEndpoint } from './service.ts';

export const DELIVER_WEBHOOKS_JOB = 'webhooks.deliver';

const deliverPayload = z.strictObject({ tenant_id: z.uuid(), endpoint_id: z.uuid() });

const deliverJob = (tenantId: string, endpointId: string) => ({
  data: { tenant_id: tenantId, endpoint_id: endpointId },
  singletonKey: `${tenantId}:${endpointId}`,
});

/** Enqueues a delivery job for each endpoint with deliveries due at the clock's now. */
export async function scheduleWebhookDeliveries(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDueEndpoints(deps.db, deps.clock.now(), limit);
  await jobs.sendMany(
    DELIVER_WEBHOOKS_JOB,
    due.map((d) => deliverJob(d.tenantId, d.endpointId)),
  );
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
    // short: one queued job per endpoint; a crashed worker's job does not hold its endpoint up (a job leases its
    // endpoint, so two jobs of one endpoint never send the same delivery at once, and the lease lapses).
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

/**
 * The running service's dispatcher: every `intervalMs`, one indexed query for endpoints with deliveries due and a
 * job for each (one queued per endpoint at most), so a message goes out within about a second of being recorded
 * and a crashed worker's endpoint is picked up once its lease lapses (endpoints leased to a running job are left out). Tests send the billing tick instead.
 */
export function startWebhookDispatcher(deps: Deps, jobs: JobSender, intervalMs = 1000): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = scheduleWebhookDeliveries(deps, jobs, 1000)
      .catch((error) =>
        deps.logger.warn('webhook dispatch failed', { error: error instanceof Error ? error.message : String(error) }),
      )
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
