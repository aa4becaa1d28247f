import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from './migrate.ts';
import { silentLogger } from './log.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

describe('migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database.drop();
  });

  it('given concurrent runners, applies every migration exactly once and a re-run applies nothing', async () => {
    const files = await readMigrations();
    const runs = await Promise.all([migrate(database.owner, silentLogger), migrate(database.owner, silentLogger)]);
    expect([...runs[0], ...runs[1]].sort((a, b) => a - b)).toEqual(files.map((f) => f.version));
    expect(await migrate(database.owner, silentLogger)).toEqual([]);
    const rows = await database.owner`select version from schema_migrations order by version`;
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
  });

  it('given a failing migration, rolls it back whole and records nothing', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await fs.writeFile(path.join(dir, '001_ok.sql'), 'create table probe_ok (id int);');
    await fs.writeFile(path.join(dir, '002_broken.sql'), 'create table probe_half (id int); select 1/0;');
    const scratch = await createTestDatabase({ migrate: false });
    try {
      await expect(migrate(scratch.owner, silentLogger, dir)).rejects.toThrow(/division by zero/);
      const tables = await scratch.owner`select tablename from pg_tables where tablename like 'probe_%' order by 1`;
      expect(tables.map((t) => t.tablename)).toEqual(['probe_ok']);
      const versions = await scratch.owner`select version from schema_migrations`;
      expect(versions.map((v) => v.version)).toEqual([1]);
      await fs.writeFile(path.join(dir, '001_ok.sql'), 'create table probe_changed (id int);');
      await expect(migrate(scratch.owner, silentLogger, dir)).rejects.toThrow(/changed after it was applied/);
    } finally {
      await scratch.drop();
      await fs.rm(dir, { recursive: true });
    }
  });

  it('creates the service role without superuser or BYPASSRLS, and forces RLS on every tenant table', async () => {
    const [role] = await database.owner`select rolsuper, rolbypassrls from pg_roles where rolname = 'tariff_app'`;
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
    const tables = await database.owner`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity
      from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'
      where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace order by 1`;
    expect(tables.length).toBeGreaterThanOrEqual(10);
    for (const table of tables)
      expect(table, table.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('puts tenant_id first in every primary key and in every foreign key', async () => {
    const keys = await database.owner`
      select con.conname, con.contype, (select attname from pg_attribute where attrelid = con.conrelid and attnum = con.conkey[1]) as first_column,
             cardinality(con.conkey) as columns
      from pg_constraint con join pg_class c on c.oid = con.conrelid
      where con.contype in ('p', 'f') and c.relnamespace = 'public'::regnamespace and c.relname <> 'schema_migrations'`;
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(key.first_column, key.conname).toBe('tenant_id');
  });
});
