import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import type { FastRoute } from '../../platform/fast-path.ts';
import type { Actor } from '../../platform/auth.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import {
  customerPath,
  extendHoldInput,
  holdId,
  holdPath,
  listHoldsQuery,
  placeHoldInput,
} from '@tariff/openapi/schemas/holds';
import * as service from './service.ts';

/** A placement as the route answers it, on either path: the app's route and the fast path's. */
async function placeHold(deps: Deps, actor: Actor, params: unknown, body: unknown) {
  const { id } = parseInput(customerPath, params, ['path']);
  // A replay answers as the placement did (201 and the hold as it stands now), as Stripe answers idempotent retries.
  return (await service.placeHold(deps, actor, id, parseInput(placeHoldInput, body))).hold;
}

/** POST /v1/customers/{id}/holds on the fast path (platform/fast-path.ts): the hot path of holds. */
export const placeHoldRoute: FastRoute = {
  route: '/v1/customers/:id/holds',
  answer: async (deps, actor, params, body) => ({ status: 201, body: await placeHold(deps, actor, params, body) }),
};

export function holdsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.post('/customers/:id/holds', async (req, res) => {
    res.status(201).json(await placeHold(deps, actorOf(res), req.params, req.body));
  });
  routes.get('/customers/:id/holds', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listHolds(deps, actorOf(res), id, parseInput(listHoldsQuery, req.query, ['query'])));
  });
  routes.get('/customers/:id/holds/:hold_id', async (req, res) => {
    const path = parseInput(holdPath, req.params, ['path']);
    res.json(await service.getHold(deps, actorOf(res), path.id, path.hold_id));
  });
  routes.post('/customers/:id/holds/:hold_id/extend', async (req, res) => {
    const path = parseInput(holdPath, req.params, ['path']);
    res.json(
      await service.extendHold(deps, actorOf(res), path.id, path.hold_id, parseInput(extendHoldInput, req.body)),
    );
  });
  routes.post('/customers/:id/holds/:hold_id/release', async (req, res) => {
    const path = parseInput(holdPath, req.params, ['path']);
    res.json(await service.releaseHold(deps, actorOf(res), path.id, path.hold_id));
  });
  routes.get('/customers/:id/balance_token', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getBalanceToken(deps, actorOf(res), id));
  });
  routes.get('/balance_token_keys', async (_req, res) => {
    res.json(await service.getBalanceTokenKeys(deps, actorOf(res)));
  });
  return routes;
}

export const holdsTrpc = router({
  place: authedProcedure
    .input(z.strictObject({ id: externalId, hold: placeHoldInput }))
    .mutation(async ({ ctx, input }) => (await service.placeHold(ctx.deps, ctx.actor, input.id, input.hold)).hold),
  list: authedProcedure
    .input(z.strictObject({ id: externalId, status: listHoldsQuery.shape.status, limit: listHoldsQuery.shape.limit }))
    .query(({ ctx, input }) =>
      service.listHolds(ctx.deps, ctx.actor, input.id, { status: input.status, limit: input.limit }),
    ),
  get: authedProcedure
    .input(holdPath)
    .query(({ ctx, input }) => service.getHold(ctx.deps, ctx.actor, input.id, input.hold_id)),
  extend: authedProcedure
    .input(z.strictObject({ id: externalId, hold_id: holdId, extension: extendHoldInput }))
    .mutation(({ ctx, input }) => service.extendHold(ctx.deps, ctx.actor, input.id, input.hold_id, input.extension)),
  release: authedProcedure
    .input(holdPath)
    .mutation(({ ctx, input }) => service.releaseHold(ctx.deps, ctx.actor, input.id, input.hold_id)),
  balanceToken: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getBalanceToken(ctx.deps, ctx.actor, input.id)),
});
