// The corrections part of the OpenAPI document: credit notes against finalized invoices, re-ratings after a
// retroactive price change, and subscription amendments. Request bodies come from the handlers' zod schemas.
import { createCreditNoteInput, listCreditNotesInput } from './schemas/creditnotes.ts';
import { amendSubscriptionInput } from './schemas/subscriptions.ts';
import { listReratingsInput } from './schemas/reratings.ts';
import {
  type Operation,
  type Schema,
  decimal,
  fromZod,
  instant,
  money,
  nullable,
  object,
  ref,
  string,
  described,
} from './schema.ts';

const uuid: Schema = { type: 'string', format: 'uuid' };
const idParam = { name: 'id', in: 'path' as const, schema: uuid, required: true };

/** What a credit note does, stated once for its operations. */
export const creditNoteRule =
  'A credit note reverses all or part of a finalized or paid invoice: by line (`lines`, each credited by `amount` or by what is left of it), ' +
  "by `amount` (spread over the invoice's lines in proportion to what is left of each, in whole minor units, largest remainder first), " +
  "or, with neither, whatever is left of the invoice. Amounts are whole minor units of the invoice's currency; all credit notes of an invoice together " +
  'credit at most its total, and a line at most its amount. Credit notes are numbered per tenant without gaps in their own sequence (CN-000001), never change, ' +
  "and post a ledger transaction `credit_note_issued`: debit revenue by stream, credit the customer's receivable (below zero for a paid invoice: owed back to the customer). " +
  'Re-rating issues credit notes too (origin `rerating`), with one line per changed invoice line. ' +
  "With tax, amounts are on the lines' basis (before tax is added; gross when the tenant's prices include tax) and at most the invoice's lines total; " +
  "the note carries the invoice's tax mirrored (each component times the credited share of the lines, rounded half up; the note that credits the rest gets exactly the tax left), " +
  'and its ledger transaction debits the tax owed back.';

/** The re-rating rule, stated once for its operations. */
export const reratingRule =
  'Adding a price-book version whose `effective_from` is in the past (`retroactive: true` on POST /v1/price_books/{code}/versions) creates a re-rating. ' +
  'A job (one per re-rating, never one per event) replays every billing period with events rated by the book at or after that instant, whole and in the original order ' +
  "(acknowledgement order; events acknowledged together in timestamp order), from the period's starting state (the plan's allowances, minimum and discount, nothing consumed), " +
  'and stores a preview: per customer and period, the old and new amounts and their difference, per invoice line (rate card, dimension, grouping properties). ' +
  "On approval a second job replays again under the periods' locks (events acknowledged since the preview are included) and applies it: each event gets a new rated-line revision " +
  '(the receipt keeps every revision), period totals and usage aggregates are corrected, and credit an event drew but no longer needs returns to its grant ' +
  '(re-rating never draws more credit: a dearer event bills the difference). Then per period: a draft invoice is rebuilt; for a finalized or paid invoice whose new build is lower, ' +
  "a credit note credits the difference line by line; when it is higher, the difference is billed as an adjustment line on the customer's next invoice; a void invoice is left alone.";

/** The amendment and split-period rule, stated once for its operations. */
export const amendmentRule =
  "An amendment changes the plan (an upgrade, a downgrade, new rates through the plan's price book), the included allowances or the discount from `effective_at`, " +
  "an instant (whole seconds) inside the customer's current billing period and not before now. The period is split there: events stamped before it are rated on the old terms " +
  "and invoiced when that part closes (at the amendment, after the plan's grace), events from it are rated on the new terms in a period that runs to the next anchor boundary. " +
  'Each part is a billing period of its own: its allowances and tier counters start afresh (allowances are not prorated, as in a partial first period), and its base fee and minimum ' +
  "spend are prorated by the second: base_fee x (seconds in the part) / (seconds from the anchor boundary at or before the part's start to the next one), rounded half-even to the nano-unit, " +
  'then rounded once to the minor unit like every invoice line. So an upgrade on the 16th of a 31-day month from $100 to $300 bills $100 x 15/31 = 48.387096774 and $300 x 16/31 = 154.838709677. ' +
  'A plan with another price book assigns that book from `effective_at`. The new plan must bill in the same currency and at the same interval, and no event of the period may be stamped at or after `effective_at` yet.';

export const correctionSchemas: Record<string, Schema> = {
  CreditNote: object({
    id: uuid,
    number: described(string, "Per tenant, without gaps, in the credit notes' own sequence."),
    invoice_id: uuid,
    invoice_number: string,
    customer_id: string,
    currency: string,
    minor_unit: { type: 'integer' },
    reason: string,
    origin: { type: 'string', enum: ['manual', 'rerating'] },
    rerating_id: nullable(uuid),
    lines: {
      type: 'array',
      items: object({
        line: { type: 'integer' },
        invoice_line: nullable(described({ type: 'integer' }, 'The invoice line credited.')),
        kind: described(string, "The invoice line's kind (which revenue stream is reversed)."),
        description: string,
        amount: described(
          money,
          'Credited, rounded to the minor unit; a re-rating line can be negative when that line of the invoice went up (e.g. a minimum true-up).',
        ),
        amount_exact: described(money, 'Before rounding.'),
        details: nullable({ type: 'object', additionalProperties: true }),
      }),
    },
    subtotal: described(money, 'The credited lines net of tax.'),
    tax_amount: described(
      money,
      "The tax credited: the invoice's tax per component times the credited share of its lines, rounded half-up; the last credit gets exactly what is left.",
    ),
    tax: nullable(
      object({
        components: {
          type: 'array',
          items: object({ tax: string, jurisdiction: string, rate: decimal, amount: money }),
        },
        mention: nullable(string),
      }),
    ),
    total: described(money, 'What the customer is credited: subtotal + tax_amount, in whole minor units.'),
    total_exact: described(money, "The sum of the lines' exact amounts, before rounding."),
    created_at: instant,
    created_by: string,
  }),
  CreditNoteList: object({ data: { type: 'array', items: ref('CreditNote') }, has_more: { type: 'boolean' } }),
};

const difference = { old_amount: money, new_amount: money, difference: described(money, 'new_amount - old_amount.') };

Object.assign(correctionSchemas, {
  ReratingPreview: object({
    customers: {
      type: 'array',
      items: object({
        customer_id: string,
        currency: string,
        ...difference,
        periods: {
          type: 'array',
          items: object({
            start: instant,
            end: instant,
            invoice: nullable(object({ id: uuid, number: nullable(string), status: string })),
            events: decimal,
            ...difference,
            lines: {
              type: 'array',
              description: 'Usage by rate card, dimension and grouping properties, before discounts and credits.',
              items: object({
                card: string,
                dimension: nullable(string),
                group: { type: 'object', additionalProperties: string },
                ...difference,
              }),
            },
          }),
        },
      }),
    },
    unratable: {
      type: 'array',
      description: 'Events the new version cannot rate (approval is refused while there are any).',
      items: object({ transaction_id: string, customer_id: string, code: string, message: string }),
    },
  }),
  ReratingResult: object({
    periods: {
      type: 'array',
      items: object({
        customer_id: string,
        start: instant,
        events: decimal,
        difference: money,
        credit_returned: described(money, "Credit the period's events no longer needed, back to their grants."),
        action: { type: 'string', enum: ['none', 'draft_rebuilt', 'credit_note', 'adjustment', 'invoice_void'] },
        credit_note: nullable(object({ id: uuid, number: string, total: money })),
        adjustment: nullable(described(money, "Billed on the customer's next invoice.")),
      }),
    },
  }),
  Rerating: object({
    id: uuid,
    price_book: string,
    effective_from: instant,
    book_versions: { type: 'integer' },
    status: { type: 'string', enum: ['pending', 'previewed', 'approved', 'applied', 'failed'] },
    preview: nullable(ref('ReratingPreview')),
    result: nullable(ref('ReratingResult')),
    error: nullable(string),
    created_at: instant,
    created_by: string,
    previewed_at: nullable(instant),
    approved_at: nullable(instant),
    approved_by: nullable(string),
    applied_at: nullable(instant),
  }),
  SubscriptionAmendment: object({
    id: uuid,
    customer_id: string,
    effective_at: instant,
    plan: described(string, 'The plan from `effective_at`.'),
    allowances: {
      type: 'object',
      additionalProperties: decimal,
      description: 'Units included per period from `effective_at`.',
    },
    allowances_overridden: described(
      { type: 'boolean' },
      "Whether the allowances are the amendment's own rather than the plan's.",
    ),
    discount_percent: described(decimal, 'Percentage with 7 decimals, e.g. "12.5000000".'),
    periods: described(
      object({ before: object({ start: instant, end: instant }), after: object({ start: instant, end: instant }) }),
      'The two parts of the split period.',
    ),
    created_at: instant,
    created_by: string,
  }),
  SubscriptionAmendmentList: object({ data: { type: 'array', items: ref('SubscriptionAmendment') } }),
  ReratingList: object({ data: { type: 'array', items: ref('Rerating') }, has_more: { type: 'boolean' } }),
  EventRevisionList: object({
    transaction_id: string,
    data: {
      type: 'array',
      description:
        'Every rating of the event, first to latest: re-rating appends a revision and keeps the earlier ones.',
      items: object({
        revision: { type: 'integer' },
        period_start: instant,
        book_version: instant,
        kernel_version: string,
        card: string,
        currency: string,
        amount: money,
        subtotal: money,
        rated_at: instant,
        receipt: { type: 'array', items: { type: 'object', additionalProperties: true } },
      }),
    },
  }),
});

export const correctionRoutes: Record<string, Record<string, Operation>> = {
  '/v1/invoices/{id}/credit_notes': {
    post: {
      summary: 'Credit all or part of a finalized invoice',
      operationId: 'createCreditNote',
      description: creditNoteRule,
      body: fromZod(createCreditNoteInput),
      ok: [201, 'CreditNote'],
      params: [idParam],
    },
  },
  '/v1/credit_notes': {
    get: {
      summary: 'List credit notes, newest first',
      operationId: 'listCreditNotes',
      description: creditNoteRule,
      ok: [200, 'CreditNoteList'],
      params: Object.entries((fromZod(listCreditNotesInput) as { properties: Record<string, Schema> }).properties).map(
        ([name, schema]) => ({ name, in: 'query' as const, schema }),
      ),
    },
  },
  '/v1/credit_notes/{id}': {
    get: {
      summary: 'Get a credit note with its lines',
      operationId: 'getCreditNote',
      ok: [200, 'CreditNote'],
      params: [idParam],
    },
  },
  '/v1/reratings': {
    get: {
      summary: 'List re-ratings, newest first',
      operationId: 'listReratings',
      description: reratingRule,
      ok: [200, 'ReratingList'],
      params: Object.entries((fromZod(listReratingsInput) as { properties: Record<string, Schema> }).properties).map(
        ([name, schema]) => ({ name, in: 'query' as const, schema }),
      ),
    },
  },
  '/v1/reratings/{id}': {
    get: {
      summary: 'Get a re-rating with its preview and result',
      operationId: 'getRerating',
      description: reratingRule,
      ok: [200, 'Rerating'],
      params: [idParam],
    },
  },
  '/v1/events/{transaction_id}/revisions': {
    get: {
      summary: "Every revision of an event's rated line (receipts before and after re-rating)",
      operationId: 'listEventRevisions',
      ok: [200, 'EventRevisionList'],
      params: [{ name: 'transaction_id', in: 'path', schema: string, required: true }],
    },
  },
  '/v1/customers/{id}/subscription/amendments': {
    get: {
      summary: "The subscription's amendments, in effective order",
      operationId: 'listSubscriptionAmendments',
      description: amendmentRule,
      ok: [200, 'SubscriptionAmendmentList'],
      params: [
        {
          name: 'id',
          in: 'path',
          schema: string,
          required: true,
          description: "The customer's external id (percent-encoded).",
        },
      ],
    },
    post: {
      summary: 'Amend the subscription from an instant inside the current period (split-period rating)',
      operationId: 'amendSubscription',
      description: amendmentRule,
      body: fromZod(amendSubscriptionInput),
      ok: [201, 'SubscriptionAmendment'],
      params: [
        {
          name: 'id',
          in: 'path',
          schema: string,
          required: true,
          description: "The customer's external id (percent-encoded).",
        },
      ],
    },
  },
  '/v1/reratings/{id}/approve': {
    post: {
      summary: 'Approve a previewed re-rating; a job applies it',
      operationId: 'approveRerating',
      description: reratingRule,
      ok: [200, 'Rerating'],
      params: [idParam],
    },
  },
};
