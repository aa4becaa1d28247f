// GET /v1/account: the account a key belongs to (what an integration calls to check a key it was given).
import type { Route } from './routes.ts';
import { fromFixture, type AccountState, type StripeObject } from './store.ts';

function accountObject(account: AccountState, created: number): StripeObject {
  const object = fromFixture('account', {
    id: account.id,
    created,
    email: null,
    charges_enabled: true,
    payouts_enabled: true,
    details_submitted: true,
  });
  object.external_accounts = { ...object.external_accounts, url: `/v1/accounts/${account.id}/external_accounts` };
  const settled = {
    alternatives: [],
    current_deadline: null,
    currently_due: [],
    disabled_reason: null,
    errors: [],
    eventually_due: [],
    past_due: [],
    pending_verification: [],
  };
  object.requirements = settled;
  object.future_requirements = settled;
  return object;
}

export const accountRoutes: Route[] = [
  { method: 'GET', path: '/v1/account', handle: (context) => accountObject(context.account, context.account.created) },
];
