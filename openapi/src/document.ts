// The OpenAPI 3.1 document of /v1. Request bodies are derived from the zod schemas of src/schemas, which the
// service's handlers parse with, so they cannot drift; responses are written here, and the handlers' output is typed by the types generated
// from them (src/v1.gen.ts), so a response that drifts fails the typecheck.
import { assignPriceBookInput, createCustomerInput, updateCustomerInput } from './schemas/customers.ts';
import { estimateInput } from './schemas/events.ts';
import { usageSeriesQuery } from './schemas/usage.ts';
import { createApiKeyInput } from './schemas/keys.ts';
import {
  createUserInput,
  loginInput,
  requestPasswordResetInput,
  resetPasswordInput,
  signupInput,
  updateUserInput,
  verifyEmailInput,
} from './schemas/tenants.ts';
import { createMeterInput, meterFilter, updateMeterInput } from './schemas/meters.ts';
import {
  addPriceBookVersionInput,
  createPriceBookInput,
  importPriceBookInput,
  updatePriceBookFromCatalogueInput,
} from './schemas/pricing.ts';
import { billingRoutes, billingSchemas } from './billing.ts';
import { correctionRoutes, correctionSchemas, reratingRule } from './corrections.ts';
import { edgeRoutes, edgeSchemas, quoteRule } from './edge.ts';
import { paymentRoutes, paymentSchemas } from './payments.ts';
import { portalRoutes, portalSchemas } from './portal.ts';
import { webhookRoutes, webhookSchemas } from './webhooks.ts';
import { holdRoutes, holdSchemas } from './holds.ts';
import { currencyRoutes, currencySchemas } from './currency.ts';
import { taxRoutes, taxSchemas } from './tax.ts';
import { resellerRoutes, resellerSchemas } from './resellers.ts';
/** What ingestion answers when an event takes its customer past a blocking limit, in each mode. */
const onBlockRule =
  'Blocking limits are a budget with enforcement "block" (the period\'s spend, left to bill plus credits drawn, may not exceed it): the customer\'s, or one per API key or project tag ' +
  '(PUT /v1/customers/{id}/scoped_budgets/{kind}/{value}: the spend of the events sent with that key, or whose `project` property is that tag, under the same rule, and a crossing blocks the check of that key or project); and, for a customer whose wallet has on_depletion "block", ' +
  'the credit in force (an event\'s charge must be covered by credit). on_block "accept" (the default: usage that happened is never lost): such an event is accepted, stored and billed; its ' +
  'outcome carries `blocked` (which limit, the spend, by how much it is exceeded), a budget.blocked or credits.exhausted notification is recorded (once per customer and period, and once per scope and period for a budget per key or project), and from then ' +
  'on the customer is blocked for POST /v1/customers/{id}/check, quotes and the SDK (its pricing snapshot shows the spend). on_block "refuse" (gateways that send the event before serving the ' +
  'request): such an event is rejected with code budget_exceeded or credits_exhausted and nothing of it is stored or drawn; the other events of the request are rated without it.';

import {
  type Schema,
  decimal,
  described,
  fromZod,
  instant,
  money,
  queryParams,
  nullable,
  object,
  ref,
  string,
  customerId,
} from './schema.ts';

const list = (item: string): Schema =>
  object({ data: { type: 'array', items: ref(item) }, has_more: { type: 'boolean' } });
const anyObject: Schema = { type: 'object', additionalProperties: true };

// Objects are closed (additionalProperties: false), so variants are spelled out rather than composed with allOf.
const priceBookSummary = {
  id: { type: 'string', format: 'uuid' },
  code: string,
  name: nullable(string),
  currency: string,
  created_at: instant,
  created_by: string,
  owner_customer_id: {
    ...nullable(string),
    description: "External id of the reseller that owns the book; null for the tenant's own books.",
  },
};
const apiKey = {
  id: { type: 'string', format: 'uuid' },
  kind: { type: 'string', enum: ['secret', 'publishable'] },
  role: nullable({ type: 'string', enum: ['admin', 'billing', 'viewer'] }),
  name: string,
  prefix: string,
  created_by: string,
  created_at: instant,
  revoked_at: nullable(instant),
  customer_id: {
    ...nullable(string),
    description:
      "A reseller-scoped key's reseller (external id): the key sees and changes only that reseller's subtree.",
  },
};

const catalogueNotes: Schema = {
  type: 'array',
  items: object({ path: string, kind: string, message: string }),
  description: 'Where the import approximated the catalogue or left a price out.',
};
const catalogueSkipped: Schema = {
  type: 'array',
  description:
    'Models (or, with model null, providers) the book leaves out because their prices cannot be stated, and why.',
  items: object(
    {
      provider: nullable(string),
      model: nullable(string),
      path: { ...string, description: 'Where it is in the catalogue, e.g. $[15].models[29] or $["azure/gpt-4o"].' },
      reason: string,
      now_priced_by: { ...string, description: "A card of the book that takes the skipped model's own name instead." },
    },
    ['now_priced_by'],
  ),
};
const anyValue: Schema = {};
const cardChanges: Schema = {
  type: 'array',
  items: object({
    card: string,
    rates: {
      type: 'array',
      description:
        'Per charge (`<dimension>`, `<window>: <dimension>` of a variant, or `match`): the price before and after, null where absent.',
      items: object({ charge: string, before: anyValue, after: anyValue }),
    },
  }),
};

const schemas: Record<string, Schema> = {
  Error: object({
    error: object(
      {
        kind: {
          type: 'string',
          enum: [
            'validation',
            'unauthenticated',
            'forbidden',
            'not_found',
            'conflict',
            'precondition',
            'rate_limited',
            'unavailable',
            'internal',
          ],
        },
        code: string,
        message: string,
        details: { type: 'array', items: object({ field: string, reason: string }) },
        request_id: string,
      },
      ['request_id'],
    ),
  }),
  Customer: object(
    {
      id: { type: 'string', format: 'uuid' },
      external_id: string,
      name: nullable(string),
      email: nullable(string),
      currency: string,
      country: nullable(string),
      tax_id: {
        ...nullable(string),
        description:
          "Checked against the country's format (check digits included) and normalized (VAT ids carry their country prefix).",
      },
      tax_status: {
        type: 'string',
        enum: ['business', 'consumer', 'exempt'],
        description:
          "Default: business when tax_id is set, else consumer. Decides reverse charge vs the customer country's rate.",
      },
      tax_exempt_reason: nullable(string),
      region: {
        ...nullable(string),
        description:
          'Province, state or territory (ISO 3166-2 subdivision without the country, e.g. ON; India: GST state code).',
      },
      address: nullable(string),
      postal_code: nullable(string),
      tax_id_check: {
        ...nullable(
          object({ status: { type: 'string', enum: ['valid', 'invalid'] }, checked_at: instant, source: string }),
        ),
        description:
          'The last online check of the tax id that answered (VIES or another registry); null when none did. Its absence never blocks billing.',
      },
      parent_id: { ...nullable(string), description: 'External id of the parent customer.' },
      is_reseller: { type: 'boolean' },
      metadata: { type: 'object', additionalProperties: string },
      price_book: nullable(object({ code: string, effective_from: instant })),
      price_book_assignments: { type: 'array', items: object({ price_book: string, effective_from: instant }) },
      created_at: instant,
      updated_at: instant,
    },
    ['tax_status', 'tax_exempt_reason', 'region', 'address', 'postal_code', 'tax_id_check'],
  ),
  CustomerList: list('Customer'),
  MeterFilter: fromZod(meterFilter),
  Meter: object({
    id: { type: 'string', format: 'uuid' },
    code: string,
    name: string,
    event_type: string,
    aggregation: {
      type: 'string',
      enum: ['sum', 'count', 'max', 'unique_count', 'latest', 'time_weighted_sum'],
      description:
        "time_weighted_sum reads `property` as a level (GPUs held, GB stored) that holds from each event until the group's next one; " +
        'its usage value is level x seconds (exact), by UTC day and over the period, up to the watermark while the period runs and to its end after, ' +
        'starting from the level earlier periods left the group at.',
    },
    property: nullable(string),
    group_by: { type: 'array', items: string },
    filters: { type: 'array', items: ref('MeterFilter') },
    created_at: instant,
    updated_at: instant,
    archived_at: nullable(instant),
  }),
  MeterList: list('Meter'),
  PriceBookSummary: object(priceBookSummary),
  PriceBook: object({
    ...priceBookSummary,
    versions: {
      type: 'array',
      items: object({
        schedule: { type: 'string', enum: ['price', 'cost'] },
        version: { type: 'integer' },
        effective_from: instant,
        created_at: instant,
        created_by: string,
      }),
    },
    book: { ...anyObject, description: 'The price book as the kernel reads it (core-wasm/src/book.ts).' },
  }),
  PriceBookList: list('PriceBookSummary'),
  ImportedPriceBook: object({
    price_book: ref('PriceBook'),
    notes: catalogueNotes,
    skipped: catalogueSkipped,
  }),
  PriceBookCatalogueUpdate: object({
    price_book: ref('PriceBook'),
    effective_from: { ...instant, description: 'When the first new version takes effect.' },
    versions_to_add: {
      type: 'integer',
      description: 'Versions the update appends: 0 when the catalogue changes nothing.',
    },
    versions_added: { type: 'integer', description: '0 for a preview.' },
    changes: object({
      added: cardChanges,
      removed: cardChanges,
      changed: cardChanges,
      unchanged: { type: 'integer' },
      windows: { type: 'array', items: object({ window: string, before: anyValue, after: anyValue }) },
    }),
    skipped: catalogueSkipped,
    notes: catalogueNotes,
    digest: { type: 'string', description: 'Pass as `preview_digest` to publish exactly this update.' },
  }),
  Tenant: object({
    id: { type: 'string', format: 'uuid' },
    name: string,
    slug: { ...string, description: "The tenant's login name (POST /v1/auth/login names it as `tenant`)." },
    created_at: instant,
  }),
  User: object({
    id: { type: 'string', format: 'uuid' },
    email: string,
    name: nullable(string),
    role: { type: 'string', enum: ['owner', 'admin', 'billing', 'viewer'] },
    created_at: instant,
    email_verified: { type: 'boolean' },
    disabled_at: nullable(instant),
  }),
  UserList: object({ data: { type: 'array', items: ref('User') } }),
  Session: object({
    token: {
      ...string,
      description: "A session token (ses_...) for the dashboard's tRPC API and POST /v1/auth/logout.",
    },
    expires_at: instant,
  }),
  SignupResult: object({ tenant: ref('Tenant'), user: ref('User'), session: ref('Session') }),
  LoginResult: object({
    tenant_id: { type: 'string', format: 'uuid' },
    user_id: { type: 'string', format: 'uuid' },
    session: ref('Session'),
  }),
  Ok: object({ ok: { type: 'boolean' } }),
  ApiKey: object(apiKey),
  ApiKeyCreated: object({ ...apiKey, secret: { type: 'string', description: 'The key itself; shown this once.' } }),
  ApiKeyList: object({ data: { type: 'array', items: ref('ApiKey') } }),
  AuditEntry: object({
    id: { type: 'string', format: 'uuid' },
    at: instant,
    actor: object({ type: { type: 'string', enum: ['user', 'api_key', 'system'] }, id: string }),
    action: string,
    entity: object({ type: string, id: string }),
    before: {},
    after: {},
    request_id: nullable(string),
  }),
  AuditLog: object({ data: { type: 'array', items: ref('AuditEntry') } }),
  EventError: object(
    {
      code: string,
      message: string,
      field: string,
      details: { type: 'array', items: object({ field: string, reason: string }) },
    },
    ['field', 'details'],
  ),
  EventOutcome: {
    oneOf: [
      object(
        {
          index: { type: 'integer' },
          transaction_id: string,
          status: { type: 'string', const: 'accepted' },
          customer_id: string,
          currency: string,
          amount: money,
          period: object({ start: instant, end: instant }),
          period_total: { ...money, description: "The customer's rated total for the period after this event." },
          book_version: instant,
          card: string,
          credits_applied: {
            ...money,
            description: "Credit this event drew from the customer's grants (the amount is what is left to bill).",
          },
          credit_balance: {
            ...money,
            description: "The customer's credit in force at the event's instant, after this event.",
          },
          blocked: {
            type: 'array',
            items: ref('EventBlock'),
            description:
              'Present when this event took the customer past a blocking limit under on_block "accept": the event is stored and billed, and the customer is blocked from now on.',
          },
          hold: {
            ...ref('EventHold'),
            description: 'Present when the event named a hold (hold_id): what it captured.',
          },
        },
        ['blocked', 'hold'],
      ),
      object({
        index: { type: 'integer' },
        transaction_id: nullable(string),
        status: { type: 'string', const: 'duplicate' },
        amount: nullable(money),
        currency: nullable(string),
      }),
      object({
        index: { type: 'integer' },
        transaction_id: nullable(string),
        status: { type: 'string', const: 'rejected' },
        error: ref('EventError'),
      }),
    ],
  },
  EventBlock: object(
    {
      code: { type: 'string', enum: ['budget_exceeded', 'credits_exhausted'] },
      limit: {
        type: 'string',
        enum: ['budget', 'api_key_budget', 'project_budget', 'credits'],
        description:
          "budget: the customer's blocking budget for the period; api_key_budget and project_budget: a blocking budget per API key (the key that sent the event) or per project tag (the event's `project` property), named by scope_value; credits: the credit in force of a customer who blocks on depletion.",
      },
      scope_value: {
        type: 'string',
        description: 'api_key_budget: the API key id; project_budget: the project tag. Absent for the other limits.',
      },
      message: string,
      limit_amount: { ...money, description: 'budget: the budget; credits: the credit this event could draw.' },
      spend: {
        ...money,
        description:
          "budget: the period's spend (of the customer, or of the key or project) after this event (left to bill plus credits drawn); credits: the event's charge.",
      },
      exceeded_by: {
        ...money,
        description: 'budget: spend minus budget; credits: the part of the charge no credit covered (billed).',
      },
    },
    ['scope_value'],
  ),
  IngestResult: object({
    accepted: { type: 'integer' },
    duplicate: { type: 'integer' },
    rejected: { type: 'integer' },
    events: { type: 'array', items: ref('EventOutcome') },
  }),
  UsageEvent: {
    type: 'object',
    properties: {
      transaction_id: { type: 'string', minLength: 1, maxLength: 255 },
      customer_id: { type: 'string', minLength: 1, maxLength: 255, description: "The customer's external id." },
      event_type: { type: 'string', minLength: 1, maxLength: 200 },
      timestamp: { type: 'string', description: 'ISO 8601 instant with a zone; millisecond precision.' },
      properties: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
      quote: {
        type: 'string',
        minLength: 1,
        maxLength: 4096,
        description: 'A price quote for this very event (POST /v1/quotes). ' + quoteRule,
      },
      hold_id: {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        description:
          'The spend hold this event captures (POST /v1/customers/{id}/holds). 400-style rejection `hold_not_found` when the customer has no such hold.',
      },
      hold_final: {
        type: 'boolean',
        description:
          'This capture is the last: the hold closes (captured) and what it still holds is freed. Needs hold_id.',
      },
    },
    required: ['transaction_id', 'customer_id', 'event_type', 'timestamp'],
    additionalProperties: false,
  },
  IngestRequest: {
    oneOf: [
      object(
        {
          events: { type: 'array', minItems: 1, maxItems: 10000, items: ref('UsageEvent') },
          on_block: { type: 'string', enum: ['accept', 'refuse'], description: 'accept when omitted. ' + onBlockRule },
        },
        ['on_block'],
      ),
      ref('UsageEvent'),
    ],
  },
  Usage: object({
    customer_id: string,
    period: object({ start: instant, end: instant, status: { type: 'string', enum: ['open', 'closed'] } }),
    amount: money,
    held: {
      ...money,
      description:
        "What the customer's open spend holds set aside at the watermark: requests under way, not yet usage.",
    },
    event_count: decimal,
    watermark: { ...instant, description: 'Every event acknowledged before this instant is included.' },
    meters: {
      type: 'array',
      items: object({
        code: string,
        name: string,
        aggregation: string,
        property: nullable(string),
        groups: {
          type: 'array',
          items: object({
            group: { type: 'object', additionalProperties: nullable(string) },
            value: nullable(decimal),
            event_count: decimal,
            amount: {
              ...money,
              description: "The meter's part of its events' charges net of credits (what is left to bill).",
            },
            gross_amount: {
              ...money,
              description:
                "The meter's part of its events' charges before credits. The parts of an event's meters add up exactly to its charge, net and gross.",
            },
            days: {
              type: 'array',
              items: object({
                day: { type: 'string', format: 'date' },
                value: nullable(decimal),
                event_count: decimal,
                amount: money,
                gross_amount: money,
              }),
            },
          }),
        },
      }),
    },
  }),
  UsageSeries: object({
    customer_id: string,
    granularity: { type: 'string', enum: ['hour', 'day'] },
    from: described(instant, "The first bucket's start (`from` truncated to the bucket)."),
    until: described(instant, 'The end of the last bucket (`until` rounded up to the bucket), exclusive.'),
    series: described(
      {
        type: 'array',
        items: object({
          meter: string,
          name: string,
          aggregation: string,
          group: { type: 'object', additionalProperties: nullable(string) },
          points: described(
            {
              type: 'array',
              items: object({
                at: described(instant, "The bucket's start (an hour, or a UTC day)."),
                value: nullable(
                  described(decimal, 'Null for time_weighted_sum meters (integrated per period by /usage).'),
                ),
                event_count: decimal,
                amount: described(
                  money,
                  "The meter's part of the events' charges net of credits, each at its own customer's level.",
                ),
                gross_amount: described(money, 'The same before credits.'),
              }),
            },
            'Buckets without events are absent.',
          ),
        }),
      },
      "One per meter and group (the meter's group_by values, e.g. the model), ordered by meter then group.",
    ),
  }),
  Receipt: object({
    transaction_id: string,
    customer_id: string,
    event_type: string,
    timestamp: instant,
    properties: anyObject,
    received_at: instant,
    currency: string,
    amount: money,
    subtotal: money,
    cost: nullable(money),
    margin: nullable(money),
    price_book: string,
    book_version: instant,
    card: string,
    kernel_version: string,
    revision: { type: 'integer' },
    period_start: instant,
    rated_at: instant,
    receipt: { type: 'array', items: { ...anyObject, required: ['step'], properties: { step: string } } },
    chain: {
      type: 'array',
      description:
        "The reseller levels above the customer, as the event was first rated: 1 for its reseller, 2 for that one's, ... Empty for a customer with no reseller.",
      items: object({
        level: { type: 'integer', minimum: 1 },
        customer_id: described(string, 'The reseller billed at this level (external id).'),
        price_book: string,
        book_version: instant,
        card: string,
        currency: string,
        amount: described(money, 'What is left to bill the reseller for the event, after its credits.'),
        net: described(money, 'What the reseller pays its parent for the event, before its credits.'),
        credits_applied: money,
        margin: described(money, "The level below's net minus this level's: what the reseller earned on the event."),
        receipt: { type: 'array', items: { ...anyObject, required: ['step'], properties: { step: string } } },
      }),
    },
  }),
  Estimate: object({
    results: {
      type: 'array',
      items: {
        ...anyObject,
        required: ['transaction_id', 'status'],
        properties: { transaction_id: string, status: { type: 'string', enum: ['rated', 'error'] } },
      },
    },
    states: { type: 'object', additionalProperties: anyObject },
  }),
  ...billingSchemas,
  ...taxSchemas,
  ...correctionSchemas,
  ...edgeSchemas,
  ...webhookSchemas,
  ...paymentSchemas,
  ...holdSchemas,
  ...currencySchemas,
  ...resellerSchemas,
  ...portalSchemas,
};

interface Operation {
  summary: string;
  operationId: string;
  description?: string;
  body?: Schema;
  /** The body's media type when it is not JSON (a CSV upload). */
  bodyType?: string;
  ok: [number, string];
  params?: { name: string; in: 'path' | 'query'; schema: Schema; required?: boolean; description?: string }[];
  publishable?: boolean;
  /** Answers 304 Not Modified to a matching If-None-Match. */
  notModified?: boolean;
  /** Needs no API key (signup, login, password reset). */
  public?: boolean;
  /** May answer 429 with Retry-After. */
  rateLimited?: boolean;
  /** A document answer (PDF, HTML, CSV) instead of JSON. */
  media?: 'application/pdf' | 'text/html' | 'text/csv';
  /** A second answer of the same route, chosen by `Accept` or `format` (a JSON report that is also CSV). */
  alsoMedia?: 'text/csv';
}

const errors = {
  '400': 'Invalid input: every problem with its field.',
  '401': 'Missing, unknown or revoked API key.',
  '403': 'The key may not do this.',
  '404': 'No such object (in this tenant).',
  '409': 'Conflicts with an existing object.',
  '413': 'Body too large.',
  '415': 'Body is not JSON.',
  '422': 'A business rule refuses the change.',
};
const rateLimitedAnswer = {
  '429': 'Too many attempts from this address (or for this account): Retry-After says when to try again.',
};

const code = (what: string) => ({
  name: 'code',
  in: 'path' as const,
  schema: string,
  required: true,
  description: `The ${what} code.`,
});
const paging = [
  { name: 'limit', in: 'query' as const, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'starting_after', in: 'query' as const, schema: string, description: 'The last key of the previous page.' },
];

const routes: Record<string, Record<string, Operation>> = {
  '/v1/openapi.json': {
    get: { summary: 'This document', operationId: 'getOpenApi', ok: [200, ''], publishable: true },
  },
  '/v1/events': {
    post: {
      summary: 'Ingest usage events (one, or a batch of up to 10,000)',
      description: onBlockRule,
      operationId: 'ingestEvents',
      body: ref('IngestRequest'),
      ok: [200, 'IngestResult'],
    },
  },
  '/v1/events/{transaction_id}/receipt': {
    get: {
      summary: "One event's charge, step by step",
      operationId: 'getReceipt',
      ok: [200, 'Receipt'],
      params: [{ name: 'transaction_id', in: 'path', schema: string, required: true }],
    },
  },
  '/v1/estimates': {
    post: {
      summary: 'Rate events against a book and a given state without storing them',
      operationId: 'estimate',
      body: fromZod(estimateInput),
      ok: [200, 'Estimate'],
      publishable: true,
    },
  },
  '/v1/customers': {
    get: { summary: 'List customers', operationId: 'listCustomers', ok: [200, 'CustomerList'], params: paging },
    post: {
      summary: 'Create a customer',
      operationId: 'createCustomer',
      body: fromZod(createCustomerInput),
      ok: [201, 'Customer'],
    },
  },
  '/v1/customers/{id}': {
    get: { summary: 'Get a customer', operationId: 'getCustomer', ok: [200, 'Customer'], params: [customerId] },
    patch: {
      summary: 'Update a customer',
      operationId: 'updateCustomer',
      body: fromZod(updateCustomerInput),
      ok: [200, 'Customer'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/price_book': {
    put: {
      summary: 'Assign a price book from an instant on',
      operationId: 'assignPriceBook',
      body: fromZod(assignPriceBookInput),
      ok: [200, 'Customer'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/usage': {
    get: {
      summary: "A period's rated usage by meter, group and day",
      operationId: 'getUsage',
      ok: [200, 'Usage'],
      params: [
        customerId,
        { name: 'at', in: 'query', schema: instant, description: 'Any instant in the period; now when omitted.' },
      ],
    },
  },
  '/v1/customers/{id}/usage/series': {
    get: {
      summary: 'Usage per meter over time, hourly or daily, of the customer and every customer below it',
      operationId: 'getUsageSeries',
      description:
        "A reseller has no usage of its own: its end users' events are aggregated at their level. Its series is its subtree's (the customer, its children, theirs, to any depth): value and event_count are the quantities its whole chain is rated on; counts, sums and amounts add up, max is the largest, a latest meter sums each customer's latest, unique values are counted once. Amounts are what each event's own customer was charged (what a reseller paid its parent is the margin report's charge, GET /v1/resellers/{customer_id}/margins). A customer without children is its own subtree. Daily buckets come from the usage aggregates, hourly ones from the events by the same counting code. At most 90 days.",
      ok: [200, 'UsageSeries'],
      params: [customerId, ...queryParams(usageSeriesQuery)],
    },
  },
  '/v1/meters': {
    get: {
      summary: 'List meters',
      operationId: 'listMeters',
      ok: [200, 'MeterList'],
      params: [...paging, { name: 'include_archived', in: 'query', schema: { type: 'boolean' } }],
    },
    post: {
      summary: 'Create a meter',
      operationId: 'createMeter',
      body: fromZod(createMeterInput),
      ok: [201, 'Meter'],
    },
  },
  '/v1/meters/{code}': {
    get: { summary: 'Get a meter', operationId: 'getMeter', ok: [200, 'Meter'], params: [code('meter')] },
    patch: {
      summary: 'Rename or archive a meter',
      operationId: 'updateMeter',
      body: fromZod(updateMeterInput),
      ok: [200, 'Meter'],
      params: [code('meter')],
    },
  },
  '/v1/price_books': {
    get: {
      summary: 'List price books',
      operationId: 'listPriceBooks',
      ok: [200, 'PriceBookList'],
      params: paging,
      publishable: true,
    },
    post: {
      summary: 'Create a price book from its JSON',
      operationId: 'createPriceBook',
      body: fromZod(createPriceBookInput),
      ok: [201, 'PriceBook'],
    },
  },
  '/v1/price_books/import': {
    post: {
      summary: "Create a price book from the genai-prices catalogue or LiteLLM's price map",
      operationId: 'importPriceBook',
      description:
        'Models whose prices cannot be stated are skipped and listed in `skipped` with the reason; `strict: true` refuses the catalogue instead.',
      body: fromZod(importPriceBookInput),
      ok: [201, 'ImportedPriceBook'],
    },
  },
  '/v1/price_books/{code}/import/preview': {
    post: {
      summary: 'Preview updating a book from a newer catalogue',
      operationId: 'previewPriceBookImport',
      description: 'What the update would add (rates added, removed and changed per card), changing nothing.',
      body: fromZod(updatePriceBookFromCatalogueInput),
      ok: [200, 'PriceBookCatalogueUpdate'],
      params: [code('price book')],
    },
  },
  '/v1/price_books/{code}/import': {
    post: {
      summary: 'Update a book from a newer catalogue: a new version of the same book',
      operationId: 'importPriceBookUpdate',
      description:
        "Appends the catalogue's prices as a new version from `effective_from` (default now); nothing when nothing changed. With `preview_digest`, only if the update is the one previewed (409 otherwise).",
      body: fromZod(updatePriceBookFromCatalogueInput),
      ok: [200, 'PriceBookCatalogueUpdate'],
      params: [code('price book')],
    },
  },
  '/v1/price_books/{code}': {
    get: {
      summary: 'Get a price book with all its versions',
      operationId: 'getPriceBook',
      ok: [200, 'PriceBook'],
      params: [code('price book')],
      publishable: true,
    },
  },
  '/v1/price_books/{code}/versions': {
    post: {
      summary: 'Add a version (never changes an old one)',
      operationId: 'addPriceBookVersion',
      description:
        'A version takes effect after every existing version of its schedule, and not before now unless `retroactive` is true (price schedule only). ' +
        reratingRule,
      body: fromZod(addPriceBookVersionInput),
      ok: [201, 'PriceBook'],
      params: [code('price book')],
    },
  },
  '/v1/auth/signup': {
    post: {
      summary: 'Create a tenant, its owner and a first session',
      description:
        "Public (no API key). `tenant_slug` is the tenant's login name, unique across Tariff (409 if taken); derived from `tenant_name` when absent. The owner is mailed a verification link. Rate-limited per client address (429 with Retry-After).",
      operationId: 'signUp',
      public: true,
      rateLimited: true,
      body: fromZod(signupInput),
      ok: [201, 'SignupResult'],
    },
  },
  '/v1/auth/login': {
    post: {
      summary: 'Open a session with tenant slug, email and password',
      description:
        'Public. A wrong tenant, email or password all answer the same 401 `invalid_credentials`, in about the same time. Rate-limited per client address and per client address + account (429 with Retry-After).',
      operationId: 'logIn',
      public: true,
      rateLimited: true,
      body: fromZod(loginInput),
      ok: [200, 'LoginResult'],
    },
  },
  '/v1/auth/logout': {
    post: {
      summary: 'End the session sent as "Authorization: Bearer ses_..."',
      operationId: 'logOut',
      public: true,
      ok: [200, 'Ok'],
    },
  },
  '/v1/auth/verify_email': {
    post: {
      summary: 'Confirm an email with the token mailed to it (works once, expires in 48 hours)',
      operationId: 'verifyEmail',
      public: true,
      rateLimited: true,
      body: fromZod(verifyEmailInput),
      ok: [200, 'User'],
    },
  },
  '/v1/auth/password_reset': {
    post: {
      summary: 'Mail a password reset link',
      description:
        'Public. Answers 202 whether or not the tenant has such a user (nothing is revealed); the link works once and expires in one hour. Rate-limited like login.',
      operationId: 'requestPasswordReset',
      public: true,
      rateLimited: true,
      body: fromZod(requestPasswordResetInput),
      ok: [202, 'Ok'],
    },
  },
  '/v1/auth/password_reset/confirm': {
    post: {
      summary: 'Set a new password with a reset token',
      description: 'Public. Ends every session of the user and every other reset link.',
      operationId: 'resetPassword',
      public: true,
      rateLimited: true,
      body: fromZod(resetPasswordInput),
      ok: [200, 'Ok'],
    },
  },
  '/v1/users': {
    get: { summary: "List the tenant's users", operationId: 'listUsers', ok: [200, 'UserList'] },
    post: {
      summary: "Add a user (never above the caller's role); they are mailed a verification link",
      operationId: 'createUser',
      body: fromZod(createUserInput),
      ok: [201, 'User'],
    },
  },
  '/v1/users/{id}': {
    patch: {
      summary: "Change a user's role",
      description: 'API keys the user created (directly or through other keys) act with at most the new role.',
      operationId: 'updateUser',
      body: fromZod(updateUserInput),
      ok: [200, 'User'],
      params: [{ name: 'id', in: 'path', schema: { type: 'string', format: 'uuid' }, required: true }],
    },
    delete: {
      summary: 'Remove a user',
      description: 'Disables the user: their sessions end and the secret API keys they created stop working.',
      operationId: 'removeUser',
      ok: [200, 'User'],
      params: [{ name: 'id', in: 'path', schema: { type: 'string', format: 'uuid' }, required: true }],
    },
  },
  '/v1/api_keys': {
    get: { summary: 'List API keys (never the keys themselves)', operationId: 'listApiKeys', ok: [200, 'ApiKeyList'] },
    post: {
      summary: 'Create an API key; the response shows it once',
      description:
        "A secret key acts with at most its creator's current role: lowering the creator's role lowers the key's, removing the creator disables it.",
      operationId: 'createApiKey',
      body: fromZod(createApiKeyInput),
      ok: [201, 'ApiKeyCreated'],
    },
  },
  '/v1/api_keys/{id}': {
    delete: {
      summary: 'Revoke an API key',
      operationId: 'revokeApiKey',
      ok: [200, 'ApiKey'],
      params: [{ name: 'id', in: 'path', schema: { type: 'string', format: 'uuid' }, required: true }],
    },
  },
  '/v1/audit_log': {
    get: {
      summary: 'Audit log, newest first',
      operationId: 'listAuditLog',
      ok: [200, 'AuditLog'],
      params: [
        { name: 'entity_type', in: 'query', schema: string },
        { name: 'entity_id', in: 'query', schema: string },
        {
          name: 'before_id',
          in: 'query',
          schema: { type: 'string', format: 'uuid' },
          description: 'The id of the last entry of the previous page.',
        },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
      ],
    },
  },
  ...billingRoutes,
  ...correctionRoutes,
  ...edgeRoutes,
  ...webhookRoutes,
  ...paymentRoutes,
  ...holdRoutes,
  ...currencyRoutes,
  ...taxRoutes,
  ...resellerRoutes,
  ...portalRoutes,
};

function operation(op: Operation): Schema {
  const [status, schema] = op.ok;
  const ok = op.media
    ? {
        description: 'OK',
        content: {
          [op.media]: { schema: { type: 'string', ...(op.media === 'application/pdf' ? { format: 'binary' } : {}) } },
        },
      }
    : schema
      ? {
          description: 'OK',
          content: {
            'application/json': { schema: ref(schema) },
            ...(op.alsoMedia ? { [op.alsoMedia]: { schema: { type: 'string' } } } : {}),
          },
        }
      : { description: 'OK', content: { 'application/json': { schema: anyObject } } };
  return {
    summary: op.summary,
    operationId: op.operationId,
    ...(op.publishable
      ? { description: 'Allowed to publishable keys.' }
      : op.description
        ? { description: op.description }
        : {}),
    ...(op.operationId === 'getOpenApi' || op.public ? { security: [] } : {}),
    ...(op.params ? { parameters: op.params } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { [op.bodyType ?? 'application/json']: { schema: op.body } } } }
      : {}),
    responses: {
      [String(status)]: ok,
      ...(op.notModified ? { '304': { description: 'Not modified: If-None-Match names the current ETag.' } } : {}),
      ...Object.fromEntries(
        Object.entries(op.rateLimited ? { ...errors, ...rateLimitedAnswer } : errors).map(([code, description]) => [
          code,
          { description, content: { 'application/json': { schema: ref('Error') } } },
        ]),
      ),
    },
  };
}

export function buildDocument(): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tariff API',
      version: '1.0.0',
      description:
        'Usage billing for AI and GPU companies. Money is a decimal string with 9 decimals; instants are ISO 8601 in UTC.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: 'http://localhost:3000' }],
    security: [{ apiKey: [] }],
    paths: Object.fromEntries(
      Object.entries(routes).map(([path, methods]) => [
        path,
        Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, operation(op)])),
      ]),
    ),
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A secret key (sk_...) or, where noted, a publishable key (pk_...).',
        },
      },
      schemas,
    },
  };
}
