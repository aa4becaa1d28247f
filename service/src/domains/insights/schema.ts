// Inputs of the dashboard's read models: the customer directory and usage over time.
import { z } from 'zod';
import { text } from '@tariff/openapi/schemas/text';
import { externalId } from '@tariff/openapi/schemas/customers';

export const searchCustomersInput = z.strictObject({
  /** An external-id prefix (as typed), or a name or email prefix (any case). Empty or absent: every customer. */
  query: text(255, { min: 0, trim: true }).optional(),
  /** Only the children of this customer (external id); absent: customers at any depth. */
  parent_id: externalId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** `next_cursor` of the previous page. */
  cursor: externalId.optional(),
});
export type SearchCustomersInput = z.infer<typeof searchCustomersInput>;

export const customerOverviewInput = z.strictObject({ id: externalId });

/** Longest range of a usage series. */
export const maxSeriesDays = 90;

const seriesFields = {
  /** Bucket start, inclusive; truncated down to the bucket. */
  from: z.iso.datetime({ offset: true }),
  /** Exclusive. At most 90 days after `from`. */
  until: z.iso.datetime({ offset: true }),
  granularity: z.enum(['hour', 'day']).default('day'),
  /** One meter (its code); absent: every meter with usage in the range. */
  meter: text(100).optional(),
};

/** A range that runs forwards and spans at most maxSeriesDays. */
function checkRange<T extends z.ZodType<{ from: string; until: string }>>(schema: T): T {
  return schema
    .refine((input) => Date.parse(input.until) > Date.parse(input.from), {
      message: 'must be after from',
      path: ['until'],
    })
    .refine((input) => Date.parse(input.until) - Date.parse(input.from) <= maxSeriesDays * 86_400_000, {
      message: `must be at most ${maxSeriesDays} days after from`,
      path: ['until'],
    });
}

export const usageSeriesInput = checkRange(z.strictObject({ customer_id: externalId, ...seriesFields }));
export type UsageSeriesInput = z.infer<typeof usageSeriesInput>;

/** The same for the portal, whose customer is the token's. */
export const portalUsageSeriesInput = checkRange(z.strictObject(seriesFields));
