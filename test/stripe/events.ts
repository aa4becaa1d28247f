// /v1/events (retrieve, list) and /v1/webhook_endpoints (the API way to register where events go).
import { invalidParam } from './errors.ts';
import { readBoolean, readString, readStringArray } from './params.ts';
import { listPage, requireObject, type Route } from './routes.ts';
import {
  fromFixture,
  newId,
  saveObject,
  type AccountState,
  type StripeObject,
  type WebhookEndpointState,
} from './store.ts';

export function newWebhookSecret(): string {
  return `whsec_${newId('x', 32).slice(2)}`;
}

export function addWebhookEndpoint(
  account: AccountState,
  now: number,
  fields: { url: string; secret?: string; enabledEvents?: string[]; description?: string | null; connect?: boolean },
): { endpoint: WebhookEndpointState; object: StripeObject } {
  const endpoint: WebhookEndpointState = {
    id: newId('we'),
    url: fields.url,
    secret: fields.secret ?? newWebhookSecret(),
    enabledEvents: fields.enabledEvents ?? ['*'],
    enabled: true,
    connect: fields.connect ?? false,
  };
  account.webhookEndpoints.push(endpoint);
  const object = fromFixture('webhook_endpoint', {
    id: endpoint.id,
    url: endpoint.url,
    enabled_events: endpoint.enabledEvents,
    created: now,
    description: fields.description ?? null,
    metadata: {},
    status: 'enabled',
  });
  saveObject(account, object);
  return { endpoint, object };
}

function endpointState(account: AccountState, id: string): WebhookEndpointState {
  requireObject(account, id, 'webhook_endpoint');
  return account.webhookEndpoints.find((endpoint) => endpoint.id === id)!;
}

export const eventRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/events',
    handle: (context) => {
      const type = readString(context.params, 'type');
      const events = [...context.account.events]
        .reverse()
        .filter(
          (event) =>
            type === undefined ||
            event.type === type ||
            (type.endsWith('.*') && event.type.startsWith(type.slice(0, -1))),
        );
      return listPage(events, context.params, '/v1/events');
    },
  },
  {
    method: 'GET',
    path: '/v1/events/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'event'),
  },
  {
    method: 'POST',
    path: '/v1/webhook_endpoints',
    accepts: ['url', 'enabled_events', 'description', 'metadata', 'api_version', 'connect'],
    handle: (context) => {
      const url = readString(context.params, 'url', 'required');
      if (!/^https?:\/\//.test(url))
        throw invalidParam('url', 'Invalid URL: URL must be publicly accessible and use http or https.', 'url_invalid');
      const enabledEvents = readStringArray(context.params, 'enabled_events');
      if (!enabledEvents || enabledEvents.length === 0)
        throw invalidParam('enabled_events', 'Missing required param: enabled_events.', 'parameter_missing');
      const { endpoint, object } = addWebhookEndpoint(context.account, context.core.now(), {
        url,
        enabledEvents,
        description: readString(context.params, 'description'),
        connect: readBoolean(context.params, 'connect') ?? false,
      });
      // The secret is in the create response only, as on Stripe.
      return { ...structuredClone(object), secret: endpoint.secret };
    },
  },
  {
    method: 'GET',
    path: '/v1/webhook_endpoints',
    handle: (context) =>
      listPage(
        [...context.account.objects.values()]
          .filter((object) => object.object === 'webhook_endpoint' && !object.deleted)
          .reverse(),
        context.params,
        '/v1/webhook_endpoints',
      ),
  },
  {
    method: 'GET',
    path: '/v1/webhook_endpoints/:id',
    handle: (context) => requireObject(context.account, context.path.id!, 'webhook_endpoint'),
  },
  {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id',
    accepts: ['url', 'enabled_events', 'description', 'metadata', 'disabled'],
    handle: (context) => {
      const object = requireObject(context.account, context.path.id!, 'webhook_endpoint');
      const endpoint = endpointState(context.account, object.id);
      const url = readString(context.params, 'url');
      if (url) endpoint.url = object.url = url;
      const enabledEvents = readStringArray(context.params, 'enabled_events');
      if (enabledEvents) endpoint.enabledEvents = object.enabled_events = enabledEvents;
      const disabled = readBoolean(context.params, 'disabled');
      if (disabled !== undefined) {
        endpoint.enabled = !disabled;
        object.status = disabled ? 'disabled' : 'enabled';
      }
      return object;
    },
  },
  {
    method: 'DELETE',
    path: '/v1/webhook_endpoints/:id',
    handle: (context) => {
      const object = requireObject(context.account, context.path.id!, 'webhook_endpoint');
      context.account.webhookEndpoints = context.account.webhookEndpoints.filter(
        (endpoint) => endpoint.id !== object.id,
      );
      object.deleted = true;
      return { id: object.id, object: 'webhook_endpoint', deleted: true };
    },
  },
];
