// Period close as jobs: a tick (every minute in production) finds the periods that have ended and enqueues one
// close job per customer-period (a singleton per key, so a slow close is never queued twice).
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { closePeriod } from './service.ts';

export const BILLING_TICK_JOB = 'billing.tick';
export const CLOSE_PERIOD_JOB = 'billing.close-period';

/** How many periods one tick enqueues at most; the next tick takes the rest. */
const tickBatch = 5000;

const closePeriodPayload = z.strictObject({ tenant_id: z.uuid(), customer_id: z.uuid(), period_start: z.iso.datetime({ offset: true }) });

/** Enqueues the work that is due at the clock's now. */
export async function scheduleDueWork(deps: Deps, jobs: JobSender): Promise<number> {
  const due = await repo.findDuePeriods(deps.db, deps.clock.now(), tickBatch);
  for (const p of due) {
    await jobs.send(
      CLOSE_PERIOD_JOB,
      { tenant_id: p.tenantId, customer_id: p.customerId, period_start: p.periodStart.toISOString() },
      { singletonKey: `${p.tenantId}:${p.customerId}:${p.periodStart.toISOString()}` },
    );
  }
  return due.length;
}

export const subscriptionJobs: JobDefinition[] = [
  {
    name: BILLING_TICK_JOB,
    policy: 'stately',
    handle: async (deps, _data, jobs) => {
      await scheduleDueWork(deps, jobs);
    },
  },
  {
    name: CLOSE_PERIOD_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = closePeriodPayload.parse(data);
      await closePeriod(deps, payload.tenant_id, payload.customer_id, new Date(payload.period_start));
    },
  },
];
