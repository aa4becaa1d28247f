import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import {
  addPriceBookVersionInput,
  createPriceBookInput,
  importPriceBookInput,
  listPriceBooksInput,
  priceBookCode,
  updatePriceBookFromCatalogueInput,
} from '@tariff/openapi/schemas/pricing';
import * as service from './service.ts';

const bookPath = z.strictObject({ code: priceBookCode });

export function pricingRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/price_books', async (req, res) => {
    res.json(await service.listPriceBooks(deps, actorOf(res), parseInput(listPriceBooksInput, req.query, ['query'])));
  });
  routes.post('/price_books', async (req, res) => {
    res.status(201).json(await service.createPriceBook(deps, actorOf(res), parseInput(createPriceBookInput, req.body)));
  });
  routes.post('/price_books/import', async (req, res) => {
    res.status(201).json(await service.importPriceBook(deps, actorOf(res), parseInput(importPriceBookInput, req.body)));
  });
  routes.get('/price_books/:code', async (req, res) => {
    const { code } = parseInput(bookPath, req.params, ['path']);
    res.json(await service.getPriceBook(deps, actorOf(res), code));
  });
  routes.post('/price_books/:code/versions', async (req, res) => {
    const { code } = parseInput(bookPath, req.params, ['path']);
    res
      .status(201)
      .json(
        await service.addPriceBookVersion(deps, actorOf(res), code, parseInput(addPriceBookVersionInput, req.body)),
      );
  });
  routes.post('/price_books/:code/import/preview', async (req, res) => {
    const { code } = parseInput(bookPath, req.params, ['path']);
    res.json(
      await service.previewPriceBookUpdate(
        deps,
        actorOf(res),
        code,
        parseInput(updatePriceBookFromCatalogueInput, req.body),
      ),
    );
  });
  routes.post('/price_books/:code/import', async (req, res) => {
    const { code } = parseInput(bookPath, req.params, ['path']);
    res.json(
      await service.updatePriceBookFromCatalogue(
        deps,
        actorOf(res),
        code,
        parseInput(updatePriceBookFromCatalogueInput, req.body),
      ),
    );
  });
  return routes;
}

export const pricingTrpc = router({
  list: authedProcedure
    .input(listPriceBooksInput)
    .query(({ ctx, input }) => service.listPriceBooks(ctx.deps, ctx.actor, input)),
  get: authedProcedure.input(bookPath).query(({ ctx, input }) => service.getPriceBook(ctx.deps, ctx.actor, input.code)),
  create: authedProcedure
    .input(createPriceBookInput)
    .mutation(({ ctx, input }) => service.createPriceBook(ctx.deps, ctx.actor, input)),
  import: authedProcedure
    .input(importPriceBookInput)
    .mutation(({ ctx, input }) => service.importPriceBook(ctx.deps, ctx.actor, input)),
  previewImportUpdate: authedProcedure
    .input(z.strictObject({ code: priceBookCode, update: updatePriceBookFromCatalogueInput }))
    .mutation(({ ctx, input }) => service.previewPriceBookUpdate(ctx.deps, ctx.actor, input.code, input.update)),
  importUpdate: authedProcedure
    .input(z.strictObject({ code: priceBookCode, update: updatePriceBookFromCatalogueInput }))
    .mutation(({ ctx, input }) => service.updatePriceBookFromCatalogue(ctx.deps, ctx.actor, input.code, input.update)),
  addVersion: authedProcedure
    .input(z.strictObject({ code: priceBookCode, version: addPriceBookVersionInput }))
    .mutation(({ ctx, input }) => service.addPriceBookVersion(ctx.deps, ctx.actor, input.code, input.version)),
});
