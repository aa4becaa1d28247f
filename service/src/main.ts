// `npm start`: migrate, then serve on PORT. Embedded PGlite in DATA_DIR (.data) when DATABASE_URL is not set.
import { demoInstructions } from './demo.ts';
import { loadConfig } from './platform/config.ts';
import { createLogger } from './platform/log.ts';
import { startService } from './start.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const service = await startService(config, { logger, demoTenant: process.env.DEMO_TENANT === '1' }).catch(
  (error: Error) => {
    logger.error('could not start', { message: error.message });
    process.exit(1);
  },
);
if (service.demo) process.stdout.write(`\n${demoInstructions(service.url, service.demo)}\n\n`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  await service.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
