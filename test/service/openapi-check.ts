// Checks every /v1 response the scenario tests receive against the OpenAPI document: undocumented statuses and
// bodies that do not match their schema fail the test that made the request.
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';

const require = createRequire(import.meta.url);
const document = require('../../openapi/openapi.json') as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, unknown> };
};

// Formats are documentation here; the service's own validators decide what is valid input.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(
  JSON.parse(
    JSON.stringify({ $id: 'api', $defs: document.components.schemas }).replaceAll(
      '#/components/schemas/',
      'api#/$defs/',
    ),
  ),
);

const routes = Object.entries(document.paths).map(([template, methods]) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
  methods,
}));

const validators = new Map<string, ReturnType<typeof ajv.compile>>();

export function checkResponse(method: string, url: string, status: number, body: unknown): void {
  const path = url.split('?')[0];
  if (!path.startsWith('/v1/')) return;
  const route = routes.find((r) => r.pattern.test(path));
  if (!route) {
    // Unknown routes answer the common 404 error.
    if (status !== 404) throw new Error(`OpenAPI: no path matches ${method} ${path} (status ${status})`);
    return validateAgainst('unknown route 404', { $ref: '#/components/schemas/Error' }, body);
  }
  const operation = route.methods[method.toLowerCase()];
  if (!operation) throw new Error(`OpenAPI: ${route.template} has no ${method}`);
  const response = operation.responses[String(status)];
  if (!response)
    throw new Error(`OpenAPI: ${method} ${route.template} does not document status ${status}: ${JSON.stringify(body)}`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  validateAgainst(`${method} ${route.template} ${status}`, schema, body);
}

function validateAgainst(key: string, schema: unknown, body: unknown): void {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', 'api#/$defs/')));
    validators.set(key, validate);
  }
  if (!validate(body)) {
    throw new Error(
      `OpenAPI: ${key} body does not match: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}
