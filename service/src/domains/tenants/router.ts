// Dashboard-only: signup, login and users live in tRPC (session auth), not in the API-key REST surface.
import { authedProcedure, publicProcedure, router } from '../../platform/trpc.ts';
import { changeUserRoleInput, createUserInput, loginInput, signupInput } from './schema.ts';
import * as service from './service.ts';

export const authTrpc = router({
  signup: publicProcedure.input(signupInput).mutation(async ({ ctx, input }) => {
    const result = await service.signUp(ctx.deps, input, ctx.requestId);
    ctx.setSessionCookie(result.session.token, result.session.expiresAt);
    return { tenant: result.tenant, user: result.user, session: toApiSession(result.session) };
  }),
  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
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
});

export const usersTrpc = router({
  list: authedProcedure.query(({ ctx }) => service.listUsers(ctx.deps, ctx.actor)),
  create: authedProcedure.input(createUserInput).mutation(({ ctx, input }) => service.createUser(ctx.deps, ctx.actor, input)),
  changeRole: authedProcedure.input(changeUserRoleInput).mutation(({ ctx, input }) => service.changeUserRole(ctx.deps, ctx.actor, input)),
});

function toApiSession(session: service.IssuedSession) {
  return { token: session.token, expires_at: session.expiresAt.toISOString() };
}
