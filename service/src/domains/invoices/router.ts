import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import { customerPath } from '@tariff/openapi/schemas/subscriptions';
import { closePeriodsInput, invoicePath, listInvoicesInput, voidInvoiceInput } from '@tariff/openapi/schemas/invoices';
import * as service from './service.ts';

export function invoicesRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/invoices', async (req, res) => {
    res.json(await service.listInvoices(deps, actorOf(res), parseInput(listInvoicesInput, req.query, ['query'])));
  });
  routes.get('/invoices/:id', async (req, res) => {
    const { id } = parseInput(invoicePath, req.params, ['path']);
    res.json(await service.getInvoice(deps, actorOf(res), id));
  });
  routes.post('/invoices/:id/finalize', async (req, res) => {
    const { id } = parseInput(invoicePath, req.params, ['path']);
    res.json(await service.finalizeInvoice(deps, actorOf(res), id));
  });
  routes.post('/invoices/:id/void', async (req, res) => {
    const { id } = parseInput(invoicePath, req.params, ['path']);
    res.json(await service.voidInvoice(deps, actorOf(res), id, parseInput(voidInvoiceInput, req.body)));
  });
  routes.post('/customers/:id/periods/close', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.closeCustomerPeriods(deps, actorOf(res), id, parseInput(closePeriodsInput, req.body ?? {})));
  });
  return routes;
}

// invoices.pay (tRPC) and POST /invoices/{id}/pay are the payments domain's (payments/router.ts): recording a
// payment ends collection and lifts blocks, and payments sits above invoices in the domain graph.
export const invoicesTrpc = router({
  list: authedProcedure
    .input(listInvoicesInput)
    .query(({ ctx, input }) => service.listInvoices(ctx.deps, ctx.actor, input)),
  get: authedProcedure.input(invoicePath).query(({ ctx, input }) => service.getInvoice(ctx.deps, ctx.actor, input.id)),
  finalize: authedProcedure
    .input(invoicePath)
    .mutation(({ ctx, input }) => service.finalizeInvoice(ctx.deps, ctx.actor, input.id)),
  closePeriods: authedProcedure
    .input(z.strictObject({ id: externalId, period_start: closePeriodsInput.shape.period_start }))
    .mutation(({ ctx, input }) =>
      service.closeCustomerPeriods(ctx.deps, ctx.actor, input.id, { period_start: input.period_start }),
    ),
  void: authedProcedure
    .input(z.strictObject({ id: z.uuid(), reason: voidInvoiceInput.shape.reason }))
    .mutation(({ ctx, input }) => service.voidInvoice(ctx.deps, ctx.actor, input.id, { reason: input.reason })),
});
