// Credit expiry as a job: one per grant past its expiry, enqueued by the billing tick (src/jobs.ts).
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { expireGrant } from './service.ts';

export const EXPIRE_GRANT_JOB = 'billing.expire-grant';

const expirePayload = z.strictObject({ tenant_id: z.uuid(), grant_id: z.uuid() });

export async function scheduleExpiries(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDueExpiries(deps.db, deps.clock.now(), limit);
  for (const g of due) await jobs.send(EXPIRE_GRANT_JOB, { tenant_id: g.tenantId, grant_id: g.grantId }, { singletonKey: `${g.tenantId}:${g.grantId}` });
  return due.length;
}

export const walletJobs: JobDefinition[] = [
  {
    name: EXPIRE_GRANT_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = expirePayload.parse(data);
      await expireGrant(deps, payload.tenant_id, payload.grant_id);
    },
  },
];
