import { Router } from 'express';
import { usageSeriesQuery } from '@tariff/openapi/schemas/usage';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { customerOverviewInput, searchCustomersInput, usageSeriesInput } from './schema.ts';
import * as service from './service.ts';

/** The usage series the dashboard charts, for API users too (the directory is the REST customers list's). */
export function insightsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/usage/series', async (req, res) => {
    const { id } = parseInput(customerOverviewInput, req.params, ['path']);
    const query = parseInput(usageSeriesQuery, req.query, ['query']);
    res.json(await service.getUsageSeries(deps, actorOf(res), { ...query, customer_id: id }));
  });
  return routes;
}

export const insightsTrpc = router({
  customers: authedProcedure
    .input(searchCustomersInput)
    .query(({ ctx, input }) => service.searchCustomers(ctx.deps, ctx.actor, input)),
  customer: authedProcedure
    .input(customerOverviewInput)
    .query(({ ctx, input }) => service.getCustomerOverview(ctx.deps, ctx.actor, input.id)),
  usageSeries: authedProcedure
    .input(usageSeriesInput)
    .query(({ ctx, input }) => service.getUsageSeries(ctx.deps, ctx.actor, input)),
});
