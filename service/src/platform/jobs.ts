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
export function pgBossAdapter(db: Db) {
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
      const transaction = lockedTransactionBody(text);
      if (transaction !== undefined) {
        // pg-boss's maintenance (`locked()`: BEGIN; SET LOCAL ...; advisory lock; work; COMMIT) is a script that
        // manages its own transaction. On a pool its BEGIN would be refused (UNSAFE_TRANSACTION) or, worse, land
        // on one connection and its COMMIT on another: it runs as one transaction on one connection instead.
        if (values.length > 0) throw new Error('pg-boss transaction scripts take no parameters');
        await db.begin((tx) => tx.unsafe(transaction).simple());
        return { rows: [], rowCount: 0 };
      }
      const rows = await db.unsafe(text, values.map(param) as never[]);
      return { rows, rowCount: rows.count };
    },
  };
}

/** The statements between a script's leading BEGIN and trailing COMMIT, or undefined for a plain statement. */
export function lockedTransactionBody(text: string): string | undefined {
  const match = /^\s*BEGIN\s*;([\s\S]*?);?\s*COMMIT\s*;?\s*$/i.exec(text);
  return match ? match[1] : undefined;
}

/** pg-boss's internal queue for cron: its scheduler sends each due schedule here, and a worker forwards it. */
export const SCHEDULE_QUEUE = '__pgboss__send-it';

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
      await connection
        .unsafe('ROLLBACK')
        .simple()
        .catch(() => {});
      // Two processes installing at once: the loser finds it installed.
      if (!(error instanceof Error) || !error.message.includes('already exists')) throw error;
    } finally {
      connection.release();
    }
  }
  const db = pgBossAdapter(owner);
  for (const job of definitions) {
    await db.executeSql(`SELECT ${JOB_SCHEMA}.create_queue($1, $2)`, [
      job.name,
      {
        policy: job.policy,
        retryLimit: 5,
        retryDelay: 5,
        retryBackoff: true,
        expireInSeconds: 900,
        retentionMinutes: 1440,
      },
    ]);
  }
  // pg-boss's scheduler creates its own queue when it starts, which creates a table: the service role may not
  // (permission denied for schema pgboss), and without the queue every scheduled run is dropped. The owner
  // creates it here with pg-boss's defaults (create_queue is a no-op for a queue that exists).
  await db.executeSql(`SELECT ${JOB_SCHEMA}.create_queue($1, $2)`, [SCHEDULE_QUEUE, { policy: 'standard' }]);
  await owner
    .unsafe(
      `
    GRANT USAGE ON SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${JOB_SCHEMA} TO ${SERVICE_ROLE};
  `,
    )
    .simple();
}

export interface JobRunner extends JobSender {
  /** The job system as /readyz reports it. */
  status(): Promise<JobSystemStatus>;
  stop(): Promise<void>;
}

export interface JobSystemStatus {
  /** stalled: the scheduler runs but no scheduled job has completed for `stallSeconds`. */
  status: 'ok' | 'stalled' | 'stopped';
  scheduler: boolean;
  maintenance: boolean;
  /** When a scheduled job (the billing tick) last completed, on any instance. */
  last_tick_at: string | null;
  /** When pg-boss's maintenance (expiry, archiving, deletion) last ran, on any instance. */
  last_maintenance_at: string | null;
  queued: number;
  active: number;
  retrying: number;
  /** Failed jobs not yet archived (pg-boss archives them after 12 hours). */
  failed: number;
  /** Errors of the job system itself in this process (not job failures): scheduler, maintenance, workers. */
  errors: number;
  last_error: { at: string; message: string } | null;
}

/** pg-boss's timers, in seconds; production keeps pg-boss's defaults (maintenance 120, cron check 30, cron worker 5). */
export interface JobTimings {
  maintenanceIntervalSeconds?: number;
  cronMonitorIntervalSeconds?: number;
  cronWorkerIntervalSeconds?: number;
}

export interface JobRunnerOptions {
  /** Maintenance (expiry, archiving) and cron schedules; off in tests, which send their own ticks. */
  supervise?: boolean;
  schedules?: { name: string; cron: string }[];
  pollingIntervalSeconds?: number;
  batchSize?: number;
  timings?: JobTimings;
  /** How long without a completed scheduled job before the status says stalled (default 300). */
  stallSeconds?: number;
}

/** Starts a worker per job definition. A failed job is logged and retried by pg-boss (retryLimit, backoff). */
export async function startJobs(
  deps: Deps,
  definitions: JobDefinition[],
  options: JobRunnerOptions = {},
): Promise<JobRunner> {
  const scheduled = (options.schedules?.length ?? 0) > 0;
  const supervised = options.supervise ?? false;
  const boss = new PgBoss({
    db: pgBossAdapter(deps.db),
    schema: JOB_SCHEMA,
    migrate: false,
    supervise: supervised,
    schedule: scheduled,
    ...options.timings,
  });
  const startedAt = deps.clock.now();
  let stopped = false;
  let errors = 0;
  let lastError: JobSystemStatus['last_error'] = null;
  boss.on('error', (error) => {
    errors += 1;
    lastError = { at: deps.clock.now().toISOString(), message: error instanceof Error ? error.message : String(error) };
    deps.logger.error('job queue error', { error });
  });
  // Schedules are stored before the scheduler starts, so its first check (at start) already sees them: the first
  // tick runs within seconds of a start instead of at the next check, 30 seconds later.
  for (const schedule of options.schedules ?? []) await boss.schedule(schedule.name, schedule.cron);
  await boss.start();
  // This runner's worker by queue. A job it sends wakes that worker to fetch at once (a busy one as soon as its batch
  // is done) rather than at its next poll, so the billing tick's closes do not wait up to a polling interval to
  // start. Workers of other processes find the jobs by polling.
  const workers = new Map<string, string>();
  const wake = (name: string) => {
    const workerId = workers.get(name);
    if (workerId) boss.notifyWorker(workerId);
  };
  const sender: JobSender = {
    send: async (name, data, sendOptions = {}) => {
      await boss.send(name, data, sendOptions.singletonKey ? { singletonKey: sendOptions.singletonKey } : {});
      wake(name);
    },
    sendMany: async (name, jobs) => {
      if (jobs.length === 0) return;
      await boss.insert(
        jobs.map((j) => ({ name, data: j.data, ...(j.singletonKey ? { singletonKey: j.singletonKey } : {}) })),
      );
      wake(name);
    },
  };
  for (const job of definitions) {
    const batchSize = options.batchSize ?? job.batchSize ?? 10;
    let workerId: string | undefined;
    workerId = await boss.work(
      job.name,
      { batchSize, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 },
      async (jobs) => {
        // A full batch: more are probably waiting, so the worker fetches again as soon as this one is done instead of
        // sleeping out the rest of the polling interval (10,000 period closes are 20 batches of 500).
        if (workerId && jobs.length === batchSize) boss.notifyWorker(workerId);
        if (job.handleBatch && jobs.length > 1) {
          try {
            await job.handleBatch(
              deps,
              jobs.map((j) => j.data),
              sender,
            );
            return;
          } catch (error) {
            deps.logger.warn('job batch failed, handling its jobs one by one', {
              job: job.name,
              jobs: jobs.length,
              error: error instanceof Error ? error.message : String(error),
            });
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
      },
    );
    workers.set(job.name, workerId);
  }
  const scheduleNames = (options.schedules ?? []).map((schedule) => schedule.name);
  const stallSeconds = options.stallSeconds ?? 300;
  return {
    ...sender,
    status: async () => {
      const [counts] = await deps.db.unsafe(`
        select count(*) filter (where state = 'created')::int as queued, count(*) filter (where state = 'active')::int as active,
               count(*) filter (where state = 'retry')::int as retrying, count(*) filter (where state = 'failed')::int as failed
        from ${JOB_SCHEMA}.job where state <> 'completed'`);
      const [times] = await deps.db.unsafe(
        `select (select max(completed_on) from ${JOB_SCHEMA}.job where name = any($1::text[]) and state = 'completed') as last_tick_at,
                (select maintained_on from ${JOB_SCHEMA}.version) as last_maintenance_at`,
        [scheduleNames],
      );
      const lastTick = times.last_tick_at as Date | null;
      const since = (lastTick ?? startedAt).getTime();
      const stalled = scheduled && deps.clock.now().getTime() - since > stallSeconds * 1000;
      return {
        status: stopped ? 'stopped' : stalled ? 'stalled' : 'ok',
        scheduler: scheduled,
        maintenance: supervised,
        last_tick_at: lastTick?.toISOString() ?? null,
        last_maintenance_at: (times.last_maintenance_at as Date | null)?.toISOString() ?? null,
        queued: counts.queued,
        active: counts.active,
        retrying: counts.retrying,
        failed: counts.failed,
        errors,
        last_error: lastError,
      };
    },
    stop: async () => {
      stopped = true;
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 10_000 });
    },
  };
}
