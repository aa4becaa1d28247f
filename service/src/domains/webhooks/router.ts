import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import {
  createEndpointInput,
  endpointPath,
  listAttemptsInput,
  listDeliveriesInput,
  listMessagesInput,
  messagePath,
  replayInput,
  retryInput,
  rotateSecretInput,
  testSendInput,
  updateEndpointInput,
} from '@tariff/openapi/schemas/webhooks';
import * as service from './service.ts';

export function webhooksRestRoutes(deps: Deps): Router {
  const routes = Router();
  const endpointId = (params: unknown) => parseInput(endpointPath, params, ['path']).id;
  routes.post('/webhook_endpoints', async (req, res) => {
    res.status(201).json(await service.createEndpoint(deps, actorOf(res), parseInput(createEndpointInput, req.body)));
  });
  routes.get('/webhook_endpoints', async (_req, res) => {
    res.json(await service.listEndpoints(deps, actorOf(res)));
  });
  routes.get('/webhook_endpoints/:id', async (req, res) => {
    res.json(await service.getEndpoint(deps, actorOf(res), endpointId(req.params)));
  });
  routes.patch('/webhook_endpoints/:id', async (req, res) => {
    res.json(
      await service.updateEndpoint(
        deps,
        actorOf(res),
        endpointId(req.params),
        parseInput(updateEndpointInput, req.body),
      ),
    );
  });
  routes.delete('/webhook_endpoints/:id', async (req, res) => {
    res.json(await service.deleteEndpoint(deps, actorOf(res), endpointId(req.params)));
  });
  routes.post('/webhook_endpoints/:id/rotate_secret', async (req, res) => {
    res.json(
      await service.rotateSecret(
        deps,
        actorOf(res),
        endpointId(req.params),
        parseInput(rotateSecretInput, req.body ?? {}),
      ),
    );
  });
  routes.post('/webhook_endpoints/:id/test', async (req, res) => {
    res.json(
      await service.sendTest(deps, actorOf(res), endpointId(req.params), parseInput(testSendInput, req.body ?? {})),
    );
  });
  routes.post('/webhook_endpoints/:id/replay', async (req, res) => {
    res.json(await service.replay(deps, actorOf(res), endpointId(req.params), parseInput(replayInput, req.body)));
  });
  routes.get('/webhook_endpoints/:id/deliveries', async (req, res) => {
    res.json(
      await service.listDeliveries(
        deps,
        actorOf(res),
        endpointId(req.params),
        parseInput(listDeliveriesInput, req.query, ['query']),
      ),
    );
  });
  routes.get('/webhook_messages', async (req, res) => {
    res.json(await service.listMessages(deps, actorOf(res), parseInput(listMessagesInput, req.query, ['query'])));
  });
  routes.get('/webhook_messages/:id/attempts', async (req, res) => {
    const { id } = parseInput(messagePath, req.params, ['path']);
    res.json(
      await service.listAttempts(
        deps,
        actorOf(res),
        id,
        parseInput(listAttemptsInput, req.query, ['query']).endpoint_id,
      ),
    );
  });
  routes.post('/webhook_messages/:id/retry', async (req, res) => {
    const { id } = parseInput(messagePath, req.params, ['path']);
    res.json(await service.retryMessage(deps, actorOf(res), id, parseInput(retryInput, req.body).endpoint_id));
  });
  return routes;
}

const withEndpoint = <S extends z.ZodType>(schema: S) => z.strictObject({ id: z.uuid(), input: schema });

export const webhooksTrpc = router({
  create: authedProcedure
    .input(createEndpointInput)
    .mutation(({ ctx, input }) => service.createEndpoint(ctx.deps, ctx.actor, input)),
  list: authedProcedure.query(({ ctx }) => service.listEndpoints(ctx.deps, ctx.actor)),
  get: authedProcedure
    .input(endpointPath)
    .query(({ ctx, input }) => service.getEndpoint(ctx.deps, ctx.actor, input.id)),
  update: authedProcedure
    .input(withEndpoint(updateEndpointInput))
    .mutation(({ ctx, input }) => service.updateEndpoint(ctx.deps, ctx.actor, input.id, input.input)),
  delete: authedProcedure
    .input(endpointPath)
    .mutation(({ ctx, input }) => service.deleteEndpoint(ctx.deps, ctx.actor, input.id)),
  rotateSecret: authedProcedure
    .input(withEndpoint(rotateSecretInput))
    .mutation(({ ctx, input }) => service.rotateSecret(ctx.deps, ctx.actor, input.id, input.input)),
  sendTest: authedProcedure
    .input(withEndpoint(testSendInput))
    .mutation(({ ctx, input }) => service.sendTest(ctx.deps, ctx.actor, input.id, input.input)),
  replay: authedProcedure
    .input(withEndpoint(replayInput))
    .mutation(({ ctx, input }) => service.replay(ctx.deps, ctx.actor, input.id, input.input)),
  deliveries: authedProcedure
    .input(withEndpoint(listDeliveriesInput))
    .query(({ ctx, input }) => service.listDeliveries(ctx.deps, ctx.actor, input.id, input.input)),
  messages: authedProcedure
    .input(listMessagesInput)
    .query(({ ctx, input }) => service.listMessages(ctx.deps, ctx.actor, input)),
  attempts: authedProcedure
    .input(z.strictObject({ message_id: messagePath.shape.id, endpoint_id: z.uuid().optional() }))
    .query(({ ctx, input }) => service.listAttempts(ctx.deps, ctx.actor, input.message_id, input.endpoint_id)),
  retry: authedProcedure
    .input(z.strictObject({ message_id: messagePath.shape.id, endpoint_id: z.uuid() }))
    .mutation(({ ctx, input }) => service.retryMessage(ctx.deps, ctx.actor, input.message_id, input.endpoint_id)),
});
