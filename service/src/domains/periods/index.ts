// The periods module: what other domains call about customer_periods. The table is written and locked only
// through repo.ts (the one lock, in the one order: lockPeriods); the boundaries and the following period are
// pure (calendar.ts). Nothing here imports another domain.
export {
  addUsage,
  closePeriods,
  correctPeriod,
  findEndedOpenPeriods,
  findLatestPeriodEnd,
  findPeriodAt,
  inLockOrder,
  knownPeriodsOf,
  lockPeriod,
  lockPeriods,
  openPeriods,
  parsePeriodKey,
  periodKey,
  rememberPeriods,
  splitPeriod,
  type PeriodBounds,
  type PeriodKey,
  type PeriodRow,
  type UsageUpdate,
} from './repo.ts';
export { nextPeriod, periodAt, type Period, type SubscriptionTerms } from './calendar.ts';
