// The resellers part of the OpenAPI document: margin reports from the chain_daily aggregate, as JSON or CSV.
// Merged into document.ts like currency.ts; queries come from the zod schemas.
import { marginReportInput } from './schemas/resellers.ts';
import { type Operation, type Schema, fromZod, money, object, string, described } from './schema.ts';

const integer: Schema = { type: 'integer' };
const day: Schema = { type: 'string', format: 'date' };

const reportParams = Object.entries(
  (fromZod(marginReportInput) as { properties: Record<string, Schema>; required?: string[] }).properties,
).map(([name, schema]) => ({
  name,
  in: 'query' as const,
  schema,
  ...(name === 'from' || name === 'to' ? { required: true } : {}),
}));

const marginRule =
  'Read from the chain_daily aggregate (one row per reseller level, billing period, UTC day, child on the path, end user and card), never from raw events. ' +
  "For a reseller: resale is what its children paid it (the level below's net price), charge what it paid its parent (its own net price, before its credits), margin = resale - charge. " +
  'Rows are always split by currency and totals are per currency: amounts in different currencies are never added. ' +
  'group_by: any of level (one row per reseller: the one asked for and each reseller below it), reseller (the direct child it sold to, a reseller below it or the end user), end_user, card (model or GPU type), day; combined with commas (day,card). ' +
  'from and to are UTC days, both inclusive, at most 366 days. `format=csv` or `Accept: text/csv` answers the same rows as CSV (RFC 4180, a header row: the grouping columns in the order asked, then currency, events, resale, charge, margin).';

const marginAmounts = {
  currency: string,
  events: described(integer, 'Events rated at the row’s levels (once per level when levels are summed together).'),
  resale: described(money, 'What the children paid the reseller.'),
  charge: described(money, 'What the reseller paid its parent (net, before its credits).'),
  margin: described(money, 'resale - charge.'),
};

export const resellerSchemas: Record<string, Schema> = {
  MarginReport: object({
    reseller_id: described(
      { anyOf: [string, { type: 'null' }] },
      "The reseller reported on (external id); null for the tenant's report.",
    ),
    from: day,
    to: day,
    group_by: { type: 'array', items: { type: 'string', enum: ['level', 'reseller', 'end_user', 'card', 'day'] } },
    data: {
      type: 'array',
      items: object(
        {
          reseller_id: described(string, 'With level: the reseller whose margin the row is.'),
          depth: described(integer, "With level: that reseller's ancestors (0: a direct customer of the tenant)."),
          child_id: described(string, 'With reseller: the direct child it sold to (a reseller, or the end user).'),
          end_user_id: string,
          card: described(string, 'The rate card (model or GPU type) at that level.'),
          day,
          ...marginAmounts,
        },
        ['reseller_id', 'depth', 'child_id', 'end_user_id', 'card', 'day'],
      ),
    },
    totals: { type: 'array', items: object(marginAmounts) },
  }),
};

export const resellerRoutes: Record<string, Record<string, Operation>> = {
  '/v1/resellers/{customer_id}/margins': {
    get: {
      summary:
        "A reseller's margins (and with group_by=level each reseller's below it), by level, child, end user, card or day",
      operationId: 'getResellerMargins',
      description: `${marginRule} 404 customer_not_found for an unknown customer; 422 not_a_reseller for a customer that does not resell.`,
      ok: [200, 'MarginReport'],
      alsoMedia: 'text/csv',
      params: [
        {
          name: 'customer_id',
          in: 'path',
          schema: string,
          required: true,
          description: "The reseller's external id (percent-encoded).",
        },
        ...reportParams,
      ],
    },
  },
  '/v1/margins': {
    get: {
      summary: "Every reseller's margins (one row per reseller unless group_by says otherwise)",
      operationId: 'getMargins',
      description: `${marginRule} The default grouping is level.`,
      ok: [200, 'MarginReport'],
      alsoMedia: 'text/csv',
      params: reportParams,
    },
  },
};
