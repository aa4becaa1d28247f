import type { JobDefinition } from '../../platform/jobs.ts';
import { deliverPendingEmails } from './service.ts';

export const EMAIL_DELIVERY_JOB = 'email.deliver';

/** Retries mail that was not delivered right after its transaction (SMTP down, process stopped). */
export const mailJobs: JobDefinition[] = [
  {
    name: EMAIL_DELIVERY_JOB,
    policy: 'stately',
    handle: async (deps) => {
      await deliverPendingEmails(deps);
    },
  },
];
