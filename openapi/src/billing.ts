// The billing part of the OpenAPI document (credits, ledger, budgets, plans, subscriptions, invoices): schemas
// and routes, merged into document.ts. Request bodies come from the handlers' zod schemas.
import { checkInput, listAlertsInput, setBudgetInput } from './schemas/budgets.ts';
import { createPlanInput, listPlansInput } from './schemas/plans.ts';
import { createSubscriptionInput } from './schemas/subscriptions.ts';
import { closePeriodsInput, listInvoicesInput, payInvoiceInput, voidInvoiceInput } from './schemas/invoices.ts';
import { listLedgerAccountsInput, listLedgerTransactionsInput } from './schemas/ledger.ts';
import { createGrantInput, updateBillingSettingsInput, updateWalletInput, voidGrantInput } from './schemas/wallets.ts';
import { listNotificationsInput, notificationTypes } from './schemas/notifications.ts';
import { createSlaCreditInput } from './schemas/sla.ts';
import {
  type Operation,
  type Schema,
  decimal,
  fromZod,
  queryParams,
  instant,
  money,
  nullable,
  object,
  ref,
  string,
  described,
  customerId,
} from './schema.ts';

const invoiceId = { name: 'id', in: 'path' as const, schema: { type: 'string', format: 'uuid' }, required: true };
const grantId = { name: 'grant_id', in: 'path' as const, schema: { type: 'string', format: 'uuid' }, required: true };
const scopeKind = {
  name: 'kind',
  in: 'path' as const,
  schema: { type: 'string', enum: ['api_key', 'project'] },
  required: true,
};
const scopeValue = {
  name: 'value',
  in: 'path' as const,
  schema: string,
  required: true,
  description: "The API key's id or the project tag (percent-encoded).",
};

export const billingSchemas: Record<string, Schema> = {
  CreditGrant: object({
    id: { type: 'string', format: 'uuid' },
    customer_id: string,
    kind: { type: 'string', enum: ['prepaid', 'promotional', 'goodwill'] },
    name: nullable(string),
    reason: nullable(string),
    currency: described(
      string,
      "The currency the grant is held and drawn in: the customer's price books' (its rating currency).",
    ),
    fx: nullable(
      described(
        ref('FxConversion'),
        'Given in the billing currency and converted, when issued, into the rating currency: the conversion, with the amount given (`amount_given`).',
      ),
    ),
    amount: money,
    balance: described(money, 'What is left to draw; equals the negated balance of the ledger account grant:<id>.'),
    priority: { type: 'integer' },
    effective_at: nullable(instant),
    expires_at: nullable(instant),
    credits: nullable(
      described(
        object({ amount: decimal, rate: money, balance: decimal }),
        'A grant denominated in credits: `amount` credits at `rate` (currency per credit); `balance` is the currency balance in credits (half-even to 9 decimals, for display: the kernel and the ledger work in the currency).',
      ),
    ),
    expiry_notice_days: nullable(
      described(
        { type: 'integer' },
        "Days before expires_at that credit_grant.expiring fires; null: the tenant's setting (GET /v1/billing_settings).",
      ),
    ),
    scope: nullable(
      object({
        cards: nullable({ type: 'array', items: string }),
        event_types: nullable({
          type: 'array',
          items: string,
          description: 'Listed event types and those of the listed meters.',
        }),
        meters: nullable({ type: 'array', items: string }),
      }),
    ),
    status: { type: 'string', enum: ['active', 'voided', 'expired'] },
    created_at: instant,
    created_by: string,
    ended_at: nullable(instant),
  }),
  CreditGrantList: object({ data: { type: 'array', items: ref('CreditGrant') } }),
  Wallet: object({
    customer_id: string,
    currency: string,
    on_depletion: described(
      { type: 'string', enum: ['overage', 'block'] },
      'overage: usage credits do not cover is billed; block: such events are rejected with credits_exhausted.',
    ),
    low_balance_threshold: nullable(
      described(
        money,
        "credits.low fires when an event's draw takes the credit in force from above this amount to at or below it; null: never.",
      ),
    ),
    balance: described(money, 'Sum of the active grants in force at `as_of`.'),
    held: described(
      money,
      "What the customer's open spend holds set aside at `as_of` (POST /v1/customers/{id}/holds).",
    ),
    available_balance: described(money, 'balance minus held.'),
    as_of: instant,
    grants: { type: 'array', items: ref('CreditGrant'), description: 'Active grants, in the order they were created.' },
  }),
  LedgerAccountList: object({
    data: {
      type: 'array',
      items: object({
        code: described(
          string,
          'grant:<id>, receivable:<customer id>, revenue:<stream>:<currency>, expense:<kind>_credits:<currency>, clearing:<kind>:<currency>.',
        ),
        kind: { type: 'string', enum: ['asset', 'liability', 'revenue', 'expense'] },
        currency: string,
        customer_id: nullable(string),
        balance: described(
          money,
          'Sum of the entries in the normal direction: debits for assets and expenses, credits for liabilities and revenue.',
        ),
        entry_count: decimal,
      }),
    },
  }),
  LedgerTransactionList: object({
    data: {
      type: 'array',
      items: object({
        id: { type: 'string', format: 'uuid' },
        kind: {
          type: 'string',
          enum: [
            'grant_issued',
            'usage_drawdown',
            'grant_voided',
            'grant_expired',
            'invoice_finalized',
            'invoice_paid',
            'invoice_voided',
            'credit_note_issued',
            'rerating_credit_returned',
            'invoice_written_off',
            'payment_refunded',
          ],
        },
        customer_id: nullable(string),
        currency: string,
        reference: described(string, "What caused it: an event's transaction_id, a grant id or an invoice id."),
        description: nullable(string),
        occurred_at: instant,
        recorded_at: instant,
        entries: {
          type: 'array',
          items: object({
            account: string,
            amount: described(money, 'Debit positive, credit negative; the entries sum to zero.'),
          }),
        },
      }),
    },
    has_more: { type: 'boolean' },
  }),
};

const ratingCurrency = described(
  string,
  "The currency of every amount here: the customer's rating currency (its price books', what the kernel rates in), which differs from its billing currency (`Customer.currency`) when its invoices are converted.",
);

const budgetAlert = object({
  period_start: instant,
  threshold: described({ type: 'integer' }, 'Percentage of the budget.'),
  budget_amount: money,
  spend: described(money, "The period's spend when the alert fired."),
  fired_at: instant,
});

Object.assign(billingSchemas, {
  Deleted: object({ deleted: { type: 'boolean', const: true } }),
  BudgetAlert: budgetAlert,
  BudgetAlertList: object({ data: { type: 'array', items: ref('BudgetAlert') } }),
  Budget: object({
    customer_id: string,
    currency: ratingCurrency,
    amount: described(money, 'Per billing period.'),
    enforcement: { type: 'string', enum: ['alert', 'block'] },
    thresholds: { type: 'array', items: { type: 'integer' } },
    updated_at: instant,
    current_period: nullable(
      object({
        start: instant,
        end: instant,
        spend: described(
          money,
          'Usage net of discounts, whether credits or the invoice pay for it (the base fee is not counted).',
        ),
        remaining: described(money, 'Negative when the budget is exceeded.'),
        alerts: { type: 'array', items: ref('BudgetAlert'), description: 'Thresholds fired this period, each once.' },
      }),
    ),
  }),
  EntitlementCheck: object({
    customer_id: string,
    allowed: { type: 'boolean' },
    reasons: {
      type: 'array',
      items: object(
        {
          code: { type: 'string', enum: ['credits_exhausted', 'budget_exceeded', 'customer_blocked'] },
          message: string,
          level: {
            type: 'integer',
            minimum: 1,
            description:
              "Set when a reseller up the customer's chain refuses: 1 for its reseller, 2 for that one's, ...",
          },
          reseller_id: described(string, 'The refusing reseller (external id), with `level`.'),
        },
        ['level', 'reseller_id'],
      ),
      description:
        "Why not; empty when allowed. Every reseller up the customer's chain must let the request through too: one blocked for non-payment, or blocking on depletion without credit in force covering the estimated cost, refuses it (the estimate is the customer's price; a reseller's own cost is normally lower).",
    },
    estimated_cost: money,
    currency: ratingCurrency,
    on_depletion: { type: 'string', enum: ['overage', 'block'] },
    credit_balance: described(
      money,
      'Credit in force now that would pay for this request (scoped credit counts only when the request names its event type or card).',
    ),
    held: described(
      money,
      "What the customer's open holds set aside now (POST /v1/customers/{id}/holds): counted against the credit and the budget.",
    ),
    available_balance: described(
      money,
      'credit_balance minus held: what a customer who blocks on depletion may still spend.',
    ),
    budget: nullable(
      object({
        amount: money,
        enforcement: { type: 'string', enum: ['alert', 'block'] },
        spend: money,
        remaining: described(money, 'amount minus spend minus held.'),
      }),
    ),
    scoped_budgets: {
      type: 'array',
      description: "Budgets of the request's API key and project tag, with this period's spend attributed to them.",
      items: object({
        kind: { type: 'string', enum: ['api_key', 'project'] },
        value: string,
        amount: money,
        enforcement: { type: 'string', enum: ['alert', 'block'] },
        spend: money,
        remaining: money,
      }),
    },
    as_of: instant,
  }),
});

Object.assign(billingSchemas, {
  ScopedBudget: object({
    customer_id: string,
    kind: described(
      { type: 'string', enum: ['api_key', 'project'] },
      'api_key: events sent with that key; project: events whose `project` property is the value.',
    ),
    value: described(string, "The API key's id or the project tag."),
    currency: ratingCurrency,
    amount: described(money, 'Per billing period.'),
    enforcement: { type: 'string', enum: ['alert', 'block'] },
    thresholds: { type: 'array', items: { type: 'integer' } },
    updated_at: instant,
    current_period: nullable(
      object({
        start: instant,
        end: instant,
        spend: described(
          money,
          'Usage net of discounts attributed to the scope this period, whether credits or the invoice pay for it.',
        ),
        remaining: described(money, 'Negative when the budget is exceeded.'),
        alerts: { type: 'array', items: ref('BudgetAlert'), description: 'Thresholds fired this period, each once.' },
      }),
    ),
  }),
  ScopedBudgetList: object({ data: { type: 'array', items: ref('ScopedBudget') } }),
});

const interval = { type: 'string', enum: ['month', 'year'] };
const period = object({ start: instant, end: instant });

/** The base-fee rule, stated once for every operation that bills or shows it. */
export const prorationRule =
  'Base fees are billed in arrears when a period closes. A partial period (a subscription that starts between anchor boundaries) is charged ' +
  'base_fee x (seconds in the partial period) / (seconds in the full period it belongs to, from the anchor boundary before its end to its end), ' +
  "rounded half-even to the nano-unit; the invoice line is then rounded once to the currency's minor unit like every line. The minimum spend is prorated by the same rule. " +
  'Periods start at 00:00:00 UTC on the anchor day (a month without that day uses its last day); durations count whole seconds.';

Object.assign(billingSchemas, {
  Plan: object({
    id: { type: 'string', format: 'uuid' },
    code: string,
    name: string,
    currency: described(string, "The price book's currency."),
    price_book: string,
    base_fee: described(money, 'Per full period; see the proration rule on POST /v1/plans.'),
    interval,
    allowances: {
      type: 'object',
      additionalProperties: decimal,
      description: 'Units included per period by allowance pool (quantities with 6 decimals).',
    },
    minimum_spend: nullable(money),
    invoice_grace_hours: {
      type: 'integer',
      description: "How long a closed period's invoice stays a draft that late events still land in.",
    },
    progressive_thresholds: {
      type: 'array',
      items: money,
      description:
        'Ascending usage amounts at which a running period is invoiced early (threshold invoices); see GET /v1/invoices.',
    },
    term_commitment: nullable(
      described(
        object({ minimum_spend: money, periods: { type: 'integer' } }),
        "A minimum over `periods` consecutive billing periods from the subscription's start (the first, possibly partial, period counts as one): usage net of discounts below it is billed as a minimum_true_up line on the invoice of the term's last period.",
      ),
    ),
    created_at: instant,
    created_by: string,
    archived_at: nullable(instant),
  }),
  PlanList: object({ data: { type: 'array', items: ref('Plan') }, has_more: { type: 'boolean' } }),
  Subscription: object({
    id: { type: 'string', format: 'uuid' },
    customer_id: string,
    plan: string,
    interval,
    started_at: instant,
    anchor_day: { type: 'integer' },
    anchor_month: nullable({ type: 'integer' }),
    discount_percent: described(decimal, 'Percentage with 7 decimals, e.g. "12.5000000".'),
    status: { type: 'string', enum: ['active'] },
    current_period: described(period, 'The period containing now (the first period before the start).'),
    created_at: instant,
    created_by: string,
  }),
});

/** How invoice amounts are rounded, stated once for every invoice operation. */
export const roundingRule =
  "Every amount keeps nano-unit precision (9 decimals, as the kernel rated it) until one rounding to the currency's ISO 4217 minor unit: " +
  'the invoice total is the exact sum of the lines rounded half-even to the minor unit; each line is its exact amount (`amount_exact`) rounded down, ' +
  'and the minor units still missing to reach the total go one each to the lines with the largest remainders (ties: the earlier line). ' +
  'So the total equals the sum of the lines exactly, and each line is within one minor unit of its exact amount. ' +
  'Lines: base fee (prorated, see POST /v1/plans), usage by rate card, dimension, rate and grouping properties (model, gpu_type, region, availability_class) ' +
  'with quantity, unit price per `per` units and amount, allowances used (amount 0), negotiated discounts, prepaid commitment and credits applied (negative), ' +
  "the minimum-spend true-up, SLA credits, and what threshold invoices of the period already billed (progressive billing: the plan's thresholds are checked by the billing tick, " +
  "every minute, against the usage the running period leaves to bill; a threshold invoice bills the charges so far less earlier threshold invoices, and the period-end invoice deducts them all). A draft is rebuilt from the period's receipts when it is finalized, so events that land during the grace period are on the final invoice. " +
  'Finalized invoices are numbered per tenant without gaps and never change; a zero total is issued as a statement with nothing to collect (status paid).';

Object.assign(billingSchemas, {
  InvoiceLine: object({
    line: { type: 'integer' },
    kind: {
      type: 'string',
      enum: [
        'base_fee',
        'usage',
        'allowance',
        'discount',
        'commitment',
        'credit',
        'minimum_true_up',
        'sla_credit',
        'progressive_billing',
        'adjustment',
      ],
      description:
        "sla_credit: an operator's credit for a preempted GPU job (its reason in the description); progressive_billing: what a threshold invoice of the period already billed (negative); adjustment: an amount of an earlier, closed period billed here (an event that arrived after its period's invoice was final, or a re-rating that raised a finalized invoice), with its original instant in the description.",
    },
    description: string,
    card: nullable(string),
    dimension: nullable(string),
    group: nullable({ type: 'object', additionalProperties: string }),
    quantity: nullable(decimal),
    unit_price: nullable(described(money, 'Price per `per` units.')),
    per: nullable(decimal),
    amount: described(money, "Rounded to the currency's minor unit (see the rounding rule)."),
    amount_exact: described(money, 'Before rounding.'),
    grant_id: nullable({ type: 'string', format: 'uuid' }),
    event_count: nullable(decimal),
  }),
  InvoiceTax: object({
    rule: described(
      {
        type: 'string',
        enum: [
          'exempt',
          'us_stripe_tax',
          'eu_domestic',
          'eu_reverse_charge',
          'eu_oss',
          'eu_distance_threshold',
          'domestic',
          'reverse_charge',
          'registered_foreign_seller',
          'outside_registrations',
        ],
      },
      'The rule of service/src/domains/tax/rules.ts that decided the tax.',
    ),
    jurisdiction: nullable(described(string, 'Where the tax is owed (DE, CA-QC, US-NY); null when none is.')),
    mention: nullable(described(string, 'Printed on the invoice, e.g. "Reverse charge".')),
    legal_basis: string,
    prices_include_tax: { type: 'boolean' },
    rounding: object({
      scope: { type: 'string', enum: ['invoice', 'line'] },
      mode: { type: 'string', enum: ['half_up', 'down'] },
      basis: string,
    }),
    source: { type: 'string', enum: ['tables', 'stripe_tax'] },
    rate_source: nullable(described(string, "The rate table's source and date, or the Stripe Tax calculation.")),
    supply_date: described(string, 'The day whose rates apply (the last day of supply).'),
    components: {
      type: 'array',
      items: object({
        tax: string,
        jurisdiction: string,
        rate: described(decimal, 'A fraction, e.g. "0.19".'),
        taxable: money,
        amount: money,
      }),
    },
    line_tax: {
      type: 'array',
      items: money,
      description: "Each line's share of the tax, in line order; they add up to tax_amount.",
    },
  }),
  Invoice: object({
    id: { type: 'string', format: 'uuid' },
    number: nullable(described(string, 'Assigned at finalization, per tenant, without gaps.')),
    kind: { type: 'string', enum: ['invoice', 'statement'] },
    billing_reason: described(
      { type: 'string', enum: ['period_end', 'threshold'] },
      "period_end: the period's invoice at close; threshold: issued (finalized at once) when the running period's usage reached a plan threshold.",
    ),
    threshold: nullable(described(money, 'The plan threshold a threshold invoice was issued for.')),
    status: described(
      { type: 'string', enum: ['draft', 'finalized', 'past_due', 'uncollectible', 'paid', 'void'] },
      'finalized: open, to be paid; past_due: a payment attempt failed and dunning retries; uncollectible: retries ran out or an operator gave up (a payment is still taken); paid; void.',
    ),
    customer_id: string,
    currency: string,
    minor_unit: described({ type: 'integer' }, 'ISO 4217 exponent of the currency.'),
    period,
    plan: nullable(string),
    lines: { type: 'array', items: ref('InvoiceLine') },
    subtotal: described(money, 'The lines net of tax: their sum, less the tax they include when prices include tax.'),
    tax_amount: described(money, 'The tax, set at finalization (0 on drafts and when the tenant charges no tax).'),
    tax: nullable(ref('InvoiceTax')),
    total: described(money, 'subtotal + tax_amount, in whole minor units of the currency.'),
    total_exact: described(
      money,
      "The sum of the lines' exact amounts before rounding, plus the tax when it is added on top.",
    ),
    amount_due: described(
      money,
      'What is left to collect, in whole minor units: the total while finalized, past_due or uncollectible, 0 as a draft, paid or void.',
    ),
    amount_due_exact: described(money, '`amount_due` before rounding (`total_exact` while unpaid, else 0).'),
    finalize_at: described(instant, "When a draft is finalized: the period's end plus the grace."),
    created_at: instant,
    finalized_at: nullable(instant),
    paid_at: nullable(instant),
    voided_at: nullable(instant),
    void_reason: nullable(string),
    fx: nullable(
      described(
        ref('FxConversion'),
        "The conversion from the currency of the customer's price books into its billing currency (null: none needed, or a draft not converted yet).",
      ),
    ),
    fx_blocked: nullable(
      described(
        object({
          code: { type: 'string', enum: ['fx_rate_missing'] },
          from: string,
          to: string,
          at: instant,
          policy: { type: 'string', enum: ['event', 'period_end', 'finalization'] },
        }),
        'A due draft that waits for this rate; finalized by the next billing tick once it is supplied.',
      ),
    ),
    issuer: nullable(
      described(
        object({
          customer_id: described(string, "The issuing reseller's external id."),
          name: string,
          legal_name: nullable(string),
          address: nullable(string),
          country: nullable(string),
          tax_ids: { type: 'array', items: object({ jurisdiction: string, tax_id: string }) },
          logo_url: nullable(string),
          reply_to: nullable(string),
        }),
        "Who issued the invoice when it is not the tenant: the customer's reseller parent, as its brand was at finalization (the number is from that reseller's own sequence). Null on drafts: set at finalization.",
      ),
    ),
    breakdown: nullable(
      described(
        object({
          currency: string,
          children: {
            type: 'array',
            items: object({
              customer_id: described(string, "The direct child's external id."),
              name: nullable(string),
              events: described(string, "Events of the child's subtree in the period."),
              amount: described(money, 'Rounded: the rounded amounts add up to usage_subtotal.amount.'),
              amount_exact: described(
                money,
                "What the reseller paid for the child's subtree's usage (before credits).",
              ),
            }),
          },
          own_usage: described(
            object({ amount: money, amount_exact: money }),
            "The reseller's own direct usage: the usage subtotal less its children's.",
          ),
          usage_subtotal: described(
            object({ amount: money, amount_exact: money }),
            'The usage lines net of allowances, discounts and commitments, before credits.',
          ),
        }),
        "A reseller's period-end invoice itemised by direct child (null for other invoices, and for a reseller's invoice converted into another currency).",
      ),
    ),
  }),
  InvoiceList: object({ data: { type: 'array', items: ref('Invoice') }, has_more: { type: 'boolean' } }),
  ClosedPeriods: object({
    data: {
      type: 'array',
      items: ref('Invoice'),
      description: 'The invoices this call drafted (and finalized, when their grace had run out), oldest period first.',
    },
  }),
  SlaCredit: object({
    id: { type: 'string', format: 'uuid' },
    customer_id: string,
    transaction_id: described(string, 'The preempted GPU job credited.'),
    period_start: described(instant, 'The period whose invoice carries the credit.'),
    percent: described(decimal, 'Percentage with 7 decimals, e.g. "100.0000000".'),
    charge: described(money, "The job's charge net of the negotiated discount (whoever pays it)."),
    amount: described(
      money,
      'percent of charge, rounded half-even to the nano-unit; an sla_credit line on the period-end invoice.',
    ),
    reason: string,
    created_at: instant,
    created_by: string,
  }),
  SlaCreditList: object({ data: { type: 'array', items: ref('SlaCredit') } }),
  Notification: object({
    id: { type: 'string', format: 'uuid' },
    type: described(
      { type: 'string', enum: [...notificationTypes] },
      "credit_grant.expiring: an active grant with credit left enters its notice period. credit_grant.expired: a grant reached its expiry (payload: what lapsed). credits.low: an event's draw took the customer's credit in force from above its wallet's low_balance_threshold to at or below it. credits.depleted: an event's draw took the customer's credit in force to zero. budget.threshold_crossed: the period's spend reached one of the budget's alert thresholds (once per threshold and period; also per API key or project budget). budget.unblocked: a blocked customer's budget was raised, relaxed to alert or removed so that the period's spend no longer blocks. invoice.created: a draft invoice was made (period close) or a threshold invoice issued. invoice.finalized: an invoice was numbered and posted (status finalized, or paid for a zero statement). subscription.created, subscription.amended: as their API calls. rerating.previewed, rerating.applied: a re-rating's preview is ready, or it was applied (payload: the Rerating). budget.blocked: an accepted event took the period's spend past a blocking budget (once per customer and period; payload: the event and the EventBlock). credits.exhausted: an accepted event of a customer who blocks on depletion was not covered by credit (once per customer and period). invoice.paid, invoice.voided: an invoice was marked paid or voided. credit_note.issued: a credit note (manual or from a re-rating). webhook_endpoint.disabled: a webhook endpoint answered 410 or failed for days. Collection (payments): invoice.payment_failed (each failed attempt), invoice.payment_action_required (the customer must authenticate), invoice.past_due (the first failure), invoice.uncollectible, invoice.written_off, invoice.refunded, invoice.disputed (each dispute status), customer.blocked and customer.unblocked (dunning's block on new usage, lifted on payment).",
    ),
    customer_id: nullable(string),
    subject_id: described(
      string,
      'What it is about (a grant id; customer id and period start for budget.blocked and credits.exhausted, with the limit and scope for a budget per API key or project); a type fires once per subject.',
    ),
    payload: { type: 'object', additionalProperties: true },
    created_at: instant,
  }),
  NotificationList: object({ data: { type: 'array', items: ref('Notification') }, has_more: { type: 'boolean' } }),
  BillingSettings: object({
    credit_expiry_notice_days: described(
      { type: 'integer' },
      'Days before a grant expires that credit_grant.expiring fires (7 until set); a grant may set its own.',
    ),
    invoice_emails: described(
      { type: 'boolean' },
      'Whether an invoice finalized with an amount due is emailed, with its PDF, to its customer when the customer ' +
        "has an email (true until set). The sender's name is the invoice's seller; a reseller's reply-to is kept.",
    ),
  }),
});

export const billingRoutes: Record<string, Record<string, Operation>> = {
  '/v1/customers/{id}/wallet': {
    get: {
      summary: "A customer's credit: depletion policy, balance in force, active grants",
      operationId: 'getWallet',
      ok: [200, 'Wallet'],
      params: [customerId],
    },
    patch: {
      summary: "Set the customer's depletion policy and low-balance threshold",
      operationId: 'updateWallet',
      body: fromZod(updateWalletInput),
      ok: [200, 'Wallet'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/credit_grants': {
    get: {
      summary: "List a customer's credit grants",
      operationId: 'listCreditGrants',
      ok: [200, 'CreditGrantList'],
      params: [
        customerId,
        { name: 'status', in: 'query', schema: { type: 'string', enum: ['active', 'voided', 'expired'] } },
      ],
    },
    post: {
      summary: 'Grant credit (a prepaid top-up, a promotion, goodwill)',
      operationId: 'createCreditGrant',
      description:
        'The credit is drawable by the very next event rated for the customer. The kernel draws free credit (promotional and goodwill) before prepaid, then lower `priority`, then earlier `expires_at`, then older grants, each within its scope. Issuing posts a ledger transaction: debit the funding account (prepaid purchases, or the promotional/goodwill credit expense), credit the grant.',
      body: fromZod(createGrantInput),
      ok: [201, 'CreditGrant'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/credit_grants/{grant_id}/void': {
    post: {
      summary: 'Void a grant; what is left returns to its funding account',
      operationId: 'voidCreditGrant',
      body: fromZod(voidGrantInput),
      ok: [200, 'CreditGrant'],
      params: [customerId, grantId],
    },
  },
  '/v1/customers/{id}/budget': {
    get: {
      summary: "A customer's budget with the current period's spend and alerts",
      operationId: 'getBudget',
      ok: [200, 'Budget'],
      params: [customerId],
    },
    put: {
      summary: 'Set the budget',
      operationId: 'setBudget',
      description:
        "Alerts fire when the period's spend reaches each threshold, at most once per threshold and period; they are recorded as the events that cross them are acknowledged.",
      body: fromZod(setBudgetInput),
      ok: [200, 'Budget'],
      params: [customerId],
    },
    delete: { summary: 'Remove the budget', operationId: 'deleteBudget', ok: [200, 'Deleted'], params: [customerId] },
  },
  '/v1/customers/{id}/budget_alerts': {
    get: {
      summary: 'Budget alerts fired, newest period first',
      operationId: 'listBudgetAlerts',
      ok: [200, 'BudgetAlertList'],
      params: [customerId, ...queryParams(listAlertsInput)],
    },
  },
  '/v1/customers/{id}/check': {
    post: {
      summary: 'May a request of this estimated cost proceed?',
      operationId: 'checkEntitlement',
      description:
        "Answers from the credit in force, the depletion policy and the budgets, storing nothing. Refused with `credits_exhausted` when the customer blocks on depletion and its credit does not cover the whole cost (the rule ingestion applies), and with `budget_exceeded` when a blocking budget would be exceeded: the customer's, or that of the request's API key (`api_key_id`, the calling key when omitted) or project tag (`project`).",
      body: fromZod(checkInput),
      ok: [200, 'EntitlementCheck'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/scoped_budgets': {
    get: {
      summary: "Budgets of the customer's API keys and project tags, with this period's spend and alerts",
      operationId: 'listScopedBudgets',
      ok: [200, 'ScopedBudgetList'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/scoped_budgets/{kind}/{value}': {
    put: {
      summary: 'Set the budget of one API key or project tag of the customer',
      operationId: 'setScopedBudget',
      description:
        "Spend is attributed as events are acknowledged: to the API key that sent each event and to its `project` property (usage net of discounts, whoever pays it). Alerts fire at each threshold once per period and scope. A blocking budget makes POST /v1/customers/{id}/check refuse a request of that key or project that would exceed it. A customer's first scoped budget recovers the period's spend by project from its rated events; spend by key counts from then (events do not record their key).",
      body: fromZod(setBudgetInput),
      ok: [200, 'ScopedBudget'],
      params: [customerId, scopeKind, scopeValue],
    },
    delete: {
      summary: 'Remove the budget of an API key or project tag',
      operationId: 'deleteScopedBudget',
      ok: [200, 'Deleted'],
      params: [customerId, scopeKind, scopeValue],
    },
  },
  '/v1/plans': {
    get: {
      summary: 'List plans',
      operationId: 'listPlans',
      ok: [200, 'PlanList'],
      params: queryParams(listPlansInput),
    },
    post: {
      summary: 'Create a plan',
      operationId: 'createPlan',
      description: prorationRule,
      body: fromZod(createPlanInput),
      ok: [201, 'Plan'],
    },
  },
  '/v1/plans/{code}': {
    get: {
      summary: 'Get a plan',
      operationId: 'getPlan',
      ok: [200, 'Plan'],
      params: [{ name: 'code', in: 'path', schema: string, required: true, description: 'The plan code.' }],
    },
  },
  '/v1/customers/{id}/subscriptions': {
    post: {
      summary: 'Subscribe the customer to a plan from an instant',
      operationId: 'createSubscription',
      description:
        "The plan's price book rates the customer's events from `started_at`; its allowances, minimum spend and the discount apply to every period from then on. " +
        "A subscription starts at or after the end of the customer's latest billing period. " +
        prorationRule,
      body: fromZod(createSubscriptionInput),
      ok: [201, 'Subscription'],
      params: [customerId],
    },
  },
  '/v1/customers/{id}/subscription': {
    get: {
      summary: "The customer's subscription and current period",
      operationId: 'getSubscription',
      ok: [200, 'Subscription'],
      params: [customerId],
    },
  },
  '/v1/invoices': {
    get: {
      summary: 'List invoices, newest period first',
      operationId: 'listInvoices',
      description: roundingRule,
      ok: [200, 'InvoiceList'],
      params: queryParams(listInvoicesInput),
    },
  },
  '/v1/invoices/{id}': {
    get: {
      summary: 'Get an invoice with its lines',
      operationId: 'getInvoice',
      description: roundingRule,
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
  '/v1/invoices/{id}/finalize': {
    post: {
      summary: 'Finalize a draft now, ending its grace period early',
      operationId: 'finalizeInvoice',
      description:
        "Closes the period (later events for it are billed as adjustment lines on the customer's next invoice, with their own timestamp), rebuilds the lines, assigns the next number and posts the invoice to the ledger (debit the receivable, credit revenue). " +
        roundingRule,
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
  '/v1/customers/{id}/periods/close': {
    post: {
      summary: "Close the customer's ended periods now",
      operationId: 'closeCustomerPeriods',
      description:
        "Does now what the billing tick (every minute) would: each of the customer's open periods that has ended and has no invoice yet gets its draft, finalized at once when the plan's grace has run out. " +
        'With `period_start`, that period only: 404 if the customer has no such period, 422 `period_not_ended` if it is still running (a running period is never cut short), 409 `period_already_invoiced` if it has its invoice. ' +
        "Without it, the answer lists what was closed (possibly nothing). Needs the invoices.write permission (billing, admin, owner); the invoices are audited as the caller's.",
      body: fromZod(closePeriodsInput),
      ok: [200, 'ClosedPeriods'],
      params: [customerId],
    },
  },
  '/v1/invoices/{id}/pay': {
    post: {
      summary:
        'Record a payment received out of band (a bank transfer) for an unpaid invoice: ledger entries, collection stopped, block lifted',
      operationId: 'payInvoice',
      body: fromZod(payInvoiceInput),
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
  '/v1/invoices/{id}/void': {
    post: {
      summary: 'Void a finalized, unpaid invoice (its number stays used; the ledger posting is reversed)',
      operationId: 'voidInvoice',
      body: fromZod(voidInvoiceInput),
      ok: [200, 'Invoice'],
      params: [invoiceId],
    },
  },
  '/v1/customers/{id}/sla_credits': {
    get: {
      summary: "A customer's SLA credits",
      operationId: 'listSlaCredits',
      ok: [200, 'SlaCreditList'],
      params: [customerId],
    },
    post: {
      summary: 'Credit a preempted GPU job (SLA credit)',
      operationId: 'createSlaCredit',
      description:
        "The amount is `percent` of the job's charge net of the negotiated discount, rounded half-even to the nano-unit. It is an `sla_credit` line, with the reason, on the period-end invoice of the job's period. " +
        "Once per job (409 sla_credit_exists); 422 event_not_preempted unless the event's outcome is preempted; 409 period_invoiced once the period's invoice is finalized.",
      body: fromZod(createSlaCreditInput),
      ok: [201, 'SlaCredit'],
      params: [customerId],
    },
  },
  '/v1/notifications': {
    get: {
      summary: 'Notifications recorded (credit about to expire, ...), oldest first',
      operationId: 'listNotifications',
      ok: [200, 'NotificationList'],
      params: queryParams(listNotificationsInput),
    },
  },
  '/v1/billing_settings': {
    get: { summary: "The tenant's billing settings", operationId: 'getBillingSettings', ok: [200, 'BillingSettings'] },
    put: {
      summary: "Set the tenant's billing settings",
      operationId: 'updateBillingSettings',
      body: fromZod(updateBillingSettingsInput),
      ok: [200, 'BillingSettings'],
    },
  },
  '/v1/ledger/accounts': {
    get: {
      summary: 'Ledger accounts with their balances',
      operationId: 'listLedgerAccounts',
      ok: [200, 'LedgerAccountList'],
      params: queryParams(listLedgerAccountsInput),
    },
  },
  '/v1/ledger/transactions': {
    get: {
      summary: 'Ledger transactions with their entries, newest first',
      operationId: 'listLedgerTransactions',
      ok: [200, 'LedgerTransactionList'],
      params: queryParams(listLedgerTransactionsInput),
    },
  },
};
