// The composition root of background work: every job the service runs, as pg-boss queues.
import { BILLING_TICK_JOB, invoiceJobs } from './domains/invoices/jobs.ts';
import type { JobDefinition } from './platform/jobs.ts';

export const jobDefinitions: JobDefinition[] = [...invoiceJobs];

/** Cron schedules in production: the billing tick every minute. */
export const jobSchedules = [{ name: BILLING_TICK_JOB, cron: '* * * * *' }];
