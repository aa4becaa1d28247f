// The outgoing webhooks part of the OpenAPI document: endpoints, messages, deliveries and attempts. Merged into
// document.ts like billing.ts. Request bodies and query parameters come from the handlers' zod schemas.
import type { z } from 'zod';
import {
  createEndpointInput,
  listDeliveriesInput,
  listMessagesInput,
  replayInput,
  retryInput,
  rotateSecretInput,
  testSendInput,
  updateEndpointInput,
  webhookEventTypes,
} from './schemas/webhooks.ts';
import { type Operation, type Schema, fromZod, instant, nullable, object, ref, string, described } from './schema.ts';

const uuid: Schema = { type: 'string', format: 'uuid' };
const integer: Schema = { type: 'integer' };
const eventType: Schema = { type: 'string', enum: [...webhookEventTypes] };
const deliveryStatus: Schema = described(
  { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
  'pending: waiting for its next attempt; succeeded: a 2xx answer; failed: every attempt of the back-off schedule (about three days) failed.',
);

function queryParams(schema: z.ZodObject): { name: string; in: 'query'; schema: Schema }[] {
  const json = fromZod(schema) as { properties: Record<string, Schema> };
  return Object.entries(json.properties).map(([name, s]) => ({ name, in: 'query' as const, schema: s }));
}

const endpointId = { name: 'id', in: 'path' as const, schema: uuid, required: true };
const messageId = {
  name: 'id',
  in: 'path' as const,
  schema: { type: 'string', pattern: '^msg_[0-9a-f]{32}$' },
  required: true,
  description: 'The message id (the webhook-id header).',
};

const endpoint = {
  id: uuid,
  url: string,
  description: string,
  event_types: described({ type: 'array', items: eventType }, 'The types sent to it; empty: every type.'),
  enabled: { type: 'boolean' },
  disabled_reason: described(
    nullable({ type: 'string', enum: ['manual', 'gone', 'failing'] }),
    'manual; gone: it answered 410; failing: every attempt failed for days.',
  ),
  disabled_at: nullable(instant),
  failing_since: described(nullable(instant), 'The first failed attempt since the last successful one.'),
  previous_secret_expires_at: described(
    nullable(instant),
    'While a rotated secret still signs beside the new one: until when.',
  ),
  created_at: instant,
  updated_at: instant,
};

export const webhookSchemas: Record<string, Schema> = {
  WebhookEndpoint: object(endpoint),
  WebhookEndpointWithSecret: object({
    ...endpoint,
    secret: described(string, 'The signing secret (whsec_ and base64): shown on creation and rotation only.'),
  }),
  WebhookEndpointList: object({
    data: { type: 'array', items: ref('WebhookEndpoint') },
    has_more: { type: 'boolean' },
  }),
  WebhookAttempt: object({
    id: string,
    endpoint_id: uuid,
    message_id: string,
    attempt: described(integer, "The delivery's attempt number (1 for the first)."),
    trigger: { type: 'string', enum: ['scheduled', 'manual'] },
    started_at: instant,
    succeeded: { type: 'boolean' },
    status_code: nullable(integer),
    latency_ms: integer,
    response_excerpt: described(string, "The first 1 KiB of the receiver's answer."),
    error: described(nullable(string), 'Why it failed: timeout, refused connection, refused destination, HTTP status.'),
  }),
  WebhookAttemptList: object({ data: { type: 'array', items: ref('WebhookAttempt') }, has_more: { type: 'boolean' } }),
  WebhookDelivery: object({
    endpoint_id: uuid,
    message_id: string,
    event_type: string,
    status: deliveryStatus,
    attempts: integer,
    next_attempt_at: nullable(instant),
    last_attempt_at: nullable(instant),
    last_status_code: nullable(integer),
    last_error: nullable(string),
    created_at: instant,
  }),
  WebhookDeliveryList: object({
    data: { type: 'array', items: ref('WebhookDelivery') },
    has_more: { type: 'boolean' },
  }),
  WebhookMessage: object({
    id: described(string, 'The webhook-id header of every attempt.'),
    event_type: string,
    notification_id: nullable(uuid),
    payload: described(
      { type: 'object', additionalProperties: true },
      'The body sent: `type`, `timestamp` and `data`.',
    ),
    created_at: instant,
    deliveries: { type: 'array', items: object({ endpoint_id: uuid, status: deliveryStatus, attempts: integer }) },
  }),
  WebhookMessageList: object({ data: { type: 'array', items: ref('WebhookMessage') }, has_more: { type: 'boolean' } }),
  WebhookTestResult: object({ message_id: string, attempt: ref('WebhookAttempt') }),
  WebhookReplayResult: object({ queued: described(integer, 'Deliveries queued.') }),
};

export const webhookRule =
  'Every notification becomes one message, delivered to each enabled endpoint whose filter takes its type, signed per the Standard Webhooks specification: ' +
  '`webhook-id` (the message id, the same on every attempt), `webhook-timestamp` (seconds) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` keyed with the base64-decoded part of the secret after `whsec_`; ' +
  'during the overlap of a rotation, one signature per secret, space-separated). Only a 2xx answer within the attempt deadline counts; redirects are not followed. ' +
  'Failed attempts are retried with exponential back-off and jitter over about three days; a 410 disables the endpoint at once, and so do days of nothing but failures, each with a `webhook_endpoint.disabled` notification. ' +
  'Private, loopback and reserved addresses are refused (every address the host resolves to is checked) unless the service allows them (WEBHOOK_ALLOW_PRIVATE=1).';

export const webhookRoutes: Record<string, Record<string, Operation>> = {
  '/v1/webhook_endpoints': {
    get: {
      summary: 'List webhook endpoints (never their secrets)',
      operationId: 'listWebhookEndpoints',
      ok: [200, 'WebhookEndpointList'],
    },
    post: {
      summary: 'Create a webhook endpoint; the response shows its signing secret once',
      operationId: 'createWebhookEndpoint',
      description: webhookRule + ' 400 invalid_webhook_url (field `url`) for a URL that cannot be used.',
      body: fromZod(createEndpointInput),
      ok: [201, 'WebhookEndpointWithSecret'],
    },
  },
  '/v1/webhook_endpoints/{id}': {
    get: {
      summary: 'Get a webhook endpoint',
      operationId: 'getWebhookEndpoint',
      ok: [200, 'WebhookEndpoint'],
      params: [endpointId],
    },
    patch: {
      summary: 'Change a webhook endpoint (enabling it resumes its pending deliveries)',
      operationId: 'updateWebhookEndpoint',
      body: fromZod(updateEndpointInput),
      ok: [200, 'WebhookEndpoint'],
      params: [endpointId],
    },
    delete: {
      summary: 'Delete a webhook endpoint (its log is kept)',
      operationId: 'deleteWebhookEndpoint',
      ok: [200, 'WebhookEndpoint'],
      params: [endpointId],
    },
  },
  '/v1/webhook_endpoints/{id}/rotate_secret': {
    post: {
      summary: 'Rotate the signing secret; the old one keeps signing beside the new one during the overlap',
      operationId: 'rotateWebhookSecret',
      body: fromZod(rotateSecretInput),
      ok: [200, 'WebhookEndpointWithSecret'],
      params: [endpointId],
    },
  },
  '/v1/webhook_endpoints/{id}/test': {
    post: {
      summary: 'Send a test message now and answer with the attempt',
      operationId: 'sendWebhookTest',
      description: 'The message is logged like any other and, if the attempt failed, retried on the schedule.',
      body: fromZod(testSendInput),
      ok: [200, 'WebhookTestResult'],
      params: [endpointId],
    },
  },
  '/v1/webhook_endpoints/{id}/replay': {
    post: {
      summary: 'Queue again the messages of a time range for this endpoint',
      operationId: 'replayWebhooks',
      description:
        'Messages its filter takes that it never received (failed or never attempted), and with include_succeeded those it did; the delivery jobs send them.',
      body: fromZod(replayInput),
      ok: [200, 'WebhookReplayResult'],
      params: [endpointId],
    },
  },
  '/v1/webhook_endpoints/{id}/deliveries': {
    get: {
      summary: "The endpoint's deliveries, newest first",
      operationId: 'listWebhookDeliveries',
      ok: [200, 'WebhookDeliveryList'],
      params: [endpointId, ...queryParams(listDeliveriesInput)],
    },
  },
  '/v1/webhook_messages': {
    get: {
      summary: 'Webhook messages with their deliveries, newest first',
      operationId: 'listWebhookMessages',
      ok: [200, 'WebhookMessageList'],
      params: queryParams(listMessagesInput),
    },
  },
  '/v1/webhook_messages/{id}/attempts': {
    get: {
      summary: "A message's attempts (status, latency, response excerpt), oldest first",
      operationId: 'listWebhookAttempts',
      ok: [200, 'WebhookAttemptList'],
      params: [messageId, { name: 'endpoint_id', in: 'query' as const, schema: uuid }],
    },
  },
  '/v1/webhook_messages/{id}/retry': {
    post: {
      summary: 'Send one message to one endpoint again now, and answer with the attempt',
      operationId: 'retryWebhookMessage',
      body: fromZod(retryInput),
      ok: [200, 'WebhookAttempt'],
      params: [messageId],
    },
  },
};
