// Ready for Citus, distributed by tenant_id, without running it (service/docs/scale-out.md): read from the catalog,
// every tenant table's keys lead with tenant_id; and every statement the service sends during a billing scenario
// (ingest, close, invoices, credits, holds, re-rating, payments, refunds, webhooks, the dashboard's reads) pins one
// tenant and ties each tenant table it names to tenant_id, so the coordinator can route it to one shard. Both
// checks read the tables from the catalog, not from a list, so they hold as tables come and go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobDefinitions } from '../../service/src/jobs.ts';
import type { Db } from '../../service/src/platform/db.ts';
import { installJobs, JOB_SCHEMA } from '../../service/src/platform/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { billingBook, tokens } from '../billing/fixtures.ts';
import {
  connectStripe,
  customerWithUsage,
  saveCard,
  startPaymentsScenario,
  stopPaymentsScenario,
  type PaymentsScenario,
} from '../payments/setup.ts';
import { stripeClientFor } from '../stripe/double.ts';
import { eventually } from '../wait.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';
import { exampleBook, trpc } from './harness.ts';
import { normalizeStatement, routingVerdict, tableReferences } from './tenant-sql.ts';

/** Public tables without tenant_id, and why each may stay so. */
const untenantedTables: Record<string, string> = {
  schema_migrations: 'migration bookkeeping: a coordinator-local table, never read by the service',
};

/** Tables replicated to every node (Citus reference tables) rather than distributed, and why. */
const referenceTables: Record<string, string> = {
  tenants:
    'one row per tenant, read by slug before a tenant is known (login, Stripe event routing) and written at sign-up only; ' +
    'its slug is unique across tenants, which a distributed table could not enforce',
};

/** Unique constraints and indexes that do not lead with tenant_id, and why each holds under Citus. */
const globalUniques: Record<string, string> = {
  tenants_slug_unique: 'on the reference table tenants: enforced on every node, as on one PostgreSQL',
};

/**
 * SECURITY DEFINER functions: the only SQL that reads across tenants. Each runs before a tenant is known or scans
 * for due work across tenants, returning keys only; what is then done with a key runs in withTenant, routed.
 */
const crossTenantFunctions: Record<string, string> = {
  auth_api_key: 'API key -> tenant by the key hash, before any tenant is known: one indexed probe on every shard',
  auth_session: 'dashboard session -> tenant by the token hash: one indexed probe on every shard',
  auth_user_token: 'email verification / password reset token -> tenant by its hash: one indexed probe on every shard',
  auth_login_user: 'login: the reference table tenants by slug, then users of that tenant',
  stripe_event_tenant: "a Stripe event's endpoint slug -> tenant: the reference table tenants alone",
  billing_due_periods: 'the scheduler: ended periods across tenants, keys only, once per tick',
  billing_due_invoices: 'the scheduler: drafts due to finalize across tenants, keys only, once per tick',
  billing_due_thresholds: 'the scheduler: periods past a progressive-billing threshold, keys only, once per tick',
  billing_due_grant_expiries: 'the scheduler: expired credit grants, keys only, once per tick',
  billing_due_expiry_notices: 'the scheduler: grants due an expiry notice, keys only, once per tick',
  billing_due_hold_expiries: 'the scheduler: expired spend holds, keys only, once per tick',
  billing_due_reratings: 'the scheduler: re-ratings to preview or apply, keys only, once per tick',
  payments_due_invoices: 'the scheduler: invoices to charge or retry, keys only, once per tick',
  webhook_due_endpoints: 'the webhook dispatcher: endpoints with due deliveries, keys only, once per poll',
  pending_emails: 'the mail sender: unsent emails, keys only, once per poll',
  customers_move_subtree:
    "not cross-tenant: the re-parenting trigger rewrites the moved subtree's paths within the row's tenant (the service role has no grant on customers.path; RLS still applies)",
};

interface Catalog {
  /** Every ordinary or partitioned table in public, with whether it has a tenant_id column. */
  tables: { name: string; tenanted: boolean }[];
  /** Views with a tenant_id column (e.g. event_ratings over events and event_revisions): routed as their tables are. */
  tenantViews: string[];
  constraints: {
    name: string;
    table: string;
    type: 'p' | 'u' | 'f' | 'x';
    columns: string[];
    referenced: string | null;
    referencedColumns: string[];
  }[];
  uniqueIndexes: { name: string; table: string; columns: (string | null)[]; constraint: boolean }[];
  securityDefiners: string[];
}

async function readCatalog(owner: Db): Promise<Catalog> {
  const tables = await owner<{ name: string; tenanted: boolean }[]>`
    select c.relname as name,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenanted
    from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition order by 1`;
  const constraints = await owner<Catalog['constraints']>`
    select con.conname as name, c.relname as table, con.contype as type,
           array(select a.attname::text from unnest(con.conkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.i) as columns,
           r.relname as referenced,
           array(select a.attname::text from unnest(con.confkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.i) as "referencedColumns"
    from pg_constraint con join pg_class c on c.oid = con.conrelid left join pg_class r on r.oid = con.confrelid
    where con.contype in ('p', 'u', 'f', 'x') and c.relnamespace = 'public'::regnamespace order by 1`;
  // Expression columns come back as null: an index on an expression cannot lead with tenant_id.
  const uniqueIndexes = await owner<Catalog['uniqueIndexes']>`
    select i.relname as name, c.relname as table,
           array(select a.attname::text from unnest(x.indkey::int2[]) with ordinality k(n, i) left join pg_attribute a on a.attrelid = c.oid and a.attnum = k.n order by k.i) as columns,
           exists (select 1 from pg_constraint con where con.conindid = i.oid) as constraint
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
    where x.indisunique and c.relnamespace = 'public'::regnamespace order by 1`;
  const definers = await owner<
    { name: string }[]
  >`select proname as name from pg_proc where pronamespace = 'public'::regnamespace and prosecdef order by 1`;
  const views = await owner<{ name: string }[]>`
    select c.relname as name from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
    order by 1`;
  return {
    tables,
    tenantViews: views.map((v) => v.name),
    constraints,
    uniqueIndexes,
    securityDefiners: definers.map((d) => d.name),
  };
}

describe('the schema, read from the catalog of a freshly migrated database', () => {
  let database: TestDatabase;
  let catalog: Catalog;
  let tenantTables: Set<string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    await installJobs(database.owner, jobDefinitions);
    catalog = await readCatalog(database.owner);
    tenantTables = new Set(catalog.tables.filter((t) => t.tenanted).map((t) => t.name));
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('gives every public table a tenant_id column, but for the justified exceptions', () => {
    expect(tenantTables.size).toBeGreaterThan(30);
    const without = catalog.tables.filter((t) => !t.tenanted).map((t) => t.name);
    expect(without).toEqual(Object.keys(untenantedTables).sort());
    for (const table of Object.keys(referenceTables)) expect(tenantTables.has(table), table).toBe(true);
  });

  it("leads every tenant table's primary key with tenant_id", () => {
    const primaryKeys = new Map(catalog.constraints.filter((c) => c.type === 'p').map((c) => [c.table, c.columns]));
    const problems = [...tenantTables]
      .filter((table) => primaryKeys.get(table)?.[0] !== 'tenant_id')
      .map((table) => `${table}: ${primaryKeys.get(table) ?? 'no primary key'}`);
    expect(problems).toEqual([]);
  });

  it('leads every unique constraint and unique index with tenant_id, but for the justified global ones', () => {
    const uniques = [
      ...catalog.constraints
        .filter((c) => c.type === 'u' || c.type === 'x')
        .map((c) => ({ name: c.name, table: c.table, columns: c.columns as (string | null)[] })),
      ...catalog.uniqueIndexes.filter((i) => !i.constraint),
    ].filter((u) => tenantTables.has(u.table));
    expect(uniques.length).toBeGreaterThan(10);
    const global = uniques
      .filter((u) => u.columns[0] !== 'tenant_id')
      .map((u) => u.name)
      .sort();
    expect(global).toEqual(Object.keys(globalUniques).sort());
    for (const name of global)
      expect(Object.keys(referenceTables), name).toContain(uniques.find((u) => u.name === name)!.table);
  });

  it('ties every foreign key tenant_id to tenant_id, between tenant tables or into a reference table', () => {
    const foreignKeys = catalog.constraints.filter((c) => c.type === 'f');
    expect(foreignKeys.length).toBeGreaterThan(30);
    const problems = foreignKeys
      .filter((k) => tenantTables.has(k.table) || tenantTables.has(k.referenced!))
      .filter((k) => {
        const position = k.columns.indexOf('tenant_id');
        const colocated =
          position === 0 &&
          k.referencedColumns[0] === 'tenant_id' &&
          tenantTables.has(k.table) &&
          tenantTables.has(k.referenced!);
        // Citus allows a distributed table to reference a reference table, never the other way round.
        const fromReference = k.table in referenceTables && !(k.referenced! in referenceTables);
        return !colocated || fromReference;
      })
      .map((k) => `${k.name}: ${k.table}(${k.columns}) -> ${k.referenced}(${k.referencedColumns})`);
    expect(problems).toEqual([]);
  });

  it("keeps pg-boss's tables in their own schema, with no foreign key to or from the tenant tables", async () => {
    const [schema] =
      await database.owner`select count(*)::int as tables from pg_class where relnamespace = ${JOB_SCHEMA}::regnamespace and relkind in ('r', 'p')`;
    expect(schema.tables).toBeGreaterThan(0);
    const crossing = await database.owner`
      select con.conname from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_class r on r.oid = con.confrelid
      where con.contype = 'f' and (c.relnamespace = ${JOB_SCHEMA}::regnamespace) <> (r.relnamespace = ${JOB_SCHEMA}::regnamespace)`;
    expect(crossing).toEqual([]);
  });

  it('has a justification for every SECURITY DEFINER function, the only SQL that reads across tenants', () => {
    expect(catalog.securityDefiners).toEqual(Object.keys(crossTenantFunctions).sort());
  });
});

describe('the conservative reading of a statement', () => {
  const tenant = (table: string) => ['invoices', 'customers', 'events', 'rated_lines', 'credit_grants'].includes(table);
  it.each([
    ['select * from invoices where tenant_id = $1 and id = $2', []],
    [
      'select i.*, c.external_id from invoices i join customers c on c.tenant_id = i.tenant_id and c.id = i.customer_id where i.tenant_id = $1',
      [],
    ],
    ['insert into events (tenant_id, transaction_id) values ($1, $2) on conflict do nothing', []],
    [
      'update credit_grants g set balance = b.balance from json_to_recordset($1) as b(id uuid, balance numeric) where g.tenant_id = $2 and g.id = b.id',
      [],
    ],
    ['select i.* from invoices i where i.tenant_id = $1 for update of i', []],
    ['select * from pgboss.job where name = $1 for update skip locked', []],
    ['select extract(epoch from expire_in) from pgboss.job where id = $1', []],
    [
      "select * from invoices where id = $1 and note = 'tenant_id = $1'",
      ['no tenant_id = $n: the statement is not pinned to one tenant', 'invoices is not tied to tenant_id'],
    ],
    [
      'select i.* from invoices i join customers c on c.id = i.customer_id where i.tenant_id = $1',
      ['customers c is not tied to tenant_id'],
    ],
    ['delete from events where tenant_id = any($1)', ['no tenant_id = $n: the statement is not pinned to one tenant']],
    [
      'insert into events (transaction_id) select transaction_id from rated_lines where tenant_id = $1',
      ['events is not tied to tenant_id'],
    ],
    [
      'select g.* from credit_grants g where g.tenant_id = $1 and g.customer_id in (select id from customers where tenant_id = $2)',
      [],
    ],
    [
      'select g.* from credit_grants g where g.tenant_id = $1 and g.customer_id in (select id from customers where id = $2)',
      ['customers is not tied to tenant_id'],
    ],
    [
      'select e.* from events e where e.tenant_id = $1 and exists (select 1 from rated_lines r where r.transaction_id = e.transaction_id)',
      ['rated_lines r is not tied to tenant_id'],
    ],
  ] as [string, string[]][])('given %s, finds %j', (statement, problems) => {
    expect(routingVerdict(statement, tenant).problems).toEqual(problems);
  });

  it('reads tables, aliases and comma-joined items, and skips function calls', () => {
    const references = tableReferences(
      normalizeStatement(
        'select extract(epoch from at) from unnest($1::uuid[]) as k(id), public.invoices i, customers where x in (select 1 from events e)',
      ),
    );
    expect(references.map(({ schema, table, alias }) => ({ schema, table, alias }))).toEqual([
      { schema: 'public', table: 'invoices', alias: 'i' },
      { schema: undefined, table: 'customers', alias: undefined },
      { schema: undefined, table: 'events', alias: 'e' },
    ]);
  });
});

describe('the statements the service sends during a billing scenario', () => {
  let receiver: Receiver;
  let scenario: PaymentsScenario;
  const statements = new Set<string>();

  beforeAll(async () => {
    receiver = await startReceiver();
    scenario = await startPaymentsScenario({
      databaseOptions: { debug: (_connection, query) => statements.add(query) },
    });
  });
  afterAll(async () => {
    await stopPaymentsScenario(scenario);
    await receiver?.close();
  });

  it('pins one tenant and ties every tenant table it names to tenant_id, but for pg-boss and the justified functions', async () => {
    const { double, harness, tenant, api, jobs } = scenario;
    // Payments: a card, usage in an ended month, the close, the charge, a refund into a credit note; webhooks out.
    const { account } = await connectStripe(api, double, harness.url, tenant.slug);
    await api.ok('POST', '/v1/webhook_endpoints', { url: `${receiver.url}/billing` });
    await api.ok('POST', '/v1/price_books', { book: exampleBook() });
    const sendUsage = await customerWithUsage(api, 'acme', 'llm', '2026-02-10T00:00:00Z', 1_000_000);
    await saveCard(api, double, 'acme');
    await api.ok('POST', '/v1/customers/acme/credit_grants', {
      kind: 'promotional',
      amount: '1.5',
      name: 'Welcome credit',
    });
    await api.ok('PUT', '/v1/customers/acme/budget', { amount: '50', enforcement: 'alert' });
    await sendUsage();
    // Plans and subscriptions, a meter, batch and one-event ingestion, a spend hold.
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/plans', {
      code: 'payg',
      name: 'Pay as you go',
      price_book: 'ai-platform',
      base_fee: '10',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await api.ok('POST', '/v1/customers', { external_id: 'sub-co', currency: 'USD' });
    await api.ok('POST', '/v1/customers/sub-co/subscriptions', { plan: 'payg', started_at: '2026-02-01T00:00:00Z' });
    await api.ok('POST', '/v1/meters', {
      code: 'tokens',
      name: 'tokens',
      event_type: 'llm.completion',
      aggregation: 'sum',
      property: 'tokens',
    });
    await api.events(
      tokens('s-1', 'sub-co', 1_000_000, '2026-02-10T00:00:00Z'),
      tokens('s-2', 'sub-co', 500_000, '2026-02-20T00:00:00Z'),
    );
    expect((await api.events(tokens('s-3', 'sub-co', 1_000, '2026-03-01T10:00:00Z')))[0].status).toBe('accepted');
    await api.ok('POST', '/v1/customers/sub-co/holds', { id: 'run-1', amount: '4', expires_in: 300 });
    await api.ok('POST', '/v1/customers/sub-co/holds/run-1/release');
    await jobs.tick();
    await jobs.tick();
    const [invoice] = (await api.ok('GET', '/v1/invoices?customer_id=acme')).data;
    expect(invoice).toMatchObject({ status: 'paid' });
    const paymentIntent = (await api.ok('GET', `/v1/invoices/${invoice.id}/collection`)).attempts[0].payment_intent_id;
    await stripeClientFor(double, account.secretKey).refunds.create({ payment_intent: paymentIntent, amount: 500 });
    await eventually(
      "the refund's credit note",
      async () => (await api.ok('GET', `/v1/credit_notes?invoice_id=${invoice.id}`)).data[0],
    );
    // A retroactive price cut: a re-rating, approved and applied by its job.
    const cut = {
      ...billingBook.versions[0],
      effective_from: '2026-02-15T00:00:00Z',
      rate_cards: [
        {
          ...billingBook.versions[0].rate_cards[0],
          charges: [
            { dimension: 'tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '0.01', per: '1000' } },
          ],
        },
        billingBook.versions[0].rate_cards[1],
      ],
    };
    await api.ok('POST', '/v1/price_books/ai-platform/versions', { version: cut, retroactive: true });
    const [rerating] = (await api.ok('GET', '/v1/reratings?price_book=ai-platform')).data;
    await jobs.tick();
    await api.ok('POST', `/v1/reratings/${rerating.id}/approve`);
    await jobs.tick();
    await eventually('a webhook delivered', async () => receiver.received.length > 0);
    // The dashboard and the reads a tenant's backend makes.
    const login = await trpc(harness, 'mutation', 'auth.login', {
      tenant: tenant.slug,
      email: tenant.email,
      password: 'correct horse battery staple',
    });
    expect(login.status).toBe(200);
    expect((await trpc(harness, 'query', 'invoices.list', {}, tenant.session)).status).toBe(200);
    for (const path of [
      '/v1/customers',
      '/v1/customers/sub-co/usage',
      '/v1/customers/sub-co/wallet',
      '/v1/customers/sub-co/subscription',
      '/v1/events/s-3/receipt',
      '/v1/events/s-1/revisions',
      '/v1/ledger/transactions?customer_id=acme',
      '/v1/notifications',
      '/v1/webhook_messages',
      '/v1/audit_log',
      '/v1/reports/revenue?from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z',
    ]) {
      await api.ok('GET', path);
    }
    await jobs.drain();

    const catalog = await readCatalog(harness.database.owner);
    const tenantTables = new Set([
      ...catalog.tables.filter((t) => t.tenanted).map((t) => t.name),
      ...catalog.tenantViews,
    ]);
    const functions = new Set(
      (
        await harness.database.owner<
          { name: string }[]
        >`select proname as name from pg_proc where pronamespace = 'public'::regnamespace`
      ).map((f) => f.name),
    );
    const problems: string[] = [];
    const touched = new Set<string>();
    for (const statement of statements) {
      const verdict = routingVerdict(statement, (table) => tenantTables.has(table));
      verdict.tenantTables.forEach((t) => touched.add(t));
      if (verdict.problems.length > 0)
        problems.push(`${normalizeStatement(statement)}\n  ${verdict.problems.join('; ')}`);
      else if (verdict.tenantTables.length === 0 && !namesNoTenantData(statement, functions))
        problems.push(`${normalizeStatement(statement)}\n  names no tenant table and is not one the exceptions allow`);
    }
    expect(problems).toEqual([]);
    // The scenario reached the heart of each domain (a statement that never ran proves nothing).
    for (const table of [
      'events',
      'customer_periods',
      'invoices',
      'invoice_lines',
      'credit_grants',
      'credit_notes',
      'payment_attempts',
      'ledger_entries',
      'webhook_deliveries',
      'reratings',
      'holds',
      'subscriptions',
    ]) {
      expect(touched, table).toContain(table);
    }
  }, 300_000);
});

/**
 * A statement that names no tenant table: the transaction's own (BEGIN, the tenant settings, COMMIT), one that reads
 * no table (postgres.js's type lookup, pg-boss's version probe), pg-boss's own (its schema stays on the coordinator),
 * or a call of a justified cross-tenant function. Any other function of the schema it calls fails it.
 */
function namesNoTenantData(statement: string, functions: Set<string>): boolean {
  const normalized = normalizeStatement(statement);
  if (/^(begin|commit|rollback)$/.test(normalized)) return true;
  const called = [...normalized.matchAll(/\b([a-z_][a-z0-9_]*)\(/g)]
    .map((m) => m[1])
    .filter((name) => functions.has(name));
  if (!called.every((name) => name in crossTenantFunctions)) return false;
  const cteNames = new Set(
    [...normalized.matchAll(/(?:\bwith|,) ([a-z_][a-z0-9_]*) as (?:materialized )?\(/g)].map((m) => m[1]),
  );
  return tableReferences(normalized).every(
    (r) => r.schema === 'pg_catalog' || r.schema === JOB_SCHEMA || (r.schema === undefined && cteNames.has(r.table)),
  );
}
