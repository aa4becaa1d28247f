// Inputs of the reseller margin reports (GET /v1/resellers/{customer_id}/margins, GET /v1/margins and their tRPC
// procedures): a range of UTC days and the groupings, read from the chain_daily aggregate.
import { z } from 'zod';
import { text } from './text.ts';
import { externalId } from './customers.ts';

/**
 * What a margin row can be grouped by: `level` the reseller whose margin it is (the report's reseller and each
 * reseller below it), `reseller` the direct child that reseller sold to on the way to the end user (a reseller
 * below it, or the end user itself), `end_user`, `card` (the model or GPU type's rate card at that level), `day`.
 */
export const marginGroups = ['level', 'reseller', 'end_user', 'card', 'day'] as const;
export type MarginGroup = (typeof marginGroups)[number];

/** Longest report, in days counted inclusively. */
export const maxMarginDays = 366;

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;
const isCalendarDay = (value: string) => {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
};
const day = text(10, { typeError: 'must be a date such as 2026-01-31' })
  .regex(dayPattern, { message: 'must be a date such as 2026-01-31 (ISO 8601, UTC day)' })
  .refine(isCalendarDay, { message: 'is not a calendar date' });

const isGroup = (value: string): value is MarginGroup => (marginGroups as readonly string[]).includes(value);

/** `group_by=day,card` (REST), `group_by=day&group_by=card`, or an array (tRPC): each value once, in the order given. */
const groupBy = z
  .union([text(200, { min: 0 }), z.array(text(50, { min: 0 })).max(10)], {
    error: 'must be a comma-separated list such as "day,card"',
  })
  .transform((value, ctx): MarginGroup[] => {
    const names = (Array.isArray(value) ? value : [value])
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const unknown = names.filter((name) => !isGroup(name));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown grouping ${unknown.map((u) => JSON.stringify(u)).join(', ')}: each must be one of ${marginGroups.join(', ')}`,
      });
      return z.NEVER;
    }
    return [...new Set(names.filter(isGroup))];
  });

const dayOf = (value: string) => Date.parse(`${value}T00:00:00Z`);

/** A range that runs forwards and spans at most maxMarginDays. */
function checkRange<T extends z.ZodType<{ from: string; to: string }>>(schema: T): T {
  return schema
    .refine((input) => dayOf(input.to) >= dayOf(input.from), { path: ['to'], message: 'must be on or after from' })
    .refine((input) => (dayOf(input.to) - dayOf(input.from)) / 86_400_000 + 1 <= maxMarginDays, {
      path: ['to'],
      message: `must be at most ${maxMarginDays} days from from, counting both`,
    });
}

const reportFields = {
  /** First UTC day of the report, inclusive. */
  from: day,
  /** Last UTC day of the report, inclusive; at most 366 days counting both ends. */
  to: day,
  /** Any of level, reseller, end_user, card, day, combined (e.g. "day,card"); rows are always split by currency. */
  group_by: groupBy.optional(),
};

export const marginReportInput = checkRange(
  z.strictObject({
    ...reportFields,
    /** csv answers text/csv (as does `Accept: text/csv`). */
    format: z.enum(['json', 'csv']).optional(),
  }),
);
export type MarginReportInput = z.infer<typeof marginReportInput>;

/** The dashboard's procedure: one reseller's report (`customer_id`) or, without it, the tenant's. */
export const marginReportProcedureInput = checkRange(
  z.strictObject({ customer_id: externalId.optional(), ...reportFields }),
);
export type MarginReportProcedureInput = z.infer<typeof marginReportProcedureInput>;

/** The reseller of `/v1/resellers/{customer_id}/...` (its external id). */
export const resellerPath = z.strictObject({ customer_id: externalId });
