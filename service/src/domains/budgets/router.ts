import { Router } from 'express';
import { z } from 'zod';
import type { Actor } from '../../platform/auth.ts';
import type { Deps } from '../../platform/deps.ts';
import type { FastRoute } from '../../platform/fast-path.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import {
  checkInput,
  customerPath,
  listAlertsInput,
  scopedBudgetPath,
  scopeKinds,
  scopeValue,
  setBudgetInput,
} from '@tariff/openapi/schemas/budgets';
import * as service from './service.ts';

/** A check as the route answers it, on either path: the app's route and the fast path's. */
async function check(deps: Deps, actor: Actor, params: unknown, body: unknown) {
  const { id } = parseInput(customerPath, params, ['path']);
  return service.checkEntitlement(deps, actor, id, parseInput(checkInput, body));
}

/** POST /v1/customers/{id}/check on the fast path (platform/fast-path.ts): the call made before every model call. */
export const checkRoute: FastRoute = {
  route: '/v1/customers/:id/check',
  answer: async (deps, actor, params, body) => ({ status: 200, body: await check(deps, actor, params, body) }),
};

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
  routes.get('/customers/:id/scoped_budgets', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listScopedBudgets(deps, actorOf(res), id));
  });
  routes.put('/customers/:id/scoped_budgets/:kind/:value', async (req, res) => {
    const path = parseInput(scopedBudgetPath, req.params, ['path']);
    res.json(await service.setScopedBudget(deps, actorOf(res), path, parseInput(setBudgetInput, req.body)));
  });
  routes.delete('/customers/:id/scoped_budgets/:kind/:value', async (req, res) => {
    res.json(await service.deleteScopedBudget(deps, actorOf(res), parseInput(scopedBudgetPath, req.params, ['path'])));
  });
  routes.post('/customers/:id/check', async (req, res) => {
    res.json(await check(deps, actorOf(res), req.params, req.body));
  });
  return routes;
}

export const budgetsTrpc = router({
  get: authedProcedure.input(customerPath).query(({ ctx, input }) => service.getBudget(ctx.deps, ctx.actor, input.id)),
  set: authedProcedure
    .input(z.strictObject({ id: externalId, budget: setBudgetInput }))
    .mutation(({ ctx, input }) => service.setBudget(ctx.deps, ctx.actor, input.id, input.budget)),
  delete: authedProcedure
    .input(customerPath)
    .mutation(({ ctx, input }) => service.deleteBudget(ctx.deps, ctx.actor, input.id)),
  alerts: authedProcedure
    .input(z.strictObject({ id: externalId, at: listAlertsInput.shape.at }))
    .query(({ ctx, input }) => service.listAlerts(ctx.deps, ctx.actor, input.id, { at: input.at })),
  scoped: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.listScopedBudgets(ctx.deps, ctx.actor, input.id)),
  setScoped: authedProcedure
    .input(z.strictObject({ id: externalId, kind: z.enum(scopeKinds), value: scopeValue, budget: setBudgetInput }))
    .mutation(({ ctx, input }) =>
      service.setScopedBudget(
        ctx.deps,
        ctx.actor,
        scopedBudgetPath.parse({ id: input.id, kind: input.kind, value: input.value }),
        input.budget,
      ),
    ),
  deleteScoped: authedProcedure
    .input(scopedBudgetPath)
    .mutation(({ ctx, input }) => service.deleteScopedBudget(ctx.deps, ctx.actor, input)),
  check: authedProcedure
    .input(z.strictObject({ id: externalId, request: checkInput }))
    .query(({ ctx, input }) => service.checkEntitlement(ctx.deps, ctx.actor, input.id, input.request)),
});
