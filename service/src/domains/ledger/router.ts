import { Router } from 'express';
import type { Deps } from '../../platform/deps.ts';
import { actorOf, parseInput } from '../../platform/http.ts';
import { authedProcedure, router } from '../../platform/trpc.ts';
import { listLedgerAccountsInput, listLedgerTransactionsInput } from '@tariff/openapi/schemas/ledger';
import * as service from './service.ts';

export function ledgerRestRoutes(deps: Deps): Router {
  const routes = Router();
  routes.get('/ledger/accounts', async (req, res) => {
    res.json(
      await service.listLedgerAccounts(deps, actorOf(res), parseInput(listLedgerAccountsInput, req.query, ['query'])),
    );
  });
  routes.get('/ledger/transactions', async (req, res) => {
    res.json(
      await service.listLedgerTransactions(
        deps,
        actorOf(res),
        parseInput(listLedgerTransactionsInput, req.query, ['query']),
      ),
    );
  });
  return routes;
}

export const ledgerTrpc = router({
  accounts: authedProcedure
    .input(listLedgerAccountsInput)
    .query(({ ctx, input }) => service.listLedgerAccounts(ctx.deps, ctx.actor, input)),
  transactions: authedProcedure
    .input(listLedgerTransactionsInput)
    .query(({ ctx, input }) => service.listLedgerTransactions(ctx.deps, ctx.actor, input)),
});
