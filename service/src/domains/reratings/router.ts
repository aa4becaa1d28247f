import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { eventRevisionsPath, listReratingsInput, reratingPath } from '@tariff/openapi/schemas/reratings';
import * as service from './service.ts';

export function reratingsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/reratings', async (req, res) => {
    res.json(await service.listReratings(deps, actorOf(res), parseInput(listReratingsInput, req.query, ['query'])));
  });
  routes.get('/reratings/:id', async (req, res) => {
    const { id } = parseInput(reratingPath, req.params, ['path']);
    res.json(await service.getRerating(deps, actorOf(res), id));
  });
  routes.post('/reratings/:id/approve', async (req, res) => {
    const { id } = parseInput(reratingPath, req.params, ['path']);
    res.json(await service.approveRerating(deps, actorOf(res), id));
  });
  routes.get('/events/:transaction_id/revisions', async (req, res) => {
    const { transaction_id } = parseInput(eventRevisionsPath, req.params, ['path']);
    res.json(await service.listEventRevisions(deps, actorOf(res), transaction_id));
  });
  return routes;
}

export const reratingsTrpc = router({
  list: authedProcedure
    .input(listReratingsInput)
    .query(({ ctx, input }) => service.listReratings(ctx.deps, ctx.actor, input)),
  get: authedProcedure
    .input(reratingPath)
    .query(({ ctx, input }) => service.getRerating(ctx.deps, ctx.actor, input.id)),
  approve: authedProcedure
    .input(reratingPath)
    .mutation(({ ctx, input }) => service.approveRerating(ctx.deps, ctx.actor, input.id)),
  revisions: authedProcedure
    .input(eventRevisionsPath)
    .query(({ ctx, input }) => service.listEventRevisions(ctx.deps, ctx.actor, input.transaction_id)),
});
