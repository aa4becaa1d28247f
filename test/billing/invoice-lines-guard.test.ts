// The lines' guard (migration 137) reads the invoices a statement wrote lines for, not the tenant's invoices: on a
// table no ANALYZE has seen since it was empty (autovacuum may be off), after a close has finalized many invoices,
// changing the lines of a few drafts reads one invoice row per draft. Counts, not times: the invoice rows the
// statement fetched or scanned (pg_stat_xact_user_tables). A delete, so that no key check reads invoices beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePeriods } from '../../service/src/domains/invoices/close.ts';
import { withTenant } from '../../service/src/platform/db.ts';
import { serviceDeps, signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client } from './fixtures.ts';

class Rollback extends Error {}

describe("the invoice lines' guard", () => {
  let harness: Harness;
  let tenant: TenantFixture;
  const finalized = 200;
  const drafts = 10;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    const api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    for (const [code, grace] of [
      ['now', 0],
      ['later', 24],
    ] as const)
      await api.ok('POST', '/v1/plans', {
        code,
        name: code,
        price_book: 'ai-platform',
        base_fee: '10',
        interval: 'month',
        invoice_grace_hours: grace,
      });
    const customers = Array.from({ length: finalized + drafts }, (_, c) => ({
      id: `c-${c}`,
      plan: c < finalized ? 'now' : 'later',
    }));
    for (let at = 0; at < customers.length; at += 20)
      await Promise.all(
        customers.slice(at, at + 20).map(async ({ id, plan }) => {
          await api.ok('POST', '/v1/customers', { external_id: id, currency: 'USD' });
          await api.ok('POST', `/v1/customers/${id}/subscriptions`, { plan, started_at: '2026-03-01T00:00:00Z' });
        }),
      );
    await harness.database.owner`analyze invoices`;
    harness.clock.set('2026-04-01T00:00:05Z');
    const ids = await harness.database.owner`select id from customers where tenant_id = ${tenant.tenantId}`;
    const start = new Date('2026-03-01T00:00:00Z');
    await closePeriods(
      serviceDeps(harness),
      tenant.tenantId,
      ids.map((c) => ({ customerId: c.id as string, start })),
    );
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("changes drafts' lines reading those drafts, not the tenant's finalized invoices", async () => {
    const invoices = await harness.database.owner`
      select id, status from invoices where tenant_id = ${tenant.tenantId}`;
    expect(invoices.filter((i) => i.status === 'finalized')).toHaveLength(finalized);
    const draftIds = invoices.filter((i) => i.status === 'draft').map((i) => i.id as string);
    expect(draftIds).toHaveLength(drafts);
    let read = -1;
    await withTenant(harness.database.app, tenant.tenantId, async (tx) => {
      const counted = async () => {
        const [row] = await tx`
          select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as n from pg_stat_xact_user_tables where relname = 'invoices'`;
        return Number(row.n);
      };
      const before = await counted();
      const deleted =
        await tx`delete from invoice_lines where tenant_id = ${tenant.tenantId} and invoice_id = any(${draftIds}::uuid[])`;
      expect(deleted.count).toBe(drafts);
      read = (await counted()) - before;
      throw new Rollback();
    }).catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
    // One probe per draft (the guard had read every invoice of the tenant).
    expect(read).toBeLessThanOrEqual(drafts);
  });
});
