import { Router, type RequestHandler } from 'express';
import { unauthenticated } from '../../platform/auth.ts';
import { withinSubtree } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, locals, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { apiKeyIdInput, createApiKeyInput } from '@tariff/openapi/schemas/keys';
import * as service from './service.ts';

/** `Authorization: Bearer sk_...` (or pk_...) on every /v1 route. */
export function apiKeyAuthentication(deps: Deps): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(unauthenticated('Send an API key as "Authorization: Bearer sk_..."'));
    const actor = await service.authenticateApiKey(deps, match[1]);
    if (!actor) return next(unauthenticated('Unknown or revoked API key'));
    locals(res).actor = { ...actor, requestId: locals(res).requestId };
    // A reseller-scoped key's request runs confined to its subtree: every transaction it opens sets app.subtree_root.
    withinSubtree(actor, next);
  };
}

export function keysRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/api_keys', async (_req, res) => {
    res.json({ data: await service.listApiKeys(deps, actorOf(res)) });
  });
  routes.post('/api_keys', async (req, res) => {
    res.status(201).json(await service.createApiKey(deps, actorOf(res), parseInput(createApiKeyInput, req.body)));
  });
  routes.delete('/api_keys/:id', async (req, res) => {
    const { id } = parseInput(apiKeyIdInput, { id: req.params.id }, ['path']);
    res.json(await service.revokeApiKey(deps, actorOf(res), id));
  });
  return routes;
}

export const keysTrpc = router({
  list: authedProcedure.query(({ ctx }) => service.listApiKeys(ctx.deps, ctx.actor)),
  create: authedProcedure
    .input(createApiKeyInput)
    .mutation(({ ctx, input }) => service.createApiKey(ctx.deps, ctx.actor, input)),
  revoke: authedProcedure
    .input(apiKeyIdInput)
    .mutation(({ ctx, input }) => service.revokeApiKey(ctx.deps, ctx.actor, input.id)),
});
