import { Router, type Request, type Response } from 'express';
import {
  marginReportInput,
  marginReportProcedureInput,
  resellerPath,
  type MarginReportProcedureInput,
} from '@tariff/openapi/schemas/resellers';
import type { Actor } from '../../platform/auth.ts';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import * as service from './service.ts';

/** JSON, or CSV when asked by `format=csv` or an Accept header that prefers text/csv (`format` wins). */
function sendReport(req: Request, res: Response, format: 'json' | 'csv' | undefined, report: service.MarginReport) {
  const csv = format ? format === 'csv' : req.accepts(['application/json', 'text/csv']) === 'text/csv';
  if (!csv) return void res.json(report);
  const name = `margins-${report.reseller_id ?? 'all'}-${report.from}-${report.to}.csv`.replace(/[^\w.-]/g, '_');
  res
    .type('text/csv; charset=utf-8')
    .set('content-disposition', `attachment; filename="${name}"`)
    .send(service.marginReportCsv(report));
}

export function resellersRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/resellers/:customer_id/margins', async (req, res) => {
    const { customer_id } = parseInput(resellerPath, req.params, ['path']);
    const input = parseInput(marginReportInput, req.query, ['query']);
    const report = await service.reportResellerMargins(deps, actorOf(res), customer_id, input);
    sendReport(req, res, input.format, report);
  });
  routes.get('/margins', async (req, res) => {
    const input = parseInput(marginReportInput, req.query, ['query']);
    sendReport(req, res, input.format, await service.reportTenantMargins(deps, actorOf(res), input));
  });
  return routes;
}

const reportOf = (ctx: { deps: Deps; actor: Actor }, input: MarginReportProcedureInput) =>
  input.customer_id === undefined
    ? service.reportTenantMargins(ctx.deps, ctx.actor, input)
    : service.reportResellerMargins(ctx.deps, ctx.actor, input.customer_id, input);

export const resellersTrpc = router({
  /** One reseller's margins (`customer_id`), or every reseller's without it. */
  margins: authedProcedure.input(marginReportProcedureInput).query(({ ctx, input }) => reportOf(ctx, input)),
  marginsCsv: authedProcedure
    .input(marginReportProcedureInput)
    .query(async ({ ctx, input }) => ({ csv: service.marginReportCsv(await reportOf(ctx, input)) })),
});
