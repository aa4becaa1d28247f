// Cross-site request forgery: what keeps another site from making a logged-in browser call the dashboard's tRPC.
// A browser sends the session cookie with any request to us (SameSite=Lax still allows same-site subdomains and
// top-level GETs), so writes ride on two checks: the request's Origin (Sec-Fetch-Site) is ours, and a
// cookie-authenticated write carries the CSRF token in a header, which a page of another origin cannot read.
// The token is derived from the session token (a hash: no storage, nothing to rotate); the SPA reads it from
// the non-HttpOnly `tariff_csrf` cookie set beside the session cookie. Callers with a Bearer session are not
// exposed (a browser never adds that header by itself) and need no token.
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { forbidden } from './errors.ts';

export const csrfCookie = 'tariff_csrf';
export const csrfHeader = 'x-csrf-token';

/** The CSRF token that goes with a session token. */
export function csrfTokenOf(sessionToken: string): string {
  return crypto.createHash('sha256').update(`tariff-csrf\u0000${sessionToken}`).digest('base64url');
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfRequest {
  method: string;
  /** Origin header, when sent. */
  origin?: string;
  /** Sec-Fetch-Site header, when sent. */
  fetchSite?: string;
  /** This server's own origin as the request reached it (scheme://host). */
  ownOrigin: string;
  /** The session token from the cookie, when the request carries one and no Authorization header. */
  cookieSession?: string;
  /** The x-csrf-token header. */
  token?: string;
}

/** Pure: why a request must be refused, or undefined when it may go on. */
export function csrfProblem(request: CsrfRequest, allowedOrigins: readonly string[]): string | undefined {
  if (safeMethods.has(request.method.toUpperCase())) return undefined;
  if (request.fetchSite === 'cross-site') return 'cross_site_request';
  if (request.origin !== undefined && request.origin !== request.ownOrigin && !allowedOrigins.includes(request.origin))
    return 'cross_origin_request';
  if (request.cookieSession === undefined) return undefined;
  const expected = Buffer.from(csrfTokenOf(request.cookieSession));
  const given = Buffer.from(request.token ?? '');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return 'csrf_token_invalid';
  return undefined;
}

const messages: Record<string, string> = {
  cross_site_request: 'Cross-site requests are refused',
  cross_origin_request: 'Requests from another origin are refused',
  csrf_token_invalid: `A request authenticated by the session cookie must send the ${csrfHeader} header (the ${csrfCookie} cookie's value)`,
};

/**
 * Express middleware in front of the cookie-authenticated routes. `sessionFromCookie` gives the cookie's
 * session token when the request authenticates by cookie (no Authorization header).
 */
export function csrfProtection(options: {
  publicUrl?: string;
  sessionFromCookie: (req: Parameters<RequestHandler>[0]) => string | undefined;
}): RequestHandler {
  const allowed = options.publicUrl ? [new URL(options.publicUrl).origin] : [];
  return (req, _res, next) => {
    const problem = csrfProblem(
      {
        method: req.method,
        origin: req.get('origin'),
        fetchSite: req.get('sec-fetch-site'),
        ownOrigin: `${req.protocol}://${req.get('host')}`,
        // The cookie authenticates unless a Bearer session does (another Authorization, e.g. a portal token, leaves the cookie in use).
        cookieSession: /^Bearer\s+ses_\S+$/i.test(req.get('authorization') ?? '')
          ? undefined
          : options.sessionFromCookie(req),
        token: req.get(csrfHeader),
      },
      allowed,
    );
    next(problem ? forbidden(problem, messages[problem]) : undefined);
  };
}
