// pg-boss (10.x) plumbing: installing its schema and queues as the database owner, and running workers as the
// service role through the service's own pool. Domains define jobs (name, policy, a thin handler); the
// composition root (src/jobs.ts) registers them. Jobs carry keys, never events: one job per unit of work.
import PgBoss from 'pg-boss';
import type { Db } from './db.ts';
import { SERVICE_ROLE } from './db.ts';
import type { Deps } from './deps.ts';

export const JOB_SCHEMA = 'pgboss';

export interface JobSender {
  /** Enqueues a job; with a singleton key, a job with the same key already queued makes this a no-op. */
  send(name: string, data: object, options?: { singletonKey?: string }): Promise<void>;
  /** Enqueues many jobs of one queue in one statement, with the same singleton rule. */
  sendMany(name: string, jobs: { data: object; singletonKey?: string }[]): Promise<void>;
}

export interface JobDefinition {
  name: string;
  /** stately: at most one queued and one running job per singleton key; short: at most one queued. */
  policy: 'standard' | 'stately' | 'short';
  /** Thin: parse the payload, call one service function. */
  handle(deps: Deps, data: unknown, jobs: JobSender): Promise<void>;
  /**
   * Optional: the jobs a worker fetched together (up to its batch size), handled at once (set-based work). If it
   * throws, each job is handled alone by `handle`, so one bad job fails only itself.
   */
  handleBatch?(deps: Deps, data: unknown[], jobs: JobSender): Promise<void>;
  /** How many jobs a worker fetches at once (10 unless set; a runner's `batchSize` overrides it). */
  batchSize?: number;
}

/**
 * pg-boss talks to the database through this adapter over postgres.js, so jobs share the service's pool (and,
 * on embedded PGlite, its one connection). postgres.js serializes each parameter by the type the server
 * describes for it: arrays and objects go as they are, and the JSON text pg-boss prepares itself for json
 * parameters (job lists, outputs) is parsed back, or it would be stored as a JSON string.
 */
function adapter(db: Db) {
  const param = (value: unknown): unknown => {
    if (value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string' && (value.startsWith('{') || value.startsWith('['))) {
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    }
    return value;
  };
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const rows = await db.unsafe(text, values.map(param) as never[]);
      return { rows, rowCount: rows.count };
    },
  };
}

/**
 * Creates pg-boss's schema (if missing) and every queue, and lets the service role use them. Idempotent; run
 * by the owner after the SQL migrations.
 */
export async function installJobs(owner: Db, definitions: JobDefinition[]): Promise<void> {
  const [{ installed }] = await owner`select to_regclass(${`${JOB_SCHEMA}.version`}) is not null as installed`;
  if (!installed) {
    // The plans manage their own transaction (BEGIN ... COMMIT), so they need a connection of their own.
    const connection = await owner.reserve();
    try {
      await connection.unsafe(PgBoss.getConstructionPlans(JOB_SCHEMA)).simple();
    } catch (error) {
      await connection.unsafe('ROLLBACK').simple().catch(() => {});
      // Two processes installing at once: the loser finds it installed.
      if (!(error instanceof Error) || !error.message.includes('already exists')) throw error;
    } finally {
      connection.release();
    }
  }
  const db = adapter(owner);
  for (const job of definitions) {
    await db.executeSql(`SELECT ${JOB_SCHEMA}.create_queue($1, $2)`, [job.name, { policy: job.policy, retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 900, retentionMinutes: 1440 }]);
  }
  await owner.unsafe(`
    GRANT USAGE ON SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
  `).simple();
}

export interface JobRunner extends JobSender {
  stop(): Promise<void>;
}

export interface JobRunnerOptions {
  /** Maintenance (expiry, archiving) and cron schedules; off in tests, which send their own ticks. */
  supervise?: boolean;
  schedules?: { name: string; cron: string }[];
  pollingIntervalSeconds?: number;
  batchSize?: number;
}

/** Starts a worker per job definition. A failed job is logged and retried by pg-boss (retryLimit, backoff). */
export async function startJobs(deps: Deps, definitions: JobDefinition[], options: JobRunnerOptions = {}): Promise<JobRunner> {
  const boss = new PgBoss({
    db: adapter(deps.db),
    schema: JOB_SCHEMA,
    migrate: false,
    supervise: options.supervise ?? false,
    schedule: (options.schedules?.length ?? 0) > 0,
  });
  boss.on('error', (error) => deps.logger.error('job queue error', { error }));
  await boss.start();
  const sender: JobSender = {
    send: async (name, data, sendOptions = {}) => {
      await boss.send(name, data, sendOptions.singletonKey ? { singletonKey: sendOptions.singletonKey } : {});
    },
    sendMany: async (name, jobs) => {
      if (jobs.length > 0) await boss.insert(jobs.map((j) => ({ name, data: j.data, ...(j.singletonKey ? { singletonKey: j.singletonKey } : {}) })));
    },
  };
  for (const job of definitions) {
    const batchSize = options.batchSize ?? job.batchSize ?? 10;
    let workerId: string | undefined;
    workerId = await boss.work(job.name, { batchSize, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 }, async (jobs) => {
      // A full batch: more are probably waiting, so the worker fetches again as soon as this one is done instead of
      // sleeping out the rest of the polling interval (10,000 period closes are 20 batches of 500).
      if (workerId && jobs.length === batchSize) boss.notifyWorker(workerId);
      if (job.handleBatch && jobs.length > 1) {
        try {
          await job.handleBatch(deps, jobs.map((j) => j.data), sender);
          return;
        } catch (error) {
          deps.logger.warn('job batch failed, handling its jobs one by one', { job: job.name, jobs: jobs.length, error: error instanceof Error ? error.message : String(error) });
        }
      }
      // One failure fails (and retries) that job only; pg-boss completes the rest of the batch.
      for (const item of jobs) {
        try {
          await job.handle(deps, item.data, sender);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          deps.logger.error('job failed', { job: job.name, id: item.id, data: item.data, error: message });
          await boss.fail(job.name, item.id, { message });
        }
      }
    });
  }
  for (const schedule of options.schedules ?? []) await boss.schedule(schedule.name, schedule.cron);
  return {
    ...sender,
    stop: async () => {
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}
