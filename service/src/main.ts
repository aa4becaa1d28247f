// `npm start`: migrate, then serve. Embedded PGlite in .data/ when DATABASE_URL is not set.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { systemClock } from './platform/clock.ts';
import { loadConfig } from './platform/config.ts';
import { connect, connectService, resolveDatabase } from './platform/db.ts';
import { createLogger } from './platform/log.ts';
import { migrate, setServiceRolePassword } from './platform/migrate.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const target = await resolveDatabase(config, logger);

const owner = connect(target.ownerOptions);
await migrate(owner, logger);
if (config.appDatabasePassword && !target.embedded) await setServiceRolePassword(owner, config.appDatabasePassword);
await owner.end();

const db = await connectService(target);
const app = createApp({ db, clock: systemClock, logger, bodyLimitBytes: config.bodyLimitBytes, sessionTtlSeconds: config.sessionTtlSeconds });
const server = app.listen(config.port, () => {
  const { port } = server.address() as AddressInfo;
  logger.info('listening', { url: `http://localhost:${port}`, database: target.embedded ? 'pglite' : 'postgresql' });
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  server.close();
  await db.end({ timeout: 5 });
  await target.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
