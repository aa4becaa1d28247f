// tRPC for the dashboard: session-authenticated procedures with AppErrors mapped to tRPC errors.
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Actor } from './auth.ts';
import { withinSubtree } from './db.ts';
import type { Deps } from './deps.ts';
import type { RateLimiter } from './ratelimit.ts';
import { unauthenticated } from './auth.ts';
import { AppError, fromZodError, toTrpcCode } from './errors.ts';

export interface TrpcContext {
  deps: Deps;
  actor?: Actor;
  requestId: string;
  /** The session token the caller presented, for logout. */
  sessionToken?: string;
  /** Another Bearer token (not a session's): a customer portal token, checked by the portal's procedures. */
  portalToken?: string;
  /** The caller's address (X-Forwarded-For's under TRUST_PROXY), for rate limits. */
  clientAddress: string;
  limiter: RateLimiter;
  setSessionCookie(token: string, expiresAt: Date): void;
  clearSessionCookie(): void;
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const appError = asAppError(error);
    return {
      ...shape,
      message: appError?.message ?? (error.code === 'INTERNAL_SERVER_ERROR' ? 'Internal error' : shape.message),
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        app: appError ? { kind: appError.kind, code: appError.code, details: appError.details } : undefined,
      },
    };
  },
});

function asAppError(error: TRPCError): AppError | undefined {
  if (error.cause instanceof AppError) return error.cause;
  if (error.cause instanceof ZodError) return fromZodError(error.cause);
  return undefined;
}

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: toTrpcCode(cause), message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const publicProcedure = t.procedure.use(mapErrors);
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.actor)
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Log in first', cause: unauthenticated('Log in first') });
  // A reseller-scoped user's procedure runs confined to its subtree, as a subtree key's request does.
  const actor = ctx.actor;
  return withinSubtree(actor, () => next({ ctx: { ...ctx, actor } }));
});
