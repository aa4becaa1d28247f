import { authedProcedure, router } from '../../platform/trpc.ts';
import { simulatedReceiptInput, simulateInput } from './schema.ts';
import * as service from './service.ts';

// Mutations although they write nothing: a draft book is too large for a GET's URL.
export const simulationsTrpc = router({
  run: authedProcedure.input(simulateInput).mutation(({ ctx, input }) => service.simulate(ctx.deps, ctx.actor, input)),
  receipt: authedProcedure
    .input(simulatedReceiptInput)
    .mutation(({ ctx, input }) => service.simulateReceipt(ctx.deps, ctx.actor, input)),
});
