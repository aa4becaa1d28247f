import { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { createMeterInput, listMetersInput, meterCode, updateMeterInput } from '@tariff/openapi/schemas/meters';
import * as service from './service.ts';

const meterPath = z.strictObject({ code: meterCode });

export function metersRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/meters', async (req, res) => {
    res.json(await service.listMeters(deps, actorOf(res), parseInput(listMetersInput, req.query, ['query'])));
  });
  routes.post('/meters', async (req, res) => {
    res.status(201).json(await service.createMeter(deps, actorOf(res), parseInput(createMeterInput, req.body)));
  });
  routes.get('/meters/:code', async (req, res) => {
    const { code } = parseInput(meterPath, req.params, ['path']);
    res.json(await service.getMeter(deps, actorOf(res), code));
  });
  routes.patch('/meters/:code', async (req, res) => {
    const { code } = parseInput(meterPath, req.params, ['path']);
    res.json(await service.updateMeter(deps, actorOf(res), code, parseInput(updateMeterInput, req.body)));
  });
  return routes;
}

export const metersTrpc = router({
  list: authedProcedure
    .input(listMetersInput)
    .query(({ ctx, input }) => service.listMeters(ctx.deps, ctx.actor, input)),
  get: authedProcedure.input(meterPath).query(({ ctx, input }) => service.getMeter(ctx.deps, ctx.actor, input.code)),
  create: authedProcedure
    .input(createMeterInput)
    .mutation(({ ctx, input }) => service.createMeter(ctx.deps, ctx.actor, input)),
  update: authedProcedure
    .input(z.strictObject({ code: meterCode, changes: updateMeterInput }))
    .mutation(({ ctx, input }) => service.updateMeter(ctx.deps, ctx.actor, input.code, input.changes)),
});
