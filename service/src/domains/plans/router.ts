import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { createPlanInput, listPlansInput, planPath } from '@tariff/openapi/schemas/plans';
import * as service from './service.ts';

export function plansRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/plans', async (req, res) => {
    res.json(await service.listPlans(deps, actorOf(res), parseInput(listPlansInput, req.query, ['query'])));
  });
  routes.post('/plans', async (req, res) => {
    res.status(201).json(await service.createPlan(deps, actorOf(res), parseInput(createPlanInput, req.body)));
  });
  routes.get('/plans/:code', async (req, res) => {
    const { code } = parseInput(planPath, req.params, ['path']);
    res.json(await service.getPlan(deps, actorOf(res), code));
  });
  return routes;
}

export const plansTrpc = router({
  list: authedProcedure.input(listPlansInput).query(({ ctx, input }) => service.listPlans(ctx.deps, ctx.actor, input)),
  get: authedProcedure.input(planPath).query(({ ctx, input }) => service.getPlan(ctx.deps, ctx.actor, input.code)),
  create: authedProcedure
    .input(createPlanInput)
    .mutation(({ ctx, input }) => service.createPlan(ctx.deps, ctx.actor, input)),
});
