// POST /v1/events without Express's per-request machinery: the hot path of ingestion. A one-event request spent
// about 13% of the service's CPU in Express, its router and body-parser (CPU profile of bench:ingest). Only the
// plain request is taken here: POST /v1/events with a JSON Content-Type, a Content-Length within the body limit
// and a Bearer key. Everything else goes to the Express app, so errors about the request itself (415, 413,
// chunked bodies, a missing key) keep their one implementation; what is answered here is what the app answers,
// in the same order (key, then body, then events: a body is never parsed for an unknown caller), with the same request id, metrics and access log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unauthenticated, type Actor } from '../../platform/auth.ts';
import { withinSubtree } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { badBody, errorAnswer, malformedJson, parseInput, trackRequest } from '../../platform/http.ts';
import * as keys from '../keys/service.ts';
import { ingestBody } from '@tariff/openapi/schemas/events';
import { ingestEvents } from './service.ts';

const route = '/v1/events';
const jsonContentType = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;
const bearer = /^Bearer\s+(\S+)$/i;

/** Answers the request if it is a plain ingestion request (true), or leaves it untouched for the app (false). */
export function ingestionFastPath(
  deps: Deps,
  bodyLimitBytes: number,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== route) return false;
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
          route,
          status: String(status),
        }),
      () => caller.tenantId,
    );
    // The key is looked up while the body arrives; the body is parsed only once the key is known good.
    const authenticated = keys.authenticateApiKey(deps, key);
    authenticated.catch(() => {});
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= length) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      answer(
        deps,
        res,
        requestId,
        received === length ? Buffer.concat(chunks, length).toString('utf8') : undefined,
        authenticated,
        caller,
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
    const { events, on_block } = parseInput(ingestBody, body);
    const outcome = await withinSubtree(actor, () =>
      ingestEvents(deps, { ...actor, requestId }, events, { onBlock: on_block }),
    );
    send(res, 200, outcome);
  } catch (error) {
    const { status, body } = errorAnswer(deps.logger, error, requestId);
    send(res, status, body);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
