import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { invoicePath } from '@tariff/openapi/schemas/invoices';
import { createCreditNoteInput, creditNotePath, listCreditNotesInput } from '@tariff/openapi/schemas/creditnotes';
import * as service from './service.ts';

export function creditNotesRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.post('/invoices/:id/credit_notes', async (req, res) => {
    const { id } = parseInput(invoicePath, req.params, ['path']);
    res
      .status(201)
      .json(await service.createCreditNote(deps, actorOf(res), id, parseInput(createCreditNoteInput, req.body)));
  });
  routes.get('/credit_notes', async (req, res) => {
    res.json(await service.listCreditNotes(deps, actorOf(res), parseInput(listCreditNotesInput, req.query, ['query'])));
  });
  routes.get('/credit_notes/:id', async (req, res) => {
    const { id } = parseInput(creditNotePath, req.params, ['path']);
    res.json(await service.getCreditNote(deps, actorOf(res), id));
  });
  return routes;
}

export const creditNotesTrpc = router({
  list: authedProcedure
    .input(listCreditNotesInput)
    .query(({ ctx, input }) => service.listCreditNotes(ctx.deps, ctx.actor, input)),
  get: authedProcedure
    .input(creditNotePath)
    .query(({ ctx, input }) => service.getCreditNote(ctx.deps, ctx.actor, input.id)),
  create: authedProcedure
    .input(z.strictObject({ invoice_id: z.uuid(), credit_note: createCreditNoteInput }))
    .mutation(({ ctx, input }) => service.createCreditNote(ctx.deps, ctx.actor, input.invoice_id, input.credit_note)),
});
