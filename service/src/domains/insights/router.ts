import { authedProcedure, router } from '../../platform/trpc.ts';
import { customerOverviewInput, searchCustomersInput, usageSeriesInput } from './schema.ts';
import * as service from './service.ts';

// Dashboard only (tRPC): the REST API's customers and usage routes already serve API users.
export const insightsTrpc = router({
  customers: authedProcedure
    .input(searchCustomersInput)
    .query(({ ctx, input }) => service.searchCustomers(ctx.deps, ctx.actor, input)),
  customer: authedProcedure
    .input(customerOverviewInput)
    .query(({ ctx, input }) => service.getCustomerOverview(ctx.deps, ctx.actor, input.id)),
  usageSeries: authedProcedure
    .input(usageSeriesInput)
    .query(({ ctx, input }) => service.getUsageSeries(ctx.deps, ctx.actor, input)),
});
