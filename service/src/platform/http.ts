// Express plumbing shared by every route: request ids, access logs, JSON bodies, errors as JSON.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { z } from 'zod';
import type { Actor } from './auth.ts';
import { AppError, fromZodError, invalid, notFound, toHttpError } from './errors.ts';
import type { Logger } from './log.ts';

export interface RequestLocals {
  requestId: string;
  actor?: Actor;
}

export function locals(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

/** The authenticated caller of a route behind an authentication middleware. */
export function actorOf(res: Response): Actor {
  const actor = locals(res).actor;
  if (!actor) throw new Error('route reached without authentication');
  return actor;
}

export function requestContext(
  logger: Logger,
  onFinish?: (req: Request, res: Response, seconds: number) => void,
): RequestHandler {
  return (req, res, next) => {
    locals(res).requestId = trackRequest(
      req,
      res,
      logger,
      (_status, seconds) => onFinish?.(req, res, seconds),
      () => locals(res).actor?.tenantId,
    );
    next();
  };
}

/**
 * A request's id (the caller's X-Request-Id if it is sane, else a new one), echoed in the response; when the
 * response is sent, `onFinish` (metrics) and the access log line. For Express and for plain Node handlers.
 */
export function trackRequest(
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  logger: Logger,
  onFinish: (status: number, seconds: number) => void,
  tenantOf: () => string | undefined = () => undefined,
): string {
  const started = process.hrtime.bigint();
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : crypto.randomUUID();
  res.setHeader('x-request-id', requestId);
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    onFinish(res.statusCode, seconds);
    logger.info('request', {
      request_id: requestId,
      method: req.method,
      path: (req.originalUrl ?? req.url ?? '').split('?')[0],
      status: res.statusCode,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      tenant_id: tenantOf(),
    });
  });
  return requestId;
}

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * JSON bodies only: a body in any other content type is 415, a body over the limit 413, malformed JSON 400.
 * A request with no body at all (e.g. a DELETE) passes.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });
  // File uploads in CSV (an ECB rate file): the body is the text, a route's schema checks it like any input.
  const parseCsv = express.text({ limit: limitBytes, type: () => true });
  return (req, res, next) => {
    if (!methodsWithBody.has(req.method)) return next();
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    if (req.is('text/csv')) return parseCsv(req, res, next);
    if (!req.is('application/json')) {
      return next(
        new AppError(
          'validation',
          'unsupported_content_type',
          'Request bodies must be JSON (Content-Type: application/json)',
          [
            {
              field: '(headers).content-type',
              reason: `got ${req.headers['content-type'] ?? 'none'}, expected application/json`,
            },
          ],
        ),
      );
    }
    parse(req, res, next);
  };
}

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix: string[] = []): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, prefix);
  return result.data;
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(notFound('route_not_found', `No route for ${req.method} ${req.path}`));
};

/** body-parser's errors carry a `type`, the router's undecodable paths are URIErrors; everything else that is not an AppError is a bug (500, logged). */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body, headers } = errorAnswer(logger, fromBodyParserError(error) ?? error, locals(res).requestId);
    if (res.headersSent) return;
    res.set(headers).status(status).json(body);
  };
}

/**
 * An error as the status, body and headers to answer with (`retry-after` when the error says when to retry); one that
 * is not an AppError is a bug, logged.
 */
export function errorAnswer(logger: Logger, error: unknown, requestId: string) {
  const answer = toHttpError(error, requestId);
  if (answer.status >= 500) logger.error('unhandled error', { request_id: requestId, error });
  const headers: Record<string, string> =
    error instanceof AppError && error.retryAfterSeconds !== undefined
      ? { 'retry-after': String(error.retryAfterSeconds) }
      : {};
  return { ...answer, headers };
}

/** A body that is not JSON (400), as body-parser's failure and the ingestion fast path report it. */
export const malformedJson = (reason: string) =>
  invalid('malformed_json', 'Request body is not valid JSON', [{ field: '(body)', reason }]);
/** A body that did not arrive as announced (400). */
export const badBody = (reason: string) => invalid('bad_body', reason, [{ field: '(body)', reason }]);

function fromBodyParserError(error: unknown): AppError | undefined {
  // The router's own: a path parameter that is not percent-encoded UTF-8 (e.g. %FF, or a lone surrogate's bytes).
  if (error instanceof URIError)
    return invalid('malformed_path', 'The path is not valid percent-encoded UTF-8', [
      { field: '(path)', reason: error.message },
    ]);
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  const { type, message } = error as { type: string; message: string };
  switch (type) {
    case 'entity.too.large':
      return new AppError('validation', 'body_too_large', 'Request body is too large', [
        { field: '(body)', reason: `larger than ${(error as { limit?: number }).limit ?? 'the limit'} bytes` },
      ]);
    case 'entity.parse.failed':
      return malformedJson(message);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('validation', 'unsupported_content_type', message, [
        { field: '(headers).content-type', reason: message },
      ]);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return badBody(message);
    default:
      return undefined;
  }
}
