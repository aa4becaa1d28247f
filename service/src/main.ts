// `npm start`: migrate, then serve on PORT. Embedded PGlite in DATA_DIR (.data) when DATABASE_URL is not set.
import type { AddressInfo } from 'node:net';
import { createServer } from './app.ts';
import { jobDefinitions, jobSchedules } from './jobs.ts';
import { createDemoTenant, demoInstructions, readDemoCredentials, saveDemoCredentials, type DemoCredentials } from './demo.ts';
import { systemClock } from './platform/clock.ts';
import { loadConfig } from './platform/config.ts';
import { connect, connectService, resolveDatabase } from './platform/db.ts';
import { createLogger } from './platform/log.ts';
import { createMetrics } from './platform/metrics.ts';
import { startWebhookDispatcher } from './domains/webhooks/jobs.ts';
import { installJobs, startJobs } from './platform/jobs.ts';
import { migrate, setServiceRolePassword } from './platform/migrate.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
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
const deps = { db, clock: systemClock, logger, metrics, sessionTtlSeconds: config.sessionTtlSeconds };

// A demo tenant on the first start of an empty database: always on the embedded database, on PostgreSQL
// only when asked (DEMO_TENANT=1), since a production database should not get one by accident.
let demo: DemoCredentials | undefined;
if (target.embedded || process.env.DEMO_TENANT === '1') {
  if (tenants === 0) {
    demo = await createDemoTenant(deps);
    if (target.embedded) await saveDemoCredentials(config.dataDir, demo);
  } else if (target.embedded) {
    demo = await readDemoCredentials(config.dataDir);
  }
}

// Period close and the other scheduled billing work: pg-boss workers on the service's pool, a tick every minute.
const jobs = await startJobs(deps, jobDefinitions, { supervise: true, schedules: jobSchedules });
const webhookDispatcher = startWebhookDispatcher(deps, jobs);

const server = createServer({ ...deps, bodyLimitBytes: config.bodyLimitBytes }).listen(config.port, () => {
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  logger.info('listening', { url, database: target.embedded ? 'pglite' : 'postgresql' });
  if (demo) process.stdout.write(`\n${demoInstructions(url, demo)}\n\n`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  server.close();
  await webhookDispatcher.stop();
  await jobs.stop();
  await db.end({ timeout: 5 });
  await target.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
