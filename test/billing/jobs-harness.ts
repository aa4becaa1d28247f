// Runs the service's pg-boss workers against a scenario's database, with the scenario's frozen clock: a test
// moves the clock, sends the billing tick the production cron would send, and waits for the queues to drain.
import { expect } from 'vitest';
import { BILLING_TICK_JOB, jobDefinitions } from '../../service/src/jobs.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { installJobs, startJobs, type JobRunner } from '../../service/src/platform/jobs.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import type { Harness } from '../service/harness.ts';
import { eventually } from '../wait.ts';

export interface Jobs {
  runner: JobRunner;
  deps: Deps;
  /** Sends the billing tick and waits until every job it led to has run. */
  tick(): Promise<void>;
  /** Waits until no job is queued, retrying or running; a failed job fails the test with its error. */
  drain(): Promise<void>;
  /** Jobs run so far by queue name. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** `extra`: what the service under test was also given (its tax id verifier, a mailer), so jobs reach the same services. */
export async function startJobRunner(
  harness: Harness,
  extra: Partial<Pick<Deps, 'taxIdVerifier' | 'mailer'>> = {},
): Promise<Jobs> {
  await installJobs(harness.database.owner, jobDefinitions);
  const deps: Deps = {
    db: harness.database.app,
    clock: harness.clock,
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 3600,
    ...extra,
  };
  const runner = await startJobs(deps, jobDefinitions, { pollingIntervalSeconds: 0.5 });
  const owner = harness.database.owner;
  const drain = async () => {
    await eventually(
      'every queued job ran',
      async () => {
        const rows =
          await owner`select name, state::text, output from pgboss.job where state in ('created', 'retry', 'active', 'failed')`;
        const failed = rows.filter((r) => r.state === 'failed' || r.state === 'retry');
        expect(
          failed.map((r) => `${r.name}: ${JSON.stringify(r.output)}`),
          'failed jobs',
        ).toEqual([]);
        return rows.length === 0;
      },
      { intervalMs: 100 },
    );
  };
  return {
    runner,
    deps,
    drain,
    tick: async () => {
      await runner.send(BILLING_TICK_JOB, {});
      await drain();
    },
    counts: async () => {
      const rows = await owner`select name, count(*)::int as n from pgboss.job group by name`;
      return Object.fromEntries(rows.map((r) => [r.name, r.n]));
    },
    stop: () => runner.stop(),
  };
}
