import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import {
  assignPriceBookInput,
  createCustomerInput,
  externalId,
  listCustomersInput,
  updateCustomerInput,
} from '@tariff/openapi/schemas/customers';
import * as service from './service.ts';

const customerPath = z.strictObject({ id: externalId });

export function customersRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers', async (req, res) => {
    res.json(await service.listCustomers(deps, actorOf(res), parseInput(listCustomersInput, req.query, ['query'])));
  });
  routes.post('/customers', async (req, res) => {
    res.status(201).json(await service.createCustomer(deps, actorOf(res), parseInput(createCustomerInput, req.body)));
  });
  routes.post('/customers/:id/tax_id/verify', async (req, res) => {
    const { id } = parseInput(z.strictObject({ id: externalId }), req.params, ['path']);
    res.json(await service.verifyCustomerTaxId(deps, actorOf(res), id));
  });
  routes.get('/customers/:id', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getCustomer(deps, actorOf(res), id));
  });
  routes.patch('/customers/:id', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.updateCustomer(deps, actorOf(res), id, parseInput(updateCustomerInput, req.body)));
  });
  routes.put('/customers/:id/price_book', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.assignPriceBook(deps, actorOf(res), id, parseInput(assignPriceBookInput, req.body)));
  });
  return routes;
}

export const customersTrpc = router({
  verifyTaxId: authedProcedure
    .input(z.strictObject({ id: externalId }))
    .mutation(({ ctx, input }) => service.verifyCustomerTaxId(ctx.deps, ctx.actor, input.id)),
  list: authedProcedure
    .input(listCustomersInput)
    .query(({ ctx, input }) => service.listCustomers(ctx.deps, ctx.actor, input)),
  get: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getCustomer(ctx.deps, ctx.actor, input.id)),
  create: authedProcedure
    .input(createCustomerInput)
    .mutation(({ ctx, input }) => service.createCustomer(ctx.deps, ctx.actor, input)),
  update: authedProcedure
    .input(z.strictObject({ id: externalId, changes: updateCustomerInput }))
    .mutation(({ ctx, input }) => service.updateCustomer(ctx.deps, ctx.actor, input.id, input.changes)),
  assignPriceBook: authedProcedure
    .input(z.strictObject({ id: externalId, assignment: assignPriceBookInput }))
    .mutation(({ ctx, input }) => service.assignPriceBook(ctx.deps, ctx.actor, input.id, input.assignment)),
});
