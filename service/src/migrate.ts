// `npm run migrate`: apply pending migrations to DATABASE_URL (or the embedded database), install the job queues, and exit.
import { jobDefinitions } from './jobs.ts';
import { loadConfig } from './platform/config.ts';
import { connect, resolveDatabase } from './platform/db.ts';
import { createLogger } from './platform/log.ts';
import { installJobs } from './platform/jobs.ts';
import { migrate, setServiceRolePassword } from './platform/migrate.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const target = await resolveDatabase(config, logger);
const owner = connect(target.ownerOptions);
try {
  const applied = await migrate(owner, logger);
  await installJobs(owner, jobDefinitions);
  if (config.appDatabasePassword && !target.embedded) await setServiceRolePassword(owner, config.appDatabasePassword);
  logger.info('migrations up to date', { applied });
} finally {
  await owner.end();
  await target.stop();
}
