import type { Clock } from './clock.ts';
import type { Db } from './db.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

/** What services are given: the service-role pool and the clock (plus the few settings they need). */
export interface Deps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sessionTtlSeconds: number;
}
