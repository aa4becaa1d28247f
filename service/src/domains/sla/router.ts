import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import { createSlaCreditInput, customerPath } from '@tariff/openapi/schemas/sla';
import * as service from './service.ts';

export function slaRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/sla_credits', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listSlaCredits(deps, actorOf(res), id));
  });
  routes.post('/customers/:id/sla_credits', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res
      .status(201)
      .json(await service.issueSlaCredit(deps, actorOf(res), id, parseInput(createSlaCreditInput, req.body)));
  });
  return routes;
}

export const slaTrpc = router({
  list: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.listSlaCredits(ctx.deps, ctx.actor, input.id)),
  create: authedProcedure
    .input(z.strictObject({ id: externalId, credit: createSlaCreditInput }))
    .mutation(({ ctx, input }) => service.issueSlaCredit(ctx.deps, ctx.actor, input.id, input.credit)),
});
