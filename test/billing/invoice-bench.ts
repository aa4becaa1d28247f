// `npm run bench:invoice -- --json`: closing a period for 10,000 customers with 100 rated events each (1M
// events) through the real close path: the billing tick enqueues one billing.close-period job per
// customer-period and the service's pg-boss workers run them (grace 0, so each is drafted, finalized, numbered
// and posted to the ledger). Seeding is set-based SQL: one template customer's 100 events go through ingestion
// (POST /v1/events), and its rows (events, rated lines with their receipts, period, usage and invoice aggregates,
// subscription) are cloned for the other 9,999. Beside it, in the same run, the read floors by plain
// SQL: the receipts aggregated (what the close read before migration 018) and the invoice aggregates it reads
// now. Then the same for a second tenant with tax settings, its customers spread over the tax rules, so every
// invoice goes through the tax step (close_with_tax beside close); then a third tenant, taxed the same, whose
// customers are billed in EUR from the USD book, so every invoice is also converted, under `--fx-policy` (default
// event: each event at the rate of its time, from daily rates) (close_with_tax_and_fx). Then the entitlement
// check's in-process latency (the service function, no HTTP).
import fs from 'node:fs';
import { checkEntitlement } from '../../service/src/domains/budgets/service.ts';
import { scheduleInvoicing } from '../../service/src/domains/invoices/jobs.ts';
import { jobDefinitions } from '../../service/src/jobs.ts';
import type { Actor } from '../../service/src/platform/auth.ts';
import type { Deps } from '../../service/src/platform/deps.ts';
import { installJobs, startJobs } from '../../service/src/platform/jobs.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import { restAs, signUpTenant, startService } from '../service/harness.ts';
import { cpuSeconds } from '../bench/cpu.ts';

const json = process.argv.includes('--json');
const argument = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const customers = argument('customers', 10_000);
const eventsPerCustomer = 100;
const workers = argument('workers', 2);
// The close job's own batch size (invoices/jobs.ts) unless --batch says otherwise.
const batchOption = process.argv.includes('--batch') ? argument('batch', 0) : undefined;
const fxPolicyIndex = process.argv.indexOf('--fx-policy');
const fxPolicy = fxPolicyIndex >= 0 ? process.argv[fxPolicyIndex + 1] : 'event';
if (!['event', 'period_end', 'finalization'].includes(fxPolicy))
  throw new Error(`--fx-policy: event, period_end or finalization, not ${fxPolicy}`);
const log = (message: string) => {
  if (!json) process.stderr.write(message + '\n');
};
const seconds = (ms: number) => Math.round(ms) / 1000;

const book = {
  id: 'bench-book',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'llm/tokens',
          match: { event_type: 'llm.completion' },
          charges: [
            { dimension: 'input_tokens', allowance: 'tokens', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
        {
          id: 'gpu/h100',
          match: { event_type: 'gpu.job', gpu_type: 'h100' },
          dimensions: { gpu_seconds: { gpu_time: {} } },
          charges: [{ dimension: 'gpu_seconds', price: { model: 'per_unit', rate: '2.5', per: '3600' } }],
        },
      ],
    },
  ],
};

const harness = await startService({ now: '2026-03-01T00:00:00Z' });
const owner = harness.database.owner;
/** The backends serving the bench's database: their CPU is this bench's alone on a server shared with others. */
const backendPids = async () =>
  (await owner`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`).map(
    (r) => r.pid as number,
  );
const deps: Deps = {
  db: harness.database.app,
  clock: harness.clock,
  logger: silentLogger,
  metrics: createMetrics(),
  sessionTtlSeconds: 3600,
};

// The tax case's customers, by n % 5: a German business (domestic 19%), a French consumer (OSS 20%), a French
// business with a VAT id (reverse charge), an American (outside the registrations), a British consumer (GB 20%).
const taxSettings = {
  legal_name: 'Bench GmbH',
  address: 'Torstrasse 1, 10119 Berlin',
  country: 'DE',
  registrations: [
    { jurisdiction: 'DE', tax_id: 'DE136695976' },
    { jurisdiction: 'EU', tax_id: null },
    { jurisdiction: 'GB', tax_id: 'GB980780684' },
  ],
};
const taxedCountry = `(array['DE', 'FR', 'FR', 'US', 'GB'])[m.n % 5 + 1]`;
const taxedId = `(array['DE136695976', null, 'FR40303265045', null, null])[m.n % 5 + 1]`;

/** USD->EUR for every day of February's last week and March (the events' days, the period end), each its own. */
const dailyRates = Array.from({ length: 38 }, (_, d) => ({
  base: 'USD',
  quote: 'EUR',
  rate: `0.9${String(1000 + ((d * 37) % 997)).slice(1)}`,
  as_of: new Date(Date.UTC(2026, 1, 22 + d)).toISOString(),
  source: 'bench-bank',
}));

/**
 * One tenant seeded with `customers` x 100 events (one customer through ingestion, the rest cloned) and its
 * periods closed by the tick's jobs; `taxed`: the tenant has tax settings and its customers are spread over the
 * tax rules, so every invoice goes through the tax step; `converted`: they are billed in EUR from the USD book,
 * so every invoice is converted too, under `fxPolicy`. Returns the close's figures and the read floors.
 */
async function seedAndClose(taxed: boolean, converted = false) {
  harness.clock.set('2026-03-01T00:00:00Z');
  const tenant = await signUpTenant(harness);
  const call = restAs(harness, tenant.secretKey);
  if (taxed) await call('PUT', '/v1/tax/settings', taxSettings);
  if (converted) {
    await call('PATCH', '/v1/currency_settings', { fx_policy: fxPolicy });
    await call('POST', '/v1/fx_rates', { rates: dailyRates });
  }
  await call('POST', '/v1/price_books', { book });
  await call('POST', '/v1/plans', {
    code: 'bench',
    name: 'Bench',
    price_book: 'bench-book',
    base_fee: '10',
    interval: 'month',
    allowances: { tokens: '100000' },
    invoice_grace_hours: 0,
  });
  await call('POST', '/v1/customers', {
    external_id: 'bench-0',
    currency: converted ? 'EUR' : 'USD',
    ...(taxed ? { country: 'DE', tax_id: 'DE136695976' } : {}),
  });
  await call('POST', '/v1/customers/bench-0/subscriptions', { plan: 'bench', started_at: '2026-03-01T00:00:00Z' });
  harness.clock.set('2026-03-31T00:00:00Z');
  const templateEvents = Array.from({ length: eventsPerCustomer }, (_, n) =>
    n % 10 === 9
      ? {
          transaction_id: `t-${n}`,
          customer_id: 'bench-0',
          event_type: 'gpu.job',
          timestamp: new Date(Date.UTC(2026, 2, 1 + (n % 28), n % 24)).toISOString(),
          properties: {
            gpu_type: 'h100',
            gpu_count: 1 + (n % 4),
            duration_seconds: 600 + n * 7,
            region: n % 2 ? 'us-east' : 'eu-west',
          },
        }
      : {
          transaction_id: `t-${n}`,
          customer_id: 'bench-0',
          event_type: 'llm.completion',
          timestamp: new Date(Date.UTC(2026, 2, 1 + (n % 28), n % 24)).toISOString(),
          properties: {
            model: n % 3 ? 'llama-3-70b' : 'llama-3-8b',
            input_tokens: 1000 + n * 13,
            output_tokens: 200 + n * 3,
          },
        },
  );
  const ack = await call('POST', '/v1/events', { events: templateEvents });
  if (ack.accepted !== eventsPerCustomer) throw new Error(`template events: ${JSON.stringify(ack).slice(0, 500)}`);

  // Clone the template's rows for the other customers, set-based.
  log(
    `seeding ${customers} customers x ${eventsPerCustomer} events${taxed ? ' (taxed)' : ''}${converted ? ` (converted, ${fxPolicy})` : ''}...`,
  );
  const seedStarted = performance.now();
  const tenantId = tenant.tenantId;
  const [template] = await owner`select id from customers where tenant_id = ${tenantId} and external_id = 'bench-0'`;
  await owner`create unlogged table bench_map as select gen_random_uuid() as id, n from generate_series(1, ${customers - 1}) n`;
  // Every column of the template rows, some replaced (SQL expressions over x, the template row, and m, the new customer).
  const clone = async (table: string, overrides: Record<string, string>) => {
    const columns = (
      await owner`
      select column_name from information_schema.columns
      where table_schema = 'public' and table_name = ${table} and is_generated = 'NEVER' and identity_generation is null
      order by ordinal_position`
    ).map((c) => c.column_name as string);
    await owner.unsafe(
      `insert into ${table} (${columns.join(', ')}) select ${columns.map((c) => overrides[c] ?? `x.${c}`).join(', ')}
       from ${table} x cross join bench_map m where x.tenant_id = $1 and x.${table === 'customers' ? 'id' : 'customer_id'} = $2`,
      [tenantId, template.id],
    );
  };
  await clone('customers', {
    id: 'm.id',
    external_id: `'bench-' || m.n`,
    ...(taxed ? { country: taxedCountry, tax_id: taxedId } : {}),
  });
  await clone('customer_price_books', { customer_id: 'm.id' });
  await clone('subscriptions', { id: 'gen_random_uuid()', customer_id: 'm.id' });
  await clone('customer_periods', { customer_id: 'm.id' });
  await clone('events', { customer_id: 'm.id', transaction_id: `x.transaction_id || '-' || m.n` });
  await clone('event_revisions', { customer_id: 'm.id', transaction_id: `x.transaction_id || '-' || m.n` });
  await clone('usage_aggregates', { customer_id: 'm.id' });
  await clone('invoice_aggregates', { customer_id: 'm.id' });
  await owner`drop table bench_map`;
  await owner`analyze`;
  const seedSeconds = seconds(performance.now() - seedStarted);
  const [{ events, lines }] = await owner`
    select (select count(*) from events where tenant_id = ${tenantId})::int as events, (select count(*) from event_ratings where tenant_id = ${tenantId})::int as lines`;
  log(`seeded ${events} events / ${lines} rated lines in ${seedSeconds} s`);

  // The physical floor: what the close must read, aggregated by plain SQL over the same rows.
  let started = performance.now();
  await owner`select customer_id, sum(amount), count(*) from event_ratings where tenant_id = ${tenantId} group by customer_id`;
  const sumSeconds = seconds(performance.now() - started);
  started = performance.now();
  await owner`
    select l.customer_id, l.card, s->>'charge', s->>'rate', e.properties->>'model', e.properties->>'gpu_type', e.properties->>'region',
           sum((s->>'quantity')::numeric), sum((s->>'amount')::numeric), count(*)
    from event_ratings l join events e on e.tenant_id = l.tenant_id and e.transaction_id = l.transaction_id
    cross join json_array_elements(l.receipt) s
    where l.tenant_id = ${tenantId} and s->>'step' in ('price', 'allowance', 'discount', 'commitment', 'credit')
    group by 1, 2, 3, 4, 5, 6, 7`;
  const receiptSeconds = seconds(performance.now() - started);
  // What the close reads since migration 018: the periods' invoice aggregates, every row.
  started = performance.now();
  const aggregateRows = (
    await owner`
    select customer_id, period_start, step, card, charge, dimension, model, rate, per, group_key, pool, grant_id, mode, percent,
           quantity::text, covered::text, amount::text, events
    from invoice_aggregates where tenant_id = ${tenantId}`
  ).length;
  const aggregatesSeconds = seconds(performance.now() - started);
  log(
    `floor: sum by customer ${sumSeconds} s, receipt steps by customer and line ${receiptSeconds} s, invoice aggregates (${aggregateRows} rows) ${aggregatesSeconds} s`,
  );

  // The close: the tick's scheduler enqueues one close job per customer-period; workers run them.
  harness.clock.set('2026-04-01T00:00:05Z');
  const runners = [];
  const backends0 = new Map((await backendPids()).map((pid) => [pid, cpuSeconds(pid)]));
  const process0 = process.cpuUsage();
  started = performance.now();
  for (let w = 0; w < workers; w++)
    runners.push(
      await startJobs(deps, jobDefinitions, {
        pollingIntervalSeconds: 0.5,
        ...(batchOption ? { batchSize: batchOption } : {}),
      }),
    );
  const enqueued = await scheduleInvoicing(deps, runners[0], customers);
  const enqueueSeconds = seconds(performance.now() - started);
  let finalized = 0;
  while (finalized < customers) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [row] =
      await owner`select count(*)::int as n from invoices where tenant_id = ${tenantId} and status = 'finalized'`;
    finalized = row.n;
    const [failed] = await owner`select count(*)::int as n from pgboss.job where state in ('failed', 'retry')`;
    if (failed.n > 0)
      throw new Error(
        `${failed.n} close jobs failed: ${JSON.stringify(await owner`select output from pgboss.job where state in ('failed', 'retry') limit 1`)}`,
      );
  }
  const closeSeconds = seconds(performance.now() - started);
  const used = process.cpuUsage(process0);
  let backends = 0;
  for (const pid of await backendPids()) backends += cpuSeconds(pid) - (backends0.get(pid) ?? 0);
  // CPU per invoice of the close, this process (the service's workers) and the database's backends, in µs: on a
  // shared machine, load moves these far less than the rate.
  const cpu = {
    cpu_us_service_per_invoice: Math.round((used.user + used.system) / customers),
    cpu_us_postgresql_per_invoice: Math.round((backends / customers) * 1e6),
  };
  for (const runner of runners) await runner.stop();
  // Untaxed: every invoice is the same. Taxed: one total per rule (the five kinds of customer).
  const [check] = await owner`
    select count(distinct total)::int as totals, min(total)::text as total, max(total)::text as highest, count(*)::int as invoices,
           count(*) filter (where tax is not null)::int as taxed, sum(tax_amount)::text as tax,
           count(*) filter (where fx is not null and currency = 'EUR')::int as converted
    from invoices where tenant_id = ${tenantId}`;
  if (
    check.totals !== (taxed ? 3 : 1) ||
    check.invoices !== customers ||
    check.taxed !== (taxed ? customers : 0) ||
    check.converted !== (converted ? customers : 0)
  )
    throw new Error(`invoices differ: ${JSON.stringify(check)}`);
  log(
    `closed ${customers} periods in ${closeSeconds} s (${Math.round(customers / closeSeconds)} invoices/s), totals ${check.total} to ${check.highest}, tax ${check.tax}`,
  );
  return {
    tenant,
    call,
    events,
    seedSeconds,
    sumSeconds,
    receiptSeconds,
    aggregatesSeconds,
    aggregateRows,
    closeSeconds,
    cpu,
    enqueueSeconds,
    enqueued,
    check,
  };
}

try {
  await installJobs(owner, jobDefinitions);
  const plain = await seedAndClose(false);
  const taxedRun = await seedAndClose(true);
  const convertedRun = await seedAndClose(true, true);
  const {
    tenant,
    call,
    events,
    seedSeconds,
    sumSeconds,
    receiptSeconds,
    aggregatesSeconds,
    aggregateRows,
    closeSeconds,
    cpu,
    enqueueSeconds,
    enqueued,
    check,
  } = plain;
  const tenantId = tenant.tenantId;

  // The entitlement check in-process: the service function against the database (no HTTP), with a budget.
  await call('PUT', '/v1/customers/bench-1/budget', { amount: '1000', enforcement: 'block' });
  await call('POST', '/v1/customers/bench-1/credit_grants', { kind: 'prepaid', amount: '50' });
  const [key] = await owner`select id from api_keys where tenant_id = ${tenantId} and kind = 'secret' limit 1`;
  const actor: Actor = { tenantId, type: 'api_key', id: key.id, principal: 'admin' };
  const latencies: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = performance.now();
    await checkEntitlement(deps, actor, 'bench-1', { estimated_cost: '0.5' });
    latencies.push(performance.now() - t0);
  }
  const measured = latencies.slice(500).sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(measured[Math.min(measured.length - 1, Math.floor((p / 100) * measured.length))] * 1000) / 1000;

  const result = {
    customers,
    events_per_customer: eventsPerCustomer,
    events,
    seed_seconds: seedSeconds,
    close: {
      invoices: customers,
      seconds: closeSeconds,
      invoices_per_second: Math.round(customers / closeSeconds),
      enqueue_seconds: enqueueSeconds,
      jobs_enqueued: enqueued,
      workers,
      batch_size: batchOption ?? jobDefinitions.find((j) => j.name === 'billing.close-period')?.batchSize,
      invoice_total: check.total,
      ...cpu,
    },
    close_with_tax: {
      invoices: customers,
      seconds: taxedRun.closeSeconds,
      invoices_per_second: Math.round(customers / taxedRun.closeSeconds),
      invoice_totals: [taxedRun.check.total, taxedRun.check.highest],
      tax: taxedRun.check.tax,
      ...taxedRun.cpu,
      note: 'the same close for a tenant with tax settings (DE, EU OSS, GB): customers spread over domestic, OSS, reverse charge, outside and GB rules; beside close.invoices_per_second (no tax) from the same run',
    },
    close_with_tax_and_fx: {
      invoices: customers,
      seconds: convertedRun.closeSeconds,
      invoices_per_second: Math.round(customers / convertedRun.closeSeconds),
      fx_policy: fxPolicy,
      invoice_totals: [convertedRun.check.total, convertedRun.check.highest],
      tax: convertedRun.check.tax,
      ...convertedRun.cpu,
      note: 'the taxed close again with every customer billed in EUR from the USD book: each invoice converted under fx_policy (event: each event at the rate of its time, daily rates) and then taxed; beside close and close_with_tax from the same run',
    },
    baseline: {
      sum_by_customer_seconds: sumSeconds,
      receipt_steps_by_line_seconds: receiptSeconds,
      invoice_aggregates_seconds: aggregatesSeconds,
      invoice_aggregate_rows: aggregateRows,
      note: 'plain SQL in the same run: the rated lines summed by customer, their receipt steps grouped by customer and line (what the close read before migration 018), and the invoice aggregates the close reads now (its read floor)',
    },
    check_in_process_ms: { p50: pct(50), p99: pct(99), max: pct(100), calls: measured.length },
    load_average: fs.existsSync('/proc/loadavg') ? fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3) : [],
  };
  console.log(JSON.stringify(result, null, json ? 0 : 2));
} finally {
  await harness.close();
}
process.exit(0);
