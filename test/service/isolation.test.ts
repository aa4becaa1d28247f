// Tenant isolation: tenant A tries to read and write tenant B's data through every REST route and every tRPC
// procedure, and must fail every time; then the database itself is asked, as the service role, without a tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter, createApp } from '../../service/src/app.ts';
import { closePeriod, recordAdjustments } from '../../service/src/domains/invoices/service.ts';
import { notifyGrantExpiry } from '../../service/src/domains/wallets/service.ts';
import { withTenant } from '../../service/src/platform/db.ts';
import {
  exampleBook,
  rest,
  signUpTenant,
  startService,
  trpc,
  type Harness,
  type TenantFixture,
  serviceDeps,
} from './harness.ts';

const llmEvent = (transactionId: string, customerId: string) => ({
  transaction_id: transactionId,
  customer_id: customerId,
  event_type: 'llm.completion',
  timestamp: '2026-03-15T00:00:00Z',
  properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10 },
});

const tinyCatalogue = [
  { id: 'acme', name: 'Acme', models: [{ id: 'm1', match: { equals: 'm1' }, prices: { input_mtok: 1 } }] },
];

interface Attempt {
  route: string;
  run: () => Promise<{ status: number; body?: any; error?: any }>;
  /** What A gets: B's object does not exist for A. */
  status: number;
  check?: (result: { status: number; body?: any; error?: any }) => void;
}

describe('tenant isolation', () => {
  let harness: Harness;
  let a: TenantFixture;
  let b: TenantFixture;
  let bKeyId: string;
  let bUserId: string;
  let bGrantId: string;
  let bInvoiceId: string;
  let bCreditNoteId: string;
  let bReratingId: string;
  let bEndpointId: string;
  let bMessageId: string;
  let bPortalToken: string;
  let bBalanceKey: string;

  async function snapshotOf(tenantId: string) {
    const tables = await harness.database.owner`
      select c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'
      where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace order by 1`;
    const snapshot: Record<string, unknown[]> = {};
    for (const { relname } of tables) {
      snapshot[relname] = await harness.database.owner.unsafe(
        `select * from ${relname} where tenant_id = $1 order by 1, 2`,
        [tenantId],
      );
    }
    return JSON.parse(JSON.stringify(snapshot, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  }

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-15T00:00:00Z' });
    a = await signUpTenant(harness, 'Tenant A');
    b = await signUpTenant(harness, 'Tenant B');
    const asB = (method: string, path: string, body?: unknown) =>
      rest(harness, method, path, { key: b.secretKey, body });
    expect((await asB('POST', '/v1/customers', { external_id: 'b-parent', currency: 'USD' })).status).toBe(201);
    expect(
      (await asB('POST', '/v1/customers', { external_id: 'b-customer', currency: 'USD', parent_id: 'b-parent' }))
        .status,
    ).toBe(201);
    expect((await asB('POST', '/v1/customers', { external_id: 'shared-id', currency: 'USD', name: 'B' })).status).toBe(
      201,
    );
    expect(
      (
        await asB('POST', '/v1/meters', {
          code: 'b-meter',
          name: 'B',
          event_type: 'llm.completion',
          aggregation: 'count',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await asB('POST', '/v1/meters', {
          code: 'b-models',
          name: 'B',
          event_type: 'llm.completion',
          aggregation: 'unique_count',
          property: 'model',
        })
      ).status,
    ).toBe(201);
    expect((await asB('POST', '/v1/price_books', { book: exampleBook('b-book') })).status).toBe(201);
    expect((await asB('POST', '/v1/price_books', { book: exampleBook('b-book-only') })).status).toBe(201);
    expect((await asB('PUT', '/v1/customers/b-customer/price_book', { price_book: 'b-book' })).status).toBe(200);
    // Billing: B's wallet, a grant that B's events draw from (ledger rows).
    expect((await asB('PATCH', '/v1/customers/b-customer/wallet', { on_depletion: 'overage' })).status).toBe(200);
    bGrantId = (await asB('POST', '/v1/customers/b-customer/credit_grants', { kind: 'prepaid', amount: '1' })).body.id;
    expect((await asB('PUT', '/v1/customers/b-customer/budget', { amount: '0.001' })).status).toBe(200);
    expect((await asB('POST', '/v1/price_books', { book: exampleBook('b-plan-book') })).status).toBe(201);
    expect(
      (
        await asB('POST', '/v1/plans', {
          code: 'b-plan',
          name: 'B',
          price_book: 'b-plan-book',
          interval: 'month',
          base_fee: '10',
        })
      ).status,
    ).toBe(201);
    expect((await asB('POST', '/v1/customers', { external_id: 'b-subscriber', currency: 'USD' })).status).toBe(201);
    expect(
      (
        await asB('POST', '/v1/customers/b-subscriber/subscriptions', {
          plan: 'b-plan',
          started_at: '2026-03-01T00:00:00Z',
        })
      ).status,
    ).toBe(201);
    // B's March closes (as the close job would, after the grace): a finalized invoice with lines and a number.
    const [subscriber] = await harness.database
      .owner`select id from customers where tenant_id = ${b.tenantId} and external_id = 'b-subscriber'`;
    harness.clock.set('2026-04-01T02:00:00Z');
    const deps = serviceDeps(harness);
    expect(await closePeriod(deps, b.tenantId, subscriber.id, new Date('2026-03-01T00:00:00Z'))).toBe('finalized');
    // B amends the subscription from mid-April (the period its March close opened).
    expect(
      (
        await asB('POST', '/v1/customers/b-subscriber/subscription/amendments', {
          effective_at: '2026-04-15T00:00:00Z',
          discount_percent: '5',
        })
      ).status,
    ).toBe(201);
    harness.clock.set('2026-03-15T00:00:00Z');
    bInvoiceId = (await asB('GET', '/v1/invoices')).body.data[0].id;
    // B's credit note against it, and a re-rating from a retroactive version of B's book.
    bCreditNoteId = (await asB('POST', `/v1/invoices/${bInvoiceId}/credit_notes`, { reason: 'B', amount: '1' })).body
      .id;
    expect(
      (
        await asB('POST', '/v1/price_books/b-plan-book/versions', {
          version: exampleBook('b-plan-book', '2026-03-10T00:00:00Z').versions[0],
          retroactive: true,
        })
      ).status,
    ).toBe(201);
    // An amount of B's closed March waiting for B's next invoice.
    await withTenant(harness.database.app, b.tenantId, (tx) =>
      recordAdjustments(
        { db: tx, tenantId: b.tenantId },
        [
          {
            customerId: subscriber.id,
            currency: 'USD',
            source: 'rerating',
            reference: 'b-setup',
            description: 'B adjustment',
            occurredAt: new Date('2026-03-01T00:00:00Z'),
            periodStart: new Date('2026-03-01T00:00:00Z'),
            stream: 'usage',
            amount: 1_000_000_000n,
          },
        ],
        harness.clock.now(),
      ),
    );
    bReratingId = (await asB('GET', '/v1/reratings')).body.data[0].id;
    // B's payments: a dunning policy, a Stripe connection and a received Stripe event (rows as collection leaves them).
    expect((await asB('PUT', '/v1/dunning_policy', { retry_after_days: [2, 9], block_after_days: 3 })).status).toBe(
      200,
    );
    await harness.database
      .owner`insert into stripe_connections (tenant_id, secret_key_sealed, key_last4, mode, webhook_secret_sealed, connected_at, updated_at)
      values (${b.tenantId}, 'v1.a.b.c', 'bbbb', 'test', 'v1.a.b.c', now(), now())`;
    await harness.database
      .owner`insert into stripe_events (tenant_id, id, type, stripe_created, livemode, outcome, payload, received_at)
      values (${b.tenantId}, 'evt_b_only', 'customer.created', 1, false, 'ignored', '{}', now())`;
    const [bCustomerRow] = await harness.database
      .owner`select id from customers where tenant_id = ${b.tenantId} and external_id = 'b-customer'`;
    const owner = harness.database.owner;
    await owner`insert into stripe_customers (tenant_id, customer_id, stripe_customer_id, default_payment_method, created_at, updated_at) values (${b.tenantId}, ${bCustomerRow.id}, 'cus_b', 'pm_b', now(), now())`;
    await owner`insert into invoice_collections (tenant_id, invoice_id, customer_id, status, attempt, created_at, updated_at) values (${b.tenantId}, ${bInvoiceId}, ${subscriber.id}, 'exhausted', 2, now(), now())`;
    await owner`insert into payment_attempts (tenant_id, invoice_id, attempt, idempotency_key, payment_intent_id, currency, amount_minor, status, created_at, updated_at)
      values (${b.tenantId}, ${bInvoiceId}, 1, 'b-key', 'pi_b', 'USD', 1000, 'failed', now(), now())`;
    await owner`insert into payment_refunds (tenant_id, refund_id, invoice_id, charge_id, currency, amount_minor, created_at) values (${b.tenantId}, 're_b', ${bInvoiceId}, 'ch_b', 'USD', 100, now())`;
    await owner`insert into payment_disputes (tenant_id, dispute_id, invoice_id, charge_id, status, currency, amount_minor, event_created, created_at, updated_at)
      values (${b.tenantId}, 'dp_b', ${bInvoiceId}, 'ch_b', 'needs_response', 'USD', 100, 1, now(), now())`;
    await owner`insert into customer_blocks (tenant_id, customer_id, invoice_id, reason, blocked_at) values (${b.tenantId}, ${subscriber.id}, ${bInvoiceId}, 'payment_past_due', now())`;
    // B's reseller margins (as ingestion aggregates them for b-parent, which resold to b-customer).
    const [bParentRow] =
      await owner`select id from customers where tenant_id = ${b.tenantId} and external_id = 'b-parent'`;
    await owner`insert into chain_daily (tenant_id, customer_id, period_start, day, child_id, end_customer_id, level, card, currency, events, charge, resale, billed)
      values (${b.tenantId}, ${bParentRow.id}, '2026-03-01T00:00:00Z', '2026-03-10', ${bCustomerRow.id}, ${bCustomerRow.id}, 1, 'b-card', 'USD', 3, 1, 2, 1)`;
    // B's reseller brand and its invoice sequence (migration 081).
    await owner`insert into reseller_brands (tenant_id, customer_id, legal_name, invoice_prefix, updated_at) values (${b.tenantId}, ${bParentRow.id}, 'B Resells Ltd', 'BRS', now())`;
    // Its logo's bytes (migration 086).
    await owner`insert into brand_logos (tenant_id, digest, customer_id, media_type, bytes, width, height, created_at)
      values (${b.tenantId}, ${'b'.repeat(64)}, ${bParentRow.id}, 'image/png', ${Buffer.from('b-logo')}, 1, 1, now())`;
    await owner`insert into reseller_sequences (tenant_id, customer_id, document, last_number) values (${b.tenantId}, ${bParentRow.id}, 'invoice', 1)`;
    // A Stripe Tax calculation stored before a finalization (migration 090).
    await owner`insert into stripe_tax_calculations (tenant_id, subject, fingerprint, calculation_id, result, created_at)
      values (${b.tenantId}, 'b-invoice', 'b-fingerprint', 'taxcalc_b', '{}', now())`;
    const bEvents = await asB('POST', '/v1/events', {
      events: [llmEvent('b-tx', 'b-customer'), llmEvent('shared-tx', 'b-customer')],
    });
    expect(bEvents.body.accepted).toBe(2);
    // B's signing key (created by its first snapshot or quote).
    expect((await asB('GET', '/v1/customers/b-customer/pricing-snapshot')).status).toBe(200);
    const keys = await asB('GET', '/v1/api_keys');
    bKeyId = keys.body.data[0].id;
    // B's tax settings (after its invoice, which they would tax).
    const bTax = {
      legal_name: 'B GmbH',
      address: 'B-Strasse 1, Berlin',
      country: 'DE',
      registrations: [{ jurisdiction: 'DE', tax_id: 'DE136695976' }],
    };
    expect((await asB('PUT', '/v1/tax/settings', bTax)).status).toBe(200);
    // B's billing settings, an expiry notice for a grant near its expiry, an SLA credit for a preempted job.
    expect((await asB('PUT', '/v1/billing_settings', { credit_expiry_notice_days: 9 })).status).toBe(200);
    // B's webhook endpoint (a closed local port: its attempts fail at once), which the notice below becomes a message to.
    process.env.WEBHOOK_ALLOW_PRIVATE = '1';
    bEndpointId = (await asB('POST', '/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/b-hook' })).body.id;
    bMessageId = (await asB('POST', `/v1/webhook_endpoints/${bEndpointId}/test`, {})).body.message_id;
    const expiring = await asB('POST', '/v1/customers/b-customer/credit_grants', {
      kind: 'promotional',
      amount: '1',
      expires_at: '2026-03-20T00:00:00Z',
    });
    expect(await notifyGrantExpiry(deps, b.tenantId, expiring.body.id)).toBe('notified');
    const preempted = {
      ...llmEvent('b-preempted', 'b-customer'),
      properties: { ...llmEvent('x', 'y').properties, outcome: 'preempted' },
    };
    expect((await asB('POST', '/v1/events', { events: [preempted] })).body.accepted).toBe(1);
    expect(
      (
        await asB('POST', '/v1/customers/b-customer/sla_credits', {
          transaction_id: 'b-preempted',
          reason: 'B reclaimed',
        })
      ).status,
    ).toBe(201);
    // B's budget of a project tag, spend attributed to it and its alerts.
    expect(
      (await asB('PUT', '/v1/customers/b-customer/scoped_budgets/project/b-proj', { amount: '0.000001' })).status,
    ).toBe(200);
    const tagged = {
      ...llmEvent('b-tagged', 'b-customer'),
      properties: { ...llmEvent('x', 'y').properties, project: 'b-proj' },
    };
    expect((await asB('POST', '/v1/events', { events: [tagged] })).body.accepted).toBe(1);
    // B's spend hold, an event that captured it, and B's balance-token key pair.
    expect(
      (await asB('POST', '/v1/customers/b-customer/holds', { id: 'b-hold', amount: '0.0001', expires_in: 3600 }))
        .status,
    ).toBe(201);
    expect(
      (await asB('POST', '/v1/events', { events: [{ ...llmEvent('b-captured', 'b-customer'), hold_id: 'b-hold' }] }))
        .body.accepted,
    ).toBe(1);
    expect((await asB('GET', '/v1/customers/b-customer/balance_token')).status).toBe(200);
    bBalanceKey = (await asB('GET', '/v1/balance_token_keys')).body.keys[0].x;
    // B's currency settings and a rate of its own source.
    expect(
      (await asB('PATCH', '/v1/currency_settings', { reporting_currency: 'CHF', fx_policy: 'finalization' })).status,
    ).toBe(200);
    expect(
      (
        await asB('POST', '/v1/fx_rates', {
          rates: [{ base: 'EUR', quote: 'CHF', rate: '0.9431', as_of: '2026-03-02T00:00:00Z', source: 'b-bank' }],
        })
      ).status,
    ).toBe(201);
    bUserId = (await trpc(harness, 'query', 'auth.me', undefined, b.session)).body.user.id;
    expect((await trpc(harness, 'mutation', 'portal.setBrand', { display_name: 'B brand' }, b.session)).status).toBe(
      200,
    );
    bPortalToken = (await trpc(harness, 'mutation', 'portal.createLink', { customer_id: 'b-customer' }, b.session)).body
      .token;
    // The same external id in two tenants is two customers.
    expect(
      (
        await rest(harness, 'POST', '/v1/customers', {
          key: a.secretKey,
          body: { external_id: 'shared-id', currency: 'EUR', name: 'A' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await rest(harness, 'POST', '/v1/customers', {
          key: a.secretKey,
          body: { external_id: 'a-customer', currency: 'USD' },
        })
      ).status,
    ).toBe(201);
    expect(
      (await rest(harness, 'POST', '/v1/price_books', { key: a.secretKey, body: { book: exampleBook('a-book') } }))
        .status,
    ).toBe(201);
    expect(
      (
        await rest(harness, 'PUT', '/v1/customers/a-customer/price_book', {
          key: a.secretKey,
          body: { price_book: 'a-book', effective_from: '2026-01-01T00:00:00Z' },
        })
      ).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("A cannot read or change any of B's objects through any REST route or tRPC procedure, and B's rows stay as they were", async () => {
    const before = await snapshotOf(b.tenantId);
    const asA = (method: string, path: string, body?: unknown) => () =>
      rest(harness, method, path, { key: a.secretKey, body });
    const asAtrpc = (kind: 'query' | 'mutation', procedure: string, input?: unknown) => () =>
      trpc(harness, kind, procedure, input, a.session);
    const notListed = (needle: string) => (result: { body?: any }) =>
      expect(JSON.stringify(result.body)).not.toContain(needle);
    const nextVersion = exampleBook('b-book', '2027-01-01T00:00:00Z').versions[0];
    const aPortalToken = (
      await trpc(harness, 'mutation', 'portal.createLink', { customer_id: 'a-customer' }, a.session)
    ).body.token;
    const asPortal = (kind: 'query' | 'mutation', procedure: string, input?: unknown) => () =>
      trpc(harness, kind, procedure, input, aPortalToken);
    const swapTenant = (token: string, tenantId: string) => {
      const [header, payload, signature] = token.split('.');
      return `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), tid: tenantId })).toString('base64url')}.${signature}`;
    };

    const attempts: Attempt[] = [
      {
        route: 'GET /customers',
        run: asA('GET', '/v1/customers?limit=1000'),
        status: 200,
        check: notListed('b-customer'),
      },
      {
        route: 'POST /customers',
        run: asA('POST', '/v1/customers', { external_id: 'a-child', currency: 'USD', parent_id: 'b-parent' }),
        status: 400,
      },
      { route: 'GET /customers/:id', run: asA('GET', '/v1/customers/b-customer'), status: 404 },
      {
        route: 'PATCH /customers/:id',
        run: asA('PATCH', '/v1/customers/b-customer', { name: 'hijacked' }),
        status: 404,
      },
      {
        route: 'PATCH /customers/:id',
        run: asA('PATCH', '/v1/customers/a-customer', { parent_id: 'b-parent' }),
        status: 400,
      },
      {
        route: 'PUT /customers/:id/price_book',
        run: asA('PUT', '/v1/customers/b-customer/price_book', {
          price_book: 'b-book',
          effective_from: '2027-01-01T00:00:00Z',
        }),
        status: 404,
      },
      {
        route: 'PUT /customers/:id/price_book',
        run: asA('PUT', '/v1/customers/a-customer/price_book', { price_book: 'b-book' }),
        status: 400,
      },
      {
        route: 'GET /meters',
        run: asA('GET', '/v1/meters?include_archived=true'),
        status: 200,
        check: notListed('b-meter'),
      },
      {
        route: 'POST /meters',
        run: asA('POST', '/v1/meters', { code: 'b-meter', name: 'A', event_type: 'e', aggregation: 'count' }),
        status: 201,
      },
      {
        route: 'GET /meters/:code',
        run: asA('GET', '/v1/meters/b-meter'),
        status: 200,
        check: (r) => expect(r.body.name).toBe('A'),
      },
      { route: 'PATCH /meters/:code', run: asA('PATCH', '/v1/meters/b-meter', { archived: true }), status: 200 },
      { route: 'GET /price_books', run: asA('GET', '/v1/price_books'), status: 200, check: notListed('b-book') },
      { route: 'GET /price_books/:code', run: asA('GET', '/v1/price_books/b-book'), status: 404 },
      {
        route: 'POST /price_books/:code/versions',
        run: asA('POST', '/v1/price_books/b-book/versions', { version: nextVersion }),
        status: 404,
      },
      { route: 'POST /price_books', run: asA('POST', '/v1/price_books', { book: exampleBook('b-book') }), status: 201 },
      { route: 'GET /api_keys', run: asA('GET', '/v1/api_keys'), status: 200, check: notListed(bKeyId) },
      { route: 'POST /api_keys', run: asA('POST', '/v1/api_keys', { kind: 'secret', name: 'a' }), status: 201 },
      { route: 'DELETE /api_keys/:id', run: asA('DELETE', `/v1/api_keys/${bKeyId}`), status: 404 },
      {
        route: 'GET /audit_log',
        run: asA('GET', '/v1/audit_log?limit=500'),
        status: 200,
        check: (r) => {
          expect(r.body.data.length).toBeGreaterThan(0);
          notListed('b-customer')(r);
          notListed(b.tenantId)(r);
        },
      },
      {
        route: 'GET /audit_log',
        run: asA('GET', `/v1/audit_log?entity_type=api_key&entity_id=${bKeyId}`),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },

      {
        route: 'trpc auth.me',
        run: asAtrpc('query', 'auth.me'),
        status: 200,
        check: (r) => expect(r.body.tenant.id).toBe(a.tenantId),
      },
      { route: 'trpc users.list', run: asAtrpc('query', 'users.list'), status: 200, check: notListed(bUserId) },
      {
        route: 'trpc users.changeRole',
        run: asAtrpc('mutation', 'users.changeRole', { user_id: bUserId, role: 'viewer' }),
        status: 404,
      },
      {
        route: 'trpc users.create',
        run: asAtrpc('mutation', 'users.create', {
          email: 'x@a.example',
          password: 'a long enough password',
          role: 'viewer',
        }),
        status: 200,
      },
      { route: 'trpc users.remove', run: asAtrpc('mutation', 'users.remove', { user_id: bUserId }), status: 404 },
      { route: 'trpc auth.resendVerification', run: asAtrpc('mutation', 'auth.resendVerification'), status: 200 },
      { route: 'GET /users', run: asA('GET', '/v1/users'), status: 200, check: notListed(bUserId) },
      {
        route: 'POST /users',
        run: asA('POST', '/v1/users', { email: 'y@a.example', password: 'a long enough password', role: 'viewer' }),
        status: 201,
      },
      { route: 'PATCH /users/:id', run: asA('PATCH', `/v1/users/${bUserId}`, { role: 'viewer' }), status: 404 },
      { route: 'DELETE /users/:id', run: asA('DELETE', `/v1/users/${bUserId}`), status: 404 },
      { route: 'trpc apiKeys.list', run: asAtrpc('query', 'apiKeys.list'), status: 200, check: notListed(bKeyId) },
      { route: 'trpc apiKeys.revoke', run: asAtrpc('mutation', 'apiKeys.revoke', { id: bKeyId }), status: 404 },
      {
        route: 'trpc apiKeys.create',
        run: asAtrpc('mutation', 'apiKeys.create', { kind: 'publishable', name: 'a' }),
        status: 200,
      },
      {
        route: 'trpc customers.list',
        run: asAtrpc('query', 'customers.list', {}),
        status: 200,
        check: notListed('b-customer'),
      },
      { route: 'trpc customers.get', run: asAtrpc('query', 'customers.get', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc customers.get',
        run: asAtrpc('query', 'customers.get', { id: 'shared-id' }),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ name: 'A', currency: 'EUR' }),
      },
      {
        route: 'trpc customers.create',
        run: asAtrpc('mutation', 'customers.create', { external_id: 'a-2', currency: 'USD', parent_id: 'b-customer' }),
        status: 400,
      },
      {
        route: 'trpc customers.update',
        run: asAtrpc('mutation', 'customers.update', { id: 'b-customer', changes: { name: 'x' } }),
        status: 404,
      },
      {
        route: 'trpc customers.assignPriceBook',
        run: asAtrpc('mutation', 'customers.assignPriceBook', {
          id: 'b-customer',
          assignment: { price_book: 'b-book', effective_from: '2028-01-01T00:00:00Z' },
        }),
        status: 404,
      },
      {
        route: 'trpc meters.list',
        run: asAtrpc('query', 'meters.list', { include_archived: true }),
        status: 200,
        check: (r) => expect(r.body.data.every((m: any) => m.name === 'A')).toBe(true),
      },
      {
        route: 'trpc meters.get',
        run: asAtrpc('query', 'meters.get', { code: 'b-meter' }),
        status: 200,
        check: (r) => expect(r.body.name).toBe('A'),
      },
      {
        route: 'trpc meters.create',
        run: asAtrpc('mutation', 'meters.create', {
          code: 'a-meter',
          name: 'A',
          event_type: 'e',
          aggregation: 'count',
        }),
        status: 200,
      },
      {
        route: 'trpc meters.update',
        run: asAtrpc('mutation', 'meters.update', { code: 'b-meter', changes: { name: 'A renamed' } }),
        status: 200,
      },
      { route: 'trpc priceBooks.list', run: asAtrpc('query', 'priceBooks.list', {}), status: 200 },
      {
        route: 'trpc priceBooks.get',
        run: asAtrpc('query', 'priceBooks.get', { code: 'b-book' }),
        status: 200,
        check: (r) => expect(r.body.created_by).not.toContain(bKeyId),
      },
      {
        route: 'trpc priceBooks.addVersion',
        run: asAtrpc('mutation', 'priceBooks.addVersion', { code: 'b-book', version: { version: nextVersion } }),
        status: 200,
      },
      {
        route: 'trpc priceBooks.create',
        run: asAtrpc('mutation', 'priceBooks.create', { book: exampleBook('a-book-2') }),
        status: 200,
      },
      {
        route: 'POST /events',
        run: asA('POST', '/v1/events', { events: [llmEvent('a-1', 'b-customer')] }),
        status: 200,
        check: (r) =>
          expect(r.body.events[0]).toMatchObject({ status: 'rejected', error: { code: 'customer_not_found' } }),
      },
      // Deduplication is per tenant: B's transaction id is new for A.
      {
        route: 'POST /events',
        run: asA('POST', '/v1/events', { events: [llmEvent('shared-tx', 'a-customer')] }),
        status: 200,
        check: (r) => expect(r.body.events[0].status).toBe('accepted'),
      },
      { route: 'GET /events/:transaction_id/receipt', run: asA('GET', '/v1/events/b-tx/receipt'), status: 404 },
      {
        route: 'GET /events/:transaction_id/receipt',
        run: asA('GET', '/v1/events/shared-tx/receipt'),
        status: 200,
        check: (r) => expect(r.body.customer_id).toBe('a-customer'),
      },
      { route: 'GET /customers/:id/usage', run: asA('GET', '/v1/customers/b-customer/usage'), status: 404 },
      {
        route: 'GET /customers/:id/usage/series',
        run: asA('GET', '/v1/customers/b-customer/usage/series?from=2026-03-01T00:00:00Z&until=2026-03-31T00:00:00Z'),
        status: 404,
      },
      {
        route: 'POST /estimates',
        run: asA('POST', '/v1/estimates', { price_book: 'b-book-only', events: [llmEvent('q', 'a-customer')] }),
        status: 404,
      },
      {
        route: 'trpc events.estimate',
        run: asAtrpc('mutation', 'events.estimate', {
          price_book: 'b-book-only',
          events: [llmEvent('q', 'a-customer')],
        }),
        status: 404,
      },
      {
        route: 'POST /price_books/import',
        run: asA('POST', '/v1/price_books/import', {
          source: 'genai-prices',
          catalogue: tinyCatalogue,
          book_id: 'b-book-only',
        }),
        status: 201,
        check: (r) => expect(r.body.price_book.code).toBe('b-book-only'),
      },
      {
        route: 'trpc priceBooks.import',
        run: asAtrpc('mutation', 'priceBooks.import', {
          source: 'genai-prices',
          catalogue: tinyCatalogue,
          book_id: 'b-book-only',
        }),
        status: 409,
      },
      // Updating another tenant's book from a catalogue: it does not exist for A.
      {
        route: 'POST /price_books/:code/import/preview',
        run: asA('POST', '/v1/price_books/b-plan-book/import/preview', {
          source: 'genai-prices',
          catalogue: tinyCatalogue,
          effective_from: '2030-01-01T00:00:00Z',
        }),
        status: 404,
      },
      {
        route: 'POST /price_books/:code/import',
        run: asA('POST', '/v1/price_books/b-plan-book/import', {
          source: 'genai-prices',
          catalogue: tinyCatalogue,
          effective_from: '2030-01-01T00:00:00Z',
        }),
        status: 404,
      },
      {
        route: 'trpc priceBooks.previewImportUpdate',
        run: asAtrpc('mutation', 'priceBooks.previewImportUpdate', {
          code: 'b-plan-book',
          update: { source: 'genai-prices', catalogue: tinyCatalogue, effective_from: '2030-01-01T00:00:00Z' },
        }),
        status: 404,
      },
      {
        route: 'trpc priceBooks.importUpdate',
        run: asAtrpc('mutation', 'priceBooks.importUpdate', {
          code: 'b-plan-book',
          update: { source: 'genai-prices', catalogue: tinyCatalogue, effective_from: '2030-01-01T00:00:00Z' },
        }),
        status: 404,
      },
      {
        route: 'trpc events.receipt',
        run: asAtrpc('query', 'events.receipt', { transaction_id: 'b-tx' }),
        status: 404,
      },
      {
        route: 'trpc events.ingest',
        run: asAtrpc('mutation', 'events.ingest', { events: [llmEvent('a-trpc-1', 'b-customer')] }),
        status: 200,
        check: (r) =>
          expect(r.body.events[0]).toMatchObject({ status: 'rejected', error: { code: 'customer_not_found' } }),
      },
      { route: 'trpc events.usage', run: asAtrpc('query', 'events.usage', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc audit.list',
        run: asAtrpc('query', 'audit.list', { limit: 500 }),
        status: 200,
        check: notListed(b.tenantId),
      },

      // Billing: wallets, credit grants, the ledger.
      { route: 'GET /customers/:id/wallet', run: asA('GET', '/v1/customers/b-customer/wallet'), status: 404 },
      {
        route: 'PATCH /customers/:id/wallet',
        run: asA('PATCH', '/v1/customers/b-customer/wallet', { on_depletion: 'block' }),
        status: 404,
      },
      {
        route: 'GET /customers/:id/credit_grants',
        run: asA('GET', '/v1/customers/b-customer/credit_grants'),
        status: 404,
      },
      {
        route: 'POST /customers/:id/credit_grants',
        run: asA('POST', '/v1/customers/b-customer/credit_grants', { kind: 'prepaid', amount: '5' }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/credit_grants/:grant_id/void',
        run: asA('POST', `/v1/customers/a-customer/credit_grants/${bGrantId}/void`, {}),
        status: 404,
      },
      {
        route: 'GET /ledger/accounts',
        run: asA('GET', '/v1/ledger/accounts'),
        status: 200,
        check: notListed(bGrantId),
      },
      {
        route: 'GET /ledger/transactions',
        run: asA('GET', `/v1/ledger/transactions?reference=${bGrantId}`),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'GET /ledger/transactions',
        run: asA('GET', '/v1/ledger/transactions?customer_id=b-customer'),
        status: 404,
      },
      { route: 'trpc wallets.get', run: asAtrpc('query', 'wallets.get', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc wallets.update',
        run: asAtrpc('mutation', 'wallets.update', { id: 'b-customer', changes: { on_depletion: 'block' } }),
        status: 404,
      },
      { route: 'trpc wallets.grants', run: asAtrpc('query', 'wallets.grants', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc wallets.createGrant',
        run: asAtrpc('mutation', 'wallets.createGrant', { id: 'b-customer', grant: { kind: 'prepaid', amount: '5' } }),
        status: 404,
      },
      {
        route: 'trpc wallets.voidGrant',
        run: asAtrpc('mutation', 'wallets.voidGrant', { id: 'a-customer', grant_id: bGrantId }),
        status: 404,
      },
      {
        route: 'trpc ledger.accounts',
        run: asAtrpc('query', 'ledger.accounts', {}),
        status: 200,
        check: notListed(bGrantId),
      },
      {
        route: 'trpc ledger.transactions',
        run: asAtrpc('query', 'ledger.transactions', { customer_id: 'b-customer' }),
        status: 404,
      },
      { route: 'GET /customers/:id/budget', run: asA('GET', '/v1/customers/b-customer/budget'), status: 404 },
      {
        route: 'PUT /customers/:id/budget',
        run: asA('PUT', '/v1/customers/b-customer/budget', { amount: '5' }),
        status: 404,
      },
      { route: 'DELETE /customers/:id/budget', run: asA('DELETE', '/v1/customers/b-customer/budget'), status: 404 },
      {
        route: 'GET /customers/:id/budget_alerts',
        run: asA('GET', '/v1/customers/b-customer/budget_alerts'),
        status: 404,
      },
      {
        route: 'POST /customers/:id/check',
        run: asA('POST', '/v1/customers/b-customer/check', { estimated_cost: '1' }),
        status: 404,
      },
      { route: 'trpc budgets.get', run: asAtrpc('query', 'budgets.get', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc budgets.set',
        run: asAtrpc('mutation', 'budgets.set', { id: 'b-customer', budget: { amount: '5' } }),
        status: 404,
      },
      { route: 'trpc budgets.delete', run: asAtrpc('mutation', 'budgets.delete', { id: 'b-customer' }), status: 404 },
      { route: 'trpc budgets.alerts', run: asAtrpc('query', 'budgets.alerts', { id: 'b-customer' }), status: 404 },
      { route: 'GET /plans', run: asA('GET', '/v1/plans'), status: 200, check: notListed('b-plan') },
      { route: 'GET /plans/:code', run: asA('GET', '/v1/plans/b-plan'), status: 404 },
      {
        route: 'POST /plans',
        run: asA('POST', '/v1/plans', { code: 'a-plan', name: 'A', price_book: 'b-plan-book', interval: 'month' }),
        status: 400,
      },
      {
        route: 'POST /plans',
        run: asA('POST', '/v1/plans', { code: 'b-plan', name: 'A', price_book: 'a-book', interval: 'month' }),
        status: 201,
      },
      {
        route: 'GET /customers/:id/subscription',
        run: asA('GET', '/v1/customers/b-subscriber/subscription'),
        status: 404,
      },
      {
        route: 'POST /customers/:id/subscriptions',
        run: asA('POST', '/v1/customers/b-subscriber/subscriptions', { plan: 'b-plan' }),
        status: 404,
      },
      {
        route: 'trpc plans.list',
        run: asAtrpc('query', 'plans.list', {}),
        status: 200,
        check: (r) => expect(r.body.data.map((p: any) => p.price_book)).toEqual(['a-book']),
      },
      {
        route: 'trpc plans.get',
        run: asAtrpc('query', 'plans.get', { code: 'b-plan' }),
        status: 200,
        check: (r) => expect(r.body.name).toBe('A'),
      },
      {
        route: 'trpc plans.create',
        run: asAtrpc('mutation', 'plans.create', {
          code: 'a-plan-2',
          name: 'A',
          price_book: 'b-plan-book',
          interval: 'month',
        }),
        status: 400,
      },
      {
        route: 'trpc subscriptions.get',
        run: asAtrpc('query', 'subscriptions.get', { id: 'b-subscriber' }),
        status: 404,
      },
      {
        route: 'trpc subscriptions.create',
        run: asAtrpc('mutation', 'subscriptions.create', { id: 'b-subscriber', subscription: { plan: 'b-plan' } }),
        status: 404,
      },
      { route: 'GET /invoices', run: asA('GET', '/v1/invoices?limit=100'), status: 200, check: notListed(bInvoiceId) },
      { route: 'GET /invoices', run: asA('GET', '/v1/invoices?customer_id=b-subscriber'), status: 404 },
      { route: 'GET /invoices/:id', run: asA('GET', `/v1/invoices/${bInvoiceId}`), status: 404 },
      { route: 'POST /invoices/:id/finalize', run: asA('POST', `/v1/invoices/${bInvoiceId}/finalize`), status: 404 },
      { route: 'POST /invoices/:id/pay', run: asA('POST', `/v1/invoices/${bInvoiceId}/pay`, {}), status: 404 },
      {
        route: 'POST /invoices/:id/void',
        run: asA('POST', `/v1/invoices/${bInvoiceId}/void`, { reason: 'x' }),
        status: 404,
      },
      {
        route: 'trpc invoices.list',
        run: asAtrpc('query', 'invoices.list', {}),
        status: 200,
        check: notListed(bInvoiceId),
      },
      { route: 'trpc invoices.get', run: asAtrpc('query', 'invoices.get', { id: bInvoiceId }), status: 404 },
      {
        route: 'trpc invoices.finalize',
        run: asAtrpc('mutation', 'invoices.finalize', { id: bInvoiceId }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/periods/close',
        run: asA('POST', '/v1/customers/b-subscriber/periods/close', {}),
        status: 404,
      },
      {
        route: 'trpc invoices.closePeriods',
        run: asAtrpc('mutation', 'invoices.closePeriods', { id: 'b-subscriber' }),
        status: 404,
      },
      { route: 'trpc invoices.pay', run: asAtrpc('mutation', 'invoices.pay', { id: bInvoiceId }), status: 404 },
      {
        route: 'trpc invoices.void',
        run: asAtrpc('mutation', 'invoices.void', { id: bInvoiceId, reason: 'x' }),
        status: 404,
      },
      {
        route: 'GET /customers/:id/pricing-snapshot',
        run: asA('GET', '/v1/customers/b-customer/pricing-snapshot'),
        status: 404,
      },
      { route: 'POST /quotes', run: asA('POST', '/v1/quotes', { event: llmEvent('q-b', 'b-customer') }), status: 404 },
      {
        route: 'trpc budgets.check',
        run: asAtrpc('query', 'budgets.check', { id: 'b-customer', request: { estimated_cost: '1' } }),
        status: 404,
      },
      // Amendments, credit notes and re-ratings.
      {
        route: 'GET /customers/:id/subscription/amendments',
        run: asA('GET', '/v1/customers/b-subscriber/subscription/amendments'),
        status: 404,
      },
      {
        route: 'POST /customers/:id/subscription/amendments',
        run: asA('POST', '/v1/customers/b-subscriber/subscription/amendments', {
          effective_at: '2026-03-20T00:00:00Z',
          discount_percent: '50',
        }),
        status: 404,
      },
      {
        route: 'trpc subscriptions.amendments',
        run: asAtrpc('query', 'subscriptions.amendments', { id: 'b-subscriber' }),
        status: 404,
      },
      {
        route: 'trpc subscriptions.amend',
        run: asAtrpc('mutation', 'subscriptions.amend', {
          id: 'b-subscriber',
          amendment: { effective_at: '2026-03-20T00:00:00Z', discount_percent: '50' },
        }),
        status: 404,
      },
      {
        route: 'POST /invoices/:id/credit_notes',
        run: asA('POST', `/v1/invoices/${bInvoiceId}/credit_notes`, { reason: 'x' }),
        status: 404,
      },
      {
        route: 'GET /credit_notes',
        run: asA('GET', '/v1/credit_notes?limit=100'),
        status: 200,
        check: notListed(bCreditNoteId),
      },
      {
        route: 'GET /credit_notes',
        run: asA('GET', `/v1/credit_notes?invoice_id=${bInvoiceId}`),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      { route: 'GET /credit_notes/:id', run: asA('GET', `/v1/credit_notes/${bCreditNoteId}`), status: 404 },
      {
        route: 'GET /reratings',
        run: asA('GET', '/v1/reratings?limit=100'),
        status: 200,
        check: notListed(bReratingId),
      },
      { route: 'GET /reratings/:id', run: asA('GET', `/v1/reratings/${bReratingId}`), status: 404 },
      { route: 'POST /reratings/:id/approve', run: asA('POST', `/v1/reratings/${bReratingId}/approve`), status: 404 },
      { route: 'GET /events/:transaction_id/revisions', run: asA('GET', '/v1/events/b-tx/revisions'), status: 404 },
      {
        route: 'GET /events/:transaction_id/revisions',
        run: asA('GET', '/v1/events/shared-tx/revisions'),
        status: 200,
        check: (r) => expect(r.body.data).toHaveLength(1),
      },
      {
        route: 'trpc creditNotes.list',
        run: asAtrpc('query', 'creditNotes.list', {}),
        status: 200,
        check: notListed(bCreditNoteId),
      },
      { route: 'trpc creditNotes.get', run: asAtrpc('query', 'creditNotes.get', { id: bCreditNoteId }), status: 404 },
      {
        route: 'trpc creditNotes.create',
        run: asAtrpc('mutation', 'creditNotes.create', { invoice_id: bInvoiceId, credit_note: { reason: 'x' } }),
        status: 404,
      },
      {
        route: 'trpc reratings.list',
        run: asAtrpc('query', 'reratings.list', {}),
        status: 200,
        check: notListed(bReratingId),
      },
      { route: 'trpc reratings.get', run: asAtrpc('query', 'reratings.get', { id: bReratingId }), status: 404 },
      {
        route: 'trpc reratings.approve',
        run: asAtrpc('mutation', 'reratings.approve', { id: bReratingId }),
        status: 404,
      },
      {
        route: 'trpc reratings.revisions',
        run: asAtrpc('query', 'reratings.revisions', { transaction_id: 'b-tx' }),
        status: 404,
      },
      { route: 'GET /customers/:id/sla_credits', run: asA('GET', '/v1/customers/b-customer/sla_credits'), status: 404 },
      {
        route: 'GET /customers/:id/scoped_budgets',
        run: asA('GET', '/v1/customers/b-customer/scoped_budgets'),
        status: 404,
      },
      {
        route: 'PUT /customers/:id/scoped_budgets/:kind/:value',
        run: asA('PUT', '/v1/customers/b-customer/scoped_budgets/project/b-proj', { amount: '5' }),
        status: 404,
      },
      {
        route: 'PUT /customers/:id/scoped_budgets/:kind/:value',
        run: asA('PUT', `/v1/customers/a-customer/scoped_budgets/api_key/${bKeyId}`, { amount: '5' }),
        status: 404,
      },
      {
        route: 'DELETE /customers/:id/scoped_budgets/:kind/:value',
        run: asA('DELETE', '/v1/customers/b-customer/scoped_budgets/project/b-proj'),
        status: 404,
      },
      { route: 'trpc budgets.scoped', run: asAtrpc('query', 'budgets.scoped', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc budgets.setScoped',
        run: asAtrpc('mutation', 'budgets.setScoped', {
          id: 'b-customer',
          kind: 'project',
          value: 'b-proj',
          budget: { amount: '5' },
        }),
        status: 404,
      },
      {
        route: 'trpc budgets.deleteScoped',
        run: asAtrpc('mutation', 'budgets.deleteScoped', { id: 'b-customer', kind: 'project', value: 'b-proj' }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/sla_credits',
        run: asA('POST', '/v1/customers/b-customer/sla_credits', { transaction_id: 'b-preempted', reason: 'x' }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/sla_credits',
        run: asA('POST', '/v1/customers/a-customer/sla_credits', { transaction_id: 'b-preempted', reason: 'x' }),
        status: 400,
      },
      { route: 'trpc slaCredits.list', run: asAtrpc('query', 'slaCredits.list', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc slaCredits.create',
        run: asAtrpc('mutation', 'slaCredits.create', {
          id: 'b-customer',
          credit: { transaction_id: 'b-preempted', reason: 'x' },
        }),
        status: 404,
      },
      {
        route: 'GET /webhook_endpoints',
        run: asA('GET', '/v1/webhook_endpoints'),
        status: 200,
        check: notListed(bEndpointId),
      },
      {
        route: 'POST /webhook_endpoints',
        run: asA('POST', '/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/a-hook' }),
        status: 201,
      },
      { route: 'GET /webhook_endpoints/:id', run: asA('GET', `/v1/webhook_endpoints/${bEndpointId}`), status: 404 },
      {
        route: 'PATCH /webhook_endpoints/:id',
        run: asA('PATCH', `/v1/webhook_endpoints/${bEndpointId}`, { enabled: false }),
        status: 404,
      },
      {
        route: 'DELETE /webhook_endpoints/:id',
        run: asA('DELETE', `/v1/webhook_endpoints/${bEndpointId}`),
        status: 404,
      },
      {
        route: 'POST /webhook_endpoints/:id/rotate_secret',
        run: asA('POST', `/v1/webhook_endpoints/${bEndpointId}/rotate_secret`, {}),
        status: 404,
      },
      {
        route: 'POST /webhook_endpoints/:id/test',
        run: asA('POST', `/v1/webhook_endpoints/${bEndpointId}/test`, {}),
        status: 404,
      },
      {
        route: 'POST /webhook_endpoints/:id/replay',
        run: asA('POST', `/v1/webhook_endpoints/${bEndpointId}/replay`, { since: '2026-01-01T00:00:00Z' }),
        status: 404,
      },
      {
        route: 'GET /webhook_endpoints/:id/deliveries',
        run: asA('GET', `/v1/webhook_endpoints/${bEndpointId}/deliveries`),
        status: 404,
      },
      {
        route: 'GET /webhook_messages',
        run: asA('GET', '/v1/webhook_messages'),
        status: 200,
        check: notListed(bMessageId),
      },
      {
        route: 'GET /webhook_messages/:id/attempts',
        run: asA('GET', `/v1/webhook_messages/${bMessageId}/attempts`),
        status: 404,
      },
      {
        route: 'POST /webhook_messages/:id/retry',
        run: asA('POST', `/v1/webhook_messages/${bMessageId}/retry`, { endpoint_id: bEndpointId }),
        status: 404,
      },
      {
        route: 'trpc webhooks.list',
        run: asAtrpc('query', 'webhooks.list'),
        status: 200,
        check: notListed(bEndpointId),
      },
      {
        route: 'trpc webhooks.create',
        run: asAtrpc('mutation', 'webhooks.create', { url: 'http://127.0.0.1:9/a-trpc' }),
        status: 200,
      },
      { route: 'trpc webhooks.get', run: asAtrpc('query', 'webhooks.get', { id: bEndpointId }), status: 404 },
      {
        route: 'trpc webhooks.update',
        run: asAtrpc('mutation', 'webhooks.update', { id: bEndpointId, input: { enabled: false } }),
        status: 404,
      },
      { route: 'trpc webhooks.delete', run: asAtrpc('mutation', 'webhooks.delete', { id: bEndpointId }), status: 404 },
      {
        route: 'trpc webhooks.rotateSecret',
        run: asAtrpc('mutation', 'webhooks.rotateSecret', { id: bEndpointId, input: {} }),
        status: 404,
      },
      {
        route: 'trpc webhooks.sendTest',
        run: asAtrpc('mutation', 'webhooks.sendTest', { id: bEndpointId, input: {} }),
        status: 404,
      },
      {
        route: 'trpc webhooks.replay',
        run: asAtrpc('mutation', 'webhooks.replay', { id: bEndpointId, input: { since: '2026-01-01T00:00:00Z' } }),
        status: 404,
      },
      {
        route: 'trpc webhooks.deliveries',
        run: asAtrpc('query', 'webhooks.deliveries', { id: bEndpointId, input: {} }),
        status: 404,
      },
      {
        route: 'trpc webhooks.messages',
        run: asAtrpc('query', 'webhooks.messages', {}),
        status: 200,
        check: notListed(bMessageId),
      },
      {
        route: 'trpc webhooks.attempts',
        run: asAtrpc('query', 'webhooks.attempts', { message_id: bMessageId }),
        status: 404,
      },
      {
        route: 'trpc webhooks.retry',
        run: asAtrpc('mutation', 'webhooks.retry', { message_id: bMessageId, endpoint_id: bEndpointId }),
        status: 404,
      },
      {
        route: 'GET /notifications',
        run: asA('GET', '/v1/notifications'),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'trpc notifications.list',
        run: asAtrpc('query', 'notifications.list', {}),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'POST /customers/:id/holds',
        run: asA('POST', '/v1/customers/b-customer/holds', { id: 'a-hold', amount: '1' }),
        status: 404,
      },
      // Hold ids are the tenant's own: B's id is free in A, and A's event cannot capture B's hold.
      {
        route: 'POST /events',
        run: asA('POST', '/v1/events', { events: [{ ...llmEvent('a-captures-b', 'a-customer'), hold_id: 'b-hold' }] }),
        status: 200,
        check: (r) => expect(r.body.events[0].error.code).toBe('hold_not_found'),
      },
      {
        route: 'POST /customers/:id/holds',
        run: asA('POST', '/v1/customers/a-customer/holds', { id: 'b-hold', amount: '1' }),
        status: 201,
        check: (r) => expect(r.body.customer_id).toBe('a-customer'),
      },
      { route: 'GET /customers/:id/holds', run: asA('GET', '/v1/customers/b-customer/holds'), status: 404 },
      {
        route: 'GET /customers/:id/holds/:hold_id',
        run: asA('GET', '/v1/customers/b-customer/holds/b-hold'),
        status: 404,
      },
      {
        route: 'POST /customers/:id/holds/:hold_id/extend',
        run: asA('POST', '/v1/customers/b-customer/holds/b-hold/extend', { expires_in: 60 }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/holds/:hold_id/release',
        run: asA('POST', '/v1/customers/b-customer/holds/b-hold/release'),
        status: 404,
      },
      {
        route: 'GET /customers/:id/balance_token',
        run: asA('GET', '/v1/customers/b-customer/balance_token'),
        status: 404,
      },
      {
        route: 'GET /balance_token_keys',
        run: asA('GET', '/v1/balance_token_keys'),
        status: 200,
        check: notListed(bBalanceKey),
      },
      {
        route: 'trpc holds.place',
        run: asAtrpc('mutation', 'holds.place', { id: 'b-customer', hold: { id: 'a-trpc-hold', amount: '1' } }),
        status: 404,
      },
      { route: 'trpc holds.list', run: asAtrpc('query', 'holds.list', { id: 'b-customer' }), status: 404 },
      {
        route: 'trpc holds.get',
        run: asAtrpc('query', 'holds.get', { id: 'b-customer', hold_id: 'b-hold' }),
        status: 404,
      },
      {
        route: 'trpc holds.extend',
        run: asAtrpc('mutation', 'holds.extend', {
          id: 'b-customer',
          hold_id: 'b-hold',
          extension: { expires_in: 60 },
        }),
        status: 404,
      },
      {
        route: 'trpc holds.release',
        run: asAtrpc('mutation', 'holds.release', { id: 'b-customer', hold_id: 'b-hold' }),
        status: 404,
      },
      {
        route: 'trpc holds.balanceToken',
        run: asAtrpc('query', 'holds.balanceToken', { id: 'b-customer' }),
        status: 404,
      },
      { route: 'GET /tax/settings', run: asA('GET', '/v1/tax/settings'), status: 404 },
      {
        route: 'PUT /tax/settings',
        run: asA('PUT', '/v1/tax/settings', { legal_name: 'A SARL', address: 'Paris', country: 'FR' }),
        status: 200,
        check: (r) => expect(r.body.legal_name).toBe('A SARL'),
      },
      {
        route: 'GET /tax/settings',
        run: asA('GET', '/v1/tax/settings'),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ legal_name: 'A SARL', registrations: [] }),
      },
      {
        route: 'GET /tax/report',
        run: asA('GET', '/v1/tax/report?from=2026-01-01&to=2026-12-31'),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'GET /tax/report.csv',
        run: async () => {
          const response = await fetch(`${harness.url}/v1/tax/report.csv?from=2026-01-01&to=2026-12-31`, {
            headers: { authorization: `Bearer ${a.secretKey}` },
          });
          return { status: response.status, body: await response.text() };
        },
        status: 200,
        check: (r) => expect(r.body).toBe('jurisdiction,tax,rate,rule,currency,documents,taxable,tax_amount\r\n'),
      },
      {
        route: 'POST /customers/:id/tax_id/verify',
        run: asA('POST', '/v1/customers/b-customer/tax_id/verify'),
        status: 404,
      },
      { route: 'GET /invoices/:id/pdf', run: asA('GET', `/v1/invoices/${bInvoiceId}/pdf`), status: 404 },
      { route: 'GET /invoices/:id/html', run: asA('GET', `/v1/invoices/${bInvoiceId}/html`), status: 404 },
      {
        route: 'trpc documents.invoice',
        run: asAtrpc('query', 'documents.invoice', { id: bInvoiceId, format: 'pdf' }),
        status: 404,
      },
      { route: 'GET /credit_notes/:id/pdf', run: asA('GET', `/v1/credit_notes/${bCreditNoteId}/pdf`), status: 404 },
      { route: 'GET /credit_notes/:id/html', run: asA('GET', `/v1/credit_notes/${bCreditNoteId}/html`), status: 404 },
      {
        route: 'trpc tax.settings',
        run: asAtrpc('query', 'tax.settings'),
        status: 200,
        check: (r) => expect(r.body.legal_name).toBe('A SARL'),
      },
      {
        route: 'trpc tax.updateSettings',
        run: asAtrpc('mutation', 'tax.updateSettings', { legal_name: 'A SAS', address: 'Lyon', country: 'FR' }),
        status: 200,
      },
      {
        route: 'trpc tax.report',
        run: asAtrpc('query', 'tax.report', { from: '2026-01-01', to: '2026-12-31' }),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'trpc tax.reportCsv',
        run: asAtrpc('query', 'tax.reportCsv', { from: '2026-01-01', to: '2026-12-31' }),
        status: 200,
        check: (r) => expect(r.body.csv.split('\r\n')).toHaveLength(2),
      },
      {
        route: 'trpc customers.verifyTaxId',
        run: asAtrpc('mutation', 'customers.verifyTaxId', { id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'GET /billing_settings',
        run: asA('GET', '/v1/billing_settings'),
        status: 200,
        check: (r) => expect(r.body).toEqual({ credit_expiry_notice_days: 7, invoice_emails: true }),
      },
      {
        route: 'PUT /billing_settings',
        run: asA('PUT', '/v1/billing_settings', { credit_expiry_notice_days: 3 }),
        status: 200,
      },
      {
        route: 'trpc wallets.settings',
        run: asAtrpc('query', 'wallets.settings'),
        status: 200,
        check: (r) => expect(r.body.credit_expiry_notice_days).toBe(3),
      },
      {
        route: 'trpc wallets.updateSettings',
        run: asAtrpc('mutation', 'wallets.updateSettings', { credit_expiry_notice_days: 4 }),
        status: 200,
      },
      {
        route: 'trpc insights.customers',
        run: asAtrpc('query', 'insights.customers', { limit: 200 }),
        status: 200,
        check: (r) => {
          expect(r.body.data.length).toBeGreaterThan(0);
          notListed('b-customer')(r);
          notListed('b-parent')(r);
        },
      },
      {
        route: 'trpc insights.customers',
        run: asAtrpc('query', 'insights.customers', { query: 'b-' }),
        status: 200,
        check: (r) => expect(r.body.data).toEqual([]),
      },
      {
        route: 'trpc insights.customers',
        run: asAtrpc('query', 'insights.customers', { parent_id: 'b-parent' }),
        status: 404,
      },
      {
        route: 'trpc insights.customer',
        run: asAtrpc('query', 'insights.customer', { id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'trpc insights.customer',
        run: asAtrpc('query', 'insights.customer', { id: 'shared-id' }),
        status: 200,
        check: (r) => expect(r.body.summary).toMatchObject({ name: 'A', currency: 'EUR' }),
      },
      {
        route: 'trpc insights.usageSeries',
        run: asAtrpc('query', 'insights.usageSeries', {
          customer_id: 'b-customer',
          from: '2026-03-01T00:00:00Z',
          until: '2026-03-31T00:00:00Z',
        }),
        status: 404,
      },
      {
        route: 'trpc portal.createLink',
        run: asAtrpc('mutation', 'portal.createLink', { customer_id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'POST /customers/:id/portal_links',
        run: asA('POST', '/v1/customers/b-customer/portal_links', {}),
        status: 404,
      },
      {
        route: 'POST /customers/:id/portal_tokens',
        run: asA('POST', '/v1/customers/b-customer/portal_tokens', { expires_in: 3600 }),
        status: 404,
      },
      {
        route: 'trpc portal.createEmbedToken',
        run: asAtrpc('mutation', 'portal.createEmbedToken', { customer_id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'trpc portal.setBrand',
        run: asAtrpc('mutation', 'portal.setBrand', { customer_id: 'b-parent', display_name: 'A' }),
        status: 404,
      },
      {
        route: 'trpc portal.setBrand',
        run: asAtrpc('mutation', 'portal.setBrand', { display_name: 'A brand' }),
        status: 200,
      },
      {
        route: 'trpc portal.brand',
        run: asAtrpc('query', 'portal.brand', {}),
        status: 200,
        check: (r) => expect(r.body.display_name).toBe('A brand'),
      },
      { route: 'trpc portal.brand', run: asAtrpc('query', 'portal.brand', { customer_id: 'b-parent' }), status: 404 },
      { route: 'GET /customers/:id/brand', run: asA('GET', '/v1/customers/b-parent/brand'), status: 404 },
      {
        route: 'PUT /customers/:id/brand',
        run: asA('PUT', '/v1/customers/b-parent/brand', { legal_name: 'A takes over', invoice_prefix: 'AAA' }),
        status: 404,
      },
      {
        route: 'trpc portal.resellerBrand',
        run: asAtrpc('query', 'portal.resellerBrand', { id: 'b-parent' }),
        status: 404,
      },
      {
        route: 'trpc portal.resellerLogo',
        run: asAtrpc('query', 'portal.resellerLogo', { id: 'b-parent' }),
        status: 404,
      },
      {
        route: 'trpc portal.setResellerBrand',
        run: asAtrpc('mutation', 'portal.setResellerBrand', { id: 'b-parent', legal_name: 'A takes over' }),
        status: 404,
      },
      // A's session is no portal token, and A's portal token opens A's customer only.
      { route: 'trpc portal.summary', run: asAtrpc('query', 'portal.summary'), status: 401 },
      {
        route: 'trpc portal.summary',
        run: asPortal('query', 'portal.summary'),
        status: 200,
        check: (r) => {
          expect(r.body.customer.external_id).toBe('a-customer');
          expect(r.body.brand.name).toBe('A brand');
        },
      },
      {
        route: 'trpc portal.usage',
        run: asPortal('query', 'portal.usage'),
        status: 200,
        check: (r) => expect(r.body.customer_id).toBe('a-customer'),
      },
      {
        route: 'trpc portal.usageSeries',
        run: asPortal('query', 'portal.usageSeries', { from: '2026-03-01T00:00:00Z', until: '2026-03-31T00:00:00Z' }),
        status: 200,
        check: (r) => expect(r.body.customer_id).toBe('a-customer'),
      },
      {
        route: 'trpc portal.credits',
        run: asPortal('query', 'portal.credits'),
        status: 200,
        check: (r) => {
          expect(r.body.customer_id).toBe('a-customer');
          notListed(bGrantId)(r);
        },
      },
      { route: 'trpc portal.payment', run: asAtrpc('query', 'portal.payment'), status: 401 },
      {
        route: 'trpc portal.payment',
        run: asPortal('query', 'portal.payment'),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ stripe_connected: false, default_payment_method: null }),
      },
      // A's own customer, and A has no Stripe: a precondition, never B's customer.
      { route: 'trpc portal.paymentSetupLink', run: asPortal('mutation', 'portal.paymentSetupLink'), status: 412 },
      {
        route: 'GET /stripe/connection',
        run: asA('GET', '/v1/stripe/connection'),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ connected: false, key_last4: null }),
      },
      {
        route: 'PUT /stripe/connection',
        run: asA('PUT', '/v1/stripe/connection', {
          secret_key: 'rk_test_abcdefghijkl',
          webhook_secret: 'whsec_abcdefghijkl',
        }),
        status: 422,
      },
      { route: 'DELETE /stripe/connection', run: asA('DELETE', '/v1/stripe/connection'), status: 404 },
      {
        route: 'GET /stripe/events',
        run: asA('GET', '/v1/stripe/events'),
        status: 200,
        check: notListed('evt_b_only'),
      },
      // B's Stripe endpoint takes only what B's signing secret signed.
      {
        route: 'POST /stripe/events/:tenant',
        run: asA('POST', `/v1/stripe/events/${b.slug}`, {
          id: 'evt_forged',
          type: 'payment_intent.succeeded',
          data: { object: {} },
        }),
        status: 400,
      },
      {
        route: 'GET /dunning_policy',
        run: asA('GET', '/v1/dunning_policy'),
        status: 200,
        check: (r) => expect(r.body).toEqual({ retry_after_days: [1, 3, 5, 7], block_after_days: null }),
      },
      { route: 'PUT /dunning_policy', run: asA('PUT', '/v1/dunning_policy', { retry_after_days: [1] }), status: 200 },
      { route: 'GET /customers/:id/payment', run: asA('GET', '/v1/customers/b-customer/payment'), status: 404 },
      {
        route: 'POST /customers/:id/payment_setup_link',
        run: asA('POST', '/v1/customers/b-customer/payment_setup_link', {}),
        status: 404,
      },
      { route: 'GET /invoices/:id/collection', run: asA('GET', `/v1/invoices/${bInvoiceId}/collection`), status: 404 },
      {
        route: 'POST /invoices/:id/retry_payment',
        run: asA('POST', `/v1/invoices/${bInvoiceId}/retry_payment`),
        status: 404,
      },
      {
        route: 'POST /invoices/:id/mark_uncollectible',
        run: asA('POST', `/v1/invoices/${bInvoiceId}/mark_uncollectible`, {}),
        status: 404,
      },
      {
        route: 'POST /invoices/:id/write_off',
        run: asA('POST', `/v1/invoices/${bInvoiceId}/write_off`, {}),
        status: 404,
      },
      {
        route: 'trpc payments.connection',
        run: asAtrpc('query', 'payments.connection'),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ connected: false }),
      },
      {
        route: 'trpc payments.connect',
        run: asAtrpc('mutation', 'payments.connect', {
          secret_key: 'rk_test_abcdefghijkl',
          webhook_secret: 'whsec_abcdefghijkl',
        }),
        status: 412,
      },
      { route: 'trpc payments.disconnect', run: asAtrpc('mutation', 'payments.disconnect'), status: 404 },
      {
        route: 'trpc payments.events',
        run: asAtrpc('query', 'payments.events', {}),
        status: 200,
        check: notListed('evt_b_only'),
      },
      {
        route: 'trpc payments.dunningPolicy',
        run: asAtrpc('query', 'payments.dunningPolicy'),
        status: 200,
        check: (r) => expect(r.body.retry_after_days).not.toEqual([2, 9]),
      },
      {
        route: 'trpc payments.setDunningPolicy',
        run: asAtrpc('mutation', 'payments.setDunningPolicy', { retry_after_days: [1, 2] }),
        status: 200,
      },
      {
        route: 'trpc payments.customer',
        run: asAtrpc('query', 'payments.customer', { id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'trpc payments.setupLink',
        run: asAtrpc('mutation', 'payments.setupLink', { id: 'b-customer' }),
        status: 404,
      },
      {
        route: 'trpc payments.collection',
        run: asAtrpc('query', 'payments.collection', { id: bInvoiceId }),
        status: 404,
      },
      { route: 'trpc payments.retry', run: asAtrpc('mutation', 'payments.retry', { id: bInvoiceId }), status: 404 },
      {
        route: 'trpc payments.markUncollectible',
        run: asAtrpc('mutation', 'payments.markUncollectible', { id: bInvoiceId, input: {} }),
        status: 404,
      },
      {
        route: 'trpc payments.writeOff',
        run: asAtrpc('mutation', 'payments.writeOff', { id: bInvoiceId, input: {} }),
        status: 404,
      },
      {
        route: 'trpc portal.invoices',
        run: asPortal('query', 'portal.invoices', {}),
        status: 200,
        check: notListed(bInvoiceId),
      },
      { route: 'trpc portal.invoice', run: asPortal('query', 'portal.invoice', { id: bInvoiceId }), status: 404 },
      {
        route: 'trpc simulations.run',
        run: asAtrpc('mutation', 'simulations.run', {
          price_book: 'b-plan-book',
          draft: exampleBook('x').versions[0],
          from: '2026-03-01T00:00:00Z',
          until: '2026-04-01T00:00:00Z',
        }),
        status: 404,
      },
      {
        route: 'trpc simulations.run',
        run: asAtrpc('mutation', 'simulations.run', {
          price_book: 'a-book',
          draft: exampleBook('x').versions[0],
          from: '2026-03-01T00:00:00Z',
          until: '2026-04-01T00:00:00Z',
          customers: ['b-customer'],
        }),
        status: 404,
      },
      {
        route: 'trpc simulations.run',
        run: asAtrpc('mutation', 'simulations.run', {
          price_book: 'a-book',
          draft: exampleBook('x').versions[0],
          from: '2026-03-01T00:00:00Z',
          until: '2026-04-01T00:00:00Z',
        }),
        status: 200,
        check: (r) => {
          expect(r.body.customers.map((c: any) => c.customer_id)).toEqual(['a-customer']);
          notListed('b-customer')(r);
        },
      },
      {
        route: 'trpc simulations.receipt',
        run: asAtrpc('mutation', 'simulations.receipt', {
          price_book: 'a-book',
          draft: exampleBook('x').versions[0],
          transaction_id: 'b-tx',
        }),
        status: 404,
      },
      // B's token with its tenant swapped for A's: the signature no longer holds.
      {
        route: 'trpc portal.summary',
        run: () => trpc(harness, 'query', 'portal.summary', undefined, swapTenant(bPortalToken, a.tenantId)),
        status: 401,
      },
      {
        route: 'GET /currency_settings',
        run: asA('GET', '/v1/currency_settings'),
        status: 200,
        check: (r) => expect(r.body).toEqual({ reporting_currency: 'USD', fx_policy: 'period_end', updated_at: null }),
      },
      {
        route: 'PATCH /currency_settings',
        run: asA('PATCH', '/v1/currency_settings', { reporting_currency: 'EUR' }),
        status: 200,
        check: (r) => expect(r.body.fx_policy).toBe('period_end'),
      },
      {
        route: 'trpc currency.settings',
        run: asAtrpc('query', 'currency.settings'),
        status: 200,
        check: (r) => expect(r.body.reporting_currency).toBe('EUR'),
      },
      {
        route: 'trpc currency.updateSettings',
        run: asAtrpc('mutation', 'currency.updateSettings', { fx_policy: 'period_end' }),
        status: 200,
      },
      { route: 'GET /fx_rates', run: asA('GET', '/v1/fx_rates'), status: 200, check: notListed('b-bank') },
      {
        route: 'POST /fx_rates',
        run: asA('POST', '/v1/fx_rates', {
          rates: [{ base: 'EUR', quote: 'CHF', rate: '0.95', as_of: '2026-03-02T00:00:00Z', source: 'a-bank' }],
        }),
        status: 201,
        check: (r) => expect(r.body).toMatchObject({ inserted: 1, replaced: 0 }),
      },
      {
        route: 'POST /fx_rates/ecb',
        run: asA('POST', '/v1/fx_rates/ecb', { csv: 'Date,CHF\n2026-03-02,0.96\n', source: 'a-ecb' }),
        status: 201,
        check: (r) => expect(r.body).toMatchObject({ inserted: 0, replaced: 1 }),
      },
      {
        route: 'trpc currency.rates',
        run: asAtrpc('query', 'currency.rates', { quote: 'CHF' }),
        status: 200,
        check: (r) => expect(r.body.data.map((x: any) => x.source)).toEqual(['a-ecb']),
      },
      {
        route: 'trpc currency.supplyRates',
        run: asAtrpc('mutation', 'currency.supplyRates', {
          rates: [{ base: 'EUR', quote: 'CHF', rate: '0.97', as_of: '2026-03-03T00:00:00Z', source: 'a-bank' }],
        }),
        status: 200,
      },
      {
        route: 'trpc currency.importEcb',
        run: asAtrpc('mutation', 'currency.importEcb', { csv: 'Date,CHF\n2026-03-04,0.98\n' }),
        status: 200,
      },
      {
        route: 'GET /reports/revenue',
        run: asA('GET', '/v1/reports/revenue?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z'),
        status: 200,
        check: (r) => expect(r.body.invoices).toEqual([]),
      },
      {
        route: 'trpc currency.revenueReport',
        run: asAtrpc('query', 'currency.revenueReport', { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }),
        status: 200,
        check: (r) => expect(r.body.totals.invoices).toBe(0),
      },
      {
        route: 'GET /resellers/:customer_id/margins',
        run: asA('GET', '/v1/resellers/b-parent/margins?from=2026-03-01&to=2026-03-31'),
        status: 404,
      },
      {
        route: 'GET /margins',
        run: asA('GET', '/v1/margins?from=2026-03-01&to=2026-03-31&group_by=level,end_user'),
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ data: [], totals: [] }),
      },
      {
        route: 'trpc resellers.margins',
        run: asAtrpc('query', 'resellers.margins', { customer_id: 'b-parent', from: '2026-03-01', to: '2026-03-31' }),
        status: 404,
      },
      {
        route: 'trpc resellers.marginsCsv',
        run: asAtrpc('query', 'resellers.marginsCsv', { from: '2026-03-01', to: '2026-03-31', group_by: 'end_user' }),
        status: 200,
        check: (r) => expect(r.body.csv).toBe('end_user_id,currency,events,resale,charge,margin\r\n'),
      },
    ];

    for (const attempt of attempts) {
      const result = await attempt.run();
      expect(result.status, `${attempt.route}: ${JSON.stringify(result.body ?? result.error)}`).toBe(attempt.status);
      attempt.check?.(result);
    }

    // Every route and procedure of the app was tried (a new one must be added here).
    const tried = new Set(attempts.map((x) => x.route));
    const app = createApp({ db: harness.database.app, clock: harness.clock }) as any;
    const routes: string[] = [];
    const walk = (stack: any[]) => {
      for (const layer of stack) {
        if (layer.route)
          for (const method of Object.keys(layer.route.methods))
            routes.push(`${method.toUpperCase()} ${layer.route.path}`);
        else if (layer.handle?.stack) walk(layer.handle.stack);
      }
    };
    walk(app.router.stack);
    // Public account routes (/v1/auth/...) name no tenant object: the accounts tests cover them.
    const publicRoutes = [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
      'POST /auth/signup',
      'POST /auth/login',
      'POST /auth/logout',
      'POST /auth/verify_email',
      'POST /auth/password_reset',
      'POST /auth/password_reset/confirm',
    ];
    expect(routes.filter((r) => !publicRoutes.includes(r) && !tried.has(r))).toEqual([]);
    const procedures = Object.keys((appRouter as any)._def.procedures);
    const tenantless = [
      'auth.signup',
      'auth.login',
      'auth.logout',
      'auth.verifyEmail',
      'auth.requestPasswordReset',
      'auth.resetPassword',
    ];
    expect(procedures.filter((p) => !tenantless.includes(p) && !tried.has(`trpc ${p}`))).toEqual([]);

    // A's writes landed in A; B's rows are exactly as before, and B still works with its own key.
    expect(await snapshotOf(b.tenantId)).toEqual(before);
    const bCustomer = await rest(harness, 'GET', '/v1/customers/b-customer', { key: b.secretKey });
    expect(bCustomer.body).toMatchObject({ parent_id: 'b-parent', price_book: { code: 'b-book' } });
    expect((await rest(harness, 'GET', '/v1/price_books/b-book', { key: b.secretKey })).body.versions).toHaveLength(1);
    expect((await rest(harness, 'GET', '/v1/price_books/b-book-only', { key: b.secretKey })).body.book).toEqual(
      exampleBook('b-book-only'),
    );
    const bReceipt = await rest(harness, 'GET', '/v1/events/shared-tx/receipt', { key: b.secretKey });
    expect(bReceipt.body.customer_id).toBe('b-customer');
  });

  it("A's owner cannot log into B by naming B's tenant", async () => {
    const login = await trpc(harness, 'mutation', 'auth.login', {
      tenant: b.slug,
      email: a.email,
      password: 'correct horse battery staple',
    });
    expect(login.status).toBe(401);
    const own = await trpc(harness, 'mutation', 'auth.login', {
      tenant: a.slug,
      email: a.email,
      password: 'correct horse battery staple',
    });
    expect(own.body.tenant_id).toBe(a.tenantId);
  });

  describe('in the database, as the service role', () => {
    it('sees no tenant row and can write none without app.tenant_id', async () => {
      const tables = await harness.database.owner`
        select c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'
        where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace order by 1`;
      expect(tables.length).toBeGreaterThanOrEqual(10);
      // The scenario re-rates nothing: a revision as re-rating appends one (migration 070), so that table has a row too.
      await harness.database.owner`
        insert into event_revisions (tenant_id, transaction_id, revision, customer_id, period_start, price_book_id, book_version, kernel_version,
                                     card, currency, amount, subtotal, cost, margin, receipt, rated_at)
        select tenant_id, transaction_id, 2, customer_id, period_start, price_book_id, book_version, kernel_version,
               card, currency, amount, subtotal, cost, margin, receipt, received_at
        from events where not exists (select 1 from event_revisions) limit 1`;
      for (const { relname } of tables) {
        const [owner] = await harness.database.owner.unsafe(`select count(*)::int as n from ${relname}`);
        const [service] = await harness.database.app.unsafe(`select count(*)::int as n from ${relname}`);
        expect(owner.n, relname).toBeGreaterThan(0);
        expect(service.n, relname).toBe(0);
      }
      const [{ current_user }] = await harness.database.app`select current_user`;
      expect(current_user).toBe('tariff_app');
      await expect(
        harness.database.app`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at)
          values (${b.tenantId}, gen_random_uuid(), 'forged', 'USD', now(), now())`,
      ).rejects.toThrow(/row-level security/);
    });

    it("with app.tenant_id = A, cannot see, change or create B's rows", async () => {
      await withTenant(harness.database.app, a.tenantId, async (tx) => {
        expect(await tx`select * from customers where tenant_id = ${b.tenantId}`).toHaveLength(0);
        const all = await tx`select distinct tenant_id from customers`;
        expect(all.map((r) => r.tenant_id)).toEqual([a.tenantId]);
        expect((await tx`update customers set name = 'x' where tenant_id = ${b.tenantId}`).count).toBe(0);
        await expect(
          tx.savepoint(
            (sp) => sp`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at)
            values (${b.tenantId}, gen_random_uuid(), 'forged', 'USD', now(), now())`,
          ),
        ).rejects.toThrow(/row-level security/);
        // Moving an A row to B is a write into B.
        await expect(
          tx.savepoint((sp) => sp`update customers set tenant_id = ${b.tenantId} where external_id = 'a-customer'`),
        ).rejects.toThrow(/permission denied|row-level security/);
      });
    });

    it('cannot switch RLS off or become the owner', async () => {
      await expect(
        harness.database.app.begin((tx) => tx`set local row_security = off`.then(() => tx`select * from customers`)),
      ).rejects.toThrow(/row-level security/);
      await expect(harness.database.app`set role postgres`).rejects.toThrow(/permission denied/);
      const [role] = await harness.database
        .owner`select rolsuper, rolbypassrls from pg_roles where rolname = 'tariff_app'`;
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
    });

    it('does not carry a tenant from one transaction into the next use of the connection', async () => {
      const single = await harness.database.app.reserve();
      try {
        await single`begin`;
        await single`select set_config('app.tenant_id', ${a.tenantId}, true)`;
        expect((await single`select count(*)::int as n from customers`)[0].n).toBeGreaterThan(0);
        await single`commit`;
        expect((await single`select count(*)::int as n from customers`)[0].n).toBe(0);
      } finally {
        single.release();
      }
    });
  });
});
