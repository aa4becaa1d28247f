import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { reportRevenue, revenueReportCsv } from './report.ts';
import {
  importEcbInput,
  importEcbQuery,
  listRatesInput,
  revenueReportInput,
  supplyRatesInput,
  updateSettingsInput,
} from '@tariff/openapi/schemas/currency';
import * as service from './service.ts';

export function currencyRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/currency_settings', async (_req, res) => {
    res.json(await service.getSettings(deps, actorOf(res)));
  });
  routes.patch('/currency_settings', async (req, res) => {
    res.json(await service.updateSettings(deps, actorOf(res), parseInput(updateSettingsInput, req.body)));
  });
  routes.post('/fx_rates', async (req, res) => {
    res.status(201).json(await service.supplyRates(deps, actorOf(res), parseInput(supplyRatesInput, req.body)));
  });
  routes.get('/fx_rates', async (req, res) => {
    res.json(await service.listRates(deps, actorOf(res), parseInput(listRatesInput, req.query, ['query'])));
  });
  // The file as the body (text/csv), or JSON { csv, source } as tRPC takes it.
  routes.post('/fx_rates/ecb', async (req, res) => {
    const { source } = parseInput(importEcbQuery, req.query, ['query']);
    const input =
      typeof req.body === 'string'
        ? parseInput(importEcbInput, { csv: req.body, source })
        : parseInput(importEcbInput, { source, ...(req.body ?? {}) });
    res.status(201).json(await service.importEcbRates(deps, actorOf(res), input));
  });
  routes.get('/reports/revenue', async (req, res) => {
    const input = parseInput(revenueReportInput, req.query, ['query']);
    const report = await reportRevenue(deps, actorOf(res), input);
    if (input.format === 'csv') res.type('text/csv').send(revenueReportCsv(report));
    else res.json(report);
  });
  return routes;
}

export const currencyTrpc = router({
  settings: authedProcedure.query(({ ctx }) => service.getSettings(ctx.deps, ctx.actor)),
  updateSettings: authedProcedure
    .input(updateSettingsInput)
    .mutation(({ ctx, input }) => service.updateSettings(ctx.deps, ctx.actor, input)),
  supplyRates: authedProcedure
    .input(supplyRatesInput)
    .mutation(({ ctx, input }) => service.supplyRates(ctx.deps, ctx.actor, input)),
  rates: authedProcedure.input(listRatesInput).query(({ ctx, input }) => service.listRates(ctx.deps, ctx.actor, input)),
  importEcb: authedProcedure
    .input(importEcbInput)
    .mutation(({ ctx, input }) => service.importEcbRates(ctx.deps, ctx.actor, input)),
  revenueReport: authedProcedure
    .input(revenueReportInput)
    .query(({ ctx, input }) => reportRevenue(ctx.deps, ctx.actor, input)),
});
