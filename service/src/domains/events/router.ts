import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import { estimateInput, ingestBody, transactionIdPath, usageQuery } from '@tariff/openapi/schemas/events';
import { getReceipt } from './receipts.ts';
import * as service from './service.ts';
import { getUsage } from './usage.ts';

const customerPath = z.strictObject({ id: externalId });

export function eventsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.post('/events', async (req, res) => {
    const { events, on_block } = parseInput(ingestBody, req.body);
    res.json(await service.ingestEvents(deps, actorOf(res), events, { onBlock: on_block }));
  });
  routes.post('/estimates', async (req, res) => {
    res.json(await service.estimateCharges(deps, actorOf(res), parseInput(estimateInput, req.body)));
  });
  routes.get('/events/:transaction_id/receipt', async (req, res) => {
    const { transaction_id } = parseInput(transactionIdPath, req.params, ['path']);
    res.json(await getReceipt(deps, actorOf(res), transaction_id));
  });
  routes.get('/customers/:id/usage', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await getUsage(deps, actorOf(res), id, parseInput(usageQuery, req.query, ['query'])));
  });
  return routes;
}

export const eventsTrpc = router({
  // The dashboard's "send a test event": the same ingestion as POST /v1/events, as the logged-in user.
  ingest: authedProcedure
    .input(ingestBody)
    .mutation(({ ctx, input }) => service.ingestEvents(ctx.deps, ctx.actor, input.events, { onBlock: input.on_block })),
  estimate: authedProcedure
    .input(estimateInput)
    .mutation(({ ctx, input }) => service.estimateCharges(ctx.deps, ctx.actor, input)),
  receipt: authedProcedure
    .input(transactionIdPath)
    .query(({ ctx, input }) => getReceipt(ctx.deps, ctx.actor, input.transaction_id)),
  usage: authedProcedure
    .input(z.strictObject({ id: externalId, at: usageQuery.shape.at }))
    .query(({ ctx, input }) => getUsage(ctx.deps, ctx.actor, input.id, { at: input.at })),
});
