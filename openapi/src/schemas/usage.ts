// Usage over time: a customer's usage per meter and group in hourly or daily buckets (GET
// /v1/customers/:id/usage/series, the dashboard's chart and the portal's).
import { z } from 'zod';
import { text } from './text.ts';

/** Longest range of a usage series. */
export const maxSeriesDays = 90;

export const usageSeriesFields = {
  /** Bucket start, inclusive; truncated down to the bucket. */
  from: z.iso.datetime({ offset: true }),
  /** Exclusive. At most 90 days after `from`. */
  until: z.iso.datetime({ offset: true }),
  granularity: z.enum(['hour', 'day']).default('day'),
  /** One meter (its code); absent: every meter with usage in the range. */
  meter: text(100).optional(),
};

/** A range of instants that runs forwards and spans at most `maxDays` (a usage series', a simulation's). */
export function checkRange<T extends z.ZodType<{ from: string; until: string }>>(schema: T, maxDays: number): T {
  return schema
    .refine((input) => Date.parse(input.until) > Date.parse(input.from), {
      message: 'must be after from',
      path: ['until'],
    })
    .refine((input) => Date.parse(input.until) - Date.parse(input.from) <= maxDays * 86_400_000, {
      message: `must be at most ${maxDays} days after from`,
      path: ['until'],
    });
}

/** The query of GET /v1/customers/:id/usage/series (and the portal's, whose customer is the token's). */
export const usageSeriesQuery = checkRange(z.strictObject(usageSeriesFields), maxSeriesDays);
export type UsageSeriesQuery = z.infer<typeof usageSeriesQuery>;
