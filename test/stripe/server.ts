// The double's HTTP front: authentication by secret key, the Stripe-Account header, injected faults, Idempotency-Key
// replay, routing to the resource handlers, and Stripe's error envelope. Handlers are synchronous, so requests
// interleave only where a test makes them (a 'hang' fault).
import type http from 'node:http';
import { StripeApiError, invalidRequest, unknownParam } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { canonicalParams, decodeForm, type FormParams } from './form.ts';
import { expandResponse, type DoubleCore, type Route } from './routes.ts';
import { newId, type AccountState, type RequestRecord, type StoredResponse } from './store.ts';

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/:([a-z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { ...route, pattern: new RegExp(`^${source}$`), names };
  });
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

function errorAnswer(error: StripeApiError): Answer {
  return { status: error.status, body: JSON.stringify({ error: error.body }, null, 2), headers: {} };
}

function apiKeyOf(request: http.IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1]!.trim();
  const basic = /^Basic\s+(.+)$/i.exec(header);
  // curl -u sk_test_...: sends the key as the Basic user name.
  if (basic) return Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0];
  return undefined;
}

function maskKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : key;
}

function authenticate(core: DoubleCore, request: http.IncomingMessage): AccountState {
  const key = apiKeyOf(request);
  if (!key) {
    throw new StripeApiError(401, {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    });
  }
  const owner = [...core.state.accounts.values()].find(
    (account) => account.secretKey === key || account.restrictedKey === key,
  );
  if (!owner)
    throw new StripeApiError(401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${maskKey(key)}`,
    });
  const connected = request.headers['stripe-account'];
  if (typeof connected !== 'string' || connected === '') return owner;
  const account = core.state.accounts.get(connected);
  if (!account) {
    throw new StripeApiError(403, {
      type: 'invalid_request_error',
      code: 'account_invalid',
      message: `The provided key '${maskKey(key)}' does not have access to account '${connected}' (or that account does not exist). Application access may have been revoked.`,
    });
  }
  return account;
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export interface ApiRequest {
  method: string;
  path: string;
  query: string;
  body: string;
}

/**
 * Answers one /v1 request. Returns the answer, or 'drop' when an injected fault destroys the connection (the caller
 * destroys the socket).
 */
export async function answerApiRequest(
  core: DoubleCore,
  routes: CompiledRoute[],
  faults: FaultInjector,
  incoming: http.IncomingMessage,
  request: ApiRequest,
): Promise<Answer | 'drop'> {
  const requestId = newId('req', 14);
  const idempotencyKey =
    typeof incoming.headers['idempotency-key'] === 'string' ? incoming.headers['idempotency-key'] : null;
  const record: RequestRecord = {
    requestId,
    account: null,
    stripeAccount:
      typeof incoming.headers['stripe-account'] === 'string' && incoming.headers['stripe-account'] !== ''
        ? incoming.headers['stripe-account']
        : null,
    method: request.method,
    path: request.path,
    idempotencyKey,
    status: 0,
    replayed: false,
  };
  core.state.requests.push(record);
  const answer = await decide();
  record.status = answer === 'drop' ? 'dropped' : answer.status;
  if (answer !== 'drop') {
    answer.headers['request-id'] = requestId;
    if (idempotencyKey && request.method === 'POST') answer.headers['idempotency-key'] = idempotencyKey;
    const version = incoming.headers['stripe-version'];
    if (typeof version === 'string') answer.headers['stripe-version'] = version;
  }
  return answer;

  async function decide(): Promise<Answer | 'drop'> {
    let account: AccountState;
    let params: FormParams;
    try {
      account = authenticate(core, incoming);
      record.account = account.id;
      params = decodeForm(request.method === 'POST' ? request.body : request.query);
    } catch (error) {
      if (error instanceof StripeApiError) return errorAnswer(error);
      return errorAnswer(invalidRequest(`Invalid request: ${String(error)}`));
    }
    const fault = faults.take({
      method: request.method,
      path: request.path,
      params,
      idempotencyKey,
      account: account.id,
    });
    if (fault?.kind === 'rate_limit') {
      const headers: Record<string, string> = { 'retry-after': String(fault.retryAfterSeconds ?? 1) };
      if (fault.shouldRetry ?? true) headers['stripe-should-retry'] = 'true';
      const limited = new StripeApiError(429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      });
      return { ...errorAnswer(limited), headers };
    }
    if (fault?.kind === 'server_error') {
      return errorAnswer(new StripeApiError(500, { type: 'api_error', message: 'An unknown error occurred' }));
    }
    if (fault?.kind === 'drop_before_write') return 'drop';

    const keyed = request.method === 'POST' && idempotencyKey !== null;
    if (keyed) {
      if (idempotencyKey.length > 255)
        return errorAnswer(
          invalidRequest('Idempotency-Key must be at most 255 characters long.', { param: 'Idempotency-Key' }),
        );
      const stored = account.idempotency.get(idempotencyKey);
      if (stored === 'in_flight') {
        return errorAnswer(
          new StripeApiError(409, {
            type: 'idempotency_error',
            code: 'idempotency_key_in_use',
            message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${idempotencyKey}. Please try again later.`,
          }),
        );
      }
      if (stored) {
        if (
          stored.method !== request.method ||
          stored.path !== request.path ||
          stored.params !== canonicalParams(params)
        ) {
          return errorAnswer(
            new StripeApiError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            }),
          );
        }
        record.replayed = true;
        return {
          status: stored.status,
          body: stored.body,
          headers: { 'idempotent-replayed': 'true', 'original-request': stored.requestId },
        };
      }
      account.idempotency.set(idempotencyKey, 'in_flight');
    }

    let answer: Answer;
    let store = false;
    try {
      if (fault?.kind === 'hang')
        await (fault.until ? Promise.allSettled([fault.until]) : sleep(fault.hangMs ?? 1_000));
      const { route, path } = findRoute(routes, request.method, request.path);
      const unknown =
        route.accepts && Object.keys(params).find((name) => name !== 'expand' && !route.accepts!.includes(name));
      if (unknown) throw unknownParam(unknown);
      const context = {
        core,
        account,
        params,
        path,
        cause: {
          requestId,
          idempotencyKey,
          apiVersion: String(incoming.headers['stripe-version'] ?? core.apiVersion),
          connectedAccount:
            typeof incoming.headers['stripe-account'] === 'string' ? incoming.headers['stripe-account'] : null,
        },
      };
      const result = expandResponse(account, route.handle(context), params);
      answer = { status: 200, body: JSON.stringify(result, null, 2), headers: {} };
      store = true;
    } catch (error) {
      if (!(error instanceof StripeApiError)) {
        // A bug in the double: say so loudly, in Stripe's shape, so the caller sees a 500 it can report.
        console.error('stripe double: handler failed', error);
        answer = errorAnswer(
          new StripeApiError(500, {
            type: 'api_error',
            message: `The Stripe double failed: ${error instanceof Error ? error.message : String(error)}`,
          }),
        );
      } else {
        answer = errorAnswer(error);
        store = error.executed;
      }
    }
    if (keyed) {
      if (store)
        account.idempotency.set(idempotencyKey, {
          method: request.method,
          path: request.path,
          params: canonicalParams(params),
          status: answer.status,
          body: answer.body,
          requestId,
        } satisfies StoredResponse);
      else account.idempotency.delete(idempotencyKey);
    }
    return fault?.kind === 'drop_after_write' ? 'drop' : answer;
  }
}

function findRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; path: Record<string, string> } {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    return {
      route,
      path: Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)])),
    };
  }
  throw invalidRequest(
    `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    { status: 404 },
  );
}
