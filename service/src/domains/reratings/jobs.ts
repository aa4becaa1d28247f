// Re-rating as jobs: one preview job and, after approval, one apply job per re-rating (per book and retroactive
// version), never one per event or customer. Enqueued by the billing tick; handlers are idempotent.
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { JobDefinition, JobSender } from '../../platform/jobs.ts';
import * as repo from './repo.ts';
import { applyRerating, previewRerating } from './service.ts';

export const RERATING_PREVIEW_JOB = 'billing.rerating-preview';
export const RERATING_APPLY_JOB = 'billing.rerating-apply';

const payload = z.strictObject({ tenant_id: z.uuid(), rerating_id: z.uuid() });

/** Enqueues a preview for each pending re-rating and an application for each approved one, at most `limit`. */
export async function scheduleReratings(deps: Deps, jobs: JobSender, limit: number): Promise<number> {
  const due = await repo.findDueReratings(deps.db, limit);
  for (const r of due) {
    const name = r.status === 'pending' ? RERATING_PREVIEW_JOB : RERATING_APPLY_JOB;
    await jobs.send(
      name,
      { tenant_id: r.tenantId, rerating_id: r.reratingId },
      { singletonKey: `${r.tenantId}:${r.reratingId}` },
    );
  }
  return due.length;
}

export const reratingJobs: JobDefinition[] = [
  {
    name: RERATING_PREVIEW_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const p = payload.parse(data);
      await previewRerating(deps, p.tenant_id, p.rerating_id);
    },
  },
  {
    name: RERATING_APPLY_JOB,
    policy: 'stately',
    handle: async (deps, data) => {
      const p = payload.parse(data);
      await applyRerating(deps, p.tenant_id, p.rerating_id);
    },
  },
];
