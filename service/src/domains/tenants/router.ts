// Accounts: signup, login, email verification and password reset (public, rate-limited), sessions, and the
// users of a tenant. tRPC for the dashboard (session auth); REST under /v1/auth (public) and /v1/users (API key).
import { Router, type Request, type RequestHandler } from 'express';
import { unauthenticated } from '../../platform/auth.ts';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import type { RateLimiter } from '../../platform/ratelimit.ts';
import { authedProcedure, publicProcedure, router } from '../../platform/trpc.ts';
import {
  changeUserRoleInput,
  createUserInput,
  loginInput,
  requestPasswordResetInput,
  resetPasswordInput,
  signupInput,
  updateUserInput,
  userIdInput,
  userPath,
  verifyEmailInput,
  type LoginInput,
  type RequestPasswordResetInput,
} from '@tariff/openapi/schemas/tenants';
import * as service from './service.ts';

// Limits key on the client's address, and on address + account where an account is named: a stranger's
// failures count against their own address, never against the real user elsewhere.
const limitSignup = (limiter: RateLimiter, address: string) =>
  limiter.take([{ rule: 'signupPerAddress', key: address }]);
const limitLogin = (limiter: RateLimiter, address: string, input: LoginInput) =>
  limiter.take([
    { rule: 'loginPerAddress', key: address },
    { rule: 'loginPerAccount', key: `${address}\u0000${input.tenant}\u0000${input.email}` },
  ]);
const limitReset = (limiter: RateLimiter, address: string, input: RequestPasswordResetInput) =>
  limiter.take([
    { rule: 'resetPerAddress', key: address },
    { rule: 'resetPerAccount', key: `${address}\u0000${input.tenant}\u0000${input.email}` },
  ]);
// Guessing a mailed token is hopeless (256 bits), but each try costs a lookup: count them with reset requests.
const limitToken = (limiter: RateLimiter, address: string) => limiter.take([{ rule: 'resetPerAddress', key: address }]);

export const authTrpc = router({
  signup: publicProcedure.input(signupInput).mutation(async ({ ctx, input }) => {
    limitSignup(ctx.limiter, ctx.clientAddress);
    const result = await service.signUp(ctx.deps, input, ctx.requestId);
    ctx.setSessionCookie(result.session.token, result.session.expiresAt);
    return { tenant: result.tenant, user: result.user, session: toApiSession(result.session) };
  }),
  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    limitLogin(ctx.limiter, ctx.clientAddress, input);
    const result = await service.logIn(ctx.deps, input, ctx.requestId);
    ctx.setSessionCookie(result.session.token, result.session.expiresAt);
    return { tenant_id: result.tenant_id, user_id: result.user_id, session: toApiSession(result.session) };
  }),
  logout: authedProcedure.mutation(async ({ ctx }) => {
    await service.logOut(ctx.deps, ctx.actor, ctx.sessionToken);
    ctx.clearSessionCookie();
    return { ok: true };
  }),
  me: authedProcedure.query(({ ctx }) => service.getCurrentUser(ctx.deps, ctx.actor)),
  verifyEmail: publicProcedure.input(verifyEmailInput).mutation(({ ctx, input }) => {
    limitToken(ctx.limiter, ctx.clientAddress);
    return service.verifyEmail(ctx.deps, input.token, ctx.requestId);
  }),
  resendVerification: authedProcedure.mutation(({ ctx }) => service.resendVerification(ctx.deps, ctx.actor)),
  requestPasswordReset: publicProcedure.input(requestPasswordResetInput).mutation(({ ctx, input }) => {
    limitReset(ctx.limiter, ctx.clientAddress, input);
    return service.requestPasswordReset(ctx.deps, input, ctx.requestId);
  }),
  resetPassword: publicProcedure.input(resetPasswordInput).mutation(({ ctx, input }) => {
    limitToken(ctx.limiter, ctx.clientAddress);
    return service.resetPassword(ctx.deps, input, ctx.requestId);
  }),
});

export const usersTrpc = router({
  list: authedProcedure.query(({ ctx }) => service.listUsers(ctx.deps, ctx.actor)),
  create: authedProcedure
    .input(createUserInput)
    .mutation(({ ctx, input }) => service.createUser(ctx.deps, ctx.actor, input)),
  changeRole: authedProcedure
    .input(changeUserRoleInput)
    .mutation(({ ctx, input }) => service.changeUserRole(ctx.deps, ctx.actor, input)),
  remove: authedProcedure
    .input(userIdInput)
    .mutation(({ ctx, input }) => service.removeUser(ctx.deps, ctx.actor, input.user_id)),
});

/**
 * Public REST routes under /v1/auth: no API key (signup makes the first one possible). They parse their own
 * bodies (`body`), since the app parses bodies only after authenticating the others.
 */
export function accountsRestRoutes(deps: Deps, limiter: RateLimiter, body: RequestHandler): Router {
  const routes = Router();
  routes.post('/auth/signup', body, async (req, res) => {
    const input = parseInput(signupInput, req.body);
    limitSignup(limiter, clientAddress(req));
    const result = await service.signUp(deps, input, res.locals.requestId);
    res.status(201).json({ tenant: result.tenant, user: result.user, session: toApiSession(result.session) });
  });
  routes.post('/auth/login', body, async (req, res) => {
    const input = parseInput(loginInput, req.body);
    limitLogin(limiter, clientAddress(req), input);
    const result = await service.logIn(deps, input, res.locals.requestId);
    res.json({ tenant_id: result.tenant_id, user_id: result.user_id, session: toApiSession(result.session) });
  });
  routes.post('/auth/logout', body, async (req, res) => {
    const token = /^Bearer\s+(ses_\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const session = token ? await service.authenticateSession(deps, token) : undefined;
    if (!session) throw unauthenticated('Send the session token as "Authorization: Bearer ses_..."');
    await service.logOut(deps, { ...session, requestId: res.locals.requestId }, token);
    res.json({ ok: true });
  });
  routes.post('/auth/verify_email', body, async (req, res) => {
    const { token } = parseInput(verifyEmailInput, req.body);
    limitToken(limiter, clientAddress(req));
    res.json(await service.verifyEmail(deps, token, res.locals.requestId));
  });
  routes.post('/auth/password_reset', body, async (req, res) => {
    const input = parseInput(requestPasswordResetInput, req.body);
    limitReset(limiter, clientAddress(req), input);
    res.status(202).json(await service.requestPasswordReset(deps, input, res.locals.requestId));
  });
  routes.post('/auth/password_reset/confirm', body, async (req, res) => {
    const input = parseInput(resetPasswordInput, req.body);
    limitToken(limiter, clientAddress(req));
    res.json(await service.resetPassword(deps, input, res.locals.requestId));
  });
  return routes;
}

/** /v1/users, behind an API key (an admin key manages the users below its role). */
export function usersRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/users', async (_req, res) => {
    res.json({ data: await service.listUsers(deps, actorOf(res)) });
  });
  routes.post('/users', async (req, res) => {
    res.status(201).json(await service.createUser(deps, actorOf(res), parseInput(createUserInput, req.body)));
  });
  routes.patch('/users/:id', async (req, res) => {
    const { id: user_id } = parseInput(userPath, { id: req.params.id }, ['path']);
    const { role } = parseInput(updateUserInput, req.body);
    res.json(await service.changeUserRole(deps, actorOf(res), { user_id, role }));
  });
  routes.delete('/users/:id', async (req, res) => {
    const { id: user_id } = parseInput(userPath, { id: req.params.id }, ['path']);
    res.json(await service.removeUser(deps, actorOf(res), user_id));
  });
  return routes;
}

/** The caller's address as Express sees it: the socket's, or X-Forwarded-For's under TRUST_PROXY. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function toApiSession(session: service.IssuedSession) {
  return { token: session.token, expires_at: session.expiresAt.toISOString() };
}
