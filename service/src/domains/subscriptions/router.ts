import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import { amendSubscriptionInput, createSubscriptionInput, customerPath } from '@tariff/openapi/schemas/subscriptions';
import * as service from './service.ts';

export function subscriptionsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/subscription', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getSubscription(deps, actorOf(res), id));
  });
  routes.post('/customers/:id/subscriptions', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res
      .status(201)
      .json(await service.subscribe(deps, actorOf(res), id, parseInput(createSubscriptionInput, req.body)));
  });
  routes.get('/customers/:id/subscription/amendments', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listAmendments(deps, actorOf(res), id));
  });
  routes.post('/customers/:id/subscription/amendments', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res
      .status(201)
      .json(await service.amendSubscription(deps, actorOf(res), id, parseInput(amendSubscriptionInput, req.body)));
  });
  return routes;
}

export const subscriptionsTrpc = router({
  get: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getSubscription(ctx.deps, ctx.actor, input.id)),
  create: authedProcedure
    .input(z.strictObject({ id: externalId, subscription: createSubscriptionInput }))
    .mutation(({ ctx, input }) => service.subscribe(ctx.deps, ctx.actor, input.id, input.subscription)),
  amendments: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.listAmendments(ctx.deps, ctx.actor, input.id)),
  amend: authedProcedure
    .input(z.strictObject({ id: externalId, amendment: amendSubscriptionInput }))
    .mutation(({ ctx, input }) => service.amendSubscription(ctx.deps, ctx.actor, input.id, input.amendment)),
});
