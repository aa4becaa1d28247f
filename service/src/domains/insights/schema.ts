// Inputs of the dashboard's read models: the customer directory and usage over time.
import { z } from 'zod';
import { text } from '@tariff/openapi/schemas/text';
import { externalId } from '@tariff/openapi/schemas/customers';
import { checkRange, maxSeriesDays, usageSeriesFields, usageSeriesQuery } from '@tariff/openapi/schemas/usage';

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

export const usageSeriesInput = checkRange(
  z.strictObject({ customer_id: externalId, ...usageSeriesFields }),
  maxSeriesDays,
);
export type UsageSeriesInput = z.infer<typeof usageSeriesInput>;

/** The same for the portal, whose customer is the token's. */
export const portalUsageSeriesInput = usageSeriesQuery;
