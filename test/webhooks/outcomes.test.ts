// A delivery job's claims and outcome writes read what their batch needs, not the endpoint's backlog: counted by
// PostgreSQL's own statistics for the transaction (pg_stat_xact_user_tables), on a backlog just recorded and never
// analysed, the state in which the planner once scanned every delivery of the endpoint at each outcome batch. And
// the statements a delivery job sends per batch, counted as postgres.js sends them.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../../service/src/domains/webhooks/repo.ts';
import { deliverEndpoint } from '../../service/src/domains/webhooks/service.ts';
import { withTenant, type Tx } from '../../service/src/platform/db.ts';
import { createTestDatabase } from '../../service/src/platform/test-database.ts';
import { referentialProblems } from '../service/integrity.ts';
import {
  restAs,
  serviceDeps,
  signUpTenant,
  startService,
  type Harness,
  type TenantFixture,
} from '../service/harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';

process.env.WEBHOOK_ALLOW_PRIVATE = '1';

const backlog = 3000;
const batch = 20;

describe('webhook delivery reads per batch', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let endpointId: string;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T12:00:00Z' });
    tenant = await signUpTenant(harness);
    const endpoint = await restAs(harness, tenant.secretKey)('POST', '/v1/webhook_endpoints', {
      url: 'http://127.0.0.1:9/outcomes',
    });
    endpointId = endpoint.id;
    await harness.database.owner`
      insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
      select ${tenant.tenantId}, gen_random_uuid(), 'credit_grant.expiring', 'backlog-' || i, jsonb_build_object('n', i),
             ${harness.clock.now()}
      from generate_series(1, ${backlog}) i`;
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
  });

  /** Heap rows of webhook_deliveries fetched through an index, and rows written, so far in this transaction. */
  const counts = async (tx: Tx): Promise<{ fetched: number; written: number }> => {
    const [row] = await tx<{ fetched: number; written: number }[]>`
      select coalesce(idx_tup_fetch, 0)::int as fetched, (n_tup_ins + n_tup_upd + n_tup_del)::int as written
      from pg_stat_xact_user_tables where relname = 'webhook_deliveries'`;
    return row;
  };
  const fetched = async (tx: Tx): Promise<number> => (await counts(tx)).fetched;

  it('given a backlog of 3,000, claims 20 and records their outcomes reading about 20 deliveries, not the backlog', async () => {
    const now = harness.clock.now();
    const holder = crypto.randomUUID();
    const { claimed, claimReads, claimWrites } = await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
      const before = await counts(tx);
      const scope = { db: tx, tenantId: tenant.tenantId };
      expect(await repo.leaseEndpoint(scope, endpointId, holder, now, new Date(now.getTime() + 60_000))).toMatchObject({
        id: endpointId,
      });
      const result = await repo.claimDueDeliveries(scope, endpointId, holder, now, batch);
      const after = await counts(tx);
      return { ...result, claimReads: after.fetched - before.fetched, claimWrites: after.written - before.written };
    });
    expect(claimed).toHaveLength(batch);
    expect(claimReads).toBeLessThanOrEqual(2 * batch);
    // The claim leases the endpoint and writes none of its deliveries: each is written once, with its outcome.
    expect(claimWrites).toBe(0);

    const records = repo.attemptColumns('scheduled');
    for (const c of claimed) {
      records.rowIds.push(c.rowId);
      records.messageIds.push(c.messageId);
      records.attempts.push(1);
      records.startedAt.push(now.getTime());
      records.succeeded.push(true);
      records.statusCodes.push(200);
      records.latencyMs.push(3);
      records.responseExcerpts.push('ok');
      records.errors.push(null);
      records.statuses.push('succeeded');
      records.nextAttemptAt.push(null);
    }
    const recordReads = await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
      const before = await fetched(tx);
      await repo.recordAttempts({ db: tx, tenantId: tenant.tenantId }, endpointId, records, {
        succeeded: true,
        firstFailureAt: null,
      });
      return (await fetched(tx)) - before;
    });
    // The attempts' foreign key checks read one delivery each; the outcome update reads its rows by their ctid.
    expect(recordReads).toBeLessThanOrEqual(2 * batch);

    const states = await harness.database.owner`
      select status, count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId} group by status order by status`;
    expect(states).toEqual([
      { status: 'pending', n: backlog - batch },
      { status: 'succeeded', n: batch },
    ]);
    const [{ attempts }] = await harness.database.owner`
      select count(*)::int as attempts from webhook_attempts where endpoint_id = ${endpointId}`;
    expect(attempts).toBe(batch);
  }, 120_000);
});

describe('webhook delivery indexes', () => {
  it('keeps on webhook_deliveries only the indexes its reads use: each one more is written at every claim', async () => {
    const database = await createTestDatabase();
    try {
      const rows = await database.owner`
        select indexname from pg_indexes where tablename = 'webhook_deliveries' order by indexname`;
      // The key (a delivery by its endpoint and message), the endpoint's due deliveries in claim order (claims and
      // the dispatcher's probe), a message's deliveries (the message list); no index of due deliveries across
      // endpoints, which nothing reads and every claim wrote.
      expect(rows.map((r) => r.indexname)).toEqual([
        'webhook_deliveries_endpoint_due_key_idx',
        'webhook_deliveries_message_idx',
        'webhook_deliveries_pkey',
      ]);
    } finally {
      await database.drop();
    }
  }, 120_000);

  it('keeps on webhook_attempts one index, its key by message (the log read), and checks its deliveries after the tests instead of a foreign key', async () => {
    const database = await createTestDatabase();
    try {
      const indexes = await database.owner`
        select indexname, indexdef from pg_indexes where tablename = 'webhook_attempts' order by indexname`;
      expect(indexes.map((r) => r.indexname)).toEqual(['webhook_attempts_pkey']);
      expect(indexes[0].indexdef).toContain('(tenant_id, message_id, id)');
      const [{ keys }] = await database.owner`
        select count(*)::int as keys from pg_constraint where conrelid = 'webhook_attempts'::regclass and contype = 'f'`;
      expect(keys).toBe(0);
      // The relation the foreign key kept (migration 140) is the integrity check's: an attempt of no delivery fails it.
      expect(await referentialProblems(database.owner)).toEqual([]);
      await database.owner`
        insert into webhook_attempts (tenant_id, endpoint_id, message_id, attempt, trigger, started_at, succeeded, latency_ms, response_excerpt)
        values (gen_random_uuid(), gen_random_uuid(), ${'msg_' + '0'.repeat(32)}, 1, 'scheduled', now(), true, 1, '')`;
      expect(await referentialProblems(database.owner)).toEqual([
        `webhook attempt without its delivery: msg_${'0'.repeat(32)}`,
      ]);
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('webhook delivery statements per batch', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let receiver: Receiver;
  let endpointId: string;
  const sent: string[] = [];
  let counting = false;

  beforeAll(async () => {
    harness = await startService({
      now: new Date().toISOString(),
      databaseOptions: {
        debug: (_connection, query) => {
          if (counting) sent.push(query.replace(/\s+/g, ' ').trim());
        },
      },
    });
    receiver = await startReceiver();
    tenant = await signUpTenant(harness);
    const endpoint = await restAs(harness, tenant.secretKey)('POST', '/v1/webhook_endpoints', {
      url: `${receiver.url}/statements`,
    });
    endpointId = endpoint.id;
    await harness.database.owner`
      insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
      select ${tenant.tenantId}, gen_random_uuid(), 'credit_grant.expiring', 'statements-' || i, jsonb_build_object('n', i),
             ${harness.clock.now()}
      from generate_series(1, 60) i`;
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    await harness?.close();
  });

  it('given 60 due deliveries in batches of 20, sends each claim (with its lease) and each batch of outcomes as one round trip of five and four statements', async () => {
    counting = true;
    const result = await deliverEndpoint(serviceDeps(harness), tenant.tenantId, endpointId, { batchSize: 20 });
    counting = false;
    expect(result).toEqual({ attempted: 60, more: false });
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(60);

    const claims = sent.filter((q) => q.includes('from webhook_deliveries d where'));
    const leases = sent.filter((q) => q.includes('update webhook_endpoints set lease_holder'));
    const outcomes = sent.filter((q) => q.includes('insert into webhook_attempts'));
    // Three full claims and a fourth that finds nothing left; one statement per batch writes the log, the
    // deliveries' outcome and the endpoint's health.
    expect(claims).toHaveLength(4);
    expect(outcomes).toHaveLength(3);
    for (const q of outcomes) {
      expect(q).toContain('update webhook_deliveries');
      expect(q).toContain('update webhook_endpoints');
    }
    // Each claim renews the endpoint's lease in its transaction; the job gives the lease up at its end, in one more.
    expect(leases).toHaveLength(claims.length + 1);
    // Each transaction: BEGIN, its role, tenant and synchronous_commit off (one statement), its statements, COMMIT.
    expect(sent.filter((q) => q === 'begin')).toHaveLength(claims.length + outcomes.length + 1);
    expect(sent).toHaveLength(claims.length * 5 + outcomes.length * 4 + 4);
    const [{ open }] = await harness.database.owner`
      select count(*)::int as open from webhook_deliveries where endpoint_id = ${endpointId} and status <> 'succeeded'`;
    expect(open).toBe(0);
  }, 120_000);
});

describe('webhook delivery jobs of one endpoint at once', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let receiver: Receiver;
  let endpointId: string;

  beforeAll(async () => {
    harness = await startService({ now: new Date().toISOString() });
    receiver = await startReceiver();
    tenant = await signUpTenant(harness);
    const endpoint = await restAs(harness, tenant.secretKey)('POST', '/v1/webhook_endpoints', {
      url: `${receiver.url}/leased`,
    });
    endpointId = endpoint.id;
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    await harness?.close();
  });

  const record = (count: number, prefix: string) => harness.database.owner`
    insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
    select ${tenant.tenantId}, gen_random_uuid(), 'credit_grant.expiring', ${prefix} || i, jsonb_build_object('n', i),
           ${harness.clock.now()}
    from generate_series(1, ${count}) i`;

  it('given two jobs started together, sends each due delivery once: the endpoint is leased to one, and given up at its end', async () => {
    await record(50, 'together-');
    receiver.delayMs = 5;
    const deps = serviceDeps(harness);
    const results = await Promise.all([
      deliverEndpoint(deps, tenant.tenantId, endpointId, { batchSize: 10 }),
      deliverEndpoint(deps, tenant.tenantId, endpointId, { batchSize: 10 }),
    ]);
    receiver.delayMs = 0;
    // One job had the lease and sent every delivery; the other found the endpoint leased and sent none.
    expect(results.map((r) => r.attempted).sort((a, b) => a - b)).toEqual([0, 50]);
    expect(receiver.received).toHaveLength(50);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(50);
    const [endpoint] = await harness.database.owner`
      select lease_holder, lease_until from webhook_endpoints where id = ${endpointId}`;
    expect(endpoint).toEqual({ lease_holder: null, lease_until: null });

    // Released: the next job takes the endpoint at once, without waiting for a lease to lapse.
    await record(5, 'after-');
    expect(await deliverEndpoint(deps, tenant.tenantId, endpointId)).toEqual({ attempted: 5, more: false });
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(55);
  }, 120_000);

  it('given a lease another job holds, claims nothing until it lapses, and the dispatcher leaves the endpoint out', async () => {
    await record(3, 'held-');
    const now = harness.clock.now();
    const other = crypto.randomUUID();
    const leased = await withTenant(harness.database.app, tenant.tenantId, (tx) =>
      repo.leaseEndpoint(
        { db: tx, tenantId: tenant.tenantId },
        endpointId,
        other,
        now,
        new Date(now.getTime() + 60_000),
      ),
    );
    expect(leased?.id).toBe(endpointId);
    const dueNow = await repo.findDueEndpoints(harness.database.app, now, 10);
    expect(dueNow.map((d) => d.endpointId)).not.toContain(endpointId);
    const deps = serviceDeps(harness);
    expect(await deliverEndpoint(deps, tenant.tenantId, endpointId)).toEqual({ attempted: 0, more: false });

    // Lapsed (the holder died): the dispatcher lists the endpoint again and the next job sends its deliveries.
    harness.clock.set(new Date(now.getTime() + 61_000).toISOString());
    const dueLater = await repo.findDueEndpoints(harness.database.app, harness.clock.now(), 10);
    expect(dueLater.map((d) => d.endpointId)).toContain(endpointId);
    expect(await deliverEndpoint(deps, tenant.tenantId, endpointId)).toEqual({ attempted: 3, more: false });
  }, 120_000);
});
