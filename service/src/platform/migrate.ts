// Versioned SQL migrations: service/migrations/NNN_name.sql, each applied once, in its own transaction.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';
import { SERVICE_ROLE } from './db.ts';
import type { Logger } from './log.ts';

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

// Any constant shared by every process migrating the same database.
const migrationLockKey = 7_302_114_001;

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`Migration file name must be NNN_name.sql: ${file}`);
    const sql = await fs.readFile(path.join(dir, file), 'utf8');
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`Two migrations numbered ${match[1]}`);
    migrations.push({ version, name: match[2], sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/**
 * Applies every migration not yet recorded, in order, each in its own transaction that first takes a
 * transaction advisory lock: several processes migrating the same database at once apply each migration
 * exactly once, and a re-run skips what is recorded. A recorded migration whose file has changed stops the
 * run: applied migrations are history, fix forward.
 */
export async function migrate(owner: Db, logger: Logger, dir = migrationsDir): Promise<number[]> {
  const migrations = await readMigrations(dir);
  const applied: number[] = [];
  for (const migration of migrations) {
    const wasApplied = await owner.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${migrationLockKey})`;
      await tx`
        create table if not exists schema_migrations (
          version integer primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`;
      const [recorded] = await tx<
        { checksum: string }[]
      >`select checksum from schema_migrations where version = ${migration.version}`;
      if (recorded) {
        if (recorded.checksum !== migration.checksum) {
          throw new Error(`Migration ${migration.version}_${migration.name} was changed after it was applied`);
        }
        return false;
      }
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (version, name, checksum) values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      return true;
    });
    if (wasApplied) {
      applied.push(migration.version);
      logger.info('migration applied', { version: migration.version, name: migration.name });
    }
  }
  return applied;
}

/** Deployments without trust auth give the service role a password after migrating. */
export async function setServiceRolePassword(owner: Db, password: string): Promise<void> {
  await owner.unsafe(`alter role ${SERVICE_ROLE} password ${quoteLiteral(password)}`);
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
