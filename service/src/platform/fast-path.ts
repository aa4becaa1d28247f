// Hot POST routes without Express's per-request machinery. A one-event request spent about 13% of the service's CPU
// in Express, its router and body-parser (CPU profile of bench:ingest), a hold's placement about as much (its route
// comes after a dozen routers). Only the plain request is taken here: POST to a route's exact path, a JSON
// Content-Type, a Content-Length within the body limit and a Bearer key. Everything else goes to the Express app, so
// errors about the request itself (415, 413, chunked bodies, a missing key) keep their one implementation; what is
// answered here is what the app answers, in the same order (key, then body, then input: a body is never parsed for
// an unknown caller), with the same request id, metrics and access log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unauthenticated, type Actor } from './auth.ts';
import { withinSubtree } from './db.ts';
import type { Deps } from './deps.ts';
import { badBody, errorAnswer, malformedJson, trackRequest } from './http.ts';

/** One route the fast path answers. */
export interface FastRoute {
  /**
   * The route's pattern as the app's metrics name it (`/v1/customers/:id/holds`). Only its plain path is taken (no
   * query, no percent-encoding: `plainPath`); any other request is left to the app.
   */
  route: string;
  /** The answer's status and body for the authenticated caller and the parsed body; throws an AppError as a route does. */
  answer(
    deps: Deps,
    actor: Actor & { requestId: string },
    params: Record<string, string>,
    body: unknown,
  ): Promise<{ status: number; body: unknown }>;
}

/**
 * The `match` of a route's pattern (`/v1/customers/:id/holds`): a parameter is taken only from a segment that
 * Express's router passes on as it is (no percent-encoding to decode), so the fast path reads what the app would.
 */
function plainPath(pattern: string): (url: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([A-Za-z0-9._~-]+)';
    })
    .join('/');
  const plain = new RegExp(`^${source}$`);
  return (url) => {
    const found = plain.exec(url);
    return found ? Object.fromEntries(names.map((name, i) => [name, found[i + 1]])) : undefined;
  };
}

const jsonContentType = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;
const bearer = /^Bearer\s+(\S+)$/i;

/** Answers the request if it is a plain request of one of `routes` (true), or leaves it untouched for the app (false). */
export function fastPath(
  deps: Deps,
  bodyLimitBytes: number,
  authenticate: (deps: Deps, key: string) => Promise<Actor | undefined>,
  routes: readonly FastRoute[],
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const matchers = routes.map((route) => ({ route, match: plainPath(route.route) }));
  return (req, res) => {
    if (req.method !== 'POST' || req.url === undefined) return false;
    const url = req.url;
    let route: FastRoute | undefined;
    let params: Record<string, string> | undefined;
    for (const matcher of matchers) {
      params = matcher.match(url);
      if (params) {
        route = matcher.route;
        break;
      }
    }
    if (!route || !params) return false;
    const length = Number(req.headers['content-length']);
    const key = bearer.exec(req.headers.authorization ?? '')?.[1];
    if (
      !(length > 0 && length <= bodyLimitBytes) ||
      req.headers['transfer-encoding'] !== undefined ||
      !jsonContentType.test(req.headers['content-type'] ?? '') ||
      !key
    ) {
      return false;
    }
    const caller: { tenantId?: string } = {};
    const requestId = trackRequest(
      req,
      res,
      deps.logger,
      (status, seconds) =>
        deps.metrics.observe('http_request_duration_seconds', seconds, {
          method: 'POST',
          route: route.route,
          status: String(status),
        }),
      () => caller.tenantId,
    );
    // The key is looked up while the body arrives; the body is parsed only once the key is known good.
    const authenticated = authenticate(deps, key);
    authenticated.catch(() => {});
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= length) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    const matched = { route, params };
    req.on('end', () => {
      answer(
        deps,
        res,
        requestId,
        received === length ? Buffer.concat(chunks, length).toString('utf8') : undefined,
        authenticated,
        caller,
        matched,
      ).catch((error: unknown) => {
        deps.logger.error('unhandled error', { request_id: requestId, error });
        res.destroy();
      });
    });
    return true;
  };
}

async function answer(
  deps: Deps,
  res: ServerResponse,
  requestId: string,
  text: string | undefined,
  authenticated: Promise<Actor | undefined>,
  caller: { tenantId?: string },
  { route, params }: { route: FastRoute; params: Record<string, string> },
): Promise<void> {
  try {
    const actor = await authenticated;
    if (!actor) throw unauthenticated('Unknown or revoked API key');
    caller.tenantId = actor.tenantId;
    if (text === undefined) throw badBody('request size did not match content length');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw malformedJson((error as Error).message);
    }
    // A reseller-scoped key's request runs confined to its subtree, as behind the app's authentication.
    const answered = await withinSubtree(actor, () => route.answer(deps, { ...actor, requestId }, params, body));
    send(res, answered.status, answered.body);
  } catch (error) {
    const { status, body, headers } = errorAnswer(deps.logger, error, requestId);
    send(res, status, body, headers);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
