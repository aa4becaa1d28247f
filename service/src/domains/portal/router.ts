import { TRPCError } from '@trpc/server';
import { Router } from 'express';
import { z } from 'zod';
import { unauthenticated } from '../../platform/auth.ts';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, publicProcedure, router } from '../../platform/trpc.ts';
import { portalUsageSeriesInput } from '../insights/schema.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import {
  createEmbedTokenInput,
  createPortalLinkInput,
  embedTokenBody,
  getBrandInput,
  portalInvoiceInput,
  portalInvoicesInput,
  portalLinkBody,
  setBrandInput,
} from '@tariff/openapi/schemas/portal';
import { resellerBrandBody } from '@tariff/openapi/schemas/brands';
import * as service from './service.ts';

/** A call from the portal page: `Authorization: Bearer <portal token>`; the token decides the customer. */
const portalProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.portalToken)
    throw new TRPCError({
      code: 'UNAUTHORIZED',
      message: 'Open the portal by its link',
      cause: unauthenticated('Open the portal by its link'),
    });
  const access = await service.authenticatePortal(ctx.deps, ctx.portalToken);
  return next({ ctx: { ...ctx, portal: access } });
});

const customerPath = z.strictObject({ id: externalId });

/** The tenant's backend issues portal access for its customers (a link to send, a token to embed). */
export function portalRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.post('/customers/:id/portal_links', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.status(201).json(
      await service.createPortalLink(deps, actorOf(res), {
        customer_id: id,
        ...parseInput(portalLinkBody, req.body ?? {}),
      }),
    );
  });
  routes.post('/customers/:id/portal_tokens', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.status(201).json(
      await service.createEmbedToken(deps, actorOf(res), {
        customer_id: id,
        ...parseInput(embedTokenBody, req.body ?? {}),
      }),
    );
  });
  routes.get('/customers/:id/brand', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.getResellerBrand(deps, actorOf(res), id));
  });
  routes.put('/customers/:id/brand', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.setResellerBrand(deps, actorOf(res), id, parseInput(resellerBrandBody, req.body ?? {})));
  });
  return routes;
}

export const portalTrpc = router({
  // The dashboard's side: issuing access and the brand.
  createLink: authedProcedure
    .input(createPortalLinkInput)
    .mutation(({ ctx, input }) => service.createPortalLink(ctx.deps, ctx.actor, input)),
  createEmbedToken: authedProcedure
    .input(createEmbedTokenInput)
    .mutation(({ ctx, input }) => service.createEmbedToken(ctx.deps, ctx.actor, input)),
  brand: authedProcedure
    .input(getBrandInput)
    .query(({ ctx, input }) => service.getBrand(ctx.deps, ctx.actor, input.customer_id)),
  resellerBrand: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getResellerBrand(ctx.deps, ctx.actor, input.id)),
  resellerLogo: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getResellerLogo(ctx.deps, ctx.actor, input.id)),
  setResellerBrand: authedProcedure
    .input(resellerBrandBody.extend({ id: externalId }))
    .mutation(({ ctx, input: { id, ...body } }) => service.setResellerBrand(ctx.deps, ctx.actor, id, body)),
  setBrand: authedProcedure
    .input(setBrandInput)
    .mutation(({ ctx, input }) => service.setBrand(ctx.deps, ctx.actor, input)),
  // The portal page's side: its token's customer only.
  summary: portalProcedure.query(({ ctx }) => service.getPortalSummary(ctx.deps, ctx.portal)),
  usage: portalProcedure.query(({ ctx }) => service.getPortalUsage(ctx.deps, ctx.portal, ctx.requestId)),
  usageSeries: portalProcedure
    .input(portalUsageSeriesInput)
    .query(({ ctx, input }) => service.getPortalUsageSeries(ctx.deps, ctx.portal, input, ctx.requestId)),
  credits: portalProcedure.query(({ ctx }) => service.getPortalCredits(ctx.deps, ctx.portal, ctx.requestId)),
  invoices: portalProcedure
    .input(portalInvoicesInput)
    .query(({ ctx, input }) => service.listPortalInvoices(ctx.deps, ctx.portal, input, ctx.requestId)),
  invoice: portalProcedure
    .input(portalInvoiceInput)
    .query(({ ctx, input }) => service.getPortalInvoice(ctx.deps, ctx.portal, input.id, ctx.requestId)),
  payment: portalProcedure.query(({ ctx }) => service.getPortalPayment(ctx.deps, ctx.portal, ctx.requestId)),
  paymentSetupLink: portalProcedure.mutation(({ ctx }) =>
    service.createPortalSetupLink(ctx.deps, ctx.portal, ctx.requestId),
  ),
});
