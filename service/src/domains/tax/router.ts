import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { taxReportInput, updateTaxSettingsInput } from '@tariff/openapi/schemas/tax';
import * as service from './service.ts';

export function taxRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/tax/settings', async (_req, res) => {
    res.json(await service.getTaxSettings(deps, actorOf(res)));
  });
  routes.put('/tax/settings', async (req, res) => {
    res.json(await service.updateTaxSettings(deps, actorOf(res), parseInput(updateTaxSettingsInput, req.body)));
  });
  routes.get('/tax/report', async (req, res) => {
    res.json(await service.taxReport(deps, actorOf(res), parseInput(taxReportInput, req.query, ['query'])));
  });
  routes.get('/tax/report.csv', async (req, res) => {
    const input = parseInput(taxReportInput, req.query, ['query']);
    const csv = await service.taxReportCsv(deps, actorOf(res), input);
    res
      .type('text/csv; charset=utf-8')
      .set('content-disposition', `attachment; filename="tax-${input.from}-${input.to}.csv"`)
      .send(csv);
  });
  return routes;
}

export const taxTrpc = router({
  settings: authedProcedure.query(({ ctx }) => service.getTaxSettings(ctx.deps, ctx.actor)),
  updateSettings: authedProcedure
    .input(updateTaxSettingsInput)
    .mutation(({ ctx, input }) => service.updateTaxSettings(ctx.deps, ctx.actor, input)),
  report: authedProcedure
    .input(taxReportInput)
    .query(({ ctx, input }) => service.taxReport(ctx.deps, ctx.actor, input)),
  reportCsv: authedProcedure
    .input(taxReportInput)
    .query(async ({ ctx, input }) => ({ csv: await service.taxReportCsv(ctx.deps, ctx.actor, input) })),
});
