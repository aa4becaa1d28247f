import { z } from 'zod';
import { text } from './text.ts';

export const aggregations = ['sum', 'count', 'max', 'unique_count', 'latest', 'time_weighted_sum'] as const;
export type Aggregation = (typeof aggregations)[number];

export const meterCode = text(100).regex(
  /^[a-z0-9][a-z0-9_.:-]{0,99}$/,
  'must be lowercase letters, digits, "_", ".", ":" or "-" (at most 100)',
);
const propertyName = text(100).regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/, 'must be an event property name');

/** Compared with event property values, which may hold any character PostgreSQL stores. */
const filterValue = text(500, { min: 0, controls: 'any' });

/** A filter on one event property; an event is counted when every filter holds. */
export const meterFilter = z.discriminatedUnion('op', [
  z.strictObject({ property: propertyName, op: z.literal('eq'), value: filterValue }),
  z.strictObject({ property: propertyName, op: z.literal('neq'), value: filterValue }),
  z.strictObject({ property: propertyName, op: z.literal('in'), values: z.array(filterValue).min(1).max(100) }),
  z.strictObject({ property: propertyName, op: z.literal('not_in'), values: z.array(filterValue).min(1).max(100) }),
  z.strictObject({ property: propertyName, op: z.literal('exists') }),
  z.strictObject({ property: propertyName, op: z.literal('not_exists') }),
]);
export type MeterFilter = z.infer<typeof meterFilter>;

export const createMeterInput = z
  .strictObject({
    code: meterCode,
    name: text(200, { trim: true }),
    event_type: text(200),
    aggregation: z.enum(aggregations),
    /** The numeric (or, for unique_count, any) property aggregated; count reads none. */
    property: propertyName.optional(),
    /** Dimensions usage is broken down by, e.g. ["model"] or ["gpu_type", "region"]. */
    group_by: z
      .array(propertyName)
      .max(10)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a property')
      .default([]),
    filters: z.array(meterFilter).max(20).default([]),
  })
  .superRefine((meter, ctx) => {
    if (meter.aggregation === 'count' && meter.property !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['property'], message: 'count aggregates no property: leave it out' });
    }
    if (meter.aggregation !== 'count' && meter.property === undefined) {
      ctx.addIssue({ code: 'custom', path: ['property'], message: `required for ${meter.aggregation}` });
    }
  });
export type CreateMeterInput = z.infer<typeof createMeterInput>;

/** Only the label and archival change: the definition is what past aggregates were computed by. */
export const updateMeterInput = z.strictObject({
  name: text(200, { trim: true }).optional(),
  archived: z.boolean().optional(),
});
export type UpdateMeterInput = z.infer<typeof updateMeterInput>;

export const listMetersInput = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  starting_after: meterCode.optional(),
  include_archived: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
});
export type ListMetersInput = z.infer<typeof listMetersInput>;
