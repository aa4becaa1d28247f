import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { createQuoteInput } from '@tariff/openapi/schemas/quotes';
import * as service from './service.ts';

export function quotesRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.post('/quotes', async (req, res) => {
    res.status(201).json(await service.createQuote(deps, actorOf(res), parseInput(createQuoteInput, req.body)));
  });
  return routes;
}
