import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import {
  createGrantInput,
  customerPath,
  grantPath,
  listGrantsInput,
  updateBillingSettingsInput,
  updateWalletInput,
  voidGrantInput,
} from '@tariff/openapi/schemas/wallets';
import * as service from './service.ts';

export function walletsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/wallet', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getWallet(deps, actorOf(res), id));
  });
  routes.patch('/customers/:id/wallet', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.updateWallet(deps, actorOf(res), id, parseInput(updateWalletInput, req.body)));
  });
  routes.get('/customers/:id/credit_grants', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.listGrants(deps, actorOf(res), id, parseInput(listGrantsInput, req.query, ['query'])));
  });
  routes.post('/customers/:id/credit_grants', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.status(201).json(await service.createGrant(deps, actorOf(res), id, parseInput(createGrantInput, req.body)));
  });
  routes.post('/customers/:id/credit_grants/:grant_id/void', async (req, res) => {
    const { id, grant_id } = parseInput(grantPath, req.params, ['path']);
    res.json(await service.voidGrant(deps, actorOf(res), id, grant_id, parseInput(voidGrantInput, req.body ?? {})));
  });
  routes.get('/billing_settings', async (_req, res) => {
    res.json(await service.getBillingSettings(deps, actorOf(res)));
  });
  routes.put('/billing_settings', async (req, res) => {
    res.json(await service.updateBillingSettings(deps, actorOf(res), parseInput(updateBillingSettingsInput, req.body)));
  });
  return routes;
}

export const walletsTrpc = router({
  get: authedProcedure.input(customerPath).query(({ ctx, input }) => service.getWallet(ctx.deps, ctx.actor, input.id)),
  update: authedProcedure
    .input(z.strictObject({ id: externalId, changes: updateWalletInput }))
    .mutation(({ ctx, input }) => service.updateWallet(ctx.deps, ctx.actor, input.id, input.changes)),
  grants: authedProcedure
    .input(z.strictObject({ id: externalId, status: listGrantsInput.shape.status }))
    .query(({ ctx, input }) => service.listGrants(ctx.deps, ctx.actor, input.id, { status: input.status })),
  createGrant: authedProcedure
    .input(z.strictObject({ id: externalId, grant: createGrantInput }))
    .mutation(({ ctx, input }) => service.createGrant(ctx.deps, ctx.actor, input.id, input.grant)),
  voidGrant: authedProcedure
    .input(z.strictObject({ id: externalId, grant_id: z.uuid(), reason: voidGrantInput.shape.reason }))
    .mutation(({ ctx, input }) =>
      service.voidGrant(ctx.deps, ctx.actor, input.id, input.grant_id, { reason: input.reason }),
    ),
  settings: authedProcedure.query(({ ctx }) => service.getBillingSettings(ctx.deps, ctx.actor)),
  updateSettings: authedProcedure
    .input(updateBillingSettingsInput)
    .mutation(({ ctx, input }) => service.updateBillingSettings(ctx.deps, ctx.actor, input)),
});
