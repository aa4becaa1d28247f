import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { customerPath } from '@tariff/openapi/schemas/snapshots';
import * as service from './service.ts';

export function snapshotsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/customers/:id/pricing-snapshot', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    const result = await service.getPricingSnapshot(deps, actorOf(res), id, req.get('if-none-match'));
    res.set('etag', result.etag).set('cache-control', 'private, no-cache');
    if (result.notModified) res.status(304).end();
    else res.json(result.snapshot);
  });
  return routes;
}
