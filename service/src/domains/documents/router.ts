import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { creditNotePath } from '@tariff/openapi/schemas/creditnotes';
import { invoicePath } from '@tariff/openapi/schemas/invoices';
import * as service from './service.ts';

/** The documents as files: GET .../pdf and .../html, inline with a file name. */
export function documentsRestRoutes(deps: Deps): Router {
  const routes = Router();
  for (const format of ['pdf', 'html'] as const) {
    routes.get(`/invoices/:id/${format}`, async (req, res) => {
      const { id } = parseInput(invoicePath, req.params, ['path']);
      const document = await service.getInvoiceDocument(deps, actorOf(res), id, format);
      res
        .type(document.contentType)
        .set('content-disposition', `inline; filename="${document.filename}"`)
        .send(document.body);
    });
    routes.get(`/credit_notes/:id/${format}`, async (req, res) => {
      const { id } = parseInput(creditNotePath, req.params, ['path']);
      const document = await service.getCreditNoteDocument(deps, actorOf(res), id, format);
      res
        .type(document.contentType)
        .set('content-disposition', `inline; filename="${document.filename}"`)
        .send(document.body);
    });
  }
  return routes;
}

/**
 * The dashboard's way to the same files: its session is a cookie that /v1 does not take, so the document comes as
 * base64 in JSON and the page offers it as a download.
 */
export const documentsTrpc = router({
  invoice: authedProcedure
    .input(invoicePath.extend({ format: z.enum(['pdf', 'html']) }))
    .query(async ({ ctx, input }) => {
      const document = await service.getInvoiceDocument(ctx.deps, ctx.actor, input.id, input.format);
      return {
        filename: document.filename,
        content_type: document.contentType,
        base64: Buffer.from(document.body).toString('base64'),
      };
    }),
});
