// The part of the OpenAPI document that serves the SDK and edge workers: the pricing snapshot and signed price
// quotes. Merged into document.ts like billing.ts. Request bodies come from the handlers' zod schemas.
import { createQuoteInput } from './schemas/quotes.ts';
import { type Schema, fromZod, instant, money, nullable, object, string, described, customerId } from './schema.ts';

const anyObject: Schema = { type: 'object', additionalProperties: true };

export const quoteRule =
  'A quote is honoured when the event it was made for arrives at POST /v1/events before `expires_at` (the server clock at arrival) carrying the token in its `quote` field: ' +
  'the event is rated with the quoted book version instead of the one in force (a price change after the quote does not reach it), ' +
  'and its receipt ends with a `quote` step (quote id, quoted amount, book version, expiry). The quote binds the transaction id, customer, event type and properties (the `fingerprint`), not the timestamp. ' +
  "The quoted amount was computed against the customer's state when quoted; what other events consume in between (allowances, tier position, credits) is not reserved, so the charge equals the quote when nothing else of the customer was rated meanwhile. " +
  'An event whose quote is expired (`quote_expired`), not a valid quote of this tenant (`quote_invalid`: malformed, tampered, another kind of token) or made for another event (`quote_mismatch`) is rejected with `field: "quote"` and nothing is stored, so it can be resent with a fresh quote or without one.';

export const edgeSchemas: Record<string, Schema> = {
  PricingSnapshot: object({
    customer_id: string,
    currency: string,
    price_book: described(string, 'The code of the price book in force for the customer now.'),
    book: described(
      anyObject,
      'The whole price book as the kernel reads it (every version), with `zone_transitions` pinned so that every runtime rates time-of-use windows alike.',
    ),
    kernel_version: described(string, 'The kernel build the service rates with.'),
    period: object({ start: instant, end: instant, status: { type: 'string', enum: ['open', 'closed'] } }),
    valid_until: described(
      instant,
      "The snapshot rates events up to here: the period's end, or the next price-book assignment if sooner.",
    ),
    state: described(
      anyObject,
      "The customer state ingestion would give the kernel now (core-wasm CustomerState): the period's counters, pools and commitment, the plan's allowances, minimum and discount, the credit grants at their live balances, the depletion policy.",
    ),
    spend: described(
      money,
      "The period's usage net of discounts so far, whether credits or the invoice pay for it (what budgets count).",
    ),
    credit_balance: described(money, 'Credit in force at the watermark, all grants together.'),
    on_depletion: { type: 'string', enum: ['overage', 'block'] },
    budget: nullable(object({ amount: money, enforcement: { type: 'string', enum: ['alert', 'block'] } })),
    watermark: described(
      instant,
      'Every event acknowledged before this instant is reflected in the state, spend and balance.',
    ),
    etag: described(
      string,
      'The ETag header: send it back in If-None-Match to get a 304 while nothing that rating depends on has changed.',
    ),
    token: described(
      string,
      "A compact JWT (HS256, signed with the tenant's key, `kid` in its header) stating `sub` (customer), `bal` (credit balance), `spd` (spend), `cur`, `wm` (watermark), `etag`, `iat` and `exp`. Verifiable by the service only; the SDK reads its claims.",
    ),
    expires_at: described(instant, "The token's expiry (five minutes)."),
  }),
  Quote: object({
    quote: described(
      string,
      "The signed quote: a compact JWT (HS256, the tenant's key). Send it as the event's `quote` field.",
    ),
    id: string,
    transaction_id: string,
    customer_id: string,
    currency: string,
    amount: described(
      money,
      'What the event costs now: after discounts, allowances, commitment and credits, against the state as it stands.',
    ),
    subtotal: money,
    price_book: string,
    book_version: described(instant, 'The effective_from of the price version the quote holds the event to.'),
    card: string,
    fingerprint: described(
      string,
      'sha256 over the transaction id, customer, event type and properties (sorted by name).',
    ),
    issued_at: instant,
    expires_at: instant,
    receipt: { type: 'array', items: { ...anyObject, required: ['step'], properties: { step: string } } },
  }),
};

export interface EdgeOperation {
  summary: string;
  operationId: string;
  description?: string;
  body?: Schema;
  ok: [number, string];
  params?: { name: string; in: 'path' | 'query'; schema: Schema; required?: boolean; description?: string }[];
  /** Answers 304 Not Modified to a matching If-None-Match. */
  notModified?: boolean;
}

export const edgeRoutes: Record<string, Record<string, EdgeOperation>> = {
  '/v1/customers/{id}/pricing-snapshot': {
    get: {
      summary: "The customer's effective price book and rating state, for local estimates",
      operationId: 'getPricingSnapshot',
      description:
        "Everything the SDK's Estimator needs to rate this customer's next events exactly as ingestion will, with the budget, an ETag and a short-lived signed token. " +
        "Needs a key that may read usage and billing (secret keys; not publishable keys, since the snapshot carries the customer's balances and budget: a browser gets it relayed by the tenant's backend). " +
        '422 `no_price_book` when no price book is in force.',
      ok: [200, 'PricingSnapshot'],
      params: [customerId],
      notModified: true,
    },
  },
  '/v1/quotes': {
    post: {
      summary: 'A signed, binding price quote for one event',
      operationId: 'createQuote',
      description:
        "Rates the event against the customer's state as ingestion would now (nothing is stored) and signs the result. A rating error is a 400 naming the field (`event.properties`, `event.timestamp`). " +
        'Needs a key that may send events. ' +
        quoteRule,
      body: fromZod(createQuoteInput),
      ok: [201, 'Quote'],
    },
  },
};
