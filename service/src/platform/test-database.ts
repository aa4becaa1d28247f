// Tests only: a fresh PostgreSQL database per test file on the server at TEST_DATABASE_URL, dropped after.
import crypto from 'node:crypto';
import postgres from 'postgres';
import { baseOptions, connect, deriveServiceUrl, type Db } from './db.ts';
import { migrate } from './migrate.ts';
import { silentLogger } from './log.ts';

export const testServerUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  /** Owner URL of the new database. */
  url: string;
  /** The service's pool: logged in as tariff_app. */
  app: Db;
  /** An owner pool, for assertions that must look past RLS. */
  owner: Db;
  drop(): Promise<void>;
}

/**
 * `debug`: told the text of every statement the service's pool sends (postgres.js's debug hook), for tests that
 * check what the repos send (scale-out.test.ts).
 */
export async function createTestDatabase(
  options: { migrate?: boolean; debug?: postgres.Options<{}>['debug'] } = {},
): Promise<TestDatabase> {
  const name = `tariff_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(testServerUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  const owner = connect({ ...baseOptions, url: url.toString(), max: 2 });
  if (options.migrate !== false) await migrate(owner, silentLogger);
  const app = connect({ ...baseOptions, url: deriveServiceUrl(url.toString()), max: 8, debug: options.debug });
  return {
    name,
    url: url.toString(),
    app,
    owner,
    drop: async () => {
      await app.end({ timeout: 5 });
      await owner.end({ timeout: 5 });
      const dropper = postgres(testServerUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
