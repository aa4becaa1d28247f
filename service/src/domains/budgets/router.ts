import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '../customers/schema.ts';
import { checkInput, customerPath, listAlertsInput, setBudgetInput } from './schema.ts';
import * as service from './service.ts';

export function budgetsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/budget', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getBudget(deps, actorOf(res), id));
  });
  routes.put('/customers/:id/budget', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.setBudget(deps, actorOf(res), id, parseInput(setBudgetInput, req.body)));
  });
  routes.delete('/customers/:id/budget', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.deleteBudget(deps, actorOf(res), id));
  });
  routes.get('/customers/:id/budget_alerts', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listAlerts(deps, actorOf(res), id, parseInput(listAlertsInput, req.query, ['query'])));
  });
  routes.post('/customers/:id/check', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.checkEntitlement(deps, actorOf(res), id, parseInput(checkInput, req.body)));
  });
  return routes;
}

export const budgetsTrpc = router({
  get: authedProcedure.input(customerPath).query(({ ctx, input }) => service.getBudget(ctx.deps, ctx.actor, input.id)),
  set: authedProcedure
    .input(z.strictObject({ id: externalId, budget: setBudgetInput }))
    .mutation(({ ctx, input }) => service.setBudget(ctx.deps, ctx.actor, input.id, input.budget)),
  delete: authedProcedure.input(customerPath).mutation(({ ctx, input }) => service.deleteBudget(ctx.deps, ctx.actor, input.id)),
  alerts: authedProcedure
    .input(z.strictObject({ id: externalId, at: listAlertsInput.shape.at }))
    .query(({ ctx, input }) => service.listAlerts(ctx.deps, ctx.actor, input.id, { at: input.at })),
  check: authedProcedure
    .input(z.strictObject({ id: externalId, request: checkInput }))
    .query(({ ctx, input }) => service.checkEntitlement(ctx.deps, ctx.actor, input.id, input.request)),
});
