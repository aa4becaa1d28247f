// The spend holds part of the OpenAPI document (issue 18): holds, their captures at ingestion, and the signed
// balance token with its published keys. Merged into document.ts like billing.ts. Request bodies and query
// parameters come from the handlers' zod schemas.
import type { z } from 'zod';
import { extendHoldInput, listHoldsQuery, placeHoldInput } from './schemas/holds.ts';
import {
  type Operation,
  type Schema,
  fromZod,
  instant,
  money,
  nullable,
  object,
  ref,
  string,
  described,
  customerId,
} from './schema.ts';

const anyObject: Schema = { type: 'object', additionalProperties: true };
const holdId = {
  name: 'hold_id',
  in: 'path' as const,
  schema: string,
  required: true,
  description: 'The id the caller chose when placing the hold (percent-encoded).',
};
const holdStatus: Schema = described(
  { type: 'string', enum: ['open', 'captured', 'released', 'expired'] },
  'open: sets its amount (less what it captured) aside until expires_at; captured: closed by an event sent with hold_final; released: closed by a call; expired: closed by the scheduler after expires_at.',
);

function queryParams(schema: z.ZodObject): { name: string; in: 'query'; schema: Schema }[] {
  const json = fromZod(schema) as { properties: Record<string, Schema> };
  return Object.entries(json.properties).map(([name, s]) => ({ name, in: 'query' as const, schema: s }));
}

export const holdRule =
  "A hold sets aside part of the customer's credit (when its wallet blocks on depletion) and of its blocking budget, under the same per-customer locks as ingestion: holds and events of one customer are decided one after another, so holds placed together never promise more than there is. " +
  'A hold is refused (422) with `insufficient_balance` (credit in force minus open holds is less than the hold), `budget_exceeded` (the blocking budget minus spend and open holds is less) or `blocked` (the customer is already past a blocking limit this period); the error details name `available.balance`, `available.budget` and `available.held`. ' +
  "For a customer below resellers, the hold is set aside at every reseller up its chain too (`levels`): placed with an amount, that amount at each (an upper bound of each reseller's cost); placed with an estimate, what each level's own book charges for it. The first level that cannot cover its part refuses the hold, named by `level` and `reseller_id` in the error details; capture, release and expiry settle every level. " +
  "With `estimate`, the kernel prices the event-shaped worst case (every open quantity at its maximum: output tokens = max_tokens, GPU duration = the job's limit) at the price in force, as ingestion would rate it now before credits. " +
  'An event sent with `hold_id` captures the hold when it is acknowledged, in the same transaction: its charge (before credits) draws first on what the hold holds; a charge beyond it is an overrun, charged like any event under `overrun: "charge"` (subject to the customer\'s limits and on_block) or refused (`hold_exceeded`) under `overrun: "refuse"`. `hold_final: true` closes the hold (status captured) and frees what it still holds. ' +
  'Placing the same id again answers the hold as it stands (a different request with the same id is a 409 `hold_id_reused`); releasing a closed hold answers it as it stands; an event is captured once (its transaction id).';

export const holdSchemas: Record<string, Schema> = {
  Hold: object(
    {
      id: string,
      customer_id: string,
      currency: described(
        string,
        "The customer's rating currency (its price books'), which the hold's amounts are in: the credit and budget it sets aside are counted in it.",
      ),
      status: holdStatus,
      amount: described(money, 'What the hold sets aside in all.'),
      captured: described(money, 'What the events that carried its id charged so far (before credits).'),
      held: described(
        money,
        'What it still sets aside now: amount minus captured while open, 0 once closed or past expires_at.',
      ),
      capture_count: { type: 'integer' },
      overrun: { type: 'string', enum: ['charge', 'refuse'] },
      estimate: described(
        nullable(anyObject),
        'The event-shaped estimate it was priced from; null when placed with an amount.',
      ),
      card: described(nullable(string), 'The rate card that priced the estimate.'),
      expires_at: instant,
      created_at: instant,
      closed_at: nullable(instant),
      levels: {
        type: 'array',
        description:
          "What the hold sets aside at each reseller up its customer's chain, level 1 (its parent) first; empty for a customer without resellers above it. Placed with an amount, every level holds that amount; placed or extended with an estimate, each level holds what its own book charges for it.",
        items: object({
          level: { type: 'integer', minimum: 1 },
          reseller_id: described(string, "The reseller's external id."),
          amount: described(money, 'What the hold sets aside at this level in all.'),
          captured: described(money, 'What the captures charged this reseller so far (before credits).'),
          held: described(money, 'What it still sets aside at this level now (0 once closed or past expires_at).'),
        }),
      },
      captures: {
        type: 'array',
        description: 'The events that captured it (single-hold reads only).',
        items: object({ transaction_id: string, amount: money, final: { type: 'boolean' }, captured_at: instant }),
      },
    },
    ['captures'],
  ),
  HoldList: object({
    data: { type: 'array', items: ref('Hold') },
    held: described(money, "What the customer's open holds set aside now, all together."),
  }),
  EventHold: object({
    id: string,
    status: holdStatus,
    captured: described(
      money,
      "This event's charge (before credits) drawn on the hold; 0 when the hold was already closed (the event was rated as if it named none).",
    ),
    held: described(money, 'What the hold still sets aside after this event.'),
  }),
  BalanceToken: object({
    token: described(
      string,
      "A compact JWT signed with EdDSA (Ed25519) by the tenant's key (`kid` in its header), verifiable with the public keys of GET /v1/balance_token_keys. Its claims are `claims`.",
    ),
    expires_at: instant,
    claims: object({
      typ: { type: 'string', const: 'tariff.balance' },
      tid: described(string, 'The tenant id.'),
      sub: described(string, "The customer's external id."),
      cur: described(string, "The currency of the amounts: the customer's rating currency (its price books')."),
      bal: described(money, 'Credit in force.'),
      held: described(money, 'What open holds set aside.'),
      avl: described(money, 'bal minus held.'),
      bud: described(nullable(money), 'What the blocking budget leaves after spend and holds; null without one.'),
      dep: { type: 'string', enum: ['overage', 'block'] },
      holds: { type: 'array', items: object({ id: string, held: money, exp: { type: 'integer' } }) },
      iat: { type: 'integer' },
      exp: { type: 'integer' },
    }),
  }),
  BalanceTokenKeys: object({
    keys: {
      type: 'array',
      items: object({
        kty: { type: 'string', const: 'OKP' },
        crv: { type: 'string', const: 'Ed25519' },
        x: string,
        kid: string,
        alg: { type: 'string', const: 'EdDSA' },
        use: { type: 'string', const: 'sig' },
      }),
    },
  }),
};

export const holdRoutes: Record<string, Record<string, Operation>> = {
  '/v1/customers/{id}/holds': {
    post: {
      summary: "Place a spend hold on the customer's balance and budget",
      operationId: 'placeHold',
      description: holdRule,
      body: fromZod(placeHoldInput),
      ok: [201, 'Hold'],
      params: [customerId],
    },
    get: {
      summary: "The customer's holds, newest first, with what the open ones hold now",
      operationId: 'listHolds',
      ok: [200, 'HoldList'],
      params: [customerId, ...queryParams(listHoldsQuery)],
    },
  },
  '/v1/customers/{id}/holds/{hold_id}': {
    get: {
      summary: 'One hold with the events that captured it',
      operationId: 'getHold',
      ok: [200, 'Hold'],
      params: [customerId, holdId],
    },
  },
  '/v1/customers/{id}/holds/{hold_id}/extend': {
    post: {
      summary: 'Extend an open hold: a later expiry, a larger amount or estimate, or both',
      operationId: 'extendHold',
      description:
        "A larger amount or a new estimate is priced at every level as a placement would price it (an estimate by each level's own book), never below what a level holds now, and decided like a new hold (refused with the same codes). 422 hold_closed for a hold no longer open.",
      body: fromZod(extendHoldInput),
      ok: [200, 'Hold'],
      params: [customerId, holdId],
    },
  },
  '/v1/customers/{id}/holds/{hold_id}/release': {
    post: {
      summary: 'Release a hold: what it still holds is free again',
      operationId: 'releaseHold',
      description: 'Idempotent: a closed hold answers as it stands.',
      ok: [200, 'Hold'],
      params: [customerId, holdId],
    },
  },
  '/v1/customers/{id}/balance_token': {
    get: {
      summary: "A signed statement of the customer's balance and open holds, for gateways",
      operationId: 'getBalanceToken',
      ok: [200, 'BalanceToken'],
      params: [customerId],
    },
  },
  '/v1/balance_token_keys': {
    get: {
      summary: "The tenant's public keys that verify balance tokens (JWKS)",
      operationId: 'getBalanceTokenKeys',
      description: 'Allowed to publishable keys: verifying a balance token needs no secret of the tenant.',
      ok: [200, 'BalanceTokenKeys'],
    },
  },
};
