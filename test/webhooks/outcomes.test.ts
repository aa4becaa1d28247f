// A delivery job's claims and outcome writes read what their batch needs, not the endpoint's backlog: counted by
// PostgreSQL's own statistics for the transaction (pg_stat_xact_user_tables), on a backlog just recorded and never
// analysed, the state in which the planner once scanned every delivery of the endpoint at each outcome batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../../service/src/domains/webhooks/repo.ts';
import { withTenant, type Tx } from '../../service/src/platform/db.ts';
import { restAs, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';

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

  /** Heap rows of webhook_deliveries fetched through an index so far in this transaction. */
  const fetched = async (tx: Tx): Promise<number> => {
    const [row] = await tx`
      select coalesce(idx_tup_fetch, 0)::int as n from pg_stat_xact_user_tables where relname = 'webhook_deliveries'`;
    return row.n;
  };

  it('given a backlog of 3,000, claims 20 and records their outcomes reading about 20 deliveries, not the backlog', async () => {
    const now = harness.clock.now();
    const lease = new Date(now.getTime() + 60_000);
    const { claimed, claimReads } = await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
      const before = await fetched(tx);
      const result = await repo.claimDueDeliveries(
        { db: tx, tenantId: tenant.tenantId },
        endpointId,
        now,
        lease,
        batch,
      );
      return { ...result, claimReads: (await fetched(tx)) - before };
    });
    expect(claimed).toHaveLength(batch);
    expect(claimReads).toBeLessThanOrEqual(2 * batch);

    const records: repo.AttemptRecord[] = claimed.map((c) => ({
      messageId: c.messageId,
      rowId: c.rowId,
      attempt: 1,
      trigger: 'scheduled',
      startedAt: now,
      succeeded: true,
      statusCode: 200,
      latencyMs: 3,
      responseExcerpt: 'ok',
      error: null,
      status: 'succeeded',
      nextAttemptAt: null,
    }));
    const recordReads = await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
      const before = await fetched(tx);
      await repo.recordAttempts({ db: tx, tenantId: tenant.tenantId }, endpointId, records);
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
