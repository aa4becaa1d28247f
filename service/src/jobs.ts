// The composition root of background work: every job the service runs, as pg-boss queues.
import { subscriptionJobs, BILLING_TICK_JOB } from './domains/subscriptions/jobs.ts';
import type { JobDefinition } from './platform/jobs.ts';

export const jobDefinitions: JobDefinition[] = [...subscriptionJobs];

/** Cron schedules in production: the billing tick every minute. */
export const jobSchedules = [{ name: BILLING_TICK_JOB, cron: '* * * * *' }];
