// Credit expiry as jobs: one notice per grant entering its notice period, one expiry per grant past its expiry,
// enqueued by the billing tick (src/jobs.ts).
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { expireGrant, notifyGrantExpiry } from './service.ts';

export const EXPIRE_GRANT_JOB = 'billing.expire-grant';
export const NOTIFY_GRANT_EXPIRY_JOB = 'billing.notify-grant-expiry';

const expirePayload = z.strictObject({ tenant_id: z.uuid(), grant_id: z.uuid() });

/** Enqueues the expiries and the advance notices of expiry due at the clock's now. */
export async function scheduleExpiries(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const now = deps.clock.now();
  const [due, notices] = await Promise.all([
    repo.findDueExpiries(deps.db, now, limit),
    repo.findDueExpiryNotices(deps.db, now, limit),
  ]);
  const grantJob = (g: { tenantId: string; grantId: string }) => ({
    data: { tenant_id: g.tenantId, grant_id: g.grantId },
    singletonKey: `${g.tenantId}:${g.grantId}`,
  });
  await jobs.sendMany(EXPIRE_GRANT_JOB, due.map(grantJob));
  await jobs.sendMany(NOTIFY_GRANT_EXPIRY_JOB, notices.map(grantJob));
  return due.length + notices.length;
}

export const walletJobs: JobDefinition[] = [
  {
    name: NOTIFY_GRANT_EXPIRY_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = expirePayload.parse(data);
      await notifyGrantExpiry(deps, payload.tenant_id, payload.grant_id);
    },
  },
  {
    name: EXPIRE_GRANT_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const payload = expirePayload.parse(data);
      await expireGrant(deps, payload.tenant_id, payload.grant_id);
    },
  },
];
