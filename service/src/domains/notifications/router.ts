import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { listNotificationsInput } from '@tariff/openapi/schemas/notifications';
import * as service from './service.ts';

export function notificationsRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/notifications', async (req, res) => {
    res.json(
      await service.listNotifications(deps, actorOf(res), parseInput(listNotificationsInput, req.query, ['query'])),
    );
  });
  return routes;
}

export const notificationsTrpc = router({
  list: authedProcedure
    .input(listNotificationsInput)
    .query(({ ctx, input }) => service.listNotifications(ctx.deps, ctx.actor, input)),
});
