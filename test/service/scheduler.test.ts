// The scheduler as `npm start` runs it, on PostgreSQL and on embedded PGlite: startService (what main.ts calls),
// the system clock, pg-boss's cron at its production timings and no tick sent by hand. A subscription whose first
// period has ended, with no grace, is drafted and finalized on its own; pg-boss's maintenance archives and deletes
// old jobs without an error; /readyz reports the job system.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../service/src/platform/config.ts';
import { createLogger } from '../../service/src/platform/log.ts';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { startService, type RunningService } from '../../service/src/start.ts';
import { eventually } from '../wait.ts';

describe.each(['postgresql', 'pglite'] as const)('scheduled billing under startService on %s', (kind) => {
  let service: RunningService;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  const problems: string[] = [];
  const seededJob = '00000000-0000-4000-8000-0000000000a1';
  const seededArchive = '00000000-0000-4000-8000-0000000000a2';

  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(service.url + url, {
      method,
      headers: {
        authorization: `Bearer ${service.demo!.api_key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed = (await response.json()) as any;
    if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(parsed)}`);
    return parsed;
  };

  beforeAll(async () => {
    let config: Config;
    if (kind === 'postgresql') {
      database = await createTestDatabase({ migrate: false });
      config = loadConfig({ DATABASE_URL: database.url, PORT: '0' });
    } else {
      dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tariff-scheduler-'));
      config = loadConfig({ DATA_DIR: dataDir, PORT: '0' });
    }
    // Warnings and errors are kept: a job system error fails the test.
    const logger = createLogger('warn', (line) => problems.push(line));
    // Production's timings, but maintenance every 2 seconds instead of every 2 minutes.
    service = await startService(config, {
      logger,
      demoTenant: true,
      host: '127.0.0.1',
      jobTimings: { maintenanceIntervalSeconds: 2 },
    });
  }, 240_000);

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('drafts and finalizes an ended period by itself, and maintenance archives and deletes old jobs', async () => {
    // Old pg-boss rows, as the service role sees them: a job completed two days ago (to archive) and an archived
    // one from a month ago (to delete).
    await service.db.unsafe(
      `insert into pgboss.job (id, name, state, created_on, started_on, completed_on) values ($1, 'billing.tick', 'completed', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days')`,
      [seededJob],
    );
    await service.db.unsafe(
      `insert into pgboss.archive (id, name, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, start_after, expire_in, created_on, completed_on, keep_until, archived_on)
       values ($1, 'billing.tick', 0, 'completed', 0, 0, 0, false, now() - interval '31 days', interval '15 minutes', now() - interval '31 days', now() - interval '31 days', now() - interval '17 days', now() - interval '30 days')`,
      [seededArchive],
    );

    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString();
    await call('POST', '/v1/plans', {
      code: 'monthly',
      name: 'Monthly',
      price_book: 'demo-llm',
      base_fee: '10',
      interval: 'month',
      invoice_grace_hours: 0,
    });
    await call('POST', '/v1/customers', { external_id: 'scheduled-co', currency: 'USD' });
    await call('POST', '/v1/customers/scheduled-co/subscriptions', { plan: 'monthly', started_at: lastMonth });

    const invoice = await eventually(
      'the ended period to be invoiced',
      async () => {
        const list = await call('GET', '/v1/invoices?customer_id=scheduled-co');
        return list.data.find((i: any) => i.status === 'finalized');
      },
      { limitMs: 180_000, intervalMs: 500 },
    );
    expect(invoice).toMatchObject({
      status: 'finalized',
      kind: 'invoice',
      total: '10.000000000',
      period: { start: new Date(lastMonth).toISOString() },
    });
    expect(invoice.number).toMatch(/^INV-\d{6}$/);
    const audit = await call('GET', `/v1/audit_log?entity_type=invoice&entity_id=${invoice.id}`);
    expect(audit.data.map((e: any) => [e.action, e.actor.type]).sort()).toEqual([
      ['invoice.drafted', 'system'],
      ['invoice.finalized', 'system'],
    ]);

    await eventually(
      'maintenance to archive and delete the old jobs',
      async () => {
        const [row] = await service.db.unsafe(
          `select (select count(*)::int from pgboss.job where id = $1) as in_job, (select count(*)::int from pgboss.archive where id = $1) as archived,
                (select count(*)::int from pgboss.archive where id = $2) as old_archive`,
          [seededJob, seededArchive],
        );
        return row.in_job === 0 && row.archived === 1 && row.old_archive === 0 ? row : undefined;
      },
      { intervalMs: 500 },
    );

    const ready = (await (await fetch(`${service.url}/readyz`)).json()) as any;
    expect(ready).toMatchObject({
      status: 'ready',
      jobs: { status: 'ok', scheduler: true, maintenance: true, errors: 0, last_error: null, failed: 0, retrying: 0 },
    });
    expect(Date.parse(ready.jobs.last_tick_at)).toBeGreaterThan(now.getTime() - 5_000);
    expect(Date.parse(ready.jobs.last_maintenance_at)).toBeGreaterThan(now.getTime() - 5_000);
    expect(problems.filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  }, 300_000);

  it('expires a spend hold nobody captured or released, and tells webhooks (hold.expired)', async () => {
    await call('POST', '/v1/customers', { external_id: 'held-co', currency: 'USD' });
    await call('PUT', '/v1/customers/held-co/price_book', {
      price_book: 'demo-llm',
      effective_from: new Date(Date.now() - 86_400_000).toISOString(),
    });
    const hold = await call('POST', '/v1/customers/held-co/holds', {
      id: 'crashed-agent',
      amount: '2.5',
      expires_in: 1,
    });
    expect(hold).toMatchObject({ status: 'open', held: '2.500000000' });
    const expired = await eventually(
      'the billing tick to expire the hold',
      async () => {
        const read = await call('GET', '/v1/customers/held-co/holds/crashed-agent');
        return read.status === 'expired' ? read : undefined;
      },
      { limitMs: 180_000, intervalMs: 500 },
    );
    expect(expired).toMatchObject({ held: '0.000000000', captured: '0.000000000' });
    const notices = await call('GET', '/v1/notifications?type=hold.expired&customer_id=held-co');
    expect(notices.data.map((n: any) => [n.payload.hold_id, n.payload.released])).toEqual([
      ['crashed-agent', '2.500000000'],
    ]);
    expect(problems.filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  }, 240_000);

  it('keeps a due invoice that needs a missing FX rate as a draft, says so, and finalizes it on a later tick once the rate is supplied', async () => {
    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    // Billed in EUR from the demo's USD book, with no rate yet.
    await call('POST', '/v1/customers', { external_id: 'scheduled-eur', currency: 'EUR' });
    await call('POST', '/v1/customers/scheduled-eur/subscriptions', {
      plan: 'monthly',
      started_at: lastMonth.toISOString(),
    });
    const blocked = await eventually(
      'the due draft to wait for its rate',
      async () => {
        const list = await call('GET', '/v1/invoices?customer_id=scheduled-eur');
        return list.data.find((i: any) => i.fx_blocked !== null);
      },
      { limitMs: 180_000, intervalMs: 500 },
    );
    expect(blocked).toMatchObject({
      status: 'draft',
      currency: 'USD',
      total: '10.000000000',
      fx_blocked: { code: 'fx_rate_missing', from: 'USD', to: 'EUR', at: periodEnd.toISOString() },
    });
    const notices = await call('GET', '/v1/notifications?type=invoice.finalization_blocked&customer_id=scheduled-eur');
    expect(notices.data).toHaveLength(1);

    await call('POST', '/v1/fx_rates', {
      rates: [
        {
          base: 'USD',
          quote: 'EUR',
          rate: '0.9234',
          as_of: new Date(periodEnd.getTime() - 3_600_000).toISOString(),
          source: 'bank',
        },
      ],
    });
    const invoice = await eventually(
      'a later tick to finalize it, converted',
      async () => {
        const found = await call('GET', `/v1/invoices/${blocked.id}`);
        return found.status === 'finalized' ? found : undefined;
      },
      { limitMs: 180_000, intervalMs: 500 },
    );
    // $10 x 0.9234 = EUR 9.234, to the cent.
    expect(invoice).toMatchObject({
      currency: 'EUR',
      total: '9.230000000',
      fx_blocked: null,
      fx: { from: 'USD', to: 'EUR', rate: '0.9234', source: 'bank', policy: 'period_end' },
    });
    expect(problems.filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  }, 400_000);

  it.runIf(kind === 'postgresql')(
    'refuses a port already taken with the setting that chooses it',
    async () => {
      const second = await createTestDatabase({ migrate: false });
      try {
        const port = Number(new URL(service.url).port);
        const taken = loadConfig({ DATABASE_URL: second.url, PORT: String(port) });
        await expect(
          startService(taken, { logger: createLogger('error', () => {}), host: '127.0.0.1' }),
        ).rejects.toThrow(`port ${port} is already in use: stop what holds it or set PORT`);
      } finally {
        await second.drop();
      }
    },
    240_000,
  );
});
