// Small JSON-schema builders shared by the parts of the OpenAPI document.
import { z } from 'zod';

export type Schema = Record<string, unknown>;

export function fromZod(schema: z.ZodType): Schema {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  return json;
}

/** Query parameters from a zod object, so their names and bounds come from the handler's schema too. */
export function queryParams(schema: z.ZodType): { name: string; in: 'query'; schema: Schema }[] {
  const json = fromZod(schema) as { properties: Record<string, Schema> };
  return Object.entries(json.properties).map(([name, s]) => ({ name, in: 'query' as const, schema: s }));
}

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const string: Schema = { type: 'string' };
export const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
export const instant: Schema = { type: 'string', format: 'date-time' };
export const money: Schema = {
  type: 'string',
  pattern: '^-?[0-9]+\\.[0-9]{9}$',
  description: 'Decimal amount with 9 decimals (nano-units).',
};
export const decimal: Schema = { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$' };
/** A schema with its description. */
/** The `{id}` path parameter of the `/v1/customers/{id}/...` routes. */
export const customerId = {
  name: 'id',
  in: 'path' as const,
  schema: string,
  required: true,
  description: "The customer's external id (percent-encoded).",
};

export const described = (schema: Schema, description: string): Schema => ({ ...schema, description });

export const object = (properties: Record<string, Schema>, optional: string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});

/** One operation of a route table (billing, corrections, webhooks): document.ts turns each into an OpenAPI operation. */
export interface Operation {
  summary: string;
  operationId: string;
  description?: string;
  body?: Schema;
  /** The body's media type when it is not JSON (a CSV upload). */
  bodyType?: string;
  ok: [number, string];
  /** A document answer (PDF, HTML, CSV) instead of JSON; `ok[1]` is then empty. */
  media?: 'application/pdf' | 'text/html' | 'text/csv';
  /** A second answer of the same route, chosen by `Accept` or `format` (a JSON report that is also CSV). */
  alsoMedia?: 'text/csv';
  params?: { name: string; in: 'path' | 'query'; schema: Schema; required?: boolean; description?: string }[];
}
