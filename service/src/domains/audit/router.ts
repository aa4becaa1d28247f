import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { listAuditLogInput } from '@tariff/openapi/schemas/audit';
import * as service from './service.ts';

export function auditRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/audit_log', async (req, res) => {
    res.json({
      data: await service.listAuditLog(deps, actorOf(res), parseInput(listAuditLogInput, req.query, ['query'])),
    });
  });
  return routes;
}

export const auditTrpc = router({
  list: authedProcedure
    .input(listAuditLogInput)
    .query(({ ctx, input }) => service.listAuditLog(ctx.deps, ctx.actor, input)),
});
