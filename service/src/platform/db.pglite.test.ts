// The embedded PGlite mode: migrations, RLS through the per-transaction role, and the service over HTTP.
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { manualClock } from './clock.ts';
import { loadConfig } from './config.ts';
import { connect, connectService, resolveDatabase, withTenant, type DatabaseTarget, type Db } from './db.ts';
import { silentLogger } from './log.ts';
import { migrate, readMigrations } from './migrate.ts';

describe('embedded PGlite', () => {
  let dataDir: string;
  let target: DatabaseTarget;
  let db: Db;
  const tenantA = '00000000-0000-4000-8000-00000000000a';
  const tenantB = '00000000-0000-4000-8000-00000000000b';

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tariff-pglite-'));
    target = await resolveDatabase(loadConfig({ DATA_DIR: dataDir }, dataDir), silentLogger);
    expect(target.embedded).toBe(true);
    const owner = connect(target.ownerOptions);
    expect(await migrate(owner, silentLogger)).toEqual((await readMigrations()).map((m) => m.version));
    expect(await migrate(owner, silentLogger)).toEqual([]);
    await owner.end();
    db = await connectService(target);
    for (const tenant of [tenantA, tenantB]) {
      await withTenant(db, tenant, async (tx) => {
        await tx`insert into tenants (tenant_id, name, created_at) values (${tenant}, ${tenant}, now())`;
        await tx`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at) values (${tenant}, gen_random_uuid(), 'c', 'USD', now(), now())`;
      });
    }
  });
  afterAll(async () => {
    await db?.end();
    await target?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("applies RLS inside withTenant: one tenant's rows, as tariff_app", async () => {
    const rows = await withTenant(db, tenantA, (tx) => tx`select current_user, tenant_id from customers`);
    expect(rows.map((r) => [r.current_user, r.tenant_id])).toEqual([['tariff_app', tenantA]]);
    await expect(
      withTenant(
        db,
        tenantA,
        (tx) =>
          tx`insert into customers (tenant_id, id, external_id, currency, created_at, updated_at) values (${tenantB}, gen_random_uuid(), 'x', 'USD', now(), now())`,
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('without a tenant, the service role sees nothing', async () => {
    expect(
      await db.begin((tx) => tx`select set_config('role', 'tariff_app', true)`.then(() => tx`select * from customers`)),
    ).toHaveLength(0);
  });

  // PGlite's only login is a superuser; connectService switches the session to tariff_app, so a query that
  // skips withTenant is filtered as on PostgreSQL. The documented difference: that switch is session state,
  // and RESET ROLE (which a PostgreSQL login as tariff_app cannot escape) undoes it here.
  it('outside a service transaction the session is tariff_app too, but RESET ROLE escapes it', async () => {
    const [row] = await db`select current_user, (select count(*)::int from customers) as n`;
    expect(row).toEqual({ current_user: 'tariff_app', n: 0 });
    const escaped = await db.begin(async (tx) => {
      await tx`reset role`;
      const [r] = await tx`select current_user, (select count(*)::int from customers) as n`;
      await tx`set role tariff_app`;
      return r;
    });
    expect(escaped).toEqual({ current_user: 'postgres', n: 2 });
  });

  it('serves signup and customers over HTTP', async () => {
    const app = createApp({ db, clock: manualClock('2026-03-01T00:00:00Z'), logger: silentLogger });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const post = (url: string, body: unknown, auth?: string) =>
        fetch(base + url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
          body: JSON.stringify(body),
        });
      const signup = (await (
        await post('/trpc/auth.signup', {
          tenant_name: 'Local',
          email: 'me@local.example',
          password: 'a long enough password',
        })
      ).json()) as any;
      const session = signup.result.data.session.token;
      const key = (await (await post('/trpc/apiKeys.create', { kind: 'secret', name: 'k' }, session)).json()) as any;
      const created = await post('/v1/customers', { external_id: 'local-1', currency: 'USD' }, key.result.data.secret);
      expect(created.status).toBe(201);
      const list = (await (
        await fetch(`${base}/v1/customers`, { headers: { authorization: `Bearer ${key.result.data.secret}` } })
      ).json()) as any;
      expect(list.data.map((c: any) => c.external_id)).toEqual(['local-1']);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      server.close();
    }
  });
});
