import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
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
      res.type(document.contentType).set('content-disposition', `inline; filename="${document.filename}"`).send(document.body);
    });
    routes.get(`/credit_notes/:id/${format}`, async (req, res) => {
      const { id } = parseInput(creditNotePath, req.params, ['path']);
      const document = await service.getCreditNoteDocument(deps, actorOf(res), id, format);
      res.type(document.contentType).set('content-disposition', `inline; filename="${document.filename}"`).send(document.body);
    });
  }
  return routes;
}
