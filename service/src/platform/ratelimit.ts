// Fixed-window attempt counters for the account endpoints (login, signup, password reset), in process memory.
// Keys combine the client's address with the account where there is one: a stranger exhausting the limits of
// "address + alice" from their own address leaves alice, elsewhere, untouched. Each replica counts alone, so N
// replicas allow N times the limit; the scrypt cost per attempt bounds what that buys an attacker.
import type { Clock } from './clock.ts';
import { AppError } from './errors.ts';

export interface RateRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
}

export type AccountRateRule =
  'loginPerAddress' | 'loginPerAccount' | 'signupPerAddress' | 'resetPerAddress' | 'resetPerAccount';

export const defaultAccountRateRules: Record<AccountRateRule, RateRule> = {
  loginPerAddress: { limit: 100, windowSeconds: 15 * 60 },
  loginPerAccount: { limit: 10, windowSeconds: 15 * 60 },
  signupPerAddress: { limit: 30, windowSeconds: 3600 },
  resetPerAddress: { limit: 20, windowSeconds: 3600 },
  resetPerAccount: { limit: 5, windowSeconds: 3600 },
};

const maxCounters = 100_000;

export interface RateLimiter {
  /** Counts one attempt against every named counter; throws a rate_limited AppError when any is exhausted. */
  take(checks: { rule: AccountRateRule; key: string }[]): void;
}

export function createRateLimiter(clock: Clock, rules: Partial<Record<AccountRateRule, RateRule>> = {}): RateLimiter {
  const effective = { ...defaultAccountRateRules, ...rules };
  const counters = new Map<string, { count: number; resetsAt: number }>();
  return {
    take(checks) {
      const now = clock.now().getTime();
      if (counters.size > maxCounters)
        for (const [key, counter] of counters) if (counter.resetsAt <= now) counters.delete(key);
      let retryAt = 0;
      const current = checks.map(({ rule, key }) => {
        const id = `${rule}\u0000${key}`;
        let counter = counters.get(id);
        if (!counter || counter.resetsAt <= now) {
          counter = { count: 0, resetsAt: now + effective[rule].windowSeconds * 1000 };
          counters.set(id, counter);
        }
        if (counter.count >= effective[rule].limit) retryAt = Math.max(retryAt, counter.resetsAt);
        return counter;
      });
      if (retryAt > 0) {
        const error = new AppError('rate_limited', 'rate_limited', 'Too many attempts: try again later');
        error.retryAfterSeconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
        throw error;
      }
      for (const counter of current) counter.count++;
    },
  };
}
