// The composition root of background work: every job the service runs, as pg-boss queues, and the billing
// tick that enqueues them. The tick reads the injected clock (production: every minute by cron; tests send it
// after moving their frozen clock) and enqueues one job per unit of work, never one per event.
import { invoiceJobs, scheduleInvoicing } from './domains/invoices/jobs.ts';
import { holdJobs, scheduleHoldExpiries } from './domains/holds/jobs.ts';
import { EMAIL_DELIVERY_JOB, mailJobs } from './domains/mail/jobs.ts';
import { reratingJobs, scheduleReratings } from './domains/reratings/jobs.ts';
import { paymentJobs, scheduleCollections } from './domains/payments/jobs.ts';
import { scheduleExpiries, walletJobs } from './domains/wallets/jobs.ts';
import { scheduleWebhookDeliveries, webhookJobs } from './domains/webhooks/jobs.ts';
import type { JobDefinition } from './platform/jobs.ts';

export const BILLING_TICK_JOB = 'billing.tick';

/** How many units of each kind one tick enqueues at most; the next tick takes the rest. */
const tickBatch = 5000;

const billingTick: JobDefinition = {
  name: BILLING_TICK_JOB,
  policy: 'stately',
  handle: async (deps, _data, jobs) => {
    await scheduleInvoicing(deps, jobs, tickBatch);
    await scheduleExpiries(deps, jobs, tickBatch);
    await scheduleHoldExpiries(deps, jobs, tickBatch);
    await scheduleReratings(deps, jobs, tickBatch);
    await scheduleWebhookDeliveries(deps, jobs, tickBatch);
    await scheduleCollections(deps, jobs, tickBatch);
  },
};

export const jobDefinitions: JobDefinition[] = [
  billingTick,
  ...invoiceJobs,
  ...walletJobs,
  ...holdJobs,
  ...reratingJobs,
  ...mailJobs,
  ...webhookJobs,
  ...paymentJobs,
];

/** Cron schedules in production: the billing tick every minute. */
export const jobSchedules = [
  { name: BILLING_TICK_JOB, cron: '* * * * *' },
  { name: EMAIL_DELIVERY_JOB, cron: '* * * * *' },
];
