// The service as `npm start` runs it: migrate, install the job queues, start the workers and the scheduler,
// serve HTTP. main.ts calls it with the environment's config; the scheduler test calls it too, so the test
// runs what production runs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, wireReactions } from './app.ts';
import { createDemoTenant, readDemoCredentials, saveDemoCredentials, type DemoCredentials } from './demo.ts';
import { startWebhookDispatcher } from './domains/webhooks/jobs.ts';
import { jobDefinitions, jobSchedules } from './jobs.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import { connect, connectService, resolveDatabase, type Db } from './platform/db.ts';
import { installJobs, startJobs, type JobRunner, type JobTimings } from './platform/jobs.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { createMailer } from './platform/mail.ts';
import { createMetrics } from './platform/metrics.ts';
import { migrate, setServiceRolePassword } from './platform/migrate.ts';

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /** A demo tenant on the first start of an empty PostgreSQL database (always on the embedded one). */
  demoTenant?: boolean;
  /** pg-boss's timers; production keeps pg-boss's defaults. */
  jobTimings?: JobTimings;
  /** Address to listen on (default: every interface). */
  host?: string;
}

export interface RunningService {
  server: http.Server;
  url: string;
  db: Db;
  jobs: JobRunner;
  embedded: boolean;
  demo?: DemoCredentials;
  stop(): Promise<void>;
}

export async function startService(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const target = await resolveDatabase(config, logger);

  const owner = connect(target.ownerOptions);
  await migrate(owner, logger);
  await installJobs(owner, jobDefinitions);
  if (config.appDatabasePassword && !target.embedded) await setServiceRolePassword(owner, config.appDatabasePassword);
  // Counting tenants is the one cross-tenant read; the service role cannot do it, the owner can.
  const [{ tenants }] = await owner`select count(*)::int as tenants from tenants`;
  await owner.end();

  const db = await connectService(target);
  const metrics = createMetrics();
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, logger });
  const deps = {
    db,
    clock,
    logger,
    metrics,
    sessionTtlSeconds: config.sessionTtlSeconds,
    mailer,
    publicUrl: config.publicUrl,
    payments: config.payments,
  };

  // A demo tenant on the first start of an empty database: always on the embedded database, on PostgreSQL
  // only when asked (DEMO_TENANT=1), since a production database should not get one by accident.
  let demo: DemoCredentials | undefined;
  if (target.embedded || options.demoTenant) {
    if (tenants === 0) {
      demo = await createDemoTenant(deps);
      if (target.embedded) await saveDemoCredentials(config.dataDir, demo);
    } else if (target.embedded) {
      demo = await readDemoCredentials(config.dataDir);
    }
  }

  // Period close and the other scheduled billing work: pg-boss workers on the service's pool, a tick every
  // minute by pg-boss's cron, and its maintenance (expiry, archiving, deletion of old jobs).
  wireReactions();
  const jobs = await startJobs(deps, jobDefinitions, {
    supervise: true,
    schedules: jobSchedules,
    timings: options.jobTimings,
  });
  // Webhook deliveries fall due by the second, finer than cron's minute: a timer queues their jobs.
  const webhookDispatcher = startWebhookDispatcher(deps, jobs);

  const server = createServer({
    ...deps,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    jobs,
  });
  // What was started before the server, stopped in reverse: on a refused port and on stop.
  const stopBackground = async () => {
    await webhookDispatcher.stop();
    await jobs.stop();
    await db.end({ timeout: 5 });
    await target.stop();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      options.host ? server.listen(config.port, options.host, listening) : server.listen(config.port, listening);
    });
  } catch (error) {
    await stopBackground();
    throw listenError(error, config.port);
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? 'localhost'}:${port}`;
  logger.info('listening', { url, database: target.embedded ? 'pglite' : 'postgresql' });

  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    db,
    jobs,
    embedded: target.embedded,
    demo,
    stop: () =>
      (stopping ??= (async () => {
        await new Promise((resolve) => {
          server.close(resolve);
          server.closeAllConnections();
        });
        await stopBackground();
      })()),
  };
}

/** A port that cannot be taken, said with the setting that chooses it. */
function listenError(error: unknown, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new Error(`port ${port} is already in use: stop what holds it or set PORT`);
  if (code === 'EACCES') return new Error(`port ${port} needs privileges this process lacks: set PORT above 1023`);
  return error instanceof Error ? error : new Error(String(error));
}
