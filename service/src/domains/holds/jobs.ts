// Hold expiry as jobs: one per hold past its expiry, enqueued by the billing tick (src/jobs.ts).
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import { text } from '@tariff/openapi/schemas/text';
import * as repo from './repo.ts';
import { expireHold } from './service.ts';

export const EXPIRE_HOLD_JOB = 'billing.expire-hold';

const expirePayload = z.strictObject({ tenant_id: z.uuid(), hold_id: text(255) });

/** Enqueues the expiry of every open hold past its expiry at the clock's now. */
export async function scheduleHoldExpiries(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDueExpiries(deps.db, deps.clock.now(), limit);
  await jobs.sendMany(
    EXPIRE_HOLD_JOB,
    due.map((h) => ({ data: { tenant_id: h.tenantId, hold_id: h.holdId }, singletonKey: `${h.tenantId}:${h.holdId}` })),
  );
  return due.length;
}

export const holdJobs: JobDefinition[] = [
  {
    name: EXPIRE_HOLD_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = expirePayload.parse(data);
      await expireHold(deps, payload.tenant_id, payload.hold_id);
    },
  },
];
