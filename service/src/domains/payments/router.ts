import express, { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, malformedJson, parseInput } from '../../platform/http.ts';
import { jsonObject } from '@tariff/openapi/schemas/text';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { externalId } from '@tariff/openapi/schemas/customers';
import { payInvoiceInput } from '@tariff/openapi/schemas/invoices';
import { receiveStripeEvent } from './events.ts';
import {
  connectStripeInput,
  dunningPolicyInput,
  invoiceActionInput,
  listStripeEventsInput,
  setupLinkInput,
  stripeEventsPath,
} from '@tariff/openapi/schemas/payments';
import * as service from './service.ts';

const invoicePath = z.strictObject({ id: z.uuid() });
const customerPath = z.strictObject({ id: externalId });

/**
 * Stripe's deliveries: before API-key authentication and the JSON parser, since the signature covers the raw bytes
 * (Stripe sends JSON; any content type is taken as those bytes).
 */
export function stripeEventRoutes(deps: Deps, bodyLimitBytes: number): Router {
  const routes = Router();
  routes.post(
    '/stripe/events/:tenant',
    express.raw({ type: () => true, limit: Math.min(bodyLimitBytes, 1024 * 1024) }),
    async (req, res) => {
      const { tenant } = parseInput(stripeEventsPath, req.params, ['path']);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (error) {
        throw malformedJson(error instanceof Error ? error.message : String(error));
      }
      // What PostgreSQL could not store (NUL, lone surrogates) is refused naming the field, before any lookup.
      parseInput(jsonObject, parsed);
      res.json(await receiveStripeEvent(deps, tenant, body, req.get('stripe-signature')));
    },
  );
  return routes;
}

export function paymentsRestRoutes(deps: Deps): Router {
  const routes = Router();
  const invoiceId = (params: unknown) => parseInput(invoicePath, params, ['path']).id;
  // An invoice paid out of band (REST under /invoices; in tRPC it is invoices.pay, merged in app.ts).
  routes.post('/invoices/:id/pay', async (req, res) => {
    res.json(
      await service.payOutOfBand(
        deps,
        actorOf(res),
        invoiceId(req.params),
        parseInput(payInvoiceInput, req.body ?? {}),
      ),
    );
  });
  routes.get('/stripe/connection', async (_req, res) => {
    res.json(await service.getStripeConnection(deps, actorOf(res)));
  });
  routes.put('/stripe/connection', async (req, res) => {
    res.json(await service.connectStripe(deps, actorOf(res), parseInput(connectStripeInput, req.body)));
  });
  routes.delete('/stripe/connection', async (_req, res) => {
    res.json(await service.disconnectStripe(deps, actorOf(res)));
  });
  routes.get('/stripe/events', async (req, res) => {
    res.json(
      await service.listStripeEvents(deps, actorOf(res), parseInput(listStripeEventsInput, req.query, ['query']).limit),
    );
  });
  routes.get('/dunning_policy', async (_req, res) => {
    res.json(await service.getDunningPolicy(deps, actorOf(res)));
  });
  routes.put('/dunning_policy', async (req, res) => {
    res.json(await service.setDunningPolicy(deps, actorOf(res), parseInput(dunningPolicyInput, req.body ?? {})));
  });
  routes.get('/customers/:id/payment', async (req, res) => {
    res.json(await service.getCustomerPayment(deps, actorOf(res), parseInput(customerPath, req.params, ['path']).id));
  });
  routes.post('/customers/:id/payment_setup_link', async (req, res) => {
    const { id } = parseInput(customerPath, req.params, ['path']);
    res.json(await service.createSetupLink(deps, actorOf(res), id, parseInput(setupLinkInput, req.body ?? {})));
  });
  routes.get('/invoices/:id/collection', async (req, res) => {
    res.json(await service.getInvoiceCollection(deps, actorOf(res), invoiceId(req.params)));
  });
  routes.post('/invoices/:id/retry_payment', async (req, res) => {
    res.json(await service.retryPayment(deps, actorOf(res), invoiceId(req.params)));
  });
  routes.post('/invoices/:id/mark_uncollectible', async (req, res) => {
    res.json(
      await service.markUncollectible(
        deps,
        actorOf(res),
        invoiceId(req.params),
        parseInput(invoiceActionInput, req.body ?? {}),
      ),
    );
  });
  routes.post('/invoices/:id/write_off', async (req, res) => {
    res.json(
      await service.writeOff(deps, actorOf(res), invoiceId(req.params), parseInput(invoiceActionInput, req.body ?? {})),
    );
  });
  return routes;
}

const withInvoice = <S extends z.ZodType>(schema: S) => z.strictObject({ id: z.uuid(), input: schema });

/** invoices.pay: mounted under the invoices router by app.ts, where the dashboard has always called it. */
export const invoicePaymentsTrpc = router({
  pay: authedProcedure
    .input(z.strictObject({ id: z.uuid(), paid_at: payInvoiceInput.shape.paid_at }))
    .mutation(({ ctx, input }) => service.payOutOfBand(ctx.deps, ctx.actor, input.id, { paid_at: input.paid_at })),
});

export const paymentsTrpc = router({
  connection: authedProcedure.query(({ ctx }) => service.getStripeConnection(ctx.deps, ctx.actor)),
  connect: authedProcedure
    .input(connectStripeInput)
    .mutation(({ ctx, input }) => service.connectStripe(ctx.deps, ctx.actor, input)),
  disconnect: authedProcedure.mutation(({ ctx }) => service.disconnectStripe(ctx.deps, ctx.actor)),
  events: authedProcedure
    .input(listStripeEventsInput)
    .query(({ ctx, input }) => service.listStripeEvents(ctx.deps, ctx.actor, input.limit)),
  dunningPolicy: authedProcedure.query(({ ctx }) => service.getDunningPolicy(ctx.deps, ctx.actor)),
  setDunningPolicy: authedProcedure
    .input(dunningPolicyInput)
    .mutation(({ ctx, input }) => service.setDunningPolicy(ctx.deps, ctx.actor, input)),
  customer: authedProcedure
    .input(customerPath)
    .query(({ ctx, input }) => service.getCustomerPayment(ctx.deps, ctx.actor, input.id)),
  setupLink: authedProcedure
    .input(z.strictObject({ id: externalId, input: setupLinkInput.default({}) }))
    .mutation(({ ctx, input }) => service.createSetupLink(ctx.deps, ctx.actor, input.id, input.input)),
  collection: authedProcedure
    .input(invoicePath)
    .query(({ ctx, input }) => service.getInvoiceCollection(ctx.deps, ctx.actor, input.id)),
  retry: authedProcedure
    .input(invoicePath)
    .mutation(({ ctx, input }) => service.retryPayment(ctx.deps, ctx.actor, input.id)),
  markUncollectible: authedProcedure
    .input(withInvoice(invoiceActionInput))
    .mutation(({ ctx, input }) => service.markUncollectible(ctx.deps, ctx.actor, input.id, input.input)),
  writeOff: authedProcedure
    .input(withInvoice(invoiceActionInput))
    .mutation(({ ctx, input }) => service.writeOff(ctx.deps, ctx.actor, input.id, input.input)),
});
